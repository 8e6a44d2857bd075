package models

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHoldoutResultsHandWorked compares a treated and a control group
// whose outcomes are worked out by hand.
func TestHoldoutResultsHandWorked(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db,
		`CREATE TABLE segflow.segment_membership_history (segment VARCHAR, customer_id VARCHAR, holdout BOOLEAN,
			joined_at TIMESTAMP, left_at TIMESTAMP, joined_as_of DATE, joined_run_id VARCHAR, left_run_id VARCHAR)`,
		`INSERT INTO segflow.segment_membership_history (segment, customer_id, holdout, joined_as_of) VALUES
			('vip', 't1', FALSE, DATE '2025-01-01'), ('vip', 't2', FALSE, DATE '2025-01-01'),
			('vip', 't3', FALSE, DATE '2025-01-01'), ('vip', 't4', FALSE, DATE '2025-01-01'),
			('vip', 'c1', TRUE, DATE '2025-01-01'), ('vip', 'c2', TRUE, DATE '2025-01-01'),
			('all', 't1', FALSE, DATE '2025-01-01')`,
		`CREATE TABLE segflow.orders_clean (order_id VARCHAR, customer_id VARCHAR, order_date DATE, revenue DECIMAL(18, 2))`,
		`INSERT INTO segflow.orders_clean VALUES
			('o1', 't1', DATE '2025-01-10', 100),
			('o2', 't2', DATE '2025-01-20', 50),
			('o3', 't2', DATE '2025-03-01', 999),  -- after the 30-day window
			('o4', 't3', DATE '2025-01-05', -20),  -- a refund: revenue, no conversion
			('o5', 'c1', DATE '2025-01-15', 40),
			('o6', 'c2', DATE '2025-01-01', 70)    -- the publish day itself: before
		`,
	)
	o := duckdbOptions()
	o.AsOf = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	stmt, err := RenderHoldoutResults(o)
	require.NoError(t, err)
	exec(t, db, stmt.SQL)

	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.holdout_results`).Scan(&n))
	require.Equal(t, 1, n, "segment all has no control group")
	var (
		segment, date                 string
		window                        int
		complete                      bool
		nt, nc                        int
		ct, cc, lift, rel, lo, hi     float64
		rt, rc, rlift, rrel, rlo, rhi float64
	)
	require.NoError(t, db.QueryRow(`SELECT segment, CAST(publish_date AS VARCHAR), window_days, window_complete,
		treated_customers, control_customers, treated_conversion, control_conversion, conversion_lift,
		conversion_lift_relative, conversion_lift_ci_low, conversion_lift_ci_high,
		treated_revenue_per_customer, control_revenue_per_customer, revenue_lift, revenue_lift_relative,
		revenue_lift_ci_low, revenue_lift_ci_high FROM segflow.holdout_results`).
		Scan(&segment, &date, &window, &complete, &nt, &nc, &ct, &cc, &lift, &rel, &lo, &hi, &rt, &rc, &rlift, &rrel, &rlo, &rhi))
	require.Equal(t, "vip", segment)
	require.Equal(t, "2025-01-01", date)
	require.Equal(t, 30, window)
	require.True(t, complete, "2025-01-31 is before as_of")
	o.AsOf = time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)
	stmt, err = RenderHoldoutResults(o)
	require.NoError(t, err)
	exec(t, db, stmt.SQL)
	require.NoError(t, db.QueryRow(`SELECT window_complete FROM segflow.holdout_results`).Scan(&complete))
	require.False(t, complete, "as_of 2025-01-20 is inside the window")
	require.Equal(t, 4, nt)
	require.Equal(t, 2, nc)
	// Treated: t1 and t2 bought in the window: 2 of 4. Control: c1, 1 of 2.
	require.InDelta(t, 0.5, ct, 1e-12)
	require.InDelta(t, 0.5, cc, 1e-12)
	require.InDelta(t, 0, lift, 1e-12)
	require.InDelta(t, 0, rel, 1e-12)
	// Wald: sqrt(.25/4 + .25/2) = sqrt(.1875).
	se := math.Sqrt(0.1875)
	require.InDelta(t, -1.96*se, lo, 1e-9)
	require.InDelta(t, 1.96*se, hi, 1e-9)
	// Revenue per customer: treated (100 + 50 - 20 + 0) / 4 = 32.5, sample
	// variance 8675 / 3; control (40 + 0) / 2 = 20, variance 800.
	require.InDelta(t, 32.5, rt, 1e-9)
	require.InDelta(t, 20, rc, 1e-9)
	require.InDelta(t, 12.5, rlift, 1e-9)
	require.InDelta(t, 0.625, rrel, 1e-9)
	rse := math.Sqrt(8675.0/3/4 + 800.0/2)
	require.InDelta(t, 12.5-1.96*rse, rlo, 1e-9)
	require.InDelta(t, 12.5+1.96*rse, rhi, 1e-9)
}
