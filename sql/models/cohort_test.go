package models

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cohortData is the hand-made data set of TestCohortHandWorked. as_of
// is 2024-06-30, so the cohorts start in 2023-03 (15 months before
// 2024-06) and the 16 months are 2023-03 .. 2024-06.
var cohortData = []string{
	`CREATE TABLE raw.customers (customer_id VARCHAR, email VARCHAR)`,
	`INSERT INTO raw.customers VALUES ('a1', NULL), ('a2', NULL), ('a3', NULL), ('a4', NULL), ('a5', NULL), ('a6', NULL)`,
	`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
		revenue DECIMAL(10, 2), sales_channel VARCHAR, store_id VARCHAR, status VARCHAR)`,
	`INSERT INTO raw.orders VALUES
		-- a1: orders 1-4 in April, April, May and June; o4 is refunded in full on 06-15
		('o1',  'a1', '2024-04-05 10:00:00', 100, NULL, NULL, 'completed'),
		('o2',  'a1', '2024-04-20 10:00:00', 50,  NULL, NULL, 'completed'),
		('o3',  'a1', '2024-05-10 10:00:00', 80,  NULL, NULL, 'completed'),
		('o4',  'a1', '2024-06-02 10:00:00', 40,  NULL, NULL, 'completed'),
		('o4',  'a1', '2024-06-15 10:00:00', -40, NULL, NULL, 'refunded'),
		-- a2: April, then June
		('o5',  'a2', '2024-04-30 23:00:00', 60,  NULL, NULL, 'completed'),
		('o6',  'a2', '2024-06-01 10:00:00', 30,  NULL, NULL, 'completed'),
		-- a3: two orders on 05-03 (its 1st and 2nd), one in June
		('o7',  'a3', '2024-05-03 09:00:00', 200, NULL, NULL, 'completed'),
		('o8',  'a3', '2024-05-03 15:00:00', 20,  NULL, NULL, 'completed'),
		('o9',  'a3', '2024-06-30 12:00:00', 10,  NULL, NULL, 'completed'),
		-- a4: first order before the 16 months, second in April
		('o10', 'a4', '2023-02-20 10:00:00', 70,  NULL, NULL, 'completed'),
		('o11', 'a4', '2024-04-11 10:00:00', 90,  NULL, NULL, 'completed'),
		-- a5: only a cancelled order; a6: only a refund
		('o12', 'a5', '2024-04-15 10:00:00', 55,  NULL, NULL, 'cancelled'),
		('o13', 'a6', '2024-05-20 10:00:00', -25, NULL, NULL, 'refunded'),
		-- z1: no customers row; its July order is in the future
		('o14', 'z1', '2024-04-25 10:00:00', 120, NULL, NULL, 'completed'),
		('o15', 'z1', '2024-07-02 10:00:00', 999, NULL, NULL, 'completed')`,
	`CREATE TABLE raw.products (product_id VARCHAR, name VARCHAR, department VARCHAR, category VARCHAR, subcategory VARCHAR, brand VARCHAR)`,
	// p3 is listed twice and has no brand; p9 is not listed at all.
	`INSERT INTO raw.products VALUES
		('p1', 'Tee',     'Clothing', 'Tops',    'T-Shirts', 'BrandA'),
		('p2', 'Sneaker', 'Clothing', 'Shoes',   'Sneakers', 'BrandB'),
		('p3', 'Mug',     'Home',     'Kitchen', 'Mugs',     NULL),
		('p3', 'Mug',     'Home',     'Kitchen', 'Mugs',     NULL)`,
	`CREATE TABLE raw.order_lines (order_id VARCHAR, product_id VARCHAR, quantity INTEGER, revenue DECIMAL(10, 2))`,
	`INSERT INTO raw.order_lines VALUES
		('o1', 'p1', 1, 60), ('o1', 'p3', 1, 40),
		('o2', 'p2', 1, 50),
		('o3', 'p1', 1, 80),
		('o4', 'p1', 1, 40),
		('o5', 'p2', 1, 60),
		('o6', 'p9', 1, 30),
		('o7', 'p2', 1, 150), ('o7', 'p3', 1, 50),
		('o8', 'p3', 1, 20),
		('o9', 'p1', 1, 10), ('o9', 'p2', 1, NULL),
		('o10', 'p1', 1, 70),
		('o11', 'p3', 1, 90),
		('o12', 'p1', 1, 55),
		('o13', 'p2', -1, 25),
		('o14', 'p1', 1, 120),
		('o15', 'p1', 1, 999),
		('ox', 'p1', 1, 5)`,
}

func cohortOptions() Options {
	o := duckdbOptions()
	o.Sources["order_lines"] = Source{Table: "raw.order_lines"}
	o.Sources["products"] = Source{Table: "raw.products"}
	return o
}

