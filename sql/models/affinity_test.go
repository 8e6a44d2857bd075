package models

import (
	"database/sql"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// affHandData is the hand-made basket set of TestAffinityHandWorked.
//
//	basket customer date        products (category)                         loyalty      season
//	b1     u1       2024-01-10  p1 (Cameras), p2 (Computing)                first_time   Q1
//	b2     u1       2024-02-10  p1, p2, p3 (Cameras)                        second_time  Q1
//	b3     u1       2024-04-10  p1; p2 returned (quantity -1): not in it    repeat       Q2
//	b4     u2       2024-01-15  p2, p4 (Kitchen)                            first_time   Q1
//	b5     u2       2024-05-15  p1, p2, p5 (no products row)                second_time  Q2
//	b6     u3       2024-03-01  p4                                          first_time   Q1
//	b7     u4       2024-06-10  p2, p4                                      first_time   Q2
//
// A refund (r1) and a cancelled order (x1) are no baskets. p1 and p3
// share the category Cameras and the brand Optika.
var affHandData = []string{
	`CREATE TABLE raw.customers (customer_id VARCHAR)`,
	`INSERT INTO raw.customers VALUES ('u1'), ('u2'), ('u3'), ('u4')`,
	`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, revenue DOUBLE, status VARCHAR)`,
	`INSERT INTO raw.orders VALUES
		('b1', 'u1', '2024-01-10 10:00:00', 30, 'completed'),
		('b2', 'u1', '2024-02-10 10:00:00', 40, 'completed'),
		('b3', 'u1', '2024-04-10 10:00:00', 10, 'completed'),
		('b4', 'u2', '2024-01-15 10:00:00', 20, 'completed'),
		('b5', 'u2', '2024-05-15 10:00:00', 30, 'completed'),
		('b6', 'u3', '2024-03-01 10:00:00', 10, 'completed'),
		('b7', 'u4', '2024-06-10 10:00:00', 20, 'completed'),
		('r1', 'u3', '2024-03-05 10:00:00', -10, 'refunded'),
		('x1', 'u4', '2024-06-11 10:00:00', 10, 'cancelled')`,
	`CREATE TABLE raw.order_lines (order_id VARCHAR, product_id VARCHAR, quantity INTEGER, revenue DOUBLE)`,
	`INSERT INTO raw.order_lines VALUES
		('b1', 'p1', 1, 20), ('b1', 'p2', 1, 10),
		('b2', 'p1', 1, 20), ('b2', 'p2', 2, 10), ('b2', 'p3', 1, 10),
		('b3', 'p1', 1, 20), ('b3', 'p2', -1, -10),
		('b4', 'p2', 1, 10), ('b4', 'p4', 1, 10),
		('b5', 'p1', 1, 20), ('b5', 'p2', 1, 5), ('b5', 'p5', 1, 5),
		('b6', 'p4', 1, 10),
		('b7', 'p2', 1, 10), ('b7', 'p4', 1, 10),
		('r1', 'p4', -1, -10),
		('x1', 'p1', 1, 10), ('x1', 'p3', 1, 10)`,
	`CREATE TABLE raw.products (product_id VARCHAR, category VARCHAR, subcategory VARCHAR, brand VARCHAR)`,
	`INSERT INTO raw.products VALUES
		('p1', 'Cameras', 'Mirrorless', 'Optika'),
		('p2', 'Computing', 'Memory Cards', 'CardVault'),
		('p3', 'Cameras', 'Lenses', 'Optika'),
		('p4', 'Kitchen', 'Coffee Machines', 'Crema')`,
}

func affOptions() Options {
	return Options{
		Dialect:      duckdbOptions().Dialect,
		OutputSchema: "segflow",
		AsOf:         asOf,
		Sources: map[string]Source{
			"customers":   {Table: "raw.customers"},
			"orders":      {Table: "raw.orders", Missing: []string{"sales_channel", "store_id"}},
			"order_lines": {Table: "raw.order_lines"},
			"products":    {Table: "raw.products", Missing: []string{"name", "department"}},
		},
		Affinity: AffinityOptions{MinCount: 1},
	}
}

type affPair struct {
	Count                        int
	Support, Confidence, Lift    float64
	Conviction                   sql.NullFloat64
	AnteSupport, ConsSupport     float64
	AnteCount, ConsCount, Basket int
}

func affPairs(t *testing.T, db *sql.DB, where string) map[[5]string]affPair {
	t.Helper()
	rows, err := db.Query(`SELECT level, segment_type, segment_value, antecedent, consequent, pair_count, support, confidence, lift,
		conviction, antecedent_support, consequent_support, antecedent_count, consequent_count, baskets
		FROM segflow.affinity_pairs WHERE ` + where)
	require.NoError(t, err)
	defer rows.Close()
	out := map[[5]string]affPair{}
	for rows.Next() {
		var k [5]string
		var p affPair
		require.NoError(t, rows.Scan(&k[0], &k[1], &k[2], &k[3], &k[4], &p.Count, &p.Support, &p.Confidence, &p.Lift,
			&p.Conviction, &p.AnteSupport, &p.ConsSupport, &p.AnteCount, &p.ConsCount, &p.Basket))
		out[k] = p
	}
	require.NoError(t, rows.Err())
	return out
}

func TestAffinityHandWorked(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, affHandData...)
	stmts, err := Render("affinity", affOptions())
	require.NoError(t, err)
	var names []string
	for _, s := range stmts {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"orders_clean", "data_quality", "affinity_baskets", "affinity_items", "affinity_pairs",
		"next_category", "recommendations"}, names)
	execStatements(t, db, stmts)

	t.Run("product pairs, all baskets", func(t *testing.T) {
		// 7 baskets. Baskets holding p1: b1 b2 b3 b5 (4); p2: b1 b2 b4 b5 b7
		// (5; b3's line is a return); p3: b2 (1); p4: b4 b6 b7 (3); p5: b5 (1).
		//
		// p1,p2 in b1 b2 b5: support 3/7; confidence p1→p2 3/4, p2→p1 3/5;
		//   lift 3·7/(4·5) = 1.05; conviction p1→p2 (1 − 5/7)/(1 − 3/4) = 8/7,
		//   p2→p1 (1 − 4/7)/(1 − 3/5) = 15/14.
		// p1,p3 in b2: support 1/7; confidence p1→p3 1/4, p3→p1 1; lift
		//   7/(4·1) = 1.75; conviction p1→p3 (1 − 1/7)/(3/4) = 8/7, p3→p1
		//   NULL (confidence 1: infinite).
		// p2,p4 in b4 b7: support 2/7; confidence p2→p4 2/5, p4→p2 2/3; lift
		//   2·7/(5·3) = 14/15; conviction p4→p2 (1 − 5/7)/(1 − 2/3) = 6/7.
		got := affPairs(t, db, `level = 'product' AND segment_type = 'all'`)
		key := func(a, b string) [5]string { return [5]string{"product", "all", "all", a, b} }
		check := func(a, b string, count int, support, conf, lift float64, conviction float64) {
			t.Helper()
			p, ok := got[key(a, b)]
			require.True(t, ok, "%s → %s", a, b)
			require.Equal(t, count, p.Count)
			require.Equal(t, 7, p.Basket)
			require.InDelta(t, support, p.Support, 1e-12)
			require.InDelta(t, conf, p.Confidence, 1e-12)
			require.InDelta(t, lift, p.Lift, 1e-12)
			if math.IsInf(conviction, 1) {
				require.False(t, p.Conviction.Valid, "%s → %s conviction", a, b)
			} else {
				require.True(t, p.Conviction.Valid)
				require.InDelta(t, conviction, p.Conviction.Float64, 1e-12)
			}
		}
		check("p1", "p2", 3, 3.0/7, 0.75, 1.05, 8.0/7)
		check("p2", "p1", 3, 3.0/7, 0.6, 1.05, 15.0/14)
		check("p1", "p3", 1, 1.0/7, 0.25, 1.75, 8.0/7)
		check("p3", "p1", 1, 1.0/7, 1, 1.75, math.Inf(1))
		check("p2", "p4", 2, 2.0/7, 0.4, 14.0/15, (1-3.0/7)/(1-0.4))
		check("p4", "p2", 2, 2.0/7, 2.0/3, 14.0/15, 6.0/7)
		// And p1,p5, p2,p3, p2,p5 once each: 6 unordered pairs, 12 rules.
		require.Len(t, got, 12)
		require.Contains(t, got, key("p5", "p1"))
	})

	t.Run("segments", func(t *testing.T) {
		// first_time: b1 b4 b6 b7 (4 baskets); p2 in b1 b4 b7 (3), p4 in b4
		// b6 b7 (3), p1 in b1: lift(p2, p4) = 2·4/(3·3) = 8/9, lift(p1, p2) =
		// 1·4/(1·3) = 4/3.
		// Q2: b3 b5 b7 (3 baskets); p1 in b3 b5, p2 in b5 b7: lift(p1, p2) =
		// 1·3/(2·2) = 0.75.
		got := affPairs(t, db, `level = 'product' AND segment_type <> 'all'`)
		require.InDelta(t, 8.0/9, got[[5]string{"product", "loyalty", "first_time", "p2", "p4"}].Lift, 1e-12)
		require.InDelta(t, 4.0/3, got[[5]string{"product", "loyalty", "first_time", "p1", "p2"}].Lift, 1e-12)
		require.InDelta(t, 0.75, got[[5]string{"product", "season", "Q2", "p1", "p2"}].Lift, 1e-12)
		require.Equal(t, 3, got[[5]string{"product", "season", "Q2", "p1", "p2"}].Basket)
		// second_time: b2 b5; repeat: b3 alone has no pair.
		require.Equal(t, 2, got[[5]string{"product", "loyalty", "second_time", "p1", "p2"}].Count)
		for k := range got {
			require.NotEqual(t, "repeat", k[2])
		}
	})

	t.Run("category, subcategory and brand", func(t *testing.T) {
		// Categories per basket: b1 {Cameras, Computing}, b2 {Cameras,
		// Computing} (p1 and p3 are one Cameras item), b3 {Cameras}, b4
		// {Computing, Kitchen}, b5 {Cameras, Computing} (p5 has none), b6
		// {Kitchen}, b7 {Computing, Kitchen}.
		got := affPairs(t, db, `segment_type = 'all' AND level <> 'product'`)
		cc := got[[5]string{"category", "all", "all", "Cameras", "Computing"}]
		require.Equal(t, 3, cc.Count)
		require.Equal(t, 4, cc.AnteCount)
		require.Equal(t, 5, cc.ConsCount)
		require.InDelta(t, 1.05, cc.Lift, 1e-12)
		require.Len(t, got, 2*2+ // category: Cameras-Computing, Computing-Kitchen
			2*4+ // subcategory: Mirrorless-Memory Cards, Mirrorless-Lenses, Memory Cards-Lenses, Memory Cards-Coffee Machines
			2*2) // brand: Optika-CardVault, CardVault-Crema
		require.Equal(t, 1, got[[5]string{"subcategory", "all", "all", "Lenses", "Mirrorless"}].Count)
		require.Equal(t, 2, got[[5]string{"brand", "all", "all", "Crema", "CardVault"}].Count)
	})

	t.Run("invariants", func(t *testing.T) {
		affInvariants(t, db)
	})

	t.Run("next category", func(t *testing.T) {
		// Consecutive orders: b1→b2, b2→b3 (u1), b4→b5 (u2).
		// From Cameras: b1, b2 (2 orders): → Cameras in b2, b3 (2, p = 1),
		//   → Computing in b2 (1, 0.5).
		// From Computing: b1, b2, b4 (3): → Cameras b2 b3 b5 (3, 1), →
		//   Computing b2 b5 (2, 2/3).
		// From Kitchen: b4 (1): → Cameras (1, 1), → Computing (1, 1).
		rows, err := db.Query(`SELECT from_category, to_category, transitions, from_orders, probability FROM segflow.next_category`)
		require.NoError(t, err)
		defer rows.Close()
		type next struct {
			transitions, from int
			p                 float64
		}
		got := map[[2]string]next{}
		for rows.Next() {
			var a, b string
			var n next
			require.NoError(t, rows.Scan(&a, &b, &n.transitions, &n.from, &n.p))
			got[[2]string{a, b}] = n
		}
		require.NoError(t, rows.Err())
		require.Equal(t, map[[2]string]next{
			{"Cameras", "Cameras"}:     {2, 2, 1},
			{"Cameras", "Computing"}:   {1, 2, 0.5},
			{"Computing", "Cameras"}:   {3, 3, 1},
			{"Computing", "Computing"}: {2, 3, 2.0 / 3},
			{"Kitchen", "Cameras"}:     {1, 1, 1},
			{"Kitchen", "Computing"}:   {1, 1, 1},
		}, got)
	})

	t.Run("recommendations", func(t *testing.T) {
		// u1 and u2 bought every category that follows theirs. u3's last
		// order holds Kitchen: Cameras 1 and Computing 1, tied, by name.
		// u4's last order holds Computing and Kitchen, and u4 bought both:
		// Cameras scores P(Cameras | Computing) + P(Cameras | Kitchen) = 2.
		rows, err := db.Query(`SELECT customer_id, rank, category, score FROM segflow.recommendations ORDER BY customer_id, rank`)
		require.NoError(t, err)
		defer rows.Close()
		type rec struct {
			customer string
			rank     int
			category string
			score    float64
		}
		var got []rec
		for rows.Next() {
			var r rec
			require.NoError(t, rows.Scan(&r.customer, &r.rank, &r.category, &r.score))
			got = append(got, r)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []rec{{"u3", 1, "Cameras", 1}, {"u3", 2, "Computing", 1}, {"u4", 1, "Cameras", 2}}, got)
	})
}

