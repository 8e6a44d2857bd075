//go:build duckdb_arrow

package jobs

import (
	"bufio"
	"context"
	gosql "database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
)

// loadCDNOW writes the CDNOW sample's raw transactions into a DuckDB file
// as segflow's logical orders and customers tables.
func loadCDNOW(t *testing.T, path string) {
	db, err := gosql.Open("duckdb", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP, revenue DOUBLE)`)
	require.NoError(t, err)
	f, err := os.Open("testdata/CDNOW_sample.txt")
	require.NoError(t, err)
	defer f.Close()
	tx, err := db.Begin()
	require.NoError(t, err)
	stmt, err := tx.Prepare(`INSERT INTO orders VALUES (?, ?, strptime(?, '%Y%m%d'), ?)`)
	require.NoError(t, err)
	sc := bufio.NewScanner(f)
	id := 0
	for sc.Scan() {
		// master id, sample id, date, CDs, dollar value
		fields := strings.Fields(sc.Text())
		require.Len(t, fields, 5)
		id++
		_, err := stmt.Exec(id, fields[1], fields[2], fields[4])
		require.NoError(t, err)
	}
	require.NoError(t, sc.Err())
	require.NoError(t, tx.Commit())
	require.Equal(t, 6919, id)
	_, err = db.Exec(`CREATE TABLE customers AS SELECT DISTINCT customer_id FROM orders`)
	require.NoError(t, err)
}

// TestCLVReproducesCDNOW fits the clv model on the CDNOW sample from its
// raw transactions, through the DuckDB warehouse and the same runner
// path as `segflow run`, and compares the fitted parameters with the
// published ones (Fader, Hardie & Lee 2005) to the precision they are
// printed with.
func TestCLVReproducesCDNOW(t *testing.T) {
	dir := t.TempDir()
	loadCDNOW(t, filepath.Join(dir, "cdnow.duckdb"))
	cfg, err := config.Parse([]byte(`version: 1
warehouse:
  plugin: duckdb
  config: {path: cdnow.duckdb}
sources:
  customers: {table: customers}
  orders: {table: orders}
models:
  as_of: "1997-09-30"   # the end of the 39-week calibration period
  clv: {time_unit: week}
jobs:
  - name: fit
    models: [clv]
`), filepath.Join(dir, "segflow.yaml"))
	require.NoError(t, err)

	ctx := context.Background()
	wh := duckdb.New()
	require.NoError(t, wh.Configure(ctx, []byte(`{"path": "`+filepath.Join(dir, "cdnow.duckdb")+`"}`)))
	defer wh.Close()
	r := &Runner{Config: cfg, Warehouse: wh}
	_, err = r.Run(ctx, "fit", false)
	require.NoError(t, err)

	tbl, err := report.Query(ctx, wh, "", `SELECT model, parameter, value FROM segflow.clv_params`)
	require.NoError(t, err)
	got := map[string]float64{}
	for _, row := range tbl.Rows {
		got[row[0].(string)+"."+row[1].(string)] = row[2].(float64)
	}
	published := []struct {
		name      string
		value, at float64 // at: half a unit of the last printed digit
	}{
		{"bgnbd.r", 0.243, 0.0005},
		{"bgnbd.alpha", 4.414, 0.0005},
		{"bgnbd.a", 0.793, 0.0005},
		{"bgnbd.b", 2.426, 0.0005},
		{"bgnbd.log_likelihood", -9582.4, 0.05},
		{"gamma_gamma.p", 6.25, 0.005},
		{"gamma_gamma.q", 3.74, 0.005},
		{"gamma_gamma.gamma", 15.44, 0.005},
	}
	for _, p := range published {
		require.InDelta(t, p.value, got[p.name], p.at, p.name)
	}
	require.Equal(t, 2357.0, got["bgnbd.customers"])
	require.Equal(t, 946.0, got["gamma_gamma.customers"], "customers with at least one repeat purchase")

	// Every customer gets a prediction, within the model's bounds.
	check, err := report.Query(ctx, wh, "", `SELECT COUNT(*), MIN(p_alive), MAX(p_alive), MIN(expected_purchases),
		COUNT(CASE WHEN frequency = 0 AND p_alive <> 1 THEN 1 END) FROM segflow.clv`)
	require.NoError(t, err)
	row := check.Rows[0]
	require.Equal(t, int64(2357), row[0])
	require.GreaterOrEqual(t, row[1].(float64), 0.0)
	require.LessOrEqual(t, row[2].(float64), 1.0)
	require.Greater(t, row[3].(float64), 0.0)
	require.Equal(t, int64(0), row[4], "BG/NBD: a customer with no repeat purchase is alive with probability 1")
}
