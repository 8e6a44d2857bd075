package models

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lifecycleRow is one row of the lifecycle table; revenue is read as DOUBLE.
type lifecycleRow struct {
	Stage          string
	LastOrderAt    sql.NullTime
	Orders         int
	Revenue        float64
	DaysSince      sql.NullInt64
	Active, Inactv int
	AsOf           time.Time
}

func readLifecycle(t *testing.T, db *sql.DB) map[string]lifecycleRow {
	t.Helper()
	rows, err := db.Query(`SELECT customer_id, stage, last_order_at, orders, CAST(revenue AS DOUBLE),
		days_since_last_order, active_days, inactive_days, as_of FROM segflow.lifecycle`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]lifecycleRow{}
	for rows.Next() {
		var id string
		var r lifecycleRow
		require.NoError(t, rows.Scan(&id, &r.Stage, &r.LastOrderAt, &r.Orders, &r.Revenue, &r.DaysSince, &r.Active, &r.Inactv, &r.AsOf))
		_, dup := out[id]
		require.False(t, dup, "contact %s appears twice", id)
		out[id] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// transitions reads lifecycle_transitions as "from>to" -> customers.
func readTransitions(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT from_stage, to_stage, customers FROM segflow.lifecycle_transitions`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var from, to string
		var n int
		require.NoError(t, rows.Scan(&from, &to, &n))
		out[from+">"+to] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func stagesOf(got map[string]lifecycleRow) map[string]string {
	out := map[string]string{}
	for id, r := range got {
		out[id] = r.Stage
	}
	return out
}

// TestLifecycleHandWorked runs lifecycle over the data set of
// TestRFMHandWorked (as_of 2024-06-30) with thresholds derived from the
// data.
func TestLifecycleHandWorked(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, handData...)
	stmts, err := Render("lifecycle", duckdbOptions())
	require.NoError(t, err)
	var names []string
	for _, s := range stmts {
		names = append(names, s.Name)
		require.Equal(t, sharedTables[s.Name], s.Shared, s.Name)
	}
	require.Equal(t, []string{"orders_clean", "data_quality", "lifecycle", "lifecycle_summary", "lifecycle_transitions"}, names)
	execStatements(t, db, stmts)

	// Purchase days per customer (non-refund orders_clean rows, all
	// history) and the gaps between consecutive ones:
	//   c01 2024-01-01, 04-01, 05-31, 06-20   -> 91, 60, 20
	//   c02 2023-09-01, 2024-03-15, 06-20     -> 196, 97 (the 03-20 refund is no purchase)
	//   c04 2024-02-01, 05-31                 -> 120 (the 06-10 refund is none either)
	//   c05 2023-10-01, 2024-04-01            -> 183
	//   c06 2023-08-15, 2024-01-01            -> 139 (NULL revenue is still a purchase)
	//   c08 2023-01-15, 2023-07-01            -> 167
	//   c09 2023-06-01, 2023-06-30            -> 29
	//   c03, c07, c10, c11, c99 bought once; c12 never (cancelled).
	// Sorted gaps (n = 10): 20 29 60 91 97 120 139 167 183 196.
	// p75: h = 1 + 0.75 * 9 = 7.75 -> 139 + 0.75 * (167 - 139) = 160 -> active_days 160.
	// p95: h = 1 + 0.95 * 9 = 9.55 -> 183 + 0.55 * (196 - 183) = 190.15 -> inactive_days 191.
	//
	// Contacts: c01-c12 from customers (c01 twice) plus the orphan c99.
	// Stage by orders and days since the last purchase (as_of 2024-06-30):
	//   c01 4 orders, 10 days -> active          c02 3, 10 -> active
	//   c03 1, 20 -> first_time_buyer            c04 2, 30 -> active
	//   c05 2, 90 -> active                      c06 2, 181 -> defecting (160 < 181 <= 191)
	//   c07 1, 182 -> defecting (one order, no longer recent)
	//   c08 2, 365; c09 2, 366; c10 1, 537; c11 1, 787 -> inactive
	//   c12 no purchase -> lead                  c99 1, 0 -> first_time_buyer
	// Revenue: net, all history: c08 20 + 500 (o19 predates rfm's window
	// but not the lifecycle); c09 10 + 40 - 40; c10 100 - 100.
	type want struct {
		stage   string
		orders  int
		revenue float64
		days    int64 // -1: NULL
	}
	wants := map[string]want{
		"c01": {"active", 4, 400, 10},
		"c02": {"active", 3, 180, 10},
		"c03": {"first_time_buyer", 1, 500, 20},
		"c04": {"active", 2, 150, 30},
		"c05": {"active", 2, 150, 90},
		"c06": {"defecting", 2, 60, 181},
		"c07": {"defecting", 1, 30, 182},
		"c08": {"inactive", 2, 520, 365},
		"c09": {"inactive", 2, 10, 366},
		"c10": {"inactive", 1, 0, 537},
		"c11": {"inactive", 1, 45, 787},
		"c12": {"lead", 0, 0, -1},
		"c99": {"first_time_buyer", 1, 80, 0},
	}
	got := readLifecycle(t, db)
	require.Len(t, got, len(wants))
	for id, w := range wants {
		g, ok := got[id]
		require.True(t, ok, "contact %s missing", id)
		days := int64(-1)
		if g.DaysSince.Valid {
			days = g.DaysSince.Int64
		}
		require.Equal(t, w, want{g.Stage, g.Orders, g.Revenue, days}, id)
		require.Equal(t, [2]int{160, 191}, [2]int{g.Active, g.Inactv}, id)
		require.Equal(t, asOf, g.AsOf.UTC())
		require.Equal(t, w.orders > 0, g.LastOrderAt.Valid, id)
	}
	require.Equal(t, time.Date(2024, 6, 30, 23, 59, 59, 0, time.UTC), got["c99"].LastOrderAt.Time.UTC())
	require.Equal(t, time.Date(2024, 6, 20, 18, 0, 0, 0, time.UTC), got["c02"].LastOrderAt.Time.UTC())

	t.Run("summary", func(t *testing.T) {
		// lead c12 (0); first_time_buyer c03 500 + c99 80; active c01 400 +
		// c02 180 + c04 150 + c05 150; defecting c06 60 + c07 30;
		// inactive c08 520 + c09 10 + c10 0 + c11 45. 13 contacts.
		type row struct {
			order, customers      int
			share, revenue, avgRv float64
		}
		rows, err := db.Query(`SELECT stage, stage_order, customers, share, CAST(revenue AS DOUBLE), avg_revenue FROM segflow.lifecycle_summary`)
		require.NoError(t, err)
		defer rows.Close()
		sum := map[string]row{}
		for rows.Next() {
			var stage string
			var r row
			var avg sql.NullFloat64
			require.NoError(t, rows.Scan(&stage, &r.order, &r.customers, &r.share, &r.revenue, &avg))
			r.avgRv = avg.Float64
			sum[stage] = r
		}
		require.NoError(t, rows.Err())
		require.Equal(t, map[string]row{
			"lead":             {1, 1, 1.0 / 13, 0, 0},
			"first_time_buyer": {2, 2, 2.0 / 13, 580, 290},
			"active":           {3, 4, 4.0 / 13, 880, 220},
			"defecting":        {4, 2, 2.0 / 13, 90, 45},
			"inactive":         {5, 4, 4.0 / 13, 575, 143.75},
		}, sum)
	})

	t.Run("transitions", func(t *testing.T) {
		// The earlier date is 2024-05-31 (30 days before as_of); purchases
		// up to it, same thresholds (160, 191):
		//   c01 o02-o04, last 05-31 -> 0 days, active        -> active
		//   c02 o06, o07, last 03-15 -> 77, active           -> active
		//   c04 o09, o10, last 05-31 -> 0, active            -> active
		//   c05 o11, o12, last 04-01 -> 60, active           -> active
		//   c06 2 orders, last 2024-01-01 -> 151, active     -> defecting
		//   c07 1 order, 2023-12-31 -> 152, first_time_buyer -> defecting
		//   c03 (06-10), c99 (06-30): nothing yet, lead      -> first_time_buyer
		//   c08-c11 inactive -> inactive; c12 lead -> lead.
		require.Equal(t, map[string]int{
			"active>active":              4,
			"active>defecting":           1,
			"first_time_buyer>defecting": 1,
			"lead>first_time_buyer":      2,
			"inactive>inactive":          4,
			"lead>lead":                  1,
		}, readTransitions(t, db))
		var from, to time.Time
		require.NoError(t, db.QueryRow(`SELECT DISTINCT from_as_of, to_as_of FROM segflow.lifecycle_transitions`).Scan(&from, &to))
		require.Equal(t, []time.Time{time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC), asOf}, []time.Time{from.UTC(), to.UTC()})
	})

	t.Run("segment", func(t *testing.T) {
		seg, err := RenderSegment(SegmentSpec{Name: "winback", Model: "lifecycle",
			Where: "stage = 'defecting'", Attributes: []string{"stage", "orders"}}, duckdbOptions())
		require.NoError(t, err)
		exec(t, db, seg.SQL)
		var ids []string
		rows, err := db.Query(`SELECT customer_id FROM segflow.segment_winback ORDER BY 1`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.Equal(t, []string{"c06", "c07"}, ids)
	})
}

// TestLifecycleConfiguredThresholds uses configured thresholds and a
// longer period on the same data.
func TestLifecycleConfiguredThresholds(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, handData...)
	o := duckdbOptions()
	o.Lifecycle = LifecycleOptions{ActiveDays: 30, InactiveDays: 90, PeriodDays: 60}
	stmts, err := Render("lifecycle", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)

	// Days since the last purchase as in TestLifecycleHandWorked; active up
	// to 30 days, defecting up to 90: c04 (30) is still active, c05 (90)
	// defecting, c06 (181) and c07 (182) inactive.
	require.Equal(t, map[string]string{
		"c01": "active", "c02": "active", "c03": "first_time_buyer", "c04": "active",
		"c05": "defecting", "c06": "inactive", "c07": "inactive", "c08": "inactive",
		"c09": "inactive", "c10": "inactive", "c11": "inactive", "c12": "lead", "c99": "first_time_buyer",
	}, stagesOf(readLifecycle(t, db)))

	// 60 days earlier is 2024-05-01; purchases up to then:
	//   c01 o03, o04, last 04-01 -> 30 days, active          -> active
	//   c02 o06, o07, last 03-15 -> 47, defecting            -> active
	//   c04 o10 only (o09 is 05-31), 02-01 -> 90, defecting  -> active
	//   c05 o11, o12, last 04-01 -> 30, active               -> defecting
	//   c06 121 days, c07 122 days: inactive                 -> inactive
	//   c03, c99 leads -> first_time_buyer; c12 lead -> lead; c08-c11 inactive.
	require.Equal(t, map[string]int{
		"active>active":         1,
		"defecting>active":      2,
		"active>defecting":      1,
		"lead>first_time_buyer": 2,
		"inactive>inactive":     6,
		"lead>lead":             1,
	}, readTransitions(t, db))
}

// TestLifecycleThresholdMix covers one threshold configured and the
// other derived, and the fallback when no customer bought twice.
func TestLifecycleThresholdMix(t *testing.T) {
	t.Parallel()
	thresholds := func(t *testing.T, db *sql.DB) [2]int {
		var a, i int
		require.NoError(t, db.QueryRow(`SELECT DISTINCT active_days, inactive_days FROM segflow.lifecycle`).Scan(&a, &i))
		return [2]int{a, i}
	}
	for _, c := range []struct {
		name string
		opts LifecycleOptions
		want [2]int
	}{
		// Derived from the hand data: 160 and 191 (see TestLifecycleHandWorked).
		{"active configured", LifecycleOptions{ActiveDays: 200}, [2]int{200, 201}}, // 191 is below 200 + 1
		{"active configured low", LifecycleOptions{ActiveDays: 100}, [2]int{100, 191}},
		{"inactive configured", LifecycleOptions{InactiveDays: 100}, [2]int{99, 100}}, // 160 is above 100 - 1
		{"inactive configured high", LifecycleOptions{InactiveDays: 400}, [2]int{160, 400}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := openDuckDB(t)
			exec(t, db, handData...)
			o := duckdbOptions()
			o.Lifecycle = c.opts
			stmts, err := Render("lifecycle", o)
			require.NoError(t, err)
			execStatements(t, db, stmts)
			require.Equal(t, c.want, thresholds(t, db))
		})
	}

	t.Run("no repeat buyers", func(t *testing.T) {
		t.Parallel()
		db := openDuckDB(t)
		exec(t, db,
			`CREATE TABLE raw.customers (customer_id VARCHAR, email VARCHAR)`,
			`INSERT INTO raw.customers VALUES ('x1', NULL), ('x2', NULL), ('x3', NULL)`,
			`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
				revenue DOUBLE, sales_channel VARCHAR, store_id VARCHAR, status VARCHAR)`,
			// x2's two orders fall on one day: one purchase day, no gap.
			`INSERT INTO raw.orders VALUES
				('o1', 'x1', '2024-06-01 10:00:00', 10, NULL, NULL, 'completed'),
				('o2', 'x2', '2024-01-01 10:00:00', 10, NULL, NULL, 'completed'),
				('o3', 'x2', '2024-01-01 18:00:00', 10, NULL, NULL, 'completed')`)
		stmts, err := Render("lifecycle", duckdbOptions())
		require.NoError(t, err)
		execStatements(t, db, stmts)
		// No gap at all: the fallbacks 90 and 2 * 90.
		require.Equal(t, [2]int{90, 180}, thresholds(t, db))
		// x1 29 days, 1 order -> first_time_buyer; x2 181 days, 2 orders ->
		// inactive (beyond 180); x3 never bought -> lead.
		require.Equal(t, map[string]string{"x1": "first_time_buyer", "x2": "inactive", "x3": "lead"}, stagesOf(readLifecycle(t, db)))
	})
}

func TestLifecycleOptionsValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		opts LifecycleOptions
		want string
	}{
		{LifecycleOptions{ActiveDays: -1}, "must not be negative"},
		{LifecycleOptions{ActiveDays: 90, InactiveDays: 90}, "InactiveDays (90) must be greater than Lifecycle.ActiveDays (90)"},
		{LifecycleOptions{InactiveDays: 1}, "at least 2"},
		{LifecycleOptions{PeriodDays: -5}, "PeriodDays must be between 1 and 3660"},
	} {
		o := duckdbOptions()
		o.Lifecycle = c.opts
		_, err := Render("lifecycle", o)
		require.ErrorContains(t, err, c.want)
	}
	o := duckdbOptions()
	require.NoError(t, o.Lifecycle.withDefaults())
	require.Equal(t, LifecycleOptions{PeriodDays: 30}, o.Lifecycle)
}
