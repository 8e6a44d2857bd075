//go:build duckdb_arrow

package sampledata_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/sampledata"
)

// The tests share one generated database of fixtureCustomers customers;
// they only read it.
const fixtureCustomers = 20000

var fixture struct {
	once  sync.Once
	dir   string
	path  string
	opt   sampledata.Options
	stats sampledata.Stats
	err   error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sampledata")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixture.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// open returns a read-only connection to the fixture (generated on first
// use), with a temporary view of the clean orders: completed, with an
// existing customer, within the history, duplicates collapsed.
func open(t *testing.T) *sql.DB {
	t.Helper()
	fixture.once.Do(func() {
		fixture.path = filepath.Join(fixture.dir, "fixture.duckdb")
		fixture.opt = sampledata.Options{Customers: fixtureCustomers, Seed: 7}
		fixture.stats, fixture.err = sampledata.Generate(context.Background(), fixture.path, fixture.opt)
	})
	require.NoError(t, fixture.err)
	db, err := sql.Open("duckdb", fixture.path+"?access_mode=read_only")
	require.NoError(t, err)
	db.SetMaxOpenConns(1) // the temporary view lives in one connection
	t.Cleanup(func() { db.Close() })
	_, end := fixture.opt.History()
	_, err = db.Exec(fmt.Sprintf(`CREATE TEMP VIEW clean AS
		SELECT DISTINCT * FROM orders
		WHERE status = 'completed' AND ordered_at < TIMESTAMP '%s'
		  AND customer_id IN (SELECT customer_id FROM customers)`, end.Format(time.DateTime)))
	require.NoError(t, err)
	return db
}

func one[T any](t *testing.T, db *sql.DB, q string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, db.QueryRow(q, args...).Scan(&v), q)
	return v
}

func TestGenerateCounts(t *testing.T) {
	db := open(t)
	st := fixture.stats
	for table, want := range map[string]int64{
		"customers": st.Customers, "products": st.Products, "stores": st.Stores,
		"orders": st.Orders, "order_lines": st.OrderLines, "touchpoints": st.Touchpoints,
	} {
		assert.Equal(t, want, one[int64](t, db, "SELECT count(*) FROM "+table), table)
	}
	assert.Positive(t, st.Elapsed)
	t.Logf("stats: %+v", st)
}

func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	gen := func(name string, seed int64) (sampledata.Stats, map[string]string) {
		path := filepath.Join(dir, name)
		st, err := sampledata.Generate(context.Background(), path, sampledata.Options{Customers: 3000, Seed: seed})
		require.NoError(t, err)
		db, err := sql.Open("duckdb", path+"?access_mode=read_only")
		require.NoError(t, err)
		defer db.Close()
		sums := map[string]string{}
		for _, table := range []string{"customers", "products", "stores", "orders", "order_lines", "touchpoints"} {
			// Weighting each row's hash by its position makes the checksum
			// sensitive to row order too.
			sums[table] = one[string](t, db, fmt.Sprintf(
				`SELECT count(*) || ':' || coalesce(sum(hash(t)::HUGEINT * (t.rowid + 1)), 0) FROM main.%s t`, table))
		}
		st.Elapsed = 0
		return st, sums
	}
	st1, a := gen("a.duckdb", 1)
	st2, b := gen("b.duckdb", 1)
	_, c := gen("c.duckdb", 2)
	assert.Equal(t, st1, st2)
	assert.Equal(t, a, b, "same seed, same tables")
	for _, table := range []string{"customers", "orders", "order_lines", "touchpoints"} {
		assert.NotEqual(t, a[table], c[table], "different seed, different %s", table)
	}
	assert.Equal(t, a["products"], c["products"], "the catalogue does not depend on the seed")

	// Regenerating into an existing file replaces the tables.
	st3, err := sampledata.Generate(context.Background(), filepath.Join(dir, "a.duckdb"), sampledata.Options{Customers: 3000, Seed: 1})
	require.NoError(t, err)
	st3.Elapsed = 0
	assert.Equal(t, st1, st3)
}

