//go:build duckdb_arrow

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/pluginhost"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// syncFigures publishes a 10M-member segment to the file destination
// through the runner, with both plugins as subprocesses as in a real
// run, and reports this process's peak RSS during it; then churns 1% of
// the members (0.5% leave, 0.5% join) and times the in-warehouse diff
// against the synced state, counting the rows that leave the warehouse.
func syncFigures(ctx context.Context) []figure {
	const members = 10_000_000
	dir := must(os.MkdirTemp("", "segflow-bench-sync"))
	defer os.RemoveAll(dir)
	self := filepath.Join(must(os.Getwd()), "bin", "segflow")
	wh := must(pluginhost.LaunchWarehouse(exec.Command(self, "plugin", "serve", "duckdb"), nil, nil))
	defer wh.Close()
	must(0, wh.Configure(ctx, []byte(`{"path": "`+filepath.Join(dir, "w.duckdb")+`", "create": true}`)))
	// A customers table and an rfm table as the rfm model leaves it
	// (the columns the segment reads), 10M customers.
	for _, q := range []string{
		`CREATE TABLE customers AS SELECT i AS customer_id, 'c' || i || '@example.com' AS email FROM range(` + fmt.Sprint(members) + `) t(i)`,
		`CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP, revenue DOUBLE)`,
		`CREATE SCHEMA segflow`,
		`CREATE TABLE segflow.rfm AS SELECT customer_id, ['Champions', 'Loyal', 'At risk'][1 + customer_id % 3] AS segment,
			CAST(customer_id % 997 AS DOUBLE) AS monetary, 1 + customer_id % 7 AS frequency FROM customers`,
	} {
		must(wh.Execute(ctx, q))
	}
	cfg := must(config.Parse([]byte(`version: 1
warehouse: {plugin: duckdb, output_schema: segflow}
sources:
  customers: {table: customers}
  orders: {table: orders}
models:
  as_of: "2025-12-31"
segments:
  - {name: all, model: rfm, attributes: [segment, monetary, frequency], destinations: [files]}
destinations:
  - {name: files, plugin: file, config: {dir: `+filepath.Join(dir, "out")+`, formats: [csv]}}
jobs:
  - {name: publish, segments: [all]}
`), filepath.Join(dir, "segflow.yaml")))
	host := &pluginhost.Host{Self: self, BuiltinDestinations: []string{"file"}, Dir: dir}
	r := &jobs.Runner{Config: cfg, Warehouse: wh, NewDestination: host.Destination}

	resetPeakRSS()
	start := time.Now()
	sum := must(r.Run(ctx, "publish", false))
	publish := time.Since(start)
	rss := peakRSSMB()
	var sent int64
	for _, s := range sum.Steps {
		if s.Kind == "publish" {
			sent = s.Rows
		}
	}
	if sent != members {
		must(0, fmt.Errorf("published %d members, want %d", sent, members))
	}

	// 1% churn: 50,000 leave, 50,000 join; the segment is rebuilt as the
	// next run would, then diffed against what the file holds.
	for _, q := range []string{
		`DELETE FROM segflow.rfm WHERE customer_id < 50000`,
		`INSERT INTO customers SELECT i, 'c' || i || '@example.com' FROM range(10000000, 10050000) t(i)`,
		`INSERT INTO segflow.rfm SELECT customer_id, 'Champions', 1.0, 1 FROM customers WHERE customer_id >= 10000000`,
	} {
		must(wh.Execute(ctx, q))
	}
	plan := must(r.Plan(ctx, "publish"))
	must(wh.Execute(ctx, plan.Segments[0].Statement.SQL))
	s := must(models.NewSync(dialect.DuckDB{}, "segflow", "all", "files", []string{"segment", "monetary", "frequency"}, "bench", time.Now()))
	start = time.Now()
	for _, q := range must(s.Diff()) {
		must(wh.Execute(ctx, q))
	}
	var out int64
	for _, op := range []string{models.OpUpsert, models.OpRemove} {
		rdr := must(wh.Query(ctx, s.Pending(op)))
		for rdr.Next() {
			out += rdr.RecordBatch().NumRows()
		}
		must(0, rdr.Err())
		rdr.Release()
	}
	diff := time.Since(start)
	if out != 100_000 {
		must(0, fmt.Errorf("the diff has %d rows, want 100000 (50000 adds, 50000 removes)", out))
	}
	return []figure{
		{"publish_10m_members_file_peak_rss_mb (segflow process; both plugins subprocesses)", fmt.Sprintf("%.0f", rss), "< 300"},
		{"publish_10m_members_file_seconds (segment, history, CSV write)", fmt.Sprintf("%.1f", publish.Seconds()), "-"},
		{"diff_10m_segment_1pct_churn_seconds (DuckDB, diff tables + reading the delta)", fmt.Sprintf("%.1f", diff.Seconds()), "-"},
		{"diff_10m_segment_1pct_churn_rows_out_of_warehouse", fmt.Sprint(out), "= 100000 (the churn, not the segment)"},
	}
}
