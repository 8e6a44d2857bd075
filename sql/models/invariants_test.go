package models

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// genOrder is one generated order row and what the documented rules
// make of it.
type genOrder struct {
	id, customer string
	at           time.Time
	cents        int64 // revenue in cents as stored
	nullRevenue  bool
	status       string
	copy         bool // an exact copy of the previous row
}

type genData struct {
	customers []string // ids with a customers row
	orders    []genOrder
}

// generate makes a seeded data set of n customers with the dirty cases
// the rules handle: refunds (negative and positive with status
// refunded), cancellations, exact duplicates, NULL revenue, future
// timestamps and customers without a customers row.
func generate(seed uint64, n int) genData {
	rng := rand.New(rand.NewPCG(seed, 1))
	var g genData
	orderNo := 0
	for c := range n {
		id := fmt.Sprintf("c%05d", c)
		if rng.IntN(50) > 0 { // 2% orphans
			g.customers = append(g.customers, id)
		}
		k := min(int(rng.ExpFloat64()*2.5), 20)
		for range k {
			orderNo++
			o := genOrder{
				id:       fmt.Sprintf("o%06d", orderNo),
				customer: id,
				// Up to ~2.5 years back, a few days into the future.
				at:     asOf.AddDate(0, 0, 5-rng.IntN(900)).Add(time.Duration(rng.IntN(86400)) * time.Second),
				cents:  int64(500 + rng.IntN(30000)),
				status: "completed",
			}
			if rng.IntN(3) == 0 {
				o.cents = o.cents / 100 * 100 // whole amounts, so monetary values tie
			}
			switch rng.IntN(100) {
			case 0, 1, 2:
				o.status = "cancelled"
			case 3:
				o.nullRevenue = true
			}
			g.orders = append(g.orders, o)
			if rng.IntN(50) == 0 {
				dup := o
				dup.copy = true
				g.orders = append(g.orders, dup)
			}
			if rng.IntN(20) == 0 { // a partial refund some days later
				r := o
				r.at = o.at.AddDate(0, 0, rng.IntN(60))
				r.cents = -o.cents / int64(1+rng.IntN(3))
				r.nullRevenue = false
				r.status = "refunded"
				if rng.IntN(2) == 0 {
					r.cents = -r.cents // recorded positive; status marks it
				}
				g.orders = append(g.orders, r)
			}
		}
	}
	return g
}

