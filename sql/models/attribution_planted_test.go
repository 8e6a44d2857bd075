//go:build duckdb_arrow

package models

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/core/sampledata"
	"github.com/segflow/segflow/sql/dialect"
)

// openSample generates the sample data set with 20,000 customers (the
// size whose planted effects core/sampledata documents) and returns it
// with options mapping every logical table onto it.
func openSample(t *testing.T) (*sql.DB, Options) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.duckdb")
	_, err := sampledata.Generate(context.Background(), path, sampledata.Options{Customers: 20000, Seed: 11})
	require.NoError(t, err)
	db, err := sql.Open("duckdb", path)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	exec(t, db, "CREATE SCHEMA segflow")
	return db, Options{
		Dialect:      dialect.DuckDB{},
		OutputSchema: "segflow",
		AsOf:         sampledata.DefaultEnd,
		Sources: map[string]Source{
			"customers":   {Table: "main.customers"},
			"orders":      {Table: "main.orders"},
			"order_lines": {Table: "main.order_lines"},
			"products":    {Table: "main.products"},
			"touchpoints": {Table: "main.touchpoints"},
		},
	}
}

func scalar[T any](t *testing.T, db *sql.DB, q string) T {
	t.Helper()
	var v T
	require.NoError(t, db.QueryRow(q).Scan(&v), q)
	return v
}

