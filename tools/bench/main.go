//go:build duckdb_arrow

// Command bench measures the figures DESIGN §9 names and prints one line
// per figure: name, value, target. Ratios are taken within one run so a
// noisy machine cancels out. Run it with `make bench` (it needs
// bin/segflow for the plugin subprocess).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	"github.com/segflow/segflow/core/sampledata"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
)

type figure struct {
	name, value, target string
}

func main() {
	ctx := context.Background()
	var figs []figure
	add := func(f ...figure) {
		figs = append(figs, f...)
		for _, x := range f {
			fmt.Fprintf(os.Stderr, "measured %s = %s\n", x.name, x.value)
		}
	}
	add(arrowThroughput(ctx)...)
	add(sampleData(ctx))

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tVALUE\tTARGET")
	for _, f := range figs {
		fmt.Fprintf(w, "%s\t%s\t%s\n", f.name, f.value, f.target)
	}
	w.Flush()
}

func must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	return v
}

// resultSQL is a 10M-row, 6-column result of mixed types.
const resultSQL = `SELECT i AS id, i * 2 AS a, i % 1000 AS b, CAST(i AS DOUBLE) / 3 AS c,
  'customer-' || CAST(i AS VARCHAR) AS d, DATE '2020-01-01' + CAST(i % 1000 AS INTEGER) AS e
FROM range(10000000) t(i)`

// drain reads a whole result and returns rows per second.
func drain(ctx context.Context, wh core.Warehouse) float64 {
	start := time.Now()
	rdr := must(wh.Query(ctx, resultSQL))
	defer rdr.Release()
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	must(0, rdr.Err())
	if rows != 10_000_000 {
		must(0, fmt.Errorf("read %d rows, want 10000000", rows))
	}
	return float64(rows) / time.Since(start).Seconds()
}

// arrowThroughput compares reading the same result in-process and through
// the plugin subprocess, alternating and keeping each side's best of 3.
func arrowThroughput(ctx context.Context) []figure {
	inproc := duckdb.New()
	must(0, inproc.Configure(ctx, []byte(`{}`)))
	defer inproc.Close()
	sub := must(pluginhost.LaunchWarehouse(exec.Command(filepath.Join("bin", "segflow"), "plugin", "serve", "duckdb"), nil, nil))
	defer sub.Close()
	must(0, sub.Configure(ctx, []byte(`{}`)))

	var bestIn, bestSub float64
	for range 3 {
		bestIn = max(bestIn, drain(ctx, inproc))
		bestSub = max(bestSub, drain(ctx, sub))
	}
	return []figure{
		{"arrow_query_in_process_rows_per_s (10M x 6)", fmt.Sprintf("%.0f", bestIn), "-"},
		{"arrow_query_plugin_subprocess_rows_per_s (10M x 6)", fmt.Sprintf("%.0f", bestSub), "-"},
		{"arrow_query_subprocess_vs_in_process_ratio", fmt.Sprintf("%.2f", bestSub/bestIn), ">= 0.80"},
	}
}

func sampleData(ctx context.Context) figure {
	dir := must(os.MkdirTemp("", "segflow-bench"))
	defer os.RemoveAll(dir)
	start := time.Now()
	must(sampledata.Generate(ctx, filepath.Join(dir, "retail.duckdb"), sampledata.Options{Customers: 1_000_000, Seed: 1}))
	return figure{"sample_data_1m_customers_seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()), "< 120"}
}