func (g genData) load(t *testing.T, db *sql.DB) {
	t.Helper()
	exec(t, db,
		`CREATE TABLE raw.customers (customer_id VARCHAR, email VARCHAR)`,
		`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
			revenue DECIMAL(12, 2), sales_channel VARCHAR, store_id VARCHAR, status VARCHAR)`)
	for batch := range slices.Chunk(g.customers, 1000) {
		vals := make([]string, len(batch))
		for i, id := range batch {
			vals[i] = fmt.Sprintf("('%s', '%s@example.com')", id, id)
		}
		exec(t, db, "INSERT INTO raw.customers VALUES "+strings.Join(vals, ","))
	}
	for batch := range slices.Chunk(g.orders, 1000) {
		vals := make([]string, len(batch))
		for i, o := range batch {
			rev := fmt.Sprintf("%d.%02d", o.cents/100, abs(o.cents%100))
			if o.cents < 0 {
				rev = "-" + strings.TrimPrefix(rev, "-")
			}
			if o.nullRevenue {
				rev = "NULL"
			}
			vals[i] = fmt.Sprintf("('%s', '%s', '%s', %s, 'online', NULL, '%s')",
				o.id, o.customer, o.at.Format("2006-01-02 15:04:05"), rev, o.status)
		}
		exec(t, db, "INSERT INTO raw.orders VALUES "+strings.Join(vals, ","))
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// expected is the rfm row of one customer computed in Go straight from
// the documented rules, independently of the SQL.
type expected struct {
	recency, frequency int
	cents              int64
	r, f, m            int
	loyalty            string
}

func (g genData) expect() map[string]*expected {
	windowStart := monthsBefore(asOf, 12)
	loyaltyStart := monthsBefore(asOf, 13)
	type acc struct {
		last             time.Time
		orders, orders13 map[string]bool
		cents            int64
	}
	accs := map[string]*acc{}
	for _, o := range g.orders {
		day := dateOf(o.at)
		if o.status == "cancelled" || day.After(asOf) || o.copy {
			continue // excluded: cancelled, future_timestamp, duplicate
		}
		a := accs[o.customer]
		if a == nil {
			a = &acc{orders: map[string]bool{}, orders13: map[string]bool{}}
			accs[o.customer] = a
		}
		refund := o.cents < 0 || o.status == "refunded"
		if !refund && !day.Before(loyaltyStart) {
			a.orders13[o.id] = true
		}
		if day.Before(windowStart) {
			continue
		}
		switch {
		case o.nullRevenue:
		case refund:
			a.cents -= abs(o.cents)
		default:
			a.cents += o.cents
		}
		if !refund {
			a.orders[o.id] = true
			if day.After(a.last) {
				a.last = day
			}
		}
	}
	out := map[string]*expected{}
	for id, a := range accs {
		if len(a.orders) == 0 {
			continue // no purchase in the window
		}
		e := &expected{
			recency:   int(asOf.Sub(a.last).Hours() / 24),
			frequency: len(a.orders),
			cents:     a.cents,
			loyalty:   map[int]string{0: "", 1: "first_time", 2: "second_time"}[len(a.orders13)],
		}
		if len(a.orders13) >= 3 {
			e.loyalty = "repeat"
		}
		out[id] = e
	}
	// score = 1 + FLOOR(5 * (rank - 1) / n) with rank = 1 + the number of
	// customers with a smaller x, in exact integer arithmetic.
	score := func(x func(*expected) int64, set func(*expected, int)) {
		var xs []int64
		for _, e := range out {
			xs = append(xs, x(e))
		}
		slices.Sort(xs)
		for _, e := range out {
			smaller, _ := slices.BinarySearch(xs, x(e))
			set(e, 1+5*smaller/len(xs))
		}
	}
	score(func(e *expected) int64 { return -int64(e.recency) }, func(e *expected, s int) { e.r = s })
	score(func(e *expected) int64 { return int64(e.frequency) }, func(e *expected, s int) { e.f = s })
	score(func(e *expected) int64 { return e.cents }, func(e *expected, s int) { e.m = s })
	return out
}

func TestRFMInvariants(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	g := generate(20240630, 5000)
	g.load(t, db)
	stmts, err := Render("rfm", duckdbOptions())
	require.NoError(t, err)
	execStatements(t, db, stmts)

	want := g.expect()
	got := readRFM(t, db, "segflow.rfm")
	require.Greater(t, len(want), 2000, "the generator should put most customers in the window")
	require.Len(t, got, len(want), "population")

	rules := DefaultSegmentMap()
	for id, w := range want {
		r, ok := got[id]
		require.True(t, ok, "customer %s missing", id)
		require.Equal(t, w.recency, r.Recency, "recency of %s", id)
		require.Equal(t, w.frequency, r.Frequency, "frequency of %s", id)
		require.InDelta(t, float64(w.cents)/100, r.Monetary, 1e-6, "monetary of %s", id)
		require.Equal(t, [3]int{w.r, w.f, w.m}, [3]int{r.R, r.F, r.M}, "scores of %s", id)
		require.Equal(t, fmt.Sprintf("%d%d%d", r.R, r.F, r.M), r.Cell)
		require.Equal(t, r.R+r.F+r.M, r.Score)
		require.Equal(t, w.loyalty, r.Loyalty.String, "loyalty of %s", id)

		// Exactly one segment: the first rule of the map that matches.
		i := slices.IndexFunc(rules, func(s SegmentRule) bool { return s.Matches(r.R, r.F) })
		require.GreaterOrEqual(t, i, 0)
		require.Equal(t, rules[i].Name, r.Segment, "segment of %s (R%d F%d)", id, r.R, r.F)
	}

	t.Run("equal inputs get equal scores", func(t *testing.T) {
		for _, q := range []string{
			`SELECT COUNT(*) FROM (SELECT recency_days FROM segflow.rfm GROUP BY 1 HAVING COUNT(DISTINCT r_score) > 1)`,
			`SELECT COUNT(*) FROM (SELECT frequency FROM segflow.rfm GROUP BY 1 HAVING COUNT(DISTINCT f_score) > 1)`,
			`SELECT COUNT(*) FROM (SELECT monetary FROM segflow.rfm GROUP BY 1 HAVING COUNT(DISTINCT m_score) > 1)`,
			`SELECT COUNT(*) FROM segflow.rfm WHERE LEAST(r_score, f_score, m_score) < 1 OR GREATEST(r_score, f_score, m_score) > 5`,
		} {
			var n int
			require.NoError(t, db.QueryRow(q).Scan(&n))
			require.Zero(t, n, q)
		}
		// The data must actually have ties for this to mean anything.
		var tied int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM (SELECT monetary FROM segflow.rfm GROUP BY 1 HAVING COUNT(*) > 1)`).Scan(&tied))
		require.Greater(t, tied, 10)
	})

	t.Run("count deciles are equal in size", func(t *testing.T) {
		for _, col := range []string{"count_decile", "rfm_decile"} {
			sizes := map[int]int{}
			for _, r := range got {
				sizes[map[string]int{"count_decile": r.CountDecile, "rfm_decile": r.RFMDecile}[col]]++
			}
			require.Len(t, sizes, 10, col)
			lo, hi := len(got), 0
			for _, n := range sizes {
				lo, hi = min(lo, n), max(hi, n)
			}
			require.LessOrEqual(t, hi-lo, 1, "%s sizes %v", col, sizes)
		}
		// Decile 1 holds the highest monetary: no customer in a later
		// decile has more than anyone in an earlier one.
		maxByDecile, minByDecile := map[int]float64{}, map[int]float64{}
		for _, r := range got {
			d := r.CountDecile
			if v, ok := maxByDecile[d]; !ok || r.Monetary > v {
				maxByDecile[d] = r.Monetary
			}
			if v, ok := minByDecile[d]; !ok || r.Monetary < v {
				minByDecile[d] = r.Monetary
			}
		}
		for d := 2; d <= 10; d++ {
			require.LessOrEqual(t, maxByDecile[d], minByDecile[d-1], "decile %d vs %d", d, d-1)
		}
	})

	t.Run("revenue deciles each hold about a tenth of revenue", func(t *testing.T) {
		var total, largest float64
		perDecile := map[int]float64{}
		for _, r := range got {
			if r.Monetary > 0 {
				total += r.Monetary
				largest = max(largest, r.Monetary)
				perDecile[r.RevenueDecile] += r.Monetary
			}
		}
		require.Len(t, perDecile, 10)
		for d, rev := range perDecile {
			require.InDelta(t, total/10, rev, largest, "decile %d holds %.2f of %.2f", d, rev, total)
		}
	})

	t.Run("monetary sums to the net revenue in the window", func(t *testing.T) {
		var wantCents int64
		for _, w := range want {
			wantCents += w.cents
		}
		var rfmCents, cleanCents int64
		require.NoError(t, db.QueryRow(`SELECT CAST(SUM(monetary) * 100 AS BIGINT) FROM segflow.rfm`).Scan(&rfmCents))
		require.NoError(t, db.QueryRow(`
			SELECT CAST(SUM(revenue) * 100 AS BIGINT) FROM segflow.orders_clean
			WHERE order_date BETWEEN ? AND ?
			  AND customer_id IN (SELECT customer_id FROM segflow.orders_clean
			                      WHERE NOT is_refund AND order_date BETWEEN ? AND ?)`,
			monthsBefore(asOf, 12), asOf, monthsBefore(asOf, 12), asOf).Scan(&cleanCents))
		require.Equal(t, wantCents, rfmCents)
		require.Equal(t, cleanCents, rfmCents)
	})

	t.Run("data quality counts", func(t *testing.T) {
		var cancelled, dups, nullRev int64
		for _, o := range g.orders {
			switch {
			case o.status == "cancelled":
				cancelled++
			case dateOf(o.at).After(asOf):
			case o.copy:
				dups++
			case o.nullRevenue:
				nullRev++
			}
		}
		counts := map[string]int64{}
		rows, err := db.Query(`SELECT rule, rows_affected FROM segflow.data_quality`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var rule string
			var n int64
			require.NoError(t, rows.Scan(&rule, &n))
			counts[rule] = n
		}
		require.Equal(t, cancelled, counts["cancelled"])
		require.Equal(t, dups, counts["duplicate"])
		require.Equal(t, nullRev, counts["null_revenue"])
		require.Positive(t, counts["future_timestamp"])
		require.Positive(t, counts["orphan_customer"])
	})
}
