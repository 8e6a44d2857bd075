package models

import (
	"crypto/md5"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
)

// openDuckDB returns a fresh in-memory DuckDB with the schemas the tests
// use.
func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	// One connection, so every statement sees the same in-memory database.
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	exec(t, db, "CREATE SCHEMA raw", "CREATE SCHEMA segflow")
	return db
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, "executing:\n%s", s)
	}
}

func execStatements(t *testing.T, db *sql.DB, stmts []Statement) {
	t.Helper()
	for _, s := range stmts {
		exec(t, db, s.SQL)
	}
}

// rfmRow is one row of the rfm table. Monetary is read as DOUBLE.
type rfmRow struct {
	CustomerID                 string
	Recency, Frequency         int
	Monetary                   float64
	R, F, M                    int
	Cell                       string
	Score                      int
	Segment                    string
	CountDecile, RevenueDecile int
	RFMDecile                  int
	Loyalty                    sql.NullString
	AsOf                       time.Time
}

func readRFM(t *testing.T, db *sql.DB, table string) map[string]rfmRow {
	t.Helper()
	rows, err := db.Query(`SELECT customer_id, recency_days, frequency, CAST(monetary AS DOUBLE),
		r_score, f_score, m_score, rfm_cell, rfm_score, segment,
		count_decile, revenue_decile, rfm_decile, loyalty, as_of FROM ` + table)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]rfmRow{}
	for rows.Next() {
		var r rfmRow
		require.NoError(t, rows.Scan(&r.CustomerID, &r.Recency, &r.Frequency, &r.Monetary,
			&r.R, &r.F, &r.M, &r.Cell, &r.Score, &r.Segment,
			&r.CountDecile, &r.RevenueDecile, &r.RFMDecile, &r.Loyalty, &r.AsOf))
		_, dup := out[r.CustomerID]
		require.False(t, dup, "customer %s appears twice", r.CustomerID)
		out[r.CustomerID] = r
	}
	require.NoError(t, rows.Err())
	return out
}

var asOf = time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)

func duckdbOptions() Options {
	return Options{
		Dialect:      dialect.DuckDB{},
		OutputSchema: "segflow",
		AsOf:         asOf,
		Sources: map[string]Source{
			"customers": {Table: "raw.customers"},
			"orders":    {Table: "raw.orders"},
		},
	}
}

