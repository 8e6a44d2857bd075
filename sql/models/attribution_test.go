package models

import (
	"database/sql"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/attribution"
)

// attrHandData is the hand-made data set of TestAttributionHandWorked.
// as_of is 2024-06-30, the lookback 30 days, the half-life 7 days.
var attrHandData = []string{
	`CREATE TABLE raw.customers (customer_id VARCHAR, email VARCHAR)`,
	`INSERT INTO raw.customers VALUES ('a1', NULL), ('a2', NULL), ('a3', NULL), ('a4', NULL), ('a5', NULL),
		('a6', NULL), ('a7', NULL), ('a8', NULL), ('a9', NULL)`,
	`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
		revenue DECIMAL(10, 2), sales_channel VARCHAR, store_id VARCHAR, status VARCHAR)`,
	`INSERT INTO raw.orders VALUES
		('o1', 'a1', '2024-06-10 12:00:00', 100, 'online',  NULL, 'completed'),
		('o2', 'a2', '2024-06-20 10:00:00', 50,  'offline', 's1', 'completed'),
		('o3', 'a3', '2024-06-15 00:00:00', 80,  'online',  NULL, 'completed'),
		('o4', 'a4', '2024-05-10 12:00:00', 40,  'online',  NULL, 'completed'),
		('o5', 'a4', '2024-05-20 12:00:00', 60,  'offline', 's2', 'completed'),
		('o6', 'a5', '2024-06-25 12:00:00', 200, 'online',  NULL, 'completed'),
		('o7', 'a7', '2024-06-28 12:00:00', 10,  'online',  NULL, 'completed'),
		('o8', 'a8', '2024-06-30 12:00:00', 30,  'online',  NULL, 'completed'),
		-- a refund of o1 and a cancelled order: no conversions
		('o1', 'a1', '2024-06-12 12:00:00', -20, 'online',  NULL, 'refunded'),
		('o9', 'a6', '2024-06-12 12:00:00', 70,  'online',  NULL, 'cancelled')`,
	`CREATE TABLE raw.touchpoints (customer_id VARCHAR, occurred_at TIMESTAMP, channel VARCHAR, campaign VARCHAR, cost DOUBLE)`,
	`INSERT INTO raw.touchpoints VALUES
		-- a1: three touches 9 days, 2 days and 1 hour before o1; one 70 days before (too old)
		('a1', '2024-06-01 12:00:00', 'email',       'news_june', 0),
		('a1', '2024-06-08 12:00:00', 'display',     'summer',    0),
		('a1', '2024-06-10 11:00:00', 'paid_search', 'brand',     0),
		('a1', '2024-04-01 12:00:00', 'email',       'news_april', 0),
		-- a2: one touch, and an exact copy of it
		('a2', '2024-06-19 10:00:00', 'social',      NULL,        0),
		('a2', '2024-06-19 10:00:00', 'social',      NULL,        0),
		-- a4: two emails before o4, a direct mail between o4 and o5
		('a4', '2024-05-05 12:00:00', 'email',       'news_may',  0),
		('a4', '2024-05-09 12:00:00', 'email',       'news_may',  0),
		('a4', '2024-05-15 12:00:00', 'direct_mail', 'catalogue', 0),
		-- a5: five touches, one a day
		('a5', '2024-06-20 12:00:00', 'email',       'c1', 0),
		('a5', '2024-06-21 12:00:00', 'display',     'c2', 0),
		('a5', '2024-06-22 12:00:00', 'social',      'c3', 0),
		('a5', '2024-06-23 12:00:00', 'display',     'c4', 0),
		('a5', '2024-06-24 12:00:00', 'affiliate',   'c5', 0),
		-- a6: never converts; one touch has no channel
		('a6', '2024-06-01 12:00:00', 'display',     'summer', 0),
		('a6', '2024-06-02 12:00:00', NULL,          NULL,     0),
		-- a7: two touches
		('a7', '2024-06-26 12:00:00', 'email',       'c1', 0),
		('a7', '2024-06-27 12:00:00', 'display',     'c2', 0),
		-- a8: exactly 30 days before o8 (not eligible), one second later
		-- (eligible), after the order (not eligible), and after as_of
		('a8', '2024-05-31 12:00:00', 'email',       'c1', 0),
		('a8', '2024-05-31 12:00:01', 'social',      'c3', 0),
		('a8', '2024-06-30 13:00:00', 'display',     'c2', 0),
		('a8', '2024-07-01 00:00:00', 'display',     'c2', 0),
		-- no customer, no time
		(NULL, '2024-06-01 12:00:00', 'email',       'c1', 0),
		('a1', NULL,                  'email',       'c1', 0)`,
}