func TestSchema(t *testing.T) {
	db := open(t)
	want := map[string]string{
		"customers":   "customer_id BIGINT, email VARCHAR, first_name VARCHAR, last_name VARCHAR, phone VARCHAR, created_at TIMESTAMP, birth_date DATE, gender VARCHAR, country VARCHAR",
		"products":    "product_id BIGINT, name VARCHAR, department VARCHAR, category VARCHAR, subcategory VARCHAR, brand VARCHAR, price DECIMAL(10,2)",
		"stores":      "store_id BIGINT, name VARCHAR, city VARCHAR, country VARCHAR",
		"orders":      "order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP, revenue DECIMAL(12,2), sales_channel VARCHAR, store_id BIGINT, status VARCHAR",
		"order_lines": "order_id BIGINT, product_id BIGINT, quantity INTEGER, revenue DECIMAL(12,2)",
		"touchpoints": "customer_id BIGINT, occurred_at TIMESTAMP, channel VARCHAR, campaign VARCHAR, cost DECIMAL(10,4)",
	}
	for table, cols := range want {
		got := one[string](t, db, `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?`, table)
		assert.Equal(t, cols, got, table)
	}
}

func TestCatalogue(t *testing.T) {
	db := open(t)
	assert.Equal(t, int64(315), one[int64](t, db, "SELECT count(*) FROM products"))
	assert.Equal(t, int64(315), one[int64](t, db, "SELECT count(DISTINCT product_id) FROM products"))
	assert.Equal(t, int64(5), one[int64](t, db, "SELECT count(DISTINCT department) FROM products"))
	assert.Equal(t, int64(21), one[int64](t, db, "SELECT count(DISTINCT category) FROM products"))
	assert.Equal(t, int64(63), one[int64](t, db, "SELECT count(DISTINCT subcategory) FROM products"))
	// Each subcategory in one category, each category in one department.
	assert.Equal(t, int64(63), one[int64](t, db, "SELECT count(DISTINCT (department, category, subcategory)) FROM products"))
	assert.Equal(t, int64(36), one[int64](t, db, "SELECT count(DISTINCT brand) FROM products"))
	assert.Zero(t, one[int64](t, db, "SELECT count(*) FROM products WHERE price <= 0 OR name IS NULL"))
	assert.Equal(t, int64(20), one[int64](t, db, "SELECT count(DISTINCT store_id) FROM stores"))
	assert.Len(t, sampledata.Products(), 315)
	assert.Len(t, sampledata.Stores(), 20)

	// The exported planted pairs describe the products table, with the
	// ids documented.
	var ids [][2]int64
	for _, p := range sampledata.PlantedPairs {
		ids = append(ids, [2]int64{p.A, p.B})
	}
	assert.Equal(t, [][2]int64{{211, 241}, {256, 71}, {81, 126}}, ids)
	for _, p := range sampledata.PlantedPairs {
		for _, side := range []struct {
			id                         int64
			name, dep, cat, sub, brand string
		}{{p.A, p.NameA, p.DepartmentA, p.CategoryA, p.SubcategoryA, p.BrandA}, {p.B, p.NameB, p.DepartmentB, p.CategoryB, p.SubcategoryB, p.BrandB}} {
			got := one[string](t, db, "SELECT concat_ws('|', name, department, category, subcategory, brand) FROM products WHERE product_id = ?", side.id)
			assert.Equal(t, strings.Join([]string{side.name, side.dep, side.cat, side.sub, side.brand}, "|"), got)
		}
	}
}