// handData is the hand-made data set of TestRFMHandWorked. as_of is
// 2024-06-30, so the 12-month window is [2023-06-30, 2024-06-30] and the
// 13-month loyalty window is [2023-05-30, 2024-06-30].
var handData = []string{
	`CREATE TABLE raw.customers (customer_id VARCHAR, email VARCHAR)`,
	// c01 appears twice: a segment must still hold it once. c99 has
	// orders but no row here (an orphan).
	`INSERT INTO raw.customers VALUES
		('c01', 'c01@example.com'), ('c01', 'c01@example.com'),
		('c02', 'c02@example.com'), ('c03', 'c03@example.com'), ('c04', 'c04@example.com'),
		('c05', 'c05@example.com'), ('c06', 'c06@example.com'), ('c07', 'c07@example.com'),
		('c08', 'c08@example.com'), ('c09', 'c09@example.com'), ('c10', 'c10@example.com'),
		('c11', 'c11@example.com'), ('c12', 'c12@example.com')`,
	`CREATE TABLE raw.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
		revenue DECIMAL(10, 2), sales_channel VARCHAR, store_id VARCHAR, status VARCHAR)`,
	`INSERT INTO raw.orders VALUES
		-- row  1-5: c01, four orders; row 2 is an exact copy of row 1 (duplicate)
		('o01', 'c01', '2024-06-20 10:00:00', 100, 'online',  NULL, 'completed'),
		('o01', 'c01', '2024-06-20 10:00:00', 100, 'online',  NULL, 'completed'),
		('o02', 'c01', '2024-05-31 12:00:00', 100, 'offline', 's1', 'completed'),
		('o03', 'c01', '2024-04-01 09:00:00', 100, 'online',  NULL, 'completed'),
		('o04', 'c01', '2024-01-01 08:00:00', 100, 'online',  NULL, 'completed'),
		-- row 6-9: c02; row 8 is a refund recorded with a positive amount
		('o05', 'c02', '2024-06-20 18:00:00', 50,  'online',  NULL, 'completed'),
		('o06', 'c02', '2024-03-15 11:00:00', 70,  'offline', 's2', 'completed'),
		('o06', 'c02', '2024-03-20 11:00:00', 20,  'offline', 's2', 'refunded'),
		('o07', 'c02', '2023-09-01 11:00:00', 80,  'online',  NULL, 'completed'),
		-- row 10-11: c03; row 11 has no order_id
		('o08', 'c03', '2024-06-10 15:00:00', 500, 'online',  NULL, 'completed'),
		(NULL,  'c03', '2024-06-01 15:00:00', 33,  'online',  NULL, 'completed'),
		-- row 12-14: c04; row 14 refunds part of o10, after c04's last order
		('o09', 'c04', '2024-05-31 10:00:00', 100, 'online',  NULL, 'completed'),
		('o10', 'c04', '2024-02-01 10:00:00', 100, 'online',  NULL, 'completed'),
		('o10', 'c04', '2024-06-10 10:00:00', -50, 'online',  NULL, 'refunded'),
		-- row 15-17: c05; row 16 has no status, row 17 no ordered_at
		('o11', 'c05', '2024-04-01 10:00:00', 75,  'offline', 's1', 'completed'),
		('o12', 'c05', '2023-10-01 10:00:00', 75,  'offline', 's1', NULL),
		('o13', 'c05', NULL,                  99,  'online',  NULL, 'completed'),
		-- row 18-19: c06; row 19 has NULL revenue
		('o14', 'c06', '2024-01-01 10:00:00', 60,  'online',  NULL, 'completed'),
		('o15', 'c06', '2023-08-15 10:00:00', NULL, 'online', NULL, 'completed'),
		-- row 20-21: c07; row 21 is at midnight after as_of (future)
		('o16', 'c07', '2023-12-31 23:00:00', 30,  'online',  NULL, 'completed'),
		('o17', 'c07', '2024-07-01 00:00:00', 999, 'online',  NULL, 'completed'),
		-- row 22-23: c08; row 23 is before both windows
		('o18', 'c08', '2023-07-01 00:00:00', 20,  'online',  NULL, 'completed'),
		('o19', 'c08', '2023-01-15 10:00:00', 500, 'online',  NULL, 'completed'),
		-- row 24-26: c09; row 24 is on the window's first day, row 25 only
		-- in the 13-month window, row 26 refunds o21 by a negative amount
		('o20', 'c09', '2023-06-30 00:00:00', 10,  'online',  NULL, 'completed'),
		('o21', 'c09', '2023-06-01 10:00:00', 40,  'online',  NULL, 'completed'),
		('o21', 'c09', '2023-07-15 10:00:00', -40, 'online',  NULL, NULL),
		-- row 27: c99, no customers row, in the last second of as_of
		('o22', 'c99', '2024-06-30 23:59:59', 80,  'online',  NULL, 'completed'),
		-- row 28-29: c10 bought before the window; only its refund is in it
		('o23', 'c10', '2023-01-10 10:00:00', 100, 'online',  NULL, 'completed'),
		('o23', 'c10', '2023-08-01 10:00:00', -100, 'online', NULL, 'refunded'),
		-- row 30: c11 bought only long ago
		('o24', 'c11', '2022-05-05 10:00:00', 45,  'online',  NULL, 'completed'),
		-- row 31: c12's only order was cancelled (upper case)
		('o25', 'c12', '2024-06-01 10:00:00', 70,  'online',  NULL, 'CANCELLED'),
		-- row 32: no customer and cancelled: counted once, under null_customer_id
		('o26', NULL,  '2024-06-01 10:00:00', 55,  'online',  NULL, 'cancelled')`,
}

