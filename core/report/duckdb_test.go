//go:build duckdb_arrow

package report_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// TestLifecycleAndCohortReports runs the models on a small data set in
// the embedded warehouse and reads the reports back. as_of 2024-06-30,
// thresholds 30 and 90 days, period 30 days.
//
//	a  orders 2024-04-10 (100, p1), 2024-06-20 (50, p1)
//	b  2024-05-15 (80, p2)
//	c  2024-04-01 (40, p2), 2024-04-20 (60, p1)
//	d  no order
//	z  2024-06-25 (30, p2), no customers row
//
// p1 is Clothing, p2 Home.
func TestLifecycleAndCohortReports(t *testing.T) {
	ctx := context.Background()
	wh := duckdb.New()
	require.NoError(t, wh.Configure(ctx, nil))
	t.Cleanup(func() { wh.Close() })
	for _, s := range []string{
		"CREATE SCHEMA raw", "CREATE SCHEMA segflow",
		"CREATE TABLE raw.customers (customer_id VARCHAR, email VARCHAR)",
		"INSERT INTO raw.customers VALUES ('a', NULL), ('b', NULL), ('c', NULL), ('d', NULL)",
		`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, revenue DOUBLE,
			sales_channel VARCHAR, store_id VARCHAR, status VARCHAR)`,
		`INSERT INTO raw.orders VALUES
			('o1', 'a', '2024-04-10 10:00:00', 100, NULL, NULL, 'completed'),
			('o2', 'a', '2024-06-20 10:00:00', 50, NULL, NULL, 'completed'),
			('o3', 'b', '2024-05-15 10:00:00', 80, NULL, NULL, 'completed'),
			('o4', 'c', '2024-04-01 10:00:00', 40, NULL, NULL, 'completed'),
			('o5', 'c', '2024-04-20 10:00:00', 60, NULL, NULL, 'completed'),
			('o6', 'z', '2024-06-25 10:00:00', 30, NULL, NULL, 'completed')`,
		"CREATE TABLE raw.order_lines (order_id VARCHAR, product_id VARCHAR, quantity INTEGER, revenue DOUBLE)",
		`INSERT INTO raw.order_lines VALUES ('o1', 'p1', 1, 100), ('o2', 'p1', 1, 50), ('o3', 'p2', 1, 80),
			('o4', 'p2', 1, 40), ('o5', 'p1', 1, 60), ('o6', 'p2', 1, 30)`,
		"CREATE TABLE raw.products (product_id VARCHAR, name VARCHAR, department VARCHAR, category VARCHAR, subcategory VARCHAR, brand VARCHAR)",
		"INSERT INTO raw.products VALUES ('p1', 'Tee', 'Clothing', 'Tops', 'Tees', 'A'), ('p2', 'Mug', 'Home', 'Kitchen', 'Mugs', 'B')",
	} {
		_, err := wh.Execute(ctx, s)
		require.NoError(t, err, s)
	}
	o := models.Options{
		Dialect:      dialect.DuckDB{},
		OutputSchema: "segflow",
		AsOf:         time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		Lifecycle:    models.LifecycleOptions{ActiveDays: 30, InactiveDays: 90},
		Sources: map[string]models.Source{
			"customers": {Table: "raw.customers"}, "orders": {Table: "raw.orders"},
			"order_lines": {Table: "raw.order_lines"}, "products": {Table: "raw.products"},
		},
	}
	stmts, err := models.RenderModels([]string{"lifecycle", "cohort"}, o)
	require.NoError(t, err)
	for _, s := range stmts {
		_, err := wh.Execute(ctx, s.SQL)
		require.NoError(t, err, s.SQL)
	}

	t.Run("lifecycle", func(t *testing.T) {
		tables, err := report.Lifecycle(ctx, wh, dialect.DuckDB{}, "segflow")
		require.NoError(t, err)
		require.Len(t, tables, 2)
		// Now (2024-06-30): a 2 orders, 10 days -> active; b 1, 46 days and
		// c 2, 71 days -> defecting; d lead; z 1, 5 days -> first-time buyer.
		sum := tables[0]
		require.Equal(t, "lifecycle stages at 2024-06-30 (active: last purchase within 30 days; defecting: within 90; inactive: longer ago)", sum.Title)
		require.Equal(t, []string{"stage", "customers", "share_pct", "revenue", "avg_revenue"}, sum.Columns)
		require.Equal(t, [][]any{
			{"lead", int64(1), 20.0, 0.0, 0.0},
			{"first_time_buyer", int64(1), 20.0, 30.0, 30.0},
			{"active", int64(1), 20.0, 150.0, 150.0},
			{"defecting", int64(2), 40.0, 180.0, 90.0}, // b 80 + c 40 + 60
			{"inactive", int64(0), 0.0, 0.0, nil},
		}, sum.Rows)

		// On 2024-05-31: a 1 order, 51 days -> defecting (now active); b 1,
		// 16 days -> first-time buyer (now defecting); c 2, 41 days ->
		// defecting (still); d and z leads (z now a first-time buyer).
		tr := tables[1]
		require.Equal(t, "stage transitions from 2024-05-31 (rows) to 2024-06-30 (columns)", tr.Title)
		require.Equal(t, []string{"from_stage", "lead", "first_time_buyer", "active", "defecting", "inactive", "total"}, tr.Columns)
		require.Equal(t, [][]any{
			{"lead", int64(1), int64(1), int64(0), int64(0), int64(0), int64(2)},
			{"first_time_buyer", int64(0), int64(0), int64(0), int64(1), int64(0), int64(1)},
			{"active", int64(0), int64(0), int64(0), int64(0), int64(0), int64(0)},
			{"defecting", int64(0), int64(0), int64(1), int64(1), int64(0), int64(2)},
			{"inactive", int64(0), int64(0), int64(0), int64(0), int64(0), int64(0)},
		}, tr.Rows)
	})

	t.Run("cohort", func(t *testing.T) {
		tables, err := report.Cohort(ctx, wh, dialect.DuckDB{}, "segflow")
		require.NoError(t, err)
		require.Len(t, tables, 3)
		// Cohorts: 2024-04 a, c; 2024-05 b; 2024-06 z. April's cohort buys
		// again in June only (a), May's not in June.
		tri := tables[0]
		require.Equal(t, 18, len(tri.Columns))
		require.Equal(t, []string{"cohort_month", "customers", "m0", "m1", "m2", "m3"}, tri.Columns[:6])
		require.Equal(t, "m15", tri.Columns[17])
		day := func(m time.Month) time.Time { return time.Date(2024, m, 1, 0, 0, 0, 0, time.UTC) }
		want := [][]any{
			{day(4), int64(2), 100.0, 0.0, 50.0},
			{day(5), int64(1), 100.0, 0.0, nil},
			{day(6), int64(1), 100.0, nil, nil},
		}
		require.Len(t, tri.Rows, 3)
		for i, w := range want {
			require.Equal(t, w[0], tri.Rows[i][0].(time.Time).UTC())
			require.Equal(t, w[1:], tri.Rows[i][1:5], "cohort %d", i)
			for _, v := range tri.Rows[i][5:] {
				require.Nil(t, v, "months still to come are blank")
			}
		}

		// Buyer mix: April a and c first-time; May b; June z first-time and
		// a second-time.
		mix := tables[1]
		require.Equal(t, []string{"month", "first_time", "second_time", "repeat", "buyers", "repeat_pct"}, mix.Columns)
		require.Len(t, mix.Rows, 16)
		require.Equal(t, []any{int64(2), int64(0), int64(0), int64(2), 0.0}, mix.Rows[13][1:])
		require.Equal(t, []any{int64(1), int64(0), int64(0), int64(1), 0.0}, mix.Rows[14][1:])
		require.Equal(t, []any{int64(1), int64(1), int64(0), int64(2), 0.0}, mix.Rows[15][1:])
		require.Equal(t, []any{int64(0), int64(0), int64(0), int64(0), nil}, mix.Rows[0][1:])

		// Spend by department: April Clothing 100 + 60 (a, c), Home 40 (c);
		// May Home 80; June Clothing 50 (a), Home 30 (z).
		spend := tables[2]
		var got []string
		for _, r := range spend.Rows {
			got = append(got, fmt.Sprint(r[0].(time.Time).Format("2006-01"), " ", r[1], " ", r[2], " ", r[3], " ", r[4]))
		}
		require.Equal(t, []string{
			"2024-04 Clothing 160 2 2", "2024-04 Home 40 1 1",
			"2024-05 Home 80 1 1",
			"2024-06 Clothing 50 1 1", "2024-06 Home 30 1 1",
		}, got)

		var b strings.Builder
		require.NoError(t, report.Write(&b, "table", tables...))
		require.Contains(t, b.String(), "retention % by acquisition month")
	})
}