func TestCustomers(t *testing.T) {
	db := open(t)
	start, end := fixture.opt.History()
	n := one[float64](t, db, "SELECT count(*) FROM customers")
	assert.InDelta(t, fixtureCustomers*(1-sampledata.OrphanShare*0.9), n, fixtureCustomers*0.004)
	assert.Equal(t, n, one[float64](t, db, "SELECT count(DISTINCT customer_id) FROM customers"))
	assert.Equal(t, n, one[float64](t, db, "SELECT count(DISTINCT email) FROM customers"))

	leads := one[float64](t, db, `SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)`)
	assert.InDelta(t, 0.10, leads/n, 0.025, "share of leads")

	// Attributes are filled in and plausible.
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM customers WHERE email IS NULL OR first_name IS NULL
		OR last_name IS NULL OR created_at IS NULL OR country IS NULL OR NOT regexp_full_match(email, '[a-z.]+[0-9]+@example\.(com|org|net)')`))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM customers WHERE phone IS NOT NULL AND NOT regexp_full_match(phone, '\+[1-9][0-9]{9,14}')`))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM customers WHERE gender NOT IN ('F', 'M') OR length(country) <> 2`))
	assert.InDelta(t, 0.04, one[float64](t, db, `SELECT avg((gender IS NULL)::INT) FROM customers`), 0.02)
	assert.InDelta(t, 0.20, one[float64](t, db, `SELECT avg((phone IS NULL)::INT) FROM customers`), 0.03)
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM customers WHERE created_at < ? OR created_at >= ?`, start, end))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM customers WHERE date_diff('year', birth_date, DATE '2025-12-31') NOT BETWEEN 17 AND 81`))

	// Acquisition grows year over year.
	rows, err := db.Query(`SELECT count(*) FROM customers GROUP BY year(created_at) ORDER BY year(created_at)`)
	require.NoError(t, err)
	var perYear []int64
	for rows.Next() {
		var c int64
		require.NoError(t, rows.Scan(&c))
		perYear = append(perYear, c)
	}
	require.Len(t, perYear, 3)
	assert.Less(t, perYear[0], perYear[1])
	assert.Less(t, perYear[1], perYear[2])
}

func TestPurchaseProcess(t *testing.T) {
	db := open(t)
	start, end := fixture.opt.History()
	assert.True(t, end.Sub(start) >= 2*365*24*time.Hour)
	first := one[time.Time](t, db, "SELECT min(ordered_at) FROM clean")
	last := one[time.Time](t, db, "SELECT max(ordered_at) FROM clean")
	assert.True(t, first.Before(start.AddDate(0, 0, 14)), "orders from the start of the history: %v", first)
	assert.True(t, last.After(end.AddDate(0, 0, -3)) && last.Before(end), "orders up to the end: %v", last)

	// A realistic mix: many one-time buyers, some loyal repeaters.
	oneTime := one[float64](t, db, "SELECT avg((n = 1)::INT) FROM (SELECT count(*) n FROM clean GROUP BY customer_id)")
	mean := one[float64](t, db, "SELECT avg(n) FROM (SELECT count(*) n FROM clean GROUP BY customer_id)")
	heavy := one[float64](t, db, "SELECT avg((n >= 10)::INT) FROM (SELECT count(*) n FROM clean GROUP BY customer_id)")
	assert.True(t, oneTime > 0.25 && oneTime < 0.5, "one-time buyers: %.3f", oneTime)
	assert.True(t, mean > 2 && mean < 5, "orders per buyer: %.2f", mean)
	assert.True(t, heavy > 0.02, "buyers with 10+ orders: %.3f", heavy)

	// The first order follows sign-up.
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM clean o JOIN customers c USING (customer_id) WHERE o.ordered_at < c.created_at`))

	// Retention by cohort declines with the months since the first order.
	ret := retention(t, db, "true")
	assert.Greater(t, ret[1], ret[6])
	assert.Greater(t, ret[6], ret[12])
	assert.Greater(t, ret[12], 0.0)
}