// TestPlantedAttribution runs attribution with its Go stage over the
// sample data: the invariants every model must satisfy, and the planted
// channel effect, which markov and shapley must rank first.
func TestPlantedAttribution(t *testing.T) {
	t.Parallel()
	db, o := openSample(t)
	o.Attribution = AttributionOptions{SegmentBreakdown: true, PositionWeights: &PositionWeights{First: 0.3, Middle: 0.4, Last: 0.3}}
	stmts, err := RenderModels([]string{"rfm", "attribution"}, o)
	require.NoError(t, err)
	execStatements(t, db, stmts)

	// The Go stage, as the runner does it.
	in := AttributionInputs(o)
	mk, err := attribution.MarkovModel(attrReadTransitions(t, db, in.Transitions))
	require.NoError(t, err)
	sh, err := attribution.ShapleyModel(attrReadSets(t, db, in.ChannelSets))
	require.NoError(t, err)
	res, err := RenderAttributionResults(o, mk, sh)
	require.NoError(t, err)
	execStatements(t, db, res)
	t.Logf("markov removal effects %v\nshares %v", mk.Weights, mk.Shares)
	t.Logf("shapley values %v\nshares %v", sh.Weights, sh.Shares)

	// The conversions as the sample data defines them, independently of
	// orders_clean: completed orders with a customer up to as_of, exact
	// copies collapsed (orphan customers' orders included).
	exec(t, db, `CREATE TEMP VIEW planted_conversions AS
		SELECT order_id, customer_id, SUM(revenue) AS revenue FROM (
			SELECT DISTINCT * FROM main.orders
			WHERE status = 'completed' AND customer_id IS NOT NULL AND CAST(ordered_at AS DATE) <= DATE '2025-12-31')
		GROUP BY order_id, customer_id`)
	conversions := scalar[int](t, db, `SELECT COUNT(*) FROM planted_conversions`)
	revenue := scalar[float64](t, db, `SELECT CAST(SUM(revenue) AS DOUBLE) FROM planted_conversions`)
	require.Equal(t, conversions, scalar[int](t, db, `SELECT COUNT(*) FROM segflow.attribution_conversions`))

	t.Run("every model credits every conversion once, with its revenue", func(t *testing.T) {
		rows, err := db.Query(`SELECT model, SUM(conversions), SUM(revenue) FROM segflow.attribution_summary GROUP BY model ORDER BY model`)
		require.NoError(t, err)
		defer rows.Close()
		var models []string
		for rows.Next() {
			var m string
			var c, r float64
			require.NoError(t, rows.Scan(&m, &c, &r))
			require.InDelta(t, float64(conversions), c, 1e-6, m)
			require.InDelta(t, revenue, r, 1e-6*revenue, m)
			models = append(models, m)
		}
		require.NoError(t, rows.Err())
		require.ElementsMatch(t, AttributionModels(o.Attribution), models)

		require.Zero(t, scalar[int](t, db, `SELECT COUNT(*) FROM (
			SELECT cr.order_id, cr.model, SUM(cr.credit) AS credit, SUM(cr.revenue_credit) AS rev, MIN(c.revenue) AS revenue
			FROM segflow.attribution_credits cr JOIN planted_conversions c USING (customer_id, order_id)
			GROUP BY cr.order_id, cr.model)
			WHERE ABS(credit - 1) > 1e-9 OR ABS(rev - revenue) > 1e-6`))
		// Every conversion in every rule-based model.
		require.Equal(t, conversions*6, scalar[int](t, db, `SELECT COUNT(DISTINCT (order_id, model)) FROM segflow.attribution_credits`))
		// The untouched conversions are (none) everywhere, with the same revenue.
		require.Equal(t, 1, scalar[int](t, db, `SELECT COUNT(DISTINCT ROUND(revenue, 6)) FROM segflow.attribution_summary WHERE channel = '(none)'`))
		require.Positive(t, scalar[float64](t, db, `SELECT MIN(revenue) FROM segflow.attribution_summary WHERE channel = '(none)'`))
	})

	t.Run("a single touch gets everything in every model", func(t *testing.T) {
		single := scalar[int](t, db, `SELECT COUNT(*) FROM segflow.attribution_touches WHERE converted AND touch_count = 1`)
		require.Greater(t, single, 1000)
		require.Zero(t, scalar[int](t, db, `SELECT COUNT(*) FROM segflow.attribution_credits cr
			JOIN segflow.attribution_touches t ON t.converted AND t.touch_count = 1
			 AND t.customer_id = cr.customer_id AND t.order_id = cr.order_id
			WHERE cr.channel <> t.channel OR ABS(cr.credit - 1) > 1e-12`))
	})

	t.Run("breakdowns add up to the summary", func(t *testing.T) {
		require.Zero(t, scalar[int](t, db, `SELECT COUNT(*) FROM (
			SELECT b.model, b.dimension, b.channel, SUM(b.revenue) AS rev, MIN(s.revenue) AS want
			FROM segflow.attribution_breakdown b JOIN segflow.attribution_summary s USING (model, channel)
			GROUP BY b.model, b.dimension, b.channel) WHERE ABS(rev - want) > 1e-6 * want`))
		require.Equal(t, 4, scalar[int](t, db, `SELECT COUNT(DISTINCT dimension) FROM segflow.attribution_breakdown`))
		require.Positive(t, scalar[int](t, db, `SELECT COUNT(*) FROM segflow.attribution_breakdown
			WHERE dimension = 'rfm_segment' AND value = 'Champions'`))
	})

	t.Run("channel combinations count every customer once", func(t *testing.T) {
		all := scalar[int](t, db, `SELECT COUNT(*) FROM (
			SELECT customer_id FROM main.customers UNION SELECT customer_id FROM planted_conversions
			UNION SELECT customer_id FROM segflow.attribution_touches)`)
		require.Equal(t, all, scalar[int](t, db, `SELECT SUM(customers) FROM segflow.channel_combinations`))
		converters := scalar[int](t, db, `SELECT COUNT(DISTINCT customer_id) FROM planted_conversions`)
		require.Equal(t, converters, scalar[int](t, db, `SELECT SUM(converters) FROM segflow.channel_combinations`))
		// Customers who never converted are there, and sets are sorted.
		require.Positive(t, scalar[int](t, db, `SELECT SUM(customers - converters) FROM segflow.channel_combinations WHERE channel_set <> '(none)'`))
		require.Equal(t, 1, scalar[int](t, db, `SELECT COUNT(*) FROM segflow.channel_combinations WHERE channel_set = 'display+email'`))
	})

	t.Run("the planted channel ranks first", func(t *testing.T) {
		for _, r := range []attribution.Result{mk, sh} {
			require.Equal(t, sampledata.PlantedChannel, r.Channels()[0], "%s: %v", r.Model, r.Shares)
			require.ElementsMatch(t, sampledata.Channels, r.Channels(), r.Model)
		}
		// And in the summary, by revenue.
		for _, m := range []string{"markov", "shapley"} {
			top := scalar[string](t, db, `SELECT channel FROM segflow.attribution_summary WHERE model = '`+m+`'
				AND channel <> '(none)' ORDER BY revenue DESC LIMIT 1`)
			require.Equal(t, sampledata.PlantedChannel, top, m)
		}
	})
}