func TestRFMHandWorked(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, handData...)
	stmts, err := Render("rfm", duckdbOptions())
	require.NoError(t, err)
	require.Equal(t, []string{"orders_clean", "data_quality", "rfm"},
		[]string{stmts[0].Name, stmts[1].Name, stmts[2].Name})
	execStatements(t, db, stmts)

	t.Run("data_quality", func(t *testing.T) {
		// Rows 11, 32, 17, 31, 21 and 2 are excluded, one per rule (row 32
		// is also cancelled but null_customer_id comes first). Kept rows:
		// row 19 has NULL revenue; rows 8, 14, 26 and 29 are refunds; row
		// 27 (c99) has no customer.
		type count struct {
			action             string
			affected, excluded int64
		}
		want := map[string]count{
			"null_order_id":    {"excluded", 1, 1},
			"null_customer_id": {"excluded", 1, 1},
			"null_ordered_at":  {"excluded", 1, 1},
			"cancelled":        {"excluded", 1, 1},
			"future_timestamp": {"excluded", 1, 1},
			"duplicate":        {"excluded", 1, 1},
			"null_revenue":     {"kept", 1, 0},
			"refund":           {"kept", 4, 0},
			"orphan_customer":  {"kept", 1, 0},
		}
		rows, err := db.Query(`SELECT source, rule, action, rows_affected, rows_excluded, description FROM segflow.data_quality`)
		require.NoError(t, err)
		defer rows.Close()
		got := map[string]count{}
		for rows.Next() {
			var source, rule, desc string
			var c count
			require.NoError(t, rows.Scan(&source, &rule, &c.action, &c.affected, &c.excluded, &desc))
			require.Equal(t, "orders", source)
			require.NotEmpty(t, desc)
			got[rule] = c
		}
		require.NoError(t, rows.Err())
		require.Equal(t, want, got)

		// 32 rows less 6 excluded.
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.orders_clean`).Scan(&n))
		require.Equal(t, 26, n)
	})

	t.Run("orders_clean", func(t *testing.T) {
		// Row 8: a refund recorded as +20 becomes -20. Row 19: NULL -> 0.
		type line struct {
			revenue  float64
			isRefund bool
			date     time.Time
		}
		q := `SELECT CAST(revenue AS DOUBLE), is_refund, order_date FROM segflow.orders_clean WHERE order_id = ? ORDER BY ordered_at`
		read := func(id string) []line {
			rows, err := db.Query(q, id)
			require.NoError(t, err)
			defer rows.Close()
			var out []line
			for rows.Next() {
				var l line
				require.NoError(t, rows.Scan(&l.revenue, &l.isRefund, &l.date))
				out = append(out, l)
			}
			return out
		}
		day := func(m time.Month, d int) time.Time { return time.Date(2024, m, d, 0, 0, 0, 0, time.UTC) }
		require.Equal(t, []line{{70, false, day(3, 15)}, {-20, true, day(3, 20)}}, read("o06"))
		require.Equal(t, []line{{0, false, time.Date(2023, 8, 15, 0, 0, 0, 0, time.UTC)}}, read("o15"))
		require.Equal(t, []line{{100, false, day(6, 20)}}, read("o01"), "one copy of the duplicate is kept")
		require.Equal(t, []line{{80, false, day(6, 30)}}, read("o22"), "23:59:59 on as_of is not in the future")
		require.Empty(t, read("o17"), "00:00 the day after as_of is in the future")
	})

	t.Run("rfm", func(t *testing.T) {
		// Population: customers with a non-refund order in the window:
		// c01-c09 and c99, n = 10. c10 has only a refund in the window,
		// c11 only an old order, c12 only a cancelled one.
		//
		// Values (window [2023-06-30, 2024-06-30], refunds in monetary only):
		//   c01 last 06-20 -> 10 days; o01-o04 -> F 4; 4 x 100 (copy dropped) = 400
		//   c02 last 06-20 -> 10;      o05-o07 -> 3;   50 + 70 - 20 + 80     = 180
		//   c03 last 06-10 -> 20;      o08     -> 1;   500 (row 11 excluded)  = 500
		//   c04 last 05-31 -> 30 (the 06-10 refund does not count); 2; 100+100-50 = 150
		//   c05 last 04-01 -> 90;      o11,o12 -> 2;   75 + 75               = 150
		//   c06 last 2024-01-01 -> 181; o14,o15 -> 2;  60 + 0                = 60
		//   c07 last 2023-12-31 -> 182; o16    -> 1;   30 (o17 future)       = 30
		//   c08 last 2023-07-01 -> 365; o18    -> 1;   20 (o19 too old)      = 20
		//   c09 last 2023-06-30 -> 366; o20    -> 1;   10 - 40 (refund 07-15) = -30
		//   c99 last 2024-06-30 -> 0;   o22    -> 1;   80
		// (2024 is a leap year: 2023-07-01 to 2024-07-01 is 366 days.)
		//
		// With n = 10, score = 1 + FLOOR(5 * (rank - 1) / 10) = 1 + FLOOR((rank - 1) / 2),
		// so ranks 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-8 -> 4, 9-10 -> 5.
		//
		// R ranks by -recency ascending, i.e. oldest first: c09 1, c08 2,
		//   c07 3, c06 4, c05 5, c04 6, c03 7, c01 = c02 8 (tie), c99 10
		//   -> c09 1, c08 1, c07 2, c06 2, c05 3, c04 3, c03 4, c01 4, c02 4, c99 5.
		// F ranks: five customers with F 1 share rank 1 -> 1; c04, c05, c06
		//   (F 2) share rank 6 -> 3; c02 (3) rank 9 -> 5; c01 (4) rank 10 -> 5.
		// M ranks: c09 -30 1, c08 20 2, c07 30 3, c06 60 4, c99 80 5,
		//   c04 = c05 150 6 (tie), c02 180 8, c01 400 9, c03 500 10
		//   -> c09 1, c08 1, c07 2, c06 2, c99 3, c04 3, c05 3, c02 4, c01 5, c03 5.
		//
		// Segments (default map): c01, c02 R4 F5 Loyal; c03 R4 F1 Promising;
		// c04, c05 R3 F3 Need attention; c06 R2 F3 At risk; c07 R2 F1
		// Hibernating; c08, c09 R1 F1 Lost (before Hibernating); c99 R5 F1 New.
		//
		// count_decile: 10 customers by monetary DESC, customer_id ->
		//   c03 1, c01 2, c02 3, c04 4, c05 5 (tie broken by id), c99 6,
		//   c06 7, c07 8, c08 9, c09 10.
		// revenue_decile: total positive revenue = 500+400+180+150+150+80+60+30+20
		//   = 1570. Revenue before each, in the same order, and
		//   1 + FLOOR(10 * before / 1570) capped to [1, 10]:
		//   c03 0 -> 1; c01 500 (3.18) -> 4; c02 900 (5.73) -> 6;
		//   c04 1080 (6.88) -> 7; c05 1230 (7.83) -> 8; c99 1380 (8.79) -> 9;
		//   c06 1460 (9.30) -> 10; c07 1520 -> 10; c08 1550 -> 10;
		//   c09 1570 (10.0 -> 11) -> 10.
		// rfm_score: c01 14, c02 13, c03 10, c04 9, c05 9, c99 9, c06 7,
		//   c07 5, c08 3, c09 3. rfm_decile by score DESC, monetary DESC, id:
		//   c01 1, c02 2, c03 3, c04 4 (150, id), c05 5, c99 6 (80), c06 7,
		//   c07 8, c08 9 (20), c09 10 (-30).
		// loyalty: non-refund orders in [2023-05-30, 2024-06-30]: c01 4 and
		//   c02 3 -> repeat; c04, c05, c06 2 and c09 2 (o20, o21) -> second_time;
		//   c03, c07, c08 (o19 too old), c99 1 -> first_time.
		type want struct {
			rec, freq int
			mon       float64
			r, f, m   int
			cell      string
			score     int
			segment   string
			cd, rd    int
			rfmd      int
			loyalty   string
		}
		wants := map[string]want{
			"c01": {10, 4, 400, 4, 5, 5, "455", 14, "Loyal", 2, 4, 1, "repeat"},
			"c02": {10, 3, 180, 4, 5, 4, "454", 13, "Loyal", 3, 6, 2, "repeat"},
			"c03": {20, 1, 500, 4, 1, 5, "415", 10, "Promising", 1, 1, 3, "first_time"},
			"c04": {30, 2, 150, 3, 3, 3, "333", 9, "Need attention", 4, 7, 4, "second_time"},
			"c05": {90, 2, 150, 3, 3, 3, "333", 9, "Need attention", 5, 8, 5, "second_time"},
			"c06": {181, 2, 60, 2, 3, 2, "232", 7, "At risk", 7, 10, 7, "second_time"},
			"c07": {182, 1, 30, 2, 1, 2, "212", 5, "Hibernating", 8, 10, 8, "first_time"},
			"c08": {365, 1, 20, 1, 1, 1, "111", 3, "Lost", 9, 10, 9, "first_time"},
			"c09": {366, 1, -30, 1, 1, 1, "111", 3, "Lost", 10, 10, 10, "second_time"},
			"c99": {0, 1, 80, 5, 1, 3, "513", 9, "New", 6, 9, 6, "first_time"},
		}
		got := readRFM(t, db, "segflow.rfm")
		require.Len(t, got, len(wants))
		for id, w := range wants {
			g, ok := got[id]
			require.True(t, ok, "customer %s missing from rfm", id)
			require.Equal(t, w, want{g.Recency, g.Frequency, g.Monetary, g.R, g.F, g.M, g.Cell, g.Score,
				g.Segment, g.CountDecile, g.RevenueDecile, g.RFMDecile, g.Loyalty.String}, id)
			require.Equal(t, asOf, g.AsOf.UTC())
		}
	})

	t.Run("segment", func(t *testing.T) {
		seg, err := RenderSegment(SegmentSpec{
			Name:       "vip",
			Model:      "rfm",
			Where:      "segment IN ('Loyal', 'New') -- a trailing comment must not break the statement",
			Attributes: []string{"segment", "monetary", "email"},
		}, duckdbOptions())
		require.NoError(t, err)
		require.Equal(t, "segment_vip", seg.Name)
		exec(t, db, seg.SQL)

		rows, err := db.Query(`SELECT * FROM segflow.segment_vip ORDER BY customer_id`)
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		require.Equal(t, []string{"customer_id", "email", "segment", "monetary", "holdout", "row_hash"}, cols)
		type member struct {
			id      string
			email   sql.NullString
			segment string
			mon     float64
			holdout bool
			hash    string
		}
		// The row hash encodes each value sent as length:text, NULL as N
		// (monetary is a DECIMAL(38,2): 400.00).
		hash := func(parts ...string) string { return fmt.Sprintf("%x", md5.Sum([]byte(strings.Join(parts, "|")))) }
		var got []member
		for rows.Next() {
			var m member
			require.NoError(t, rows.Scan(&m.id, &m.email, &m.segment, &m.mon, &m.holdout, &m.hash))
			got = append(got, m)
		}
		require.NoError(t, rows.Err())
		// c01 once despite its two customers rows; c99 is an orphan.
		require.Equal(t, []member{
			{"c01", sql.NullString{String: "c01@example.com", Valid: true}, "Loyal", 400, false, hash("15:c01@example.com", "5:Loyal", "6:400.00")},
			{"c02", sql.NullString{String: "c02@example.com", Valid: true}, "Loyal", 180, false, hash("15:c02@example.com", "5:Loyal", "6:180.00")},
			{"c99", sql.NullString{}, "New", 80, false, hash("N", "3:New", "5:80.00")},
		}, got)

		// A holdout of a half: the members whose hash bucket, computed
		// here in Go, is below 5000 of 10000.
		half, err := RenderSegment(SegmentSpec{Name: "half", Model: "rfm", Holdout: 0.5}, duckdbOptions())
		require.NoError(t, err)
		exec(t, db, half.SQL)
		flags, err := db.Query(`SELECT customer_id, holdout FROM segflow.segment_half`)
		require.NoError(t, err)
		defer flags.Close()
		held := 0
		for flags.Next() {
			var id string
			var h bool
			require.NoError(t, flags.Scan(&id, &h))
			require.Equal(t, dialect.Bucket("half:"+id, 10000) < 5000, h, id)
			if h {
				held++
			}
		}
		require.NoError(t, flags.Err())
		require.Greater(t, held, 0, "ten customers, some held out")
		require.Less(t, held, 10, "ten customers, some sent")

		all, err := RenderSegment(SegmentSpec{Name: "everyone", Model: "rfm"}, duckdbOptions())
		require.NoError(t, err)
		exec(t, db, all.SQL)
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.segment_everyone`).Scan(&n))
		require.Equal(t, 10, n, "no filter keeps every rfm customer")
	})
}

// TestRFMCustomSegmentMap checks that the first matching rule wins when
// rules overlap.
func TestRFMCustomSegmentMap(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db, handData...)
	o := duckdbOptions()
	o.RFM.SegmentMap = []SegmentRule{
		{Name: "recent", RLo: 4, RHi: 5, FLo: 1, FHi: 5},
		{Name: "frequent", RLo: 1, RHi: 5, FLo: 3, FHi: 5}, // c01, c02 also match but come second
		{Name: "rest", RLo: 1, RHi: 5, FLo: 1, FHi: 5},
	}
	stmts, err := Render("rfm", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)
	got := map[string]string{}
	for id, r := range readRFM(t, db, "segflow.rfm") {
		got[id] = r.Segment
	}
	// R scores from TestRFMHandWorked: c01, c02, c03 4, c99 5; F 3 for
	// c04, c05, c06.
	require.Equal(t, map[string]string{
		"c01": "recent", "c02": "recent", "c03": "recent", "c99": "recent",
		"c04": "frequent", "c05": "frequent", "c06": "frequent",
		"c07": "rest", "c08": "rest", "c09": "rest",
	}, got)
}
