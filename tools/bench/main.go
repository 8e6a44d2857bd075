//go:build duckdb_arrow

// Command bench measures the figures DESIGN §9 names and prints one line
// per figure: name, value, target. Ratios are taken within one run so a
// noisy machine cancels out. Run it with `make bench` (it needs
// bin/segflow for the plugin subprocesses); -only runs one group.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/core/sampledata"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/plugins/pluginstest"
	"github.com/segflow/segflow/plugins/warehouse/bigquery/bqstandin"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
	"github.com/segflow/segflow/plugins/warehouse/snowflake/sfstandin"
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
	only := flag.String("only", "", "run one group: arrow, standins, clv, models, destinations or sync")
	flag.Parse()
	run := func(group string) bool { return *only == "" || *only == group }
	// The Arrow ratio first, in a fresh process: later groups leave large
	// heaps and busy plugin processes behind.
	if run("arrow") {
		add(arrowThroughput(ctx)...)
	}
	if run("standins") {
		add(standInThroughput(ctx)...)
	}
	if run("clv") {
		add(clvFit(ctx)...)
	}
	if run("models") {
		dir := must(os.MkdirTemp("", "segflow-bench"))
		defer os.RemoveAll(dir)
		retail := filepath.Join(dir, "retail.duckdb")
		add(sampleData(ctx, retail))
		add(modelTimes(ctx, retail)...)
	}
	if run("destinations") {
		add(destinationThroughput(ctx)...)
	}
	if run("sync") {
		add(syncFigures(ctx)...)
	}

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

// standInThroughput reads a 5M-row result through the plugin boundary
// from each cloud warehouse's local stand-in, next to the DuckDB plugin.
// The stand-ins run DuckDB behind their wire protocols, so the figures
// measure segflow's client path, not BigQuery's or Snowflake's engines.
func standInThroughput(ctx context.Context) []figure {
	const rows = 5_000_000
	type target struct {
		name   string
		start  func() (string, func() error, error)
		series string
	}
	targets := []target{
		{"duckdb", func() (string, func() error, error) { return `{}`, func() error { return nil }, nil }, pluginstest.KnownDialects["duckdb"].Series(rows)},
		{"bigquery", bqstandin.StartForBench, pluginstest.KnownDialects["bigquery"].Series(rows)},
		{"snowflake", sfstandin.StartForBench, pluginstest.KnownDialects["snowflake"].Series(rows)},
	}
	var out []figure
	for _, tg := range targets {
		cfg, stop, err := tg.start()
		must(0, err)
		wh := must(pluginhost.LaunchWarehouse(exec.Command(filepath.Join("bin", "segflow"), "plugin", "serve", tg.name), nil, nil))
		must(0, wh.Configure(ctx, []byte(cfg)))
		start := time.Now()
		rdr := must(wh.Query(ctx, tg.series))
		var n int64
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		must(0, rdr.Err())
		rdr.Release()
		rate := float64(n) / time.Since(start).Seconds()
		wh.Close()
		must(0, stop())
		if n != rows {
			must(0, fmt.Errorf("%s: read %d rows, want %d", tg.name, n, rows))
		}
		out = append(out, figure{"plugin_read_5m_rows_per_s " + tg.name + " (stand-in for cloud warehouses)", fmt.Sprintf("%.0f", rate), "-"})
	}
	return out
}

