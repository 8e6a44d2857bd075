//go:build duckdb_arrow

package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/plugins/warehouse/bigquery/bqstandin"
	"github.com/segflow/segflow/plugins/warehouse/snowflake/sfstandin"
)

// cloudConfig is the quickstart job against a cloud warehouse plugin:
// rfm, a segment and the file destination.
func cloudConfig(plugin, pluginConfig, outputSchema string, tables map[string]string) string {
	var sources strings.Builder
	for _, t := range []string{"customers", "orders"} {
		sources.WriteString("  " + t + ": { table: " + tables[t] + " }\n")
	}
	return `version: 1
warehouse:
  plugin: ` + plugin + `
  config: ` + pluginConfig + `
  output_schema: ` + outputSchema + `
sources:
` + sources.String() + `models:
  as_of: "2025-12-31"
segments:
  - name: champions
    model: rfm
    where: segment = 'Champions'
    attributes: [recency_days, frequency, monetary, rfm_cell, segment]
    destinations: [files]
destinations:
  - name: files
    plugin: file
    config: { dir: out/segments }
jobs:
  - name: daily
    models: [rfm]
    segments: [champions]
`
}

// sampleRows generates a small sample warehouse and returns its path and
// the champions the embedded DuckDB warehouse finds in it, to compare.
func duckdbChampions(t *testing.T) (string, [][]string) {
	dir := quickstart(t)
	r := segflow(t, dir, "run")
	require.Equal(t, 0, r.code, r.stderr)
	return filepath.Join(dir, "out", "retail.duckdb"), readCSV(t, filepath.Join(dir, "out", "segments", "champions.csv"))
}

// requireSameMembers compares two segment files by customer, reading
// numbers by value: warehouses differ in decimal scale (BigQuery's
// NUMERIC has nine digits).
func requireSameMembers(t *testing.T, want, got [][]string) {
	t.Helper()
	index := func(rows [][]string) map[string]map[string]string {
		out := map[string]map[string]string{}
		for _, r := range rows[1:] {
			m := map[string]string{}
			for i, col := range rows[0] {
				m[col] = r[i]
			}
			out[m["customer_id"]] = m
		}
		return out
	}
	w, g := index(want), index(got)
	require.Equal(t, len(w), len(g), "members")
	for id, wr := range w {
		gr, ok := g[id]
		require.True(t, ok, "customer %s missing", id)
		for col, wv := range wr {
			gv, ok := gr[col]
			require.True(t, ok, "column %s missing", col)
			wf, errW := strconv.ParseFloat(wv, 64)
			gf, errG := strconv.ParseFloat(gv, 64)
			if errW == nil && errG == nil {
				require.InDelta(t, wf, gf, 1e-6, "customer %s %s", id, col)
				continue
			}
			require.Equal(t, wv, gv, "customer %s %s", id, col)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestRunOnBigQueryStandIn follows one job through the BigQuery plugin
// and its local stand-in: models materialised as jobs, the segment read
// back through the Storage Read API, and the file written. The result
// must equal what the embedded warehouse computes from the same data.
func TestRunOnBigQueryStandIn(t *testing.T) {
	retail, want := duckdbChampions(t)
	s, err := bqstandin.Start(bqstandin.Options{Datasets: []string{"shop", "segflow"}})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	require.NoError(t, s.Exec(ctx, "shop", "ATTACH '"+retail+"' AS src (READ_ONLY)"))
	for _, tbl := range []string{"customers", "orders"} {
		require.NoError(t, s.Exec(ctx, "shop", "CREATE TABLE "+tbl+" AS SELECT * FROM src.main."+tbl))
	}

	dir := t.TempDir()
	cfg := cloudConfig("bigquery", s.PluginConfig("shop"), "segflow", map[string]string{"customers": "shop.customers", "orders": "shop.orders"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	r := segflow(t, dir, "run")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	requireSameMembers(t, want, readCSV(t, filepath.Join(dir, "out", "segments", "champions.csv")))

	dry := segflow(t, dir, "run", "--dry-run")
	require.Equal(t, 0, dry.code, dry.stderr)
	require.Contains(t, dry.stdout, "-- scans about", "BigQuery dry runs estimate bytes")
}

// TestRunOnSnowflakeStandIn is the same job through the Snowflake plugin.
func TestRunOnSnowflakeStandIn(t *testing.T) {
	retail, want := duckdbChampions(t)
	s, err := sfstandin.Start(sfstandin.Options{})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	require.NoError(t, s.Exec(ctx, "ATTACH '"+retail+"' AS src (READ_ONLY)"))
	for _, tbl := range []string{"customers", "orders"} {
		require.NoError(t, s.Exec(ctx, "CREATE TABLE "+tbl+" AS SELECT * FROM src.main."+tbl))
	}
	dir := t.TempDir()
	cfg := cloudConfig("snowflake", s.PluginConfig(), "ANALYTICS", map[string]string{"customers": "customers", "orders": "orders"})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	r := segflow(t, dir, "run")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	requireSameMembers(t, want, readCSV(t, filepath.Join(dir, "out", "segments", "champions.csv")))
}

// TestValidateConnectNamesTheProblem: validate --connect reports what is
// wrong with a warehouse connection in one line.
func TestValidateConnectNamesTheProblem(t *testing.T) {
	s, err := bqstandin.Start(bqstandin.Options{Datasets: []string{"shop"}})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	require.NoError(t, s.Exec(ctx, "shop", "CREATE TABLE customers (customer_id BIGINT)"))
	require.NoError(t, s.Exec(ctx, "shop", "CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP, revenue DOUBLE)"))
	tables := map[string]string{"customers": "shop.customers", "orders": "shop.orders"}

	dir := t.TempDir()
	write := func(pluginConfig string) {
		cfg := cloudConfig("bigquery", pluginConfig, "segflow", tables)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	}
	write(s.PluginConfig("shop"))
	ok := segflow(t, dir, "validate", "--connect")
	require.Equal(t, 0, ok.code, ok.stdout+ok.stderr)

	write(s.PluginConfig("no_such_dataset"))
	r := segflow(t, dir, "validate", "--connect")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "no_such_dataset")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(lastLines(r.stderr)), "\n")+1, "one line: %q", r.stderr)

	unreachable := strings.Replace(s.PluginConfig("shop"), s.URL, "http://127.0.0.1:1", 1)
	write(unreachable)
	r = segflow(t, dir, "validate", "--connect", "--timeout", "3s")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, lastLines(r.stderr), "warehouse bigquery: no answer within 3s")
	require.NotContains(t, lastLines(r.stderr), "\n")
}

// lastLines drops structured log lines, keeping what a person reads.
func lastLines(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "{") && l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