func attrOptions() Options {
	return Options{
		Dialect:      duckdbOptions().Dialect,
		OutputSchema: "segflow",
		AsOf:         asOf,
		Sources: map[string]Source{
			"customers":   {Table: "raw.customers"},
			"orders":      {Table: "raw.orders"},
			"touchpoints": {Table: "raw.touchpoints"},
		},
		Attribution: AttributionOptions{PositionWeights: &PositionWeights{First: 1, Middle: 2, Last: 1}},
	}
}

// attrCredits reads attribution_credits as order → model → channel → credit.
func attrCredits(t *testing.T, db *sql.DB) map[string]map[string]map[string]float64 {
	t.Helper()
	rows, err := db.Query(`SELECT order_id, model, channel, SUM(credit), SUM(revenue_credit) FROM segflow.attribution_credits GROUP BY ALL`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]map[string]map[string]float64{}
	for rows.Next() {
		var o, m, c string
		var credit, rev float64
		require.NoError(t, rows.Scan(&o, &m, &c, &credit, &rev))
		if out[o] == nil {
			out[o] = map[string]map[string]float64{}
		}
		if out[o][m] == nil {
			out[o][m] = map[string]float64{}
		}
		out[o][m][c] = credit
	}
	require.NoError(t, rows.Err())
	return out
}