// retention returns, for buyers whose first order is before 2024-12 and
// who match cond, the share with an order in month offset 1, 3, 6, 12
// after the month of their first order.
func retention(t *testing.T, db *sql.DB, cond string) map[int]float64 {
	rows, err := db.Query(fmt.Sprintf(`
		WITH o AS (SELECT customer_id, ordered_at, min(ordered_at) OVER (PARTITION BY customer_id) AS f FROM clean),
		c AS (SELECT customer_id, f, date_diff('month', f, ordered_at) AS m FROM o WHERE f < DATE '2024-12-01' AND %s),
		n AS (SELECT count(DISTINCT customer_id) AS n FROM c)
		SELECT m, count(DISTINCT customer_id) / any_value(n.n) FROM c, n WHERE m IN (1, 3, 6, 12) GROUP BY m`, cond))
	require.NoError(t, err)
	defer rows.Close()
	out := map[int]float64{}
	for rows.Next() {
		var m int
		var r float64
		require.NoError(t, rows.Scan(&m, &r))
		out[m] = r
	}
	return out
}

func TestChurnCohort(t *testing.T) {
	db := open(t)
	holiday := retention(t, db, "month(f) IN (11, 12)")
	other := retention(t, db, "month(f) NOT IN (11, 12)")
	t.Logf("retention holiday %v, other %v", holiday, other)
	for _, m := range []int{3, 6, 12} {
		assert.Less(t, holiday[m], other[m]*0.75, "month %d", m)
	}
}

func TestSalesChannels(t *testing.T) {
	db := open(t)
	online := one[float64](t, db, "SELECT avg((sales_channel = 'online')::INT) FROM clean")
	assert.InDelta(t, 0.70, online, 0.04)
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM orders WHERE sales_channel NOT IN ('online', 'offline')
		OR (sales_channel = 'online') <> (store_id IS NULL)`))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM orders WHERE store_id IS NOT NULL AND store_id NOT IN (SELECT store_id FROM stores)`))
	assert.Equal(t, int64(20), one[int64](t, db, "SELECT count(DISTINCT store_id) FROM clean"))
	// Store orders fall in opening hours.
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM orders WHERE sales_channel = 'offline' AND status <> 'cancelled'
		AND hour(ordered_at) NOT BETWEEN 9 AND 19 AND ordered_at < (SELECT max(ordered_at) - INTERVAL 1 DAY FROM clean)`))
}

func TestOrderLines(t *testing.T) {
	db := open(t)
	// Every order has lines, and its revenue is the sum of its lines.
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM (SELECT DISTINCT order_id, revenue FROM orders) o
		LEFT JOIN (SELECT order_id, sum(revenue) AS s, count(*) AS n FROM order_lines GROUP BY 1) l USING (order_id)
		WHERE l.s IS NULL OR l.s <> o.revenue`))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM order_lines WHERE order_id NOT IN (SELECT order_id FROM orders)
		OR product_id NOT IN (SELECT product_id FROM products)`))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM (SELECT order_id, count(*) n, count(DISTINCT product_id) d
		FROM order_lines GROUP BY 1) WHERE n > 5 OR n <> d`))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM order_lines l JOIN clean USING (order_id)
		WHERE l.quantity NOT BETWEEN 1 AND 3 OR l.revenue <= 0`))
	// Line revenue is price × quantity, less a discount of at most 20%.
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM order_lines l JOIN clean USING (order_id) JOIN products p USING (product_id)
		WHERE l.revenue > p.price * l.quantity OR l.revenue < p.price * l.quantity * 0.8 - 0.01`))
	aov := one[float64](t, db, "SELECT avg(revenue) FROM clean")
	assert.True(t, aov > 40 && aov < 200, "average order value %.2f", aov)
}