func TestCohortHandWorked(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, cohortData...)
	stmts, err := Render("cohort", cohortOptions())
	require.NoError(t, err)
	var names []string
	for _, s := range stmts {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"orders_clean", "data_quality", "cohort_retention", "buyer_mix_monthly", "category_spend_monthly"}, names)
	execStatements(t, db, stmts)

	t.Run("cohort_retention", func(t *testing.T) {
		// First purchases: a1 04-05, a2 04-30, z1 04-25 -> cohort 2024-04
		// (3 customers); a3 05-03 -> 2024-05 (1); a4 2023-02 is before the
		// earliest cohort; a5 and a6 never bought.
		//
		// 2024-04, offset 0 (April): o1 100, o2 50 (a1), o5 60 (a2), o14 120
		//   (z1): 3 active, 4 orders, revenue 330, AOV 330 / 4 = 82.5.
		// offset 1 (May): o3 80 (a1): 1 active of 3.
		// offset 2 (June): o4 40 and its refund -40 (a1), o6 30 (a2): 2
		//   active, 2 orders, net revenue 30, AOV (40 + 30) / 2 = 35.
		// 2024-05, offset 0: o7 200, o8 20 (a3): 1 active, 2 orders, 220, AOV 110.
		// offset 1: o9 10.
		type row struct {
			size, active int
			rate         float64
			orders       int
			revenue      float64
			aov          sql.NullFloat64
			month        string
		}
		aov := func(v float64) sql.NullFloat64 { return sql.NullFloat64{Float64: v, Valid: true} }
		want := map[string]row{
			"2024-04-01+0": {3, 3, 1, 4, 330, aov(82.5), "2024-04-01"},
			"2024-04-01+1": {3, 1, 1.0 / 3, 1, 80, aov(80), "2024-05-01"},
			"2024-04-01+2": {3, 2, 2.0 / 3, 2, 30, aov(35), "2024-06-01"},
			"2024-05-01+0": {1, 1, 1, 2, 220, aov(110), "2024-05-01"},
			"2024-05-01+1": {1, 1, 1, 1, 10, aov(10), "2024-06-01"},
		}
		rows, err := db.Query(`SELECT cohort_month, month_offset, activity_month, cohort_size, active_customers,
			retention_rate, orders, CAST(revenue AS DOUBLE), avg_order_value FROM segflow.cohort_retention`)
		require.NoError(t, err)
		defer rows.Close()
		got := map[string]row{}
		for rows.Next() {
			var cohort, month time.Time
			var offset int
			var r row
			require.NoError(t, rows.Scan(&cohort, &offset, &month, &r.size, &r.active, &r.rate, &r.orders, &r.revenue, &r.aov))
			r.month = month.Format(time.DateOnly)
			got[fmt.Sprintf("%s+%d", cohort.Format(time.DateOnly), offset)] = r
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got)
	})

	t.Run("buyer_mix_monthly", func(t *testing.T) {
		// Order numbers over all history: a1 o1 1, o2 2, o3 3, o4 4; a2 o5 1,
		// o6 2; a3 o7 1, o8 2, o9 3; a4 o10 1, o11 2; z1 o14 1.
		// April: a1 (first order there: 1), a2 (1), z1 (1) first-time; a4 (2)
		//   second-time. May: a3 (1 and 2, counted by the 1st) first-time,
		//   a1 (3) repeat. June: a2 (2) second-time, a1 (4), a3 (3) repeat.
		// The other 13 months have no buyers, and a4's 2023-02 is not shown.
		type mix struct{ first, second, repeat, buyers int }
		want := map[string]mix{"2024-04-01": {3, 1, 0, 4}, "2024-05-01": {1, 0, 1, 2}, "2024-06-01": {0, 1, 2, 3}}
		rows, err := db.Query(`SELECT month, first_time, second_time, repeat, buyers FROM segflow.buyer_mix_monthly ORDER BY month`)
		require.NoError(t, err)
		defer rows.Close()
		var months []string
		for rows.Next() {
			var m time.Time
			var x mix
			require.NoError(t, rows.Scan(&m, &x.first, &x.second, &x.repeat, &x.buyers))
			months = append(months, m.Format(time.DateOnly))
			require.Equal(t, want[m.Format(time.DateOnly)], x, m.Format(time.DateOnly))
		}
		require.NoError(t, rows.Err())
		require.Len(t, months, 16)
		require.Equal(t, "2023-03-01", months[0])
		require.Equal(t, "2024-06-01", months[15])
	})

	t.Run("category_spend_monthly", func(t *testing.T) {
		// Lines of orders in orders_clean dated from 2023-03-01: o12
		// (cancelled), o15 (future), o10 (2023-02) and ox (no order) are
		// left out. o13 is a refund only, so its line counts -25 and no
		// buyer. o4 has a purchase row, so its line is a purchase in June
		// (the refund sharing its id reduces orders_clean revenue only). o9's
		// NULL line counts 0. p9 has no products row and p3 no brand:
		// '(unknown)'.
		//
		// department  April: Clothing o1 60 + o2 50 + o5 60 + o14 120 = 290 (a1 a2 z1; 4 orders)
		//                    Home o1 40 + o11 90 = 130 (a1 a4; 2 orders)
		//             May:   Clothing o3 80 + o7 150 - o13 25 = 205 (a1 a3; 2)
		//                    Home o7 50 + o8 20 = 70 (a3; 2)
		//             June:  Clothing o4 40 + o9 10 + 0 = 50 (a1 a3; 2); (unknown) o6 30 (a2; 1)
		// brand       April: BrandA 60 + 120 = 180 (a1 z1; 2); BrandB 50 + 60 = 110 (a1 a2; 2);
		//                    (unknown) p3 40 + 90 = 130 (a1 a4; 2)
		//             May:   BrandA 80 (a1; 1); BrandB 150 - 25 = 125 (a3; 1); (unknown) 70 (a3; 2)
		//             June:  BrandA 50 (a1 a3; 2); BrandB 0 (a3; 1); (unknown) 30 (a2; 1)
		type spend struct {
			revenue           float64
			customers, orders int
		}
		want := map[string]spend{
			"2024-04 department Clothing": {290, 3, 4}, "2024-04 department Home": {130, 2, 2},
			"2024-05 department Clothing": {205, 2, 2}, "2024-05 department Home": {70, 1, 2},
			"2024-06 department Clothing": {50, 2, 2}, "2024-06 department (unknown)": {30, 1, 1},
			"2024-04 category Tops": {180, 2, 2}, "2024-04 category Shoes": {110, 2, 2}, "2024-04 category Kitchen": {130, 2, 2},
			"2024-05 category Tops": {80, 1, 1}, "2024-05 category Shoes": {125, 1, 1}, "2024-05 category Kitchen": {70, 1, 2},
			"2024-06 category Tops": {50, 2, 2}, "2024-06 category Shoes": {0, 1, 1}, "2024-06 category (unknown)": {30, 1, 1},
			"2024-04 subcategory T-Shirts": {180, 2, 2}, "2024-04 subcategory Sneakers": {110, 2, 2}, "2024-04 subcategory Mugs": {130, 2, 2},
			"2024-05 subcategory T-Shirts": {80, 1, 1}, "2024-05 subcategory Sneakers": {125, 1, 1}, "2024-05 subcategory Mugs": {70, 1, 2},
			"2024-06 subcategory T-Shirts": {50, 2, 2}, "2024-06 subcategory Sneakers": {0, 1, 1}, "2024-06 subcategory (unknown)": {30, 1, 1},
			"2024-04 brand BrandA": {180, 2, 2}, "2024-04 brand BrandB": {110, 2, 2}, "2024-04 brand (unknown)": {130, 2, 2},
			"2024-05 brand BrandA": {80, 1, 1}, "2024-05 brand BrandB": {125, 1, 1}, "2024-05 brand (unknown)": {70, 1, 2},
			"2024-06 brand BrandA": {50, 2, 2}, "2024-06 brand BrandB": {0, 1, 1}, "2024-06 brand (unknown)": {30, 1, 1},
		}
		rows, err := db.Query(`SELECT month, level, value, CAST(revenue AS DOUBLE), customers, orders FROM segflow.category_spend_monthly`)
		require.NoError(t, err)
		defer rows.Close()
		got := map[string]spend{}
		for rows.Next() {
			var m time.Time
			var level, value string
			var s spend
			require.NoError(t, rows.Scan(&m, &level, &value, &s.revenue, &s.customers, &s.orders))
			got[m.Format("2006-01")+" "+level+" "+value] = s
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got)
	})
}