// decayShares returns 2^(-age/7) / Σ for ages in days: the definition of
// time_decay with the default half-life.
func decayShares(ages ...float64) []float64 {
	var sum float64
	w := make([]float64, len(ages))
	for i, a := range ages {
		w[i] = math.Pow(2, -a/7)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

func TestAttributionHandWorked(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, attrHandData...)
	o := attrOptions()
	stmts, err := Render("attribution", o)
	require.NoError(t, err)
	var names []string
	for _, s := range stmts {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"orders_clean", "data_quality", "attribution_touch_quality", "attribution_conversions",
		"attribution_touches", "attribution_credits", "attribution_summary", "attribution_breakdown",
		"attribution_transitions", "attribution_channel_sets", "channel_combinations"}, names)
	execStatements(t, db, stmts)

	t.Run("credits", func(t *testing.T) {
		// o1 (a1): email 9 days, display 2 days, paid_search 1 hour before.
		// time_decay weights 2^(-9/7) = 0.41017, 2^(-2/7) = 0.82034,
		// 2^(-1/168) = 0.99588, sum 2.22639: 0.18423, 0.36846, 0.44731.
		// custom_position 1/2/1 scales to 0.25/0.5/0.25.
		// o6 (a5): email, display, social, display, affiliate, 5 to 1 days
		// before: position_based 0.4, 0.2/3 each in the middle, 0.4, so
		// display 2 × 0.2/3; custom 0.25, 0.5/3 each, 0.25.
		// o7 (a7): email 2 days, display 1 day before: position 50/50,
		// custom 1/(1+1) = 0.5 each.
		// o2, o5, o8: a single touch (o5: the direct mail only, o4 took
		// the emails; o8: the social touch 30 days minus one second before,
		// the email exactly 30 days before is out). o4: two emails.
		// o3: untouched.
		d6 := decayShares(5, 4, 3, 2, 1)
		d7 := decayShares(2, 1)
		all := func(ch string) map[string]map[string]float64 {
			m := map[string]map[string]float64{}
			for _, model := range []string{"first_touch", "last_touch", "linear", "time_decay", "position_based", "custom_position"} {
				m[model] = map[string]float64{ch: 1}
			}
			return m
		}
		want := map[string]map[string]map[string]float64{
			"o1": {
				"first_touch":     {"email": 1},
				"last_touch":      {"paid_search": 1},
				"linear":          {"email": 1.0 / 3, "display": 1.0 / 3, "paid_search": 1.0 / 3},
				"time_decay":      {"email": 0.18423029118554454, "display": 0.36846058237108914, "paid_search": 0.4473091264433663},
				"position_based":  {"email": 0.4, "display": 0.2, "paid_search": 0.4},
				"custom_position": {"email": 0.25, "display": 0.5, "paid_search": 0.25},
			},
			"o2": all("social"),
			"o3": all("(none)"),
			"o4": all("email"),
			"o5": all("direct_mail"),
			"o6": {
				"first_touch":     {"email": 1},
				"last_touch":      {"affiliate": 1},
				"linear":          {"email": 0.2, "display": 0.4, "social": 0.2, "affiliate": 0.2},
				"time_decay":      {"email": d6[0], "display": d6[1] + d6[3], "social": d6[2], "affiliate": d6[4]},
				"position_based":  {"email": 0.4, "display": 0.4 / 3, "social": 0.2 / 3, "affiliate": 0.4},
				"custom_position": {"email": 0.25, "display": 1.0 / 3, "social": 0.5 / 3, "affiliate": 0.25},
			},
			"o7": {
				"first_touch":     {"email": 1},
				"last_touch":      {"display": 1},
				"linear":          {"email": 0.5, "display": 0.5},
				"time_decay":      {"email": d7[0], "display": d7[1]},
				"position_based":  {"email": 0.5, "display": 0.5},
				"custom_position": {"email": 0.5, "display": 0.5},
			},
			"o8": all("social"),
		}
		got := attrCredits(t, db)
		require.Equal(t, len(want), len(got))
		for o, models := range want {
			require.Equal(t, len(models), len(got[o]), o)
			for m, credits := range models {
				require.InDeltaMapValues(t, credits, got[o][m], 1e-9, "%s %s", o, m)
			}
		}
	})

	t.Run("every conversion sums to 1 and to its revenue", func(t *testing.T) {
		var bad int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM (
			SELECT cr.order_id, cr.model, SUM(cr.credit) AS credit, SUM(cr.revenue_credit) AS rev, MIN(c.revenue) AS revenue
			FROM segflow.attribution_credits cr JOIN segflow.attribution_conversions c USING (customer_id, order_id)
			GROUP BY cr.order_id, cr.model)
			WHERE ABS(credit - 1) > 1e-9 OR ABS(rev - revenue) > 1e-6`).Scan(&bad))
		require.Zero(t, bad)
	})

	t.Run("summary", func(t *testing.T) {
		// Revenue 100 + 50 + 80 + 40 + 60 + 200 + 10 + 30 = 570 (the refund
		// does not reduce a conversion), 8 conversions, o3's 80 under (none).
		rows, err := db.Query(`SELECT model, SUM(conversions), SUM(revenue), SUM(CASE WHEN channel = '(none)' THEN revenue END)
			FROM segflow.attribution_summary GROUP BY model`)
		require.NoError(t, err)
		defer rows.Close()
		var models []string
		for rows.Next() {
			var m string
			var conv, rev, none float64
			require.NoError(t, rows.Scan(&m, &conv, &rev, &none))
			require.InDelta(t, 8, conv, 1e-9, m)
			require.InDelta(t, 570, rev, 1e-6, m)
			require.InDelta(t, 80, none, 1e-9, m)
			models = append(models, m)
		}
		require.NoError(t, rows.Err())
		require.ElementsMatch(t, []string{"first_touch", "last_touch", "linear", "time_decay", "position_based", "custom_position"}, models)
		// last_touch: social o2 50 + o8 30.
		var social float64
		require.NoError(t, db.QueryRow(`SELECT revenue FROM segflow.attribution_summary WHERE model = 'last_touch' AND channel = 'social'`).Scan(&social))
		require.InDelta(t, 80, social, 1e-9)
	})

	t.Run("breakdown", func(t *testing.T) {
		// Per model and dimension, the breakdown adds up to the summary.
		var bad int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM (
			SELECT b.model, b.dimension, b.channel, SUM(b.revenue) AS rev, MIN(s.revenue) AS want
			FROM segflow.attribution_breakdown b JOIN segflow.attribution_summary s USING (model, channel)
			GROUP BY b.model, b.dimension, b.channel) WHERE ABS(rev - want) > 1e-6`).Scan(&bad))
		require.Zero(t, bad)
		var dims []string
		rows, err := db.Query(`SELECT DISTINCT dimension FROM segflow.attribution_breakdown ORDER BY 1`)
		require.NoError(t, err)
		for rows.Next() {
			var d string
			require.NoError(t, rows.Scan(&d))
			dims = append(dims, d)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Equal(t, []string{"campaign", "sales_channel", "store"}, dims)
		// Offline: o2 (50, social) and o5 (60, direct mail); store s2 is o5's.
		var off, s2 float64
		require.NoError(t, db.QueryRow(`SELECT SUM(revenue) FROM segflow.attribution_breakdown
			WHERE model = 'linear' AND dimension = 'sales_channel' AND value = 'offline'`).Scan(&off))
		require.InDelta(t, 110, off, 1e-9)
		require.NoError(t, db.QueryRow(`SELECT revenue FROM segflow.attribution_breakdown
			WHERE model = 'linear' AND dimension = 'store' AND value = 's2' AND channel = 'direct_mail'`).Scan(&s2))
		require.InDelta(t, 60, s2, 1e-9)
		// a2's campaign is NULL: (none). o1's first touch is news_june.
		var n float64
		require.NoError(t, db.QueryRow(`SELECT conversions FROM segflow.attribution_breakdown
			WHERE model = 'first_touch' AND dimension = 'campaign' AND value = 'news_june'`).Scan(&n))
		require.InDelta(t, 1, n, 1e-9)
		require.NoError(t, db.QueryRow(`SELECT SUM(conversions) FROM segflow.attribution_breakdown
			WHERE model = 'linear' AND dimension = 'campaign' AND value = '(none)'`).Scan(&n))
		require.InDelta(t, 2, n, 1e-9) // o2 (social, no campaign) and o3 (untouched)
	})

	// The paths, listed by hand (channels in time order):
	//   o1 email display paid_search   converting
	//   a1 email (April)               non-converting
	//   o2 social                      converting
	//   o4 email email                 converting
	//   o5 direct_mail                 converting
	//   o6 email display social display affiliate  converting
	//   a6 display (unknown)           non-converting
	//   o7 email display               converting
	//   o8 social                      converting
	//   a8 email display               non-converting (30 days exactly; after the order)
	handPaths := []attribution.Path{
		{Channels: []string{"email", "display", "paid_search"}, Conversions: 1},
		{Channels: []string{"email"}, NonConversions: 1},
		{Channels: []string{"social"}, Conversions: 1},
		{Channels: []string{"email", "email"}, Conversions: 1},
		{Channels: []string{"direct_mail"}, Conversions: 1},
		{Channels: []string{"email", "display", "social", "display", "affiliate"}, Conversions: 1},
		{Channels: []string{"display", "(unknown)"}, NonConversions: 1},
		{Channels: []string{"email", "display"}, Conversions: 1},
		{Channels: []string{"social"}, Conversions: 1},
		{Channels: []string{"email", "display"}, NonConversions: 1},
	}

	t.Run("transitions", func(t *testing.T) {
		got := attrReadTransitions(t, db, AttributionInputs(o).Transitions)
		require.ElementsMatch(t, sortedTransitions(attribution.TransitionsFromPaths(handPaths)), sortedTransitions(got))
	})

	t.Run("channel sets", func(t *testing.T) {
		got := attrReadSets(t, db, AttributionInputs(o).ChannelSets)
		want := []attribution.SetStats{
			{Channels: []string{"display", "email", "paid_search"}, Conversions: 1},
			{Channels: []string{"email"}, Conversions: 1, NonConversions: 1},
			{Channels: []string{"social"}, Conversions: 2},
			{Channels: []string{"direct_mail"}, Conversions: 1},
			{Channels: []string{"affiliate", "display", "email", "social"}, Conversions: 1},
			{Channels: []string{"(unknown)", "display"}, NonConversions: 1},
			{Channels: []string{"display", "email"}, Conversions: 1, NonConversions: 1},
		}
		require.ElementsMatch(t, want, got)
		var label string
		require.NoError(t, db.QueryRow(`SELECT DISTINCT channel_set FROM segflow.attribution_channel_sets WHERE channel = 'affiliate'`).Scan(&label))
		require.Equal(t, "affiliate+display+email+social", label)
	})

	t.Run("channel combinations", func(t *testing.T) {
		// Customers' channel sets over their paths: a1 {display, email,
		// paid_search}, a2 {social}, a4 {direct_mail, email}, a5
		// {affiliate, display, email, social}, a6 {(unknown), display}, a7
		// {display, email}, a8 {display, email, social}; a3 and a9 none.
		// All but a6 and a9 converted.
		type combo struct {
			channels, customers, converters int
			rate                            float64
		}
		want := map[string]combo{
			"display+email+paid_search":      {3, 1, 1, 1},
			"social":                         {1, 1, 1, 1},
			"direct_mail+email":              {2, 1, 1, 1},
			"affiliate+display+email+social": {4, 1, 1, 1},
			"(unknown)+display":              {2, 1, 0, 0},
			"display+email":                  {2, 1, 1, 1},
			"display+email+social":           {3, 1, 1, 1},
			"(none)":                         {0, 2, 1, 0.5},
		}
		rows, err := db.Query(`SELECT channel_set, channels, customers, converters, conversion_rate FROM segflow.channel_combinations`)
		require.NoError(t, err)
		defer rows.Close()
		got := map[string]combo{}
		for rows.Next() {
			var s string
			var c combo
			require.NoError(t, rows.Scan(&s, &c.channels, &c.customers, &c.converters, &c.rate))
			got[s] = c
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got)
	})

	t.Run("touch quality", func(t *testing.T) {
		rows, err := db.Query(`SELECT rule, action, rows_affected, rows_excluded FROM segflow.attribution_touch_quality`)
		require.NoError(t, err)
		defer rows.Close()
		got := map[string][3]any{}
		for rows.Next() {
			var rule, action string
			var aff, excl int64
			require.NoError(t, rows.Scan(&rule, &action, &aff, &excl))
			got[rule] = [3]any{action, aff, excl}
		}
		require.NoError(t, rows.Err())
		require.Equal(t, map[string][3]any{
			"null_customer_id": {"excluded", int64(1), int64(1)},
			"null_occurred_at": {"excluded", int64(1), int64(1)},
			"future_timestamp": {"excluded", int64(1), int64(1)},
			"duplicate":        {"excluded", int64(1), int64(1)},
			"null_channel":     {"kept", int64(1), int64(0)},
		}, got)
	})

	t.Run("data-driven results", func(t *testing.T) {
		in := AttributionInputs(o)
		mk, err := attribution.MarkovModel(attrReadTransitions(t, db, in.Transitions))
		require.NoError(t, err)
		sh, err := attribution.ShapleyModel(attrReadSets(t, db, in.ChannelSets))
		require.NoError(t, err)
		// 7 touched conversions.
		require.Equal(t, 7.0, mk.Conversions)
		require.Equal(t, 7.0, sh.Conversions)
		// Shapley: each conversion split equally over its distinct channels:
		// o1 1/3 each of display, email, paid_search; o2, o8 social; o4
		// email; o5 direct_mail; o6 1/4 each of affiliate, display, email,
		// social; o7 1/2 display, 1/2 email.
		require.InDeltaMapValues(t, map[string]float64{
			"email":       1.0/3 + 1 + 0.25 + 0.5,
			"display":     1.0/3 + 0.25 + 0.5,
			"paid_search": 1.0 / 3,
			"social":      2 + 0.25,
			"direct_mail": 1,
			"affiliate":   0.25,
			"(unknown)":   0, // on a non-converting path only
		}, sh.Weights, 1e-12)

		res, err := RenderAttributionResults(o, mk, sh)
		require.NoError(t, err)
		require.Equal(t, []string{"attribution_data_driven", "attribution_summary"}, []string{res[0].Name, res[1].Name})
		execStatements(t, db, res)
		rows, err := db.Query(`SELECT model, SUM(conversions), SUM(revenue), SUM(CASE WHEN channel = '(none)' THEN revenue END), COUNT(*)
			FROM segflow.attribution_summary GROUP BY model`)
		require.NoError(t, err)
		defer rows.Close()
		var models []string
		for rows.Next() {
			var m string
			var conv, rev, none float64
			var n int
			require.NoError(t, rows.Scan(&m, &conv, &rev, &none, &n))
			require.InDelta(t, 8, conv, 1e-9, m)
			require.InDelta(t, 570, rev, 1e-6, m)
			require.InDelta(t, 80, none, 1e-9, m)
			models = append(models, m)
		}
		require.NoError(t, rows.Err())
		require.ElementsMatch(t, AttributionModels(o.Attribution), models)
		// shapley's email: share × touched revenue (570 - 80 = 490).
		var email float64
		require.NoError(t, db.QueryRow(`SELECT revenue FROM segflow.attribution_summary WHERE model = 'shapley' AND channel = 'email'`).Scan(&email))
		require.InDelta(t, (1.0/3+1+0.25+0.5)/7*490, email, 1e-9)
	})
}