func TestDirtyRows(t *testing.T) {
	db := open(t)
	_, end := fixture.opt.History()
	st := fixture.stats
	rules := map[string]string{
		sampledata.DirtyNullCustomer:    "SELECT count(*) FROM orders WHERE customer_id IS NULL",
		sampledata.DirtyNegativeRevenue: "SELECT count(*) FROM orders WHERE status = 'refunded' AND revenue < 0",
		sampledata.DirtyCancelled:       "SELECT count(*) FROM orders WHERE status = 'cancelled'",
		sampledata.DirtyDuplicate:       "SELECT count(*) - count(DISTINCT order_id) FROM orders",
		sampledata.DirtyFuture:          fmt.Sprintf("SELECT count(*) FROM orders WHERE ordered_at >= TIMESTAMP '%s'", end.Format(time.DateTime)),
		sampledata.DirtyOrphan:          "SELECT count(*) FROM orders WHERE customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM customers)",
	}
	require.Len(t, st.Dirty, len(rules))
	var total int64
	for rule, q := range rules {
		got := one[int64](t, db, q)
		assert.Equal(t, st.Dirty[rule], got, rule)
		assert.Positive(t, got, rule)
		total += got
	}
	orders := one[int64](t, db, "SELECT count(*) FROM orders")
	share := float64(total) / float64(orders)
	assert.True(t, share > 0.02 && share < 0.08, "dirty share %.3f", share)

	// The rules are disjoint: the dirty rows are exactly the rows that are
	// not clean.
	clean := one[int64](t, db, "SELECT count(*) FROM clean")
	assert.Equal(t, orders-clean, total)

	// Duplicates are exact copies; refunds are negative throughout;
	// statuses are the three documented ones.
	assert.Equal(t, one[int64](t, db, "SELECT count(DISTINCT order_id) FROM orders"), one[int64](t, db, "SELECT count(*) FROM (SELECT DISTINCT * FROM orders)"))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM order_lines l JOIN orders o USING (order_id)
		WHERE o.status = 'refunded' AND (l.revenue >= 0 OR l.quantity >= 0)`))
	assert.Zero(t, one[int64](t, db, "SELECT count(*) FROM orders WHERE status NOT IN ('completed', 'cancelled', 'refunded')"))
	// A refund follows an order of the same customer.
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM orders r WHERE status = 'refunded' AND NOT EXISTS (
		SELECT 1 FROM orders o WHERE o.customer_id = r.customer_id AND o.status = 'completed'
		AND o.ordered_at < r.ordered_at AND o.ordered_at >= r.ordered_at - INTERVAL 31 DAY)`))
}

// pairLifts computes basket lift for pairs of key (an expression over
// products p) over clean orders, for pairs seen in at least 20 orders,
// highest first. Pair members are sorted so (a, b) has a < b.
func pairLifts(t *testing.T, db *sql.DB, key string) []pairLift {
	rows, err := db.Query(fmt.Sprintf(`
		WITH b AS (SELECT DISTINCT l.order_id, (%s)::VARCHAR AS k FROM order_lines l
		           JOIN clean USING (order_id) JOIN products p USING (product_id)),
		n AS (SELECT count(DISTINCT order_id) AS n FROM b),
		single AS (SELECT k, count(*) AS c FROM b GROUP BY k),
		pairs AS (SELECT x.k AS a, y.k AS b, count(*) AS c FROM b x JOIN b y ON x.order_id = y.order_id AND x.k < y.k GROUP BY 1, 2)
		SELECT a, b, pairs.c, pairs.c * n.n / (sa.c * sb.c) AS lift
		FROM pairs, n, single sa, single sb
		WHERE sa.k = pairs.a AND sb.k = pairs.b AND pairs.c >= 20
		ORDER BY lift DESC`, key))
	require.NoError(t, err)
	defer rows.Close()
	var out []pairLift
	for rows.Next() {
		var p pairLift
		require.NoError(t, rows.Scan(&p.a, &p.b, &p.count, &p.lift))
		out = append(out, p)
	}
	return out
}

type pairLift struct {
	a, b  string
	count int64
	lift  float64
}

func pairKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + " & " + b
}

