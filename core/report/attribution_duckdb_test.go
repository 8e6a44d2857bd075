//go:build duckdb_arrow

package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// TestAttributionAndAffinityReports runs attribution, its Go stage and
// affinity in the embedded warehouse the way the runner does (the Go
// stage reads the warehouse's Arrow results), then the reports. as_of
// 2024-06-30.
//
//	a  email 06-01, display 06-05; o1 06-10 (100): p1, p2
//	b  social 06-15;               o2 06-20 (50):  p1, p2
//	c  no touch;                   o3 06-15 (80):  p3
//	d  display 06-01; no order
//
// linear: o1 50 email, 50 display; o2 50 social; o3 80 (none): of 230,
// 21.7% each channel and 34.8% (none).
//
// markov over the paths email→display (converts), social (converts),
// display (does not): P(start→email) = P(start→social) = P(start→display)
// = 1/3, email→display 1, display→conversion 1/2, social→conversion 1.
// P(conversion) = (1/2 + 1 + 1/2)/3 = 2/3. Without email (1/2)/(2/3):
// RE 1/4; without display 1/3 over 2/3: RE 1/2; without social: RE 1/2.
// Shares 0.2, 0.4, 0.4 of the touched revenue 150: 30, 60, 60, i.e.
// 13.0%, 26.1%, 26.1% of 230.
//
// shapley: {display, email} 1 conversion, {social} 1: 0.5, 0.5, 1 of 2,
// so 37.5, 37.5, 75: 16.3%, 16.3%, 32.6%.
func TestAttributionAndAffinityReports(t *testing.T) {
	ctx := context.Background()
	wh := duckdb.New()
	require.NoError(t, wh.Configure(ctx, nil))
	t.Cleanup(func() { wh.Close() })
	for _, s := range []string{
		"CREATE SCHEMA raw", "CREATE SCHEMA segflow",
		"CREATE TABLE raw.customers (customer_id VARCHAR)",
		"INSERT INTO raw.customers VALUES ('a'), ('b'), ('c'), ('d')",
		`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, revenue DOUBLE)`,
		`INSERT INTO raw.orders VALUES ('o1', 'a', '2024-06-10 10:00:00', 100), ('o2', 'b', '2024-06-20 10:00:00', 50),
			('o3', 'c', '2024-06-15 10:00:00', 80)`,
		"CREATE TABLE raw.order_lines (order_id VARCHAR, product_id VARCHAR, revenue DOUBLE)",
		`INSERT INTO raw.order_lines VALUES ('o1', 'p1', 60), ('o1', 'p2', 40), ('o2', 'p1', 30), ('o2', 'p2', 20), ('o3', 'p3', 80)`,
		"CREATE TABLE raw.products (product_id VARCHAR, category VARCHAR)",
		"INSERT INTO raw.products VALUES ('p1', 'Cameras'), ('p2', 'Computing'), ('p3', 'Kitchen')",
		"CREATE TABLE raw.touchpoints (customer_id VARCHAR, occurred_at TIMESTAMP, channel VARCHAR)",
		`INSERT INTO raw.touchpoints VALUES ('a', '2024-06-01 10:00:00', 'email'), ('a', '2024-06-05 10:00:00', 'display'),
			('b', '2024-06-15 10:00:00', 'social'), ('d', '2024-06-01 10:00:00', 'display')`,
	} {
		_, err := wh.Execute(ctx, s)
		require.NoError(t, err, s)
	}
	o := models.Options{
		Dialect:      dialect.DuckDB{},
		OutputSchema: "segflow",
		AsOf:         time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		Sources: map[string]models.Source{
			"customers":   {Table: "raw.customers"},
			"orders":      {Table: "raw.orders", Missing: []string{"sales_channel", "store_id", "status"}},
			"order_lines": {Table: "raw.order_lines", Missing: []string{"quantity"}},
			"products":    {Table: "raw.products", Missing: []string{"name", "department", "subcategory", "brand"}},
			"touchpoints": {Table: "raw.touchpoints", Missing: []string{"campaign", "cost"}},
		},
		Affinity: models.AffinityOptions{MinCount: 1},
	}
	stmts, err := models.RenderModels([]string{"attribution", "affinity"}, o)
	require.NoError(t, err)
	for _, s := range stmts {
		_, err := wh.Execute(ctx, s.SQL)
		require.NoError(t, err, s.SQL)
	}

	// The Go stage, reading the warehouse's own Arrow.
	in := models.AttributionInputs(o)
	rdr, err := wh.Query(ctx, in.Transitions)
	require.NoError(t, err)
	ts, err := attribution.ReadTransitions(rdr)
	rdr.Release()
	require.NoError(t, err)
	mk, err := attribution.MarkovModel(ts)
	require.NoError(t, err)
	rdr, err = wh.Query(ctx, in.ChannelSets)
	require.NoError(t, err)
	sets, err := attribution.ReadSetStats(rdr)
	rdr.Release()
	require.NoError(t, err)
	sh, err := attribution.ShapleyModel(sets)
	require.NoError(t, err)
	require.InDeltaMapValues(t, map[string]float64{"email": 0.2, "display": 0.4, "social": 0.4}, mk.Shares, 1e-12)
	require.InDeltaMapValues(t, map[string]float64{"email": 0.25, "display": 0.25, "social": 0.5}, sh.Shares, 1e-12)
	res, err := models.RenderAttributionResults(o, mk, sh)
	require.NoError(t, err)
	for _, s := range res {
		_, err := wh.Execute(ctx, s.SQL)
		require.NoError(t, err, s.SQL)
	}

	t.Run("attribution", func(t *testing.T) {
		tables, err := report.Attribution(ctx, wh, dialect.DuckDB{}, "segflow")
		require.NoError(t, err)
		require.Len(t, tables, 2)
		shares := tables[0]
		require.Equal(t, []string{"channel", "first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"}, shares.Columns)
		byChannel := map[string]map[string]any{}
		for _, r := range shares.Rows {
			m := map[string]any{}
			for i, c := range shares.Columns {
				m[c] = r[i]
			}
			byChannel[r[0].(string)] = m
		}
		require.Equal(t, "(none)", shares.Rows[len(shares.Rows)-1][0])
		require.InDelta(t, 21.7, byChannel["display"]["linear"], 1e-9)
		require.InDelta(t, 26.1, byChannel["display"]["markov"], 1e-9)
		require.InDelta(t, 16.3, byChannel["display"]["shapley"], 1e-9)
		require.InDelta(t, 13.0, byChannel["email"]["markov"], 1e-9)
		require.InDelta(t, 32.6, byChannel["social"]["shapley"], 1e-9)
		require.InDelta(t, 34.8, byChannel["(none)"]["markov"], 1e-9)
		require.Nil(t, byChannel["display"]["first_touch"]) // email was first

		// a {display, email}, b {social}, d {display} (no order), c none.
		combos := tables[1]
		require.Equal(t, []string{"channel_set", "customers", "converters", "conversion_rate_pct"}, combos.Columns)
		require.Len(t, combos.Rows, 4)
	})

	t.Run("affinity", func(t *testing.T) {
		tables, err := report.Affinity(ctx, wh, dialect.DuckDB{}, "segflow")
		require.NoError(t, err)
		require.Len(t, tables, 2)
		// p1 and p2 in o1 and o2 of 3 baskets: lift 2·3/(2·2) = 1.5, one row
		// per pair; Cameras and Computing likewise.
		pairs := tables[0]
		require.Equal(t, [][]any{
			{"product", "p1", "p2", int64(2), 66.67, 100.0, 1.5},
			{"category", "Cameras", "Computing", int64(2), 66.67, 100.0, 1.5},
		}, pairs.Rows)
		require.Empty(t, tables[1].Rows) // nobody ordered twice
	})
	var _ core.Warehouse = wh
}
