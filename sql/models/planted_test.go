//go:build duckdb_arrow

package models

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/sampledata"
	"github.com/segflow/segflow/sql/dialect"
)

// plantedAsOf is the last day of the generated history.
var plantedAsOf = sampledata.DefaultEnd

// openPlanted generates the sample data set (5,000 customers) and runs
// lifecycle and cohort over it with as_of on the history's last day.
func openPlanted(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.duckdb")
	_, err := sampledata.Generate(context.Background(), path, sampledata.Options{Customers: 5000, Seed: 11})
	require.NoError(t, err)
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	exec(t, db, "CREATE SCHEMA segflow")
	o := Options{
		Dialect:      dialect.DuckDB{},
		OutputSchema: "segflow",
		AsOf:         plantedAsOf,
		Sources: map[string]Source{
			"customers":   {Table: "main.customers"},
			"orders":      {Table: "main.orders"},
			"order_lines": {Table: "main.order_lines"},
			"products":    {Table: "main.products"},
		},
	}
	stmts, err := RenderModels([]string{"lifecycle", "cohort"}, o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	// The purchases as the sample data defines them, independently of
	// orders_clean: completed orders of a customer up to as_of, exact
	// copies collapsed. Refunds have status 'refunded'.
	exec(t, db, `CREATE TEMP VIEW purchases AS
		SELECT DISTINCT * FROM main.orders
		WHERE status = 'completed' AND customer_id IS NOT NULL AND CAST(ordered_at AS DATE) <= DATE '2025-12-31'`)
	return db
}

func queryOne[T any](t *testing.T, db *sql.DB, q string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, db.QueryRow(q, args...).Scan(&v), q)
	return v
}