func TestPlantedPairs(t *testing.T) {
	db := open(t)
	require.GreaterOrEqual(t, len(sampledata.PlantedPairs), 3)
	levels := []struct {
		key  string
		side func(p sampledata.Pair) (string, string)
	}{
		{"p.product_id", func(p sampledata.Pair) (string, string) { return fmt.Sprint(p.A), fmt.Sprint(p.B) }},
		{"p.subcategory", func(p sampledata.Pair) (string, string) { return p.SubcategoryA, p.SubcategoryB }},
		{"p.category", func(p sampledata.Pair) (string, string) { return p.CategoryA, p.CategoryB }},
		{"p.brand", func(p sampledata.Pair) (string, string) { return p.BrandA, p.BrandB }},
	}
	for _, lv := range levels {
		planted := map[string]bool{}
		for _, p := range sampledata.PlantedPairs {
			a, b := lv.side(p)
			planted[pairKey(a, b)] = true
		}
		lifts := pairLifts(t, db, lv.key)
		require.Greater(t, len(lifts), len(planted), lv.key)
		var top []string
		for _, l := range lifts[:len(planted)] {
			top = append(top, pairKey(l.a, l.b))
			assert.True(t, l.lift > 2, "%s: lift of %s & %s is %.2f", lv.key, l.a, l.b, l.lift)
		}
		for _, k := range top {
			assert.True(t, planted[k], "%s: top pairs by lift %v are not the planted ones", lv.key, top)
		}
		best := lifts[len(planted)]
		lowest := lifts[len(planted)-1]
		assert.Greater(t, lowest.lift, 1.5*best.lift, "%s: planted pairs stand out (best other: %s & %s %.2f)", lv.key, best.a, best.b, best.lift)
		if lv.key == "p.product_id" {
			assert.Greater(t, lowest.lift, 10.0)
			// P(B | A) is about PairProbability.
			for _, p := range sampledata.PlantedPairs {
				conf := one[float64](t, db, `SELECT avg(has_b::INT) FROM (SELECT order_id, bool_or(product_id = ?) AS has_b,
					bool_or(product_id = ?) AS has_a FROM order_lines JOIN clean USING (order_id) GROUP BY 1) WHERE has_a`, p.B, p.A)
				assert.InDelta(t, sampledata.PairProbability, conf, 0.06, "confidence %s -> %s", p.NameA, p.NameB)
			}
		}
		t.Logf("%s: top lifts %v", lv.key, lifts[:len(planted)+2])
	}
}

func TestPlantedNextCategory(t *testing.T) {
	db := open(t)
	rows, err := db.Query(`
		WITH oc AS (SELECT o.order_id, o.customer_id, o.ordered_at,
		                   bool_or(p.category = ?) AS has_from, bool_or(p.category = ?) AS has_to
		            FROM clean o JOIN order_lines USING (order_id) JOIN products p USING (product_id) GROUP BY ALL),
		s AS (SELECT *, lag(has_from) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS prev_from FROM oc)
		SELECT prev_from, avg(has_to::INT) FROM s WHERE prev_from IS NOT NULL GROUP BY 1`,
		sampledata.PlantedNext.From, sampledata.PlantedNext.To)
	require.NoError(t, err)
	defer rows.Close()
	rate := map[bool]float64{}
	for rows.Next() {
		var prev bool
		var r float64
		require.NoError(t, rows.Scan(&prev, &r))
		rate[prev] = r
	}
	t.Logf("P(next holds %s | last held %s) = %.3f, otherwise %.3f", sampledata.PlantedNext.To, sampledata.PlantedNext.From, rate[true], rate[false])
	assert.GreaterOrEqual(t, rate[true], sampledata.NextCategoryProbability)
	assert.Greater(t, rate[true], 4*rate[false])
}