func TestAttributionReuseTouchesAndWindow(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, attrHandData...)

	o := attrOptions()
	o.Attribution.ReuseTouches = true
	stmts, err := Render("attribution", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got := attrCredits(t, db)
	// o5's lookback reaches back to both emails of o4.
	require.InDeltaMapValues(t, map[string]float64{"email": 2.0 / 3, "direct_mail": 1.0 / 3}, got["o5"]["linear"], 1e-12)
	require.InDeltaMapValues(t, map[string]float64{"email": 1}, got["o4"]["linear"], 1e-12)

	// A one-month window, [2024-05-30, 2024-06-30]: o4 and o5 drop out, so
	// do a1's April email and a4's touches as non-converting paths.
	o = attrOptions()
	o.Attribution.WindowMonths = 1
	stmts, err = Render("attribution", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got = attrCredits(t, db)
	require.NotContains(t, got, "o4")
	require.NotContains(t, got, "o5")
	require.Len(t, got, 6)
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.attribution_touches WHERE NOT converted`).Scan(&n))
	require.Equal(t, 4, n) // a6 display and (unknown), a8 email and display

	// A half-life of one second: 2^(-age/half-life) underflows to 0 for
	// every touch of o1 (the latest is an hour old), yet the most recent
	// touch gets the credit.
	o = attrOptions()
	o.Attribution.HalfLifeDays = 1.0 / 86400
	stmts, err = Render("attribution", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got = attrCredits(t, db)
	require.Equal(t, map[string]float64{"paid_search": 1}, got["o1"]["time_decay"])
	require.Equal(t, map[string]float64{"affiliate": 1}, got["o6"]["time_decay"])
}

// TestAttributionPositionEdgeCases checks position_based for 1, 2, 3 and
// 5 touches, and the custom weights with a zero middle weight.
func TestAttributionPositionEdgeCases(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db,
		`CREATE TABLE raw.customers (customer_id VARCHAR)`,
		`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, revenue DOUBLE)`,
		`CREATE TABLE raw.touchpoints (customer_id VARCHAR, occurred_at TIMESTAMP, channel VARCHAR)`)
	// Customer cN has one order and N touches c1..cN (channel k), one a day.
	for _, n := range []int{1, 2, 3, 5} {
		c := "c" + string(rune('0'+n))
		exec(t, db, "INSERT INTO raw.customers VALUES ('"+c+"')",
			"INSERT INTO raw.orders VALUES ('o"+c+"', '"+c+"', TIMESTAMP '2024-06-20 12:00:00', 10)")
		for k := 1; k <= n; k++ {
			exec(t, db, "INSERT INTO raw.touchpoints VALUES ('"+c+"', TIMESTAMP '2024-06-10 12:00:00' + INTERVAL "+
				string(rune('0'+k))+" DAY, 'ch"+string(rune('0'+k))+"')")
		}
	}
	o := Options{
		Dialect: duckdbOptions().Dialect, OutputSchema: "segflow", AsOf: asOf,
		Sources: map[string]Source{
			"customers":   {Table: "raw.customers"},
			"orders":      {Table: "raw.orders", Missing: []string{"sales_channel", "store_id", "status"}},
			"touchpoints": {Table: "raw.touchpoints", Missing: []string{"campaign", "cost"}},
		},
		Attribution: AttributionOptions{PositionWeights: &PositionWeights{First: 3, Middle: 0, Last: 1}},
	}
	stmts, err := Render("attribution", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got := attrCredits(t, db)
	require.Equal(t, map[string]float64{"ch1": 1}, got["oc1"]["position_based"])
	require.Equal(t, map[string]float64{"ch1": 0.5, "ch2": 0.5}, got["oc2"]["position_based"])
	require.InDeltaMapValues(t, map[string]float64{"ch1": 0.4, "ch2": 0.2, "ch3": 0.4}, got["oc3"]["position_based"], 1e-12)
	require.InDeltaMapValues(t, map[string]float64{"ch1": 0.4, "ch2": 0.2 / 3, "ch3": 0.2 / 3, "ch4": 0.2 / 3, "ch5": 0.4},
		got["oc5"]["position_based"], 1e-12)
	// Custom 3/0/1: one touch 1; two touches 3/4, 1/4; three or more:
	// 0.75 first, 0.25 last, nothing (no row) in the middle.
	require.Equal(t, map[string]float64{"ch1": 1}, got["oc1"]["custom_position"])
	require.InDeltaMapValues(t, map[string]float64{"ch1": 0.75, "ch2": 0.25}, got["oc2"]["custom_position"], 1e-12)
	require.InDeltaMapValues(t, map[string]float64{"ch1": 0.75, "ch3": 0.25}, got["oc3"]["custom_position"], 1e-12)
	require.InDeltaMapValues(t, map[string]float64{"ch1": 0.75, "ch5": 0.25}, got["oc5"]["custom_position"], 1e-12)
	// A single touch gets everything in every model.
	for m, credits := range got["oc1"] {
		require.Equal(t, map[string]float64{"ch1": 1}, credits, m)
	}
}

func TestAttributionOptionsValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		o    AttributionOptions
		want string
	}{
		{AttributionOptions{LookbackDays: -1}, "LookbackDays"},
		{AttributionOptions{HalfLifeDays: -2}, "HalfLifeDays"},
		{AttributionOptions{HalfLifeDays: math.NaN()}, "HalfLifeDays"},
		{AttributionOptions{WindowMonths: -1}, "WindowMonths"},
		{AttributionOptions{PositionWeights: &PositionWeights{}}, "PositionWeights"},
		{AttributionOptions{PositionWeights: &PositionWeights{First: -1, Last: 2}}, "PositionWeights"},
	} {
		o := attrOptions()
		o.Attribution = c.o
		_, err := Render("attribution", o)
		require.ErrorContains(t, err, c.want)
	}
	o := attrOptions()
	delete(o.Sources, "touchpoints")
	_, err := Render("attribution", o)
	require.ErrorContains(t, err, "source touchpoints is required")

	// Results: rule-based names, duplicates and shares that do not add up.
	_, err = RenderAttributionResults(attrOptions(), attribution.Result{Model: "linear"})
	require.ErrorContains(t, err, "rule-based")
	_, err = RenderAttributionResults(attrOptions(), attribution.Result{Model: "markov"}, attribution.Result{Model: "markov"})
	require.ErrorContains(t, err, "twice")
	_, err = RenderAttributionResults(attrOptions(), attribution.Result{Model: "markov", Shares: map[string]float64{"a": 0.5}})
	require.ErrorContains(t, err, "sum to")
	_, err = RenderAttributionResults(attrOptions(), attribution.Result{Model: "Bad name"})
	require.ErrorContains(t, err, "plain")
}

// attrReadTransitions runs the transitions query and reads it the way
// the runner does: as Arrow, through attribution.ReadTransitions.
func attrReadTransitions(t *testing.T, db *sql.DB, query string) []attribution.Transition {
	t.Helper()
	rdr := attrArrow(t, db, query)
	defer rdr.Release()
	ts, err := attribution.ReadTransitions(rdr)
	require.NoError(t, err)
	return ts
}

func attrReadSets(t *testing.T, db *sql.DB, query string) []attribution.SetStats {
	t.Helper()
	rdr := attrArrow(t, db, query)
	defer rdr.Release()
	sets, err := attribution.ReadSetStats(rdr)
	require.NoError(t, err)
	return sets
}

// attrArrow runs query and returns its rows as an Arrow record reader,
// built column by column from database/sql scans (as a warehouse plugin
// would stream them): strings, booleans, integers and doubles.
func attrArrow(t *testing.T, db *sql.DB, query string) array.RecordReader {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	types, err := rows.ColumnTypes()
	require.NoError(t, err)
	var fields []arrow.Field
	for _, ct := range types {
		var dt arrow.DataType
		switch ct.DatabaseTypeName() {
		case "VARCHAR":
			dt = arrow.BinaryTypes.String
		case "BOOLEAN":
			dt = arrow.FixedWidthTypes.Boolean
		case "BIGINT", "INTEGER", "HUGEINT":
			dt = arrow.PrimitiveTypes.Int64
		default:
			dt = arrow.PrimitiveTypes.Float64
		}
		fields = append(fields, arrow.Field{Name: strings.ToUpper(ct.Name()), Type: dt, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	vals := make([]any, len(fields))
	ptrs := make([]any, len(fields))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		require.NoError(t, rows.Scan(ptrs...))
		for i, v := range vals {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.Int64Builder:
				switch n := v.(type) {
				case int64:
					fb.Append(n)
				case int32:
					fb.Append(int64(n))
				default:
					t.Fatalf("integer column holds %T", v)
				}
			case *array.Float64Builder:
				fb.Append(v.(float64))
			}
		}
	}
	require.NoError(t, rows.Err())
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	return rdr
}

// sortedTransitions sums the counts of equal (from, to) pairs (the SQL
// keeps converting and non-converting paths apart) and sorts them.
func sortedTransitions(ts []attribution.Transition) []attribution.Transition {
	var out []attribution.Transition
	for _, t := range ts {
		i := slices.IndexFunc(out, func(u attribution.Transition) bool { return u.From == t.From && u.To == t.To })
		if i < 0 {
			out = append(out, t)
		} else {
			out[i].Count += t.Count
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}