// TestPlantedLifecycleAndCohort checks lifecycle and cohort over the
// generated data: first the invariants every run must satisfy, then the
// structure the generator plants (core/sampledata, doc.go and planted.go).
func TestPlantedLifecycleAndCohort(t *testing.T) {
	t.Parallel()
	db := openPlanted(t)

	t.Run("every contact in exactly one stage", func(t *testing.T) {
		contacts := queryOne[int](t, db, `SELECT COUNT(*) FROM (
			SELECT customer_id FROM main.customers UNION SELECT customer_id FROM purchases)`)
		require.Equal(t, contacts, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle`))
		require.Equal(t, contacts, queryOne[int](t, db, `SELECT COUNT(DISTINCT customer_id) FROM segflow.lifecycle`))
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle
			WHERE stage IS NULL OR stage NOT IN ('lead', 'first_time_buyer', 'active', 'defecting', 'inactive')`))
		// Each stage's own rule, restated.
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle WHERE NOT CASE stage
			WHEN 'lead' THEN orders = 0
			WHEN 'first_time_buyer' THEN orders = 1 AND days_since_last_order <= active_days
			WHEN 'active' THEN orders >= 2 AND days_since_last_order <= active_days
			WHEN 'defecting' THEN orders >= 1 AND days_since_last_order > active_days AND days_since_last_order <= inactive_days
			WHEN 'inactive' THEN orders >= 1 AND days_since_last_order > inactive_days END`))
		// Orders and the last order agree with the purchases.
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle AS l
			FULL JOIN (SELECT customer_id, COUNT(DISTINCT order_id) AS n, MAX(ordered_at) AS last FROM purchases GROUP BY 1) AS p
			ON p.customer_id = l.customer_id
			WHERE l.orders <> COALESCE(p.n, 0) OR l.last_order_at IS DISTINCT FROM p.last`))
	})

	t.Run("summary and transitions add up", func(t *testing.T) {
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle_summary AS s
			FULL JOIN (SELECT stage, COUNT(*) AS n, SUM(revenue) AS r FROM segflow.lifecycle GROUP BY stage) AS l ON l.stage = s.stage
			WHERE s.customers <> COALESCE(l.n, 0) OR s.revenue <> COALESCE(l.r, 0) OR l.stage IS NOT NULL AND s.stage IS NULL`))
		require.Equal(t, 5, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle_summary`))
		require.InDelta(t, 1.0, queryOne[float64](t, db, `SELECT SUM(share) FROM segflow.lifecycle_summary`), 1e-9)
		population := queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle`)
		require.Equal(t, population, queryOne[int](t, db, `SELECT SUM(customers) FROM segflow.lifecycle_transitions`))
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM
			(SELECT to_stage, SUM(customers) AS n FROM segflow.lifecycle_transitions GROUP BY 1) AS t
			FULL JOIN (SELECT stage, COUNT(*) AS n FROM segflow.lifecycle GROUP BY 1) AS l ON l.stage = t.to_stage
			WHERE t.n IS DISTINCT FROM l.n`))
		// Purchases only accumulate: nobody becomes a lead again, and only
		// a lead can become a first-time buyer (one order, newly placed).
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle_transitions
			WHERE (to_stage = 'lead' AND from_stage <> 'lead') OR (to_stage = 'first_time_buyer' AND from_stage NOT IN ('lead', 'first_time_buyer'))`))
	})

	t.Run("derived thresholds are the gap percentiles", func(t *testing.T) {
		// DuckDB's own QUANTILE_CONT over the gaps between consecutive
		// purchase days, computed from the raw tables.
		var p75, p95 float64
		require.NoError(t, db.QueryRow(`WITH days AS (SELECT DISTINCT customer_id, CAST(ordered_at AS DATE) AS d FROM purchases),
			gaps AS (SELECT d - LAG(d) OVER (PARTITION BY customer_id ORDER BY d) AS g FROM days)
			SELECT QUANTILE_CONT(g, 0.75), QUANTILE_CONT(g, 0.95) FROM gaps WHERE g IS NOT NULL`).Scan(&p75, &p95))
		var active, inactive int
		require.NoError(t, db.QueryRow(`SELECT DISTINCT active_days, inactive_days FROM segflow.lifecycle`).Scan(&active, &inactive))
		t.Logf("gap percentiles p75 %.2f p95 %.2f; thresholds %d, %d", p75, p95, active, inactive)
		require.Equal(t, int(math.Ceil(p75)), active)
		require.Equal(t, int(math.Ceil(p95)), inactive)
	})

	t.Run("cohort invariants", func(t *testing.T) {
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.cohort_retention WHERE month_offset = 0 AND retention_rate <> 1.0`))
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.cohort_retention
			WHERE active_customers > cohort_size OR orders < active_customers OR month_offset NOT BETWEEN 0 AND 15`))
		// 16 cohorts (2024-09 .. 2025-12), each with an offset for every
		// month up to 2025-12: 16 + 15 + ... + 1 rows.
		require.Equal(t, 16, queryOne[int](t, db, `SELECT COUNT(DISTINCT cohort_month) FROM segflow.cohort_retention`))
		require.Equal(t, 136, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.cohort_retention`))
		// Cohort sizes add up to the customers whose first purchase falls
		// in the 16 months.
		firstBuyers := queryOne[int](t, db, `SELECT COUNT(*) FROM (SELECT customer_id FROM purchases GROUP BY 1
			HAVING MIN(ordered_at) >= TIMESTAMP '2024-09-01')`)
		require.Equal(t, firstBuyers, queryOne[int](t, db, `SELECT SUM(cohort_size) FROM segflow.cohort_retention WHERE month_offset = 0`))
		// A month's first-time buyers are that month's cohort.
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.buyer_mix_monthly AS b
			LEFT JOIN segflow.cohort_retention AS c ON c.cohort_month = b.month AND c.month_offset = 0
			WHERE b.first_time <> COALESCE(c.cohort_size, 0) OR b.first_time + b.second_time + b.repeat <> b.buyers`))
		// A month's buyers are the customers with a purchase in it.
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.buyer_mix_monthly AS b
			LEFT JOIN (SELECT DATE_TRUNC('month', ordered_at) AS m, COUNT(DISTINCT customer_id) AS n FROM purchases GROUP BY 1) AS p
			ON p.m = b.month WHERE b.buyers <> COALESCE(p.n, 0)`))
	})

	t.Run("category spend adds up to revenue", func(t *testing.T) {
		// In the sample data an order's revenue is the sum of its lines',
		// refunds included (their own order ids, negative lines), so at
		// every level a month's spend is the month's orders_clean revenue.
		require.Equal(t, 16*4, queryOne[int](t, db, `SELECT COUNT(DISTINCT (month, level)) FROM segflow.category_spend_monthly`))
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM
			(SELECT month, level, SUM(revenue) AS r FROM segflow.category_spend_monthly GROUP BY 1, 2) AS s
			LEFT JOIN (SELECT DATE_TRUNC('month', order_date) AS m, SUM(revenue) AS r FROM segflow.orders_clean GROUP BY 1) AS o
			ON o.m = s.month WHERE s.r <> o.r`))
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.category_spend_monthly AS s
			JOIN segflow.buyer_mix_monthly AS b ON b.month = s.month WHERE s.customers > b.buyers`))
		// Every product is in the catalogue with all levels set.
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.category_spend_monthly WHERE value = '(unknown)'`))
	})

	// Planted: a buyer's dropout probability after each repeat order has
	// mean 0.8 / 3.3 = 0.24 (Beta(0.8, 2.5)), about 37% of buyers order
	// only once, and sign-ups spread over three years. So a sizeable share
	// of the buyers has stopped buying by the end: at the very least the
	// one-time buyers of the first two years, who are 37% of the buyers
	// times the first two years' share of sign-ups (1 + 1.4 of 1 + 1.4 +
	// 1.96 with 40% growth a year, 55%), about a fifth of all buyers.
	t.Run("planted: buyers drop out", func(t *testing.T) {
		lost := queryOne[float64](t, db, `SELECT AVG(CASE WHEN stage IN ('defecting', 'inactive') THEN 1.0 ELSE 0 END)
			FROM segflow.lifecycle WHERE stage <> 'lead'`)
		t.Logf("defecting or inactive: %.3f of buyers", lost)
		require.Greater(t, lost, 0.2)
		// LeadShare (10%) of the customers never buy, plus about 0.5% who
		// sign up too late to; the orphan buyers add a few contacts.
		leads := queryOne[float64](t, db, `SELECT share FROM segflow.lifecycle_summary WHERE stage = 'lead'`)
		t.Logf("leads: %.3f of contacts", leads)
		require.InDelta(t, sampledata.LeadShare+0.005, leads, 0.02)
		// Every stage is populated.
		require.Zero(t, queryOne[int](t, db, `SELECT COUNT(*) FROM segflow.lifecycle_summary WHERE customers = 0`))
	})

	// Planted: every cohort's retention declines with the months since
	// the first order (dropout after each repeat order). Compared over
	// three-month windows to smooth the season: the first three offsets
	// against offsets 10-12, for every cohort of at least 100 customers
	// old enough to have them.
	t.Run("planted: retention declines", func(t *testing.T) {
		rows, err := db.Query(`SELECT cohort_month,
			AVG(CASE WHEN month_offset BETWEEN 1 AND 3 THEN retention_rate END),
			AVG(CASE WHEN month_offset BETWEEN 10 AND 12 THEN retention_rate END),
			MIN(cohort_size)
			FROM segflow.cohort_retention GROUP BY cohort_month
			HAVING MAX(month_offset) >= 12 AND MIN(cohort_size) >= 100 ORDER BY 1`)
		require.NoError(t, err)
		defer rows.Close()
		n := 0
		for rows.Next() {
			var m time.Time
			var early, late float64
			var size int
			require.NoError(t, rows.Scan(&m, &early, &late, &size))
			t.Logf("cohort %s (%d): offsets 1-3 %.3f, 10-12 %.3f", m.Format("2006-01"), size, early, late)
			require.Greater(t, early, late, "cohort %s", m.Format("2006-01"))
			require.Greater(t, late, 0.0, "cohort %s still buys a year on", m.Format("2006-01"))
			n++
		}
		require.NoError(t, rows.Err())
		require.GreaterOrEqual(t, n, 3, "the 5,000 customers give cohorts of 100+")
	})

	// Planted: buyers acquired in November or December drop out after a
	// repeat order with probability Beta(2, 1.5) (mean 0.57) instead of
	// 0.24, so from month 2 on they buy about half as often (6% against
	// 12-13% of the other cohorts in month 3). The 2024 holiday cohorts
	// against their neighbours, 2024-09/10 and 2025-01/02, over offsets
	// 3-9 pooled; and in the lifecycle, fewer of them are active now.
	t.Run("planted: holiday cohorts churn", func(t *testing.T) {
		pooled := func(months string) float64 {
			return queryOne[float64](t, db, `SELECT SUM(active_customers) / SUM(cohort_size) FROM segflow.cohort_retention
				WHERE month_offset BETWEEN 3 AND 9 AND strftime(cohort_month, '%Y-%m') IN (`+months+`)`)
		}
		holiday, other := pooled("'2024-11', '2024-12'"), pooled("'2024-09', '2024-10', '2025-01', '2025-02'")
		t.Logf("retention offsets 3-9: holiday %.3f, neighbours %.3f", holiday, other)
		require.Less(t, holiday, 0.75*other)

		activeShare := func(months string) float64 {
			return queryOne[float64](t, db, `SELECT AVG(CASE WHEN l.stage = 'active' THEN 1.0 ELSE 0 END)
				FROM segflow.lifecycle AS l JOIN (SELECT customer_id, MIN(ordered_at) AS f FROM purchases GROUP BY 1) AS p
				ON p.customer_id = l.customer_id WHERE strftime(p.f, '%Y-%m') IN (`+months+`)`)
		}
		ha, oa := activeShare("'2024-11', '2024-12'"), activeShare("'2024-09', '2024-10', '2025-01', '2025-02'")
		t.Logf("active now: holiday %.3f, neighbours %.3f", ha, oa)
		require.Less(t, ha, 0.75*oa)
	})
}
