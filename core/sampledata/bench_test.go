//go:build duckdb_arrow

package sampledata_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/segflow/segflow/core/sampledata"
)

// BenchmarkGenerate1M generates one million customers; run it with
// go test -tags duckdb_arrow -run '^$' -bench Generate1M -benchtime 1x.
func BenchmarkGenerate1M(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		st, err := sampledata.Generate(context.Background(), filepath.Join(dir, "bench.duckdb"), sampledata.Options{Customers: 1_000_000, Seed: 42})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(st.Elapsed.Seconds(), "s/generate")
		b.ReportMetric(float64(st.Orders), "orders")
		b.ReportMetric(float64(st.OrderLines), "lines")
		b.ReportMetric(float64(st.Touchpoints), "touchpoints")
		b.ReportMetric(float64(st.Customers), "customers")
	}
}