// TestPlantedAffinity runs affinity over the sample data: the invariants,
// the planted pairs first by lift at every level, and the planted next
// category.
func TestPlantedAffinity(t *testing.T) {
	t.Parallel()
	db, o := openSample(t)
	// The sample data documents the planted pairs' lift among pairs seen
	// in at least 20 orders.
	o.Affinity = AffinityOptions{MinCount: 20}
	stmts, err := Render("affinity", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)

	t.Run("invariants", func(t *testing.T) { affInvariants(t, db) })

	t.Run("planted pairs first by lift", func(t *testing.T) {
		for _, level := range AffinityLevels() {
			want := map[[2]string]bool{}
			for _, p := range sampledata.PlantedPairs {
				want[unordered(plantedItems(p, level))] = true
			}
			// The top rules by lift, both directions of a pair sharing a lift.
			rows, err := db.Query(`SELECT antecedent, consequent, lift FROM segflow.affinity_pairs
				WHERE level = ? AND segment_type = 'all' ORDER BY lift DESC, antecedent, consequent LIMIT 6`, level)
			require.NoError(t, err)
			got := map[[2]string]bool{}
			var lifts []string
			for rows.Next() {
				var a, b string
				var lift float64
				require.NoError(t, rows.Scan(&a, &b, &lift))
				got[unordered(a, b)] = true
				lifts = append(lifts, fmt.Sprintf("%s→%s %.2f", a, b, lift))
			}
			require.NoError(t, rows.Err())
			rows.Close()
			require.Equal(t, want, got, "%s: %v", level, lifts)
			t.Logf("%s: %v", level, lifts)
		}
	})

	t.Run("planted next category", func(t *testing.T) {
		from := sampledata.PlantedNext.From
		rows, err := db.Query(`SELECT to_category, probability FROM segflow.next_category WHERE from_category = ? ORDER BY probability DESC`, from)
		require.NoError(t, err)
		defer rows.Close()
		var order []string
		var probs []float64
		for rows.Next() {
			var c string
			var p float64
			require.NoError(t, rows.Scan(&c, &p))
			order = append(order, c)
			probs = append(probs, p)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, sampledata.PlantedNext.To, order[0], "%v %v", order, probs)
		require.Greater(t, probs[0], 0.45)
		require.Less(t, probs[1], 0.3)
		// Customers whose last order held Skincare and who never bought
		// Makeup get it recommended first.
		require.Zero(t, scalar[int](t, db, `SELECT COUNT(*) FROM segflow.recommendations r
			WHERE r.rank = 1 AND r.category <> '`+sampledata.PlantedNext.To+`'
			  AND r.customer_id IN (
				SELECT i.customer_id FROM segflow.affinity_items i
				JOIN (SELECT customer_id, MAX(order_number) AS n FROM segflow.affinity_baskets GROUP BY customer_id) l
				  ON l.customer_id = i.customer_id
				JOIN segflow.affinity_baskets b ON b.customer_id = i.customer_id AND b.order_id = i.order_id AND b.order_number = l.n
				WHERE i.level = 'category' AND i.item = '`+from+`')
			  AND r.customer_id NOT IN (SELECT customer_id FROM segflow.affinity_items WHERE level = 'category' AND item = '`+sampledata.PlantedNext.To+`')`))
		// At most Recommendations (5) per customer, ranked from 1.
		require.Equal(t, 5, scalar[int](t, db, `SELECT MAX(rank) FROM segflow.recommendations`))
		require.Zero(t, scalar[int](t, db, `SELECT COUNT(*) FROM (SELECT customer_id, COUNT(*) AS n, MAX(rank) AS m FROM segflow.recommendations GROUP BY 1) WHERE n <> m`))
	})
}

// plantedItems are the two items of a planted pair at level.
func plantedItems(p sampledata.Pair, level string) (string, string) {
	switch level {
	case "category":
		return p.CategoryA, p.CategoryB
	case "subcategory":
		return p.SubcategoryA, p.SubcategoryB
	case "brand":
		return p.BrandA, p.BrandB
	}
	return strconv.FormatInt(p.A, 10), strconv.FormatInt(p.B, 10)
}

func unordered(a, b string) [2]string {
	s := []string{a, b}
	slices.Sort(s)
	return [2]string{s[0], s[1]}
}