func TestTouchpoints(t *testing.T) {
	db := open(t)
	start, end := fixture.opt.History()
	rows, err := db.Query("SELECT DISTINCT channel FROM touchpoints ORDER BY 1")
	require.NoError(t, err)
	var channels []string
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		channels = append(channels, c)
	}
	want := slices.Clone(sampledata.Channels)
	sort.Strings(want)
	assert.Equal(t, want, channels)
	assert.Equal(t, []string{"affiliate", "direct_mail", "display", "email", "paid_search", "social"}, want)

	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM touchpoints WHERE campaign <> channel || '_' ||
		CASE WHEN month(occurred_at) <= 2 THEN 'winter' WHEN month(occurred_at) <= 5 THEN 'spring'
		     WHEN month(occurred_at) <= 8 THEN 'summer' WHEN month(occurred_at) <= 10 THEN 'autumn' ELSE 'holiday' END
		|| '_' || year(occurred_at) AND NOT (campaign = ? AND channel = 'email')`, sampledata.WelcomeCampaign))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM touchpoints WHERE occurred_at < ? OR occurred_at >= ? OR cost <= 0 OR customer_id IS NULL`, start, end))
	// Leads are touched too: there are non-converting paths.
	assert.Positive(t, one[int64](t, db, `SELECT count(DISTINCT customer_id) FROM touchpoints
		WHERE customer_id NOT IN (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL)`))
	// Touchpoints precede orders: most buyers were touched within 30 days before an order.
	touched := one[float64](t, db, `SELECT avg((t.occurred_at >= o.ordered_at - INTERVAL 30 DAY)::INT)
		FROM clean o ASOF LEFT JOIN touchpoints t ON o.customer_id = t.customer_id AND o.ordered_at > t.occurred_at`)
	assert.Greater(t, touched, 0.7)
}

// TestPlantedChannel: a touch of the planted channel is followed by an
// order within 30 days far more often than a touch of any other channel.
func TestPlantedChannel(t *testing.T) {
	db := open(t)
	_, end := fixture.opt.History()
	rows, err := db.Query(`
		SELECT channel, avg((EXISTS (SELECT 1 FROM clean o WHERE o.customer_id = t.customer_id
		       AND o.ordered_at > t.occurred_at AND o.ordered_at <= t.occurred_at + INTERVAL 30 DAY))::INT)
		FROM touchpoints t WHERE occurred_at < ? GROUP BY channel`, end.AddDate(0, 0, -30))
	require.NoError(t, err)
	defer rows.Close()
	conv := map[string]float64{}
	for rows.Next() {
		var c string
		var r float64
		require.NoError(t, rows.Scan(&c, &r))
		conv[c] = r
	}
	t.Logf("30-day conversion after a touch: %v", conv)
	for c, r := range conv {
		if c != sampledata.PlantedChannel {
			assert.Greater(t, conv[sampledata.PlantedChannel], 1.5*r, "%s vs %s", sampledata.PlantedChannel, c)
		}
	}
}