// affInvariants checks what must hold for every pair: support ≤ 1,
// lift(A, B) = lift(B, A), confidence(A → B) × support(A) = support(A, B),
// and the counts behind the ratios.
func affInvariants(t *testing.T, db *sql.DB) {
	t.Helper()
	var n, bad int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.affinity_pairs`).Scan(&n))
	require.Positive(t, n)
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.affinity_pairs
		WHERE NOT (support > 0 AND support <= 1 AND antecedent_support <= 1 AND consequent_support <= 1
		       AND confidence > 0 AND confidence <= 1 AND lift > 0
		       AND ABS(confidence * antecedent_support - support) <= 1e-12
		       AND pair_count <= antecedent_count AND pair_count <= consequent_count AND antecedent_count <= baskets
		       AND antecedent <> consequent
		       AND (conviction IS NULL) = (pair_count = antecedent_count))`).Scan(&bad))
	require.Zero(t, bad)
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.affinity_pairs a
		LEFT JOIN segflow.affinity_pairs b
		  ON b.level = a.level AND b.segment_type = a.segment_type AND b.segment_value = a.segment_value
		 AND b.antecedent = a.consequent AND b.consequent = a.antecedent
		WHERE b.lift IS NULL OR b.lift <> a.lift OR b.support <> a.support`).Scan(&bad))
	require.Zero(t, bad, "lift and support are symmetric (exactly) and every rule has its reverse")
}

func TestAffinityOptions(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, affHandData...)

	// MinCount 2 keeps the pairs seen in two baskets or more.
	o := affOptions()
	o.Affinity.MinCount = 2
	stmts, err := Render("affinity", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got := affPairs(t, db, `level = 'product' AND segment_type = 'all'`)
	require.Len(t, got, 4) // p1-p2 and p2-p4, both ways

	// MinSupport 0.2: support 3/7 and 2/7 pass, 1/7 does not.
	o = affOptions()
	o.Affinity.MinSupport = 0.2
	stmts, err = Render("affinity", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	require.Len(t, affPairs(t, db, `level = 'product' AND segment_type = 'all'`), 4)

	// TopK 1: p1's consequents are p2 (lift 1.05), p3 and p5 (1.75 each,
	// both once): p3 wins the tie by name.
	o = affOptions()
	o.Affinity.TopK = 1
	o.Affinity.Recommendations = 1
	stmts, err = Render("affinity", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got = affPairs(t, db, `level = 'product' AND segment_type = 'all' AND antecedent = 'p1'`)
	require.Len(t, got, 1)
	require.Contains(t, got, [5]string{"product", "all", "all", "p1", "p3"})
	var recs int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.recommendations`).Scan(&recs))
	require.Equal(t, 2, recs) // u3 and u4, one each

	for _, c := range []struct {
		o    AffinityOptions
		want string
	}{
		{AffinityOptions{MinCount: -1}, "MinCount"},
		{AffinityOptions{MinSupport: 2}, "MinSupport"},
		{AffinityOptions{MinSupport: math.NaN()}, "MinSupport"},
		{AffinityOptions{TopK: -1}, "TopK"},
		{AffinityOptions{Recommendations: -5}, "Recommendations"},
	} {
		o := affOptions()
		o.Affinity = c.o
		_, err := Render("affinity", o)
		require.ErrorContains(t, err, c.want)
	}
	o = affOptions()
	delete(o.Sources, "products")
	_, err = Render("affinity", o)
	require.ErrorContains(t, err, "source products is required")
}