// clvFit times the clv model's Go stage on 1M customers with 10M orders:
// the summaries are built and grouped in DuckDB (a plugin subprocess, so
// its memory is not ours), the fit and the write-back run here. Peak RSS
// is this process's high-water mark, reset before the run.
func clvFit(ctx context.Context) []figure {
	dir := must(os.MkdirTemp("", "segflow-bench-clv"))
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "clv.duckdb")
	wh := must(pluginhost.LaunchWarehouse(exec.Command(filepath.Join("bin", "segflow"), "plugin", "serve", "duckdb"), nil, nil))
	defer wh.Close()
	must(0, wh.Configure(ctx, []byte(`{"path": "`+db+`", "create": true}`)))
	// Synthetic purchases, BG/NBD-like: 1M customers, each with a dropout
	// probability p ~ U(0.02, 0.32) after every purchase (so a geometric
	// number of orders, about 10M in all), a mean gap of its own and
	// exponential gaps; spend varies by customer and by order.
	must(wh.Execute(ctx, `CREATE TABLE orders AS
WITH c AS (
  SELECT i AS customer_id,
    LEAST(60, 1 + CAST(floor(ln(1 - (hash(i * 31 + 1) % 1000000) / 1e6)
      / ln(1 - (0.02 + 0.3 * (hash(i * 31 + 4) % 1000000) / 1e6))) AS BIGINT)) AS n,
    2 + 60 * (hash(i * 31 + 2) % 1000000) / 1e6 AS mean_gap,
    700 * (hash(i * 31 + 3) % 1000000) / 1e6 AS start,
    20 + 200 * pow((hash(i * 31 + 5) % 1000000) / 1e6, 2) AS spend
  FROM range(1000000) t(i)
), k AS (
  SELECT customer_id, mean_gap, start, spend, unnest(range(n)) AS k FROM c
), d AS (
  SELECT customer_id, k, spend, start + SUM(CASE WHEN k = 0 THEN 0 ELSE -ln(1 - (hash(customer_id * 97 + k) % 1000000) / 1e6) * mean_gap END)
    OVER (PARTITION BY customer_id ORDER BY k) AS day
  FROM k
)
SELECT row_number() OVER () AS order_id, customer_id,
  TIMESTAMP '2023-01-01' + to_days(CAST(day AS BIGINT)) AS ordered_at,
  ROUND(spend * (0.5 + (hash(customer_id * 13 + k) % 1000000) / 1e6), 2) AS revenue
FROM d`))
	must(wh.Execute(ctx, `CREATE TABLE customers AS SELECT DISTINCT customer_id FROM orders`))
	cfg := must(config.Parse([]byte(`version: 1
warehouse: {plugin: duckdb}
sources:
  customers: {table: customers}
  orders: {table: orders}
models:
  as_of: "2025-12-31"
jobs:
  - {name: clv, models: [clv]}
`), filepath.Join(dir, "segflow.yaml")))
	resetPeakRSS()
	sum := must((&jobs.Runner{Config: cfg, Warehouse: wh}).Run(ctx, "clv", false))
	var fit, writeBack time.Duration
	for _, s := range sum.Steps {
		switch {
		case s.Kind == "fit":
			fit += s.Duration
		case s.Name == "clv.clv_scores" || s.Name == "clv.clv_params":
			writeBack += s.Duration
		}
	}
	return []figure{
		{"clv_fit_seconds (1M customers, 10M orders; read groups as Arrow, fit)", fmt.Sprintf("%.1f", fit.Seconds()), "< 10"},
		{"clv_write_back_seconds (scores per unique (x, t_x, T), batched INSERTs)", fmt.Sprintf("%.1f", writeBack.Seconds()), "-"},
		{"clv_run_seconds (1M customers, 10M orders; whole model incl. SQL)", fmt.Sprintf("%.1f", sum.Duration.Seconds()), "-"},
		{"clv_peak_rss_mb (segflow process)", fmt.Sprintf("%.0f", peakRSSMB()), "< 500"},
	}
}

// resetPeakRSS resets the kernel's high-water mark of this process's RSS.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB reads VmHWM, the peak RSS since the last reset.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024
		}
	}
	return -1
}

func sampleData(ctx context.Context, path string) figure {
	start := time.Now()
	must(sampledata.Generate(ctx, path, sampledata.Options{Customers: 1_000_000, Seed: 1}))
	return figure{"sample_data_1m_customers_seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()), "< 120"}
}

// modelTimes runs every model on the 1M-customer sample warehouse through
// the DuckDB plugin subprocess and reports each model's time: its SQL and,
// for clv and attribution, its Go stage.
func modelTimes(ctx context.Context, retail string) []figure {
	wh := must(pluginhost.LaunchWarehouse(exec.Command(filepath.Join("bin", "segflow"), "plugin", "serve", "duckdb"), nil, nil))
	defer wh.Close()
	must(0, wh.Configure(ctx, []byte(`{"path": "`+retail+`"}`)))
	orders := must(report.Query(ctx, wh, "", "SELECT COUNT(*) FROM orders")).Rows[0][0]
	cfg := must(config.Parse([]byte(`version: 1
warehouse: {plugin: duckdb}
sources:
  customers: {table: customers}
  orders: {table: orders}
  order_lines: {table: order_lines}
  products: {table: products}
  touchpoints: {table: touchpoints}
models:
  as_of: "2025-12-31"
jobs:
  - {name: all, models: [rfm, lifecycle, cohort, clv, attribution, affinity]}
`), filepath.Join(filepath.Dir(retail), "segflow.yaml")))
	sum := must((&jobs.Runner{Config: cfg, Warehouse: wh}).Run(ctx, "all", false))
	per := map[string]time.Duration{}
	var order []string
	for _, s := range sum.Steps {
		model, _, ok := strings.Cut(s.Name, ".")
		if !ok {
			continue
		}
		if _, seen := per[model]; !seen {
			order = append(order, model)
		}
		per[model] += s.Duration
	}
	var out []figure
	for _, m := range order {
		out = append(out, figure{fmt.Sprintf("model_seconds %s (1M customers, %v orders, DuckDB)", m, orders), fmt.Sprintf("%.1f", per[m].Seconds()), "-"})
	}
	return out
}