// TestAttribution runs a first-order Markov removal-effect attribution and
// a Shapley attribution over 30-day paths and checks that both rank the
// planted channel first. A converting path is a customer's touchpoints in
// the 30 days before an order; the customer's other touchpoints form one
// non-converting path.
func TestAttribution(t *testing.T) {
	db := open(t)
	rows, err := db.Query(`
		WITH t AS (SELECT customer_id, occurred_at, channel FROM touchpoints),
		o AS (SELECT DISTINCT customer_id, ordered_at FROM clean),
		j AS (SELECT t.*, CASE WHEN o.ordered_at <= t.occurred_at + INTERVAL 30 DAY THEN o.ordered_at END AS conv_at
		      FROM t ASOF LEFT JOIN o ON t.customer_id = o.customer_id AND t.occurred_at < o.ordered_at)
		SELECT conv_at IS NOT NULL, string_agg(channel, '>' ORDER BY occurred_at) FROM j GROUP BY customer_id, conv_at`)
	require.NoError(t, err)
	defer rows.Close()
	type path struct {
		conv  bool
		steps []string
	}
	var paths []path
	for rows.Next() {
		var p path
		var s string
		require.NoError(t, rows.Scan(&p.conv, &s))
		p.steps = strings.Split(s, ">")
		paths = append(paths, p)
	}
	require.NotEmpty(t, paths)

	// Markov chain: start -> channels -> conversion | null.
	idx := map[string]int{}
	for i, c := range sampledata.Channels {
		idx[c] = i + 1
	}
	const start, conv, null = 0, 7, 8
	var counts [9][9]float64
	for _, p := range paths {
		prev := start
		for _, s := range p.steps {
			counts[prev][idx[s]]++
			prev = idx[s]
		}
		if p.conv {
			counts[prev][conv]++
		} else {
			counts[prev][null]++
		}
	}
	probConv := func(removed int) float64 {
		var p [9]float64
		p[conv] = 1
		for range 1000 {
			for s := start; s < conv; s++ {
				if s == removed {
					continue
				}
				var tot, v float64
				for n := range 9 {
					tot += counts[s][n]
					if n != removed {
						v += counts[s][n] * p[n]
					}
				}
				if tot > 0 {
					p[s] = v / tot
				}
			}
		}
		return p[start]
	}
	base := probConv(-1)
	removal := map[string]float64{}
	shapley := map[string]float64{}
	for _, c := range sampledata.Channels {
		removal[c] = 1 - probConv(idx[c])/base
	}
	// Shapley value with v(S) = conversions whose path's channel set lies
	// within S: each converting path's credit is split equally among its
	// distinct channels.
	for _, p := range paths {
		if !p.conv {
			continue
		}
		set := map[string]bool{}
		for _, s := range p.steps {
			set[s] = true
		}
		for c := range set {
			shapley[c] += 1 / float64(len(set))
		}
	}
	t.Logf("Markov removal effects %v; Shapley credits %v", removal, shapley)
	for _, c := range sampledata.Channels {
		if c == sampledata.PlantedChannel {
			continue
		}
		assert.Greater(t, removal[sampledata.PlantedChannel], 1.3*removal[c], "removal effect vs %s", c)
		assert.Greater(t, shapley[sampledata.PlantedChannel], 1.3*shapley[c], "Shapley credit vs %s", c)
	}
}

func TestOptions(t *testing.T) {
	start, end := sampledata.Options{}.History()
	assert.Equal(t, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), start)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), end)
	start, end = sampledata.Options{End: time.Date(2024, 6, 30, 15, 0, 0, 0, time.UTC), Years: 2}.History()
	assert.Equal(t, time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC), start)
	assert.Equal(t, time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), end)

	dir := t.TempDir()
	_, err := sampledata.Generate(context.Background(), filepath.Join(dir, "x.duckdb"), sampledata.Options{Customers: -1})
	assert.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = sampledata.Generate(ctx, filepath.Join(dir, "y.duckdb"), sampledata.Options{Customers: 100000})
	assert.Error(t, err)

	// Cancelled mid-run: Generate returns the error, and the tables of the
	// previous run stay.
	prev := filepath.Join(dir, "prev.duckdb")
	st, err := sampledata.Generate(context.Background(), prev, sampledata.Options{Customers: 1000, Seed: 5})
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = sampledata.Generate(ctx, prev, sampledata.Options{Customers: 2_000_000, Seed: 5})
	require.Error(t, err)
	pdb, err := sql.Open("duckdb", prev+"?access_mode=read_only")
	require.NoError(t, err)
	assert.Equal(t, st.Orders, one[int64](t, pdb, "SELECT count(*) FROM orders"))
	assert.Equal(t, st.Customers, one[int64](t, pdb, "SELECT count(*) FROM customers"))
	pdb.Close()

	// A different end and length shift everything.
	path := filepath.Join(dir, "z.duckdb")
	opt := sampledata.Options{Customers: 500, Seed: 3, End: time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC), Years: 2}
	_, err = sampledata.Generate(context.Background(), path, opt)
	require.NoError(t, err)
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	require.NoError(t, err)
	defer db.Close()
	start, end = opt.History()
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM orders WHERE ordered_at < ? OR (ordered_at >= ? AND customer_id IS NULL)`, start, end))
	assert.Zero(t, one[int64](t, db, `SELECT count(*) FROM touchpoints WHERE occurred_at < ? OR occurred_at >= ?`, start, end))
}