// TestRenderModelsSharesStaging renders several models for one job: the
// staging tables come once, byte-identical whichever model renders them,
// in every dialect.
func TestRenderModelsSharesStaging(t *testing.T) {
	t.Parallel()
	for _, dn := range []string{"duckdb", "bigquery", "snowflake"} {
		o := goldenOptionsFor(t, dn)
		if _, ok := o.Sources["touchpoints"]; !ok {
			o.Sources["touchpoints"] = Source{Table: "mkt.touchpoints"}
		}
		staging := map[string]string{}
		for _, m := range Models() {
			stmts, err := Render(m, o)
			require.NoError(t, err)
			for _, s := range stmts {
				if !s.Shared {
					require.False(t, sharedTables[s.Name], "%s %s", m, s.Name)
					continue
				}
				if prev, ok := staging[s.Name]; ok {
					require.Equal(t, prev, s.SQL, "%s renders %s differently (%s)", m, s.Name, dn)
				}
				staging[s.Name] = s.SQL
			}
		}
		require.Len(t, staging, 2)

		all, err := RenderModels([]string{"rfm", "lifecycle", "cohort", "rfm"}, o)
		require.NoError(t, err)
		var names []string
		for _, s := range all {
			names = append(names, s.Model+"."+s.Name)
		}
		require.Equal(t, []string{
			"rfm.orders_clean", "rfm.data_quality", "rfm.rfm",
			"lifecycle.lifecycle", "lifecycle.lifecycle_summary", "lifecycle.lifecycle_transitions",
			"cohort.cohort_retention", "cohort.buyer_mix_monthly", "cohort.category_spend_monthly",
		}, names, dn)
	}
	_, err := RenderModels([]string{"rfm", "cohort"}, duckdbOptions())
	require.ErrorContains(t, err, "source order_lines is required")
}
