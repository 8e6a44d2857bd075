package dialect

import (
	"crypto/md5"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"
)

func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	// One connection, so every statement sees the same in-memory database.
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestDuckDBQuotedNamesExecute creates schemas, tables and columns whose
// names need quoting and checks DuckDB reads them back unchanged.
func TestDuckDBQuotedNamesExecute(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	d := DuckDB{}

	names := []struct{ schema, table, column string }{
		{"my shop", `sales "eu"`, `amount "net"`},
		{`we"ird`, "order lines", "a.b"},
		{"select", "from", "where"},
		{"ünï", `"`, `""`},
	}
	for _, n := range names {
		tbl := d.Table(n.schema, n.table)
		col := d.QuoteIdent(n.column)
		_, err := db.Exec("CREATE SCHEMA IF NOT EXISTS " + d.QuoteIdent(n.schema))
		require.NoError(t, err)
		_, err = db.Exec(d.CreateTableAs(tbl, "SELECT 42 AS "+col))
		require.NoError(t, err, "create %s", tbl)

		var schema, table, column string
		err = db.QueryRow(`SELECT table_schema, table_name, column_name FROM information_schema.columns
			WHERE table_schema = `+d.StringLiteral(n.schema)+` AND table_name = `+d.StringLiteral(n.table)).
			Scan(&schema, &table, &column)
		require.NoError(t, err)
		require.Equal(t, n, struct{ schema, table, column string }{schema, table, column})

		var v int
		require.NoError(t, db.QueryRow("SELECT "+col+" FROM "+tbl).Scan(&v))
		require.Equal(t, 42, v)
	}
}

func TestDuckDBLiteralsExecute(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	d := DuckDB{}

	for _, s := range []string{"", "it's", `back\slash`, "''", "line\nbreak", "ünï", "'; DROP TABLE x; --"} {
		var got string
		require.NoError(t, db.QueryRow("SELECT "+d.StringLiteral(s)).Scan(&got))
		require.Equal(t, s, got)
	}

	var days int
	q := "SELECT " + d.DaysBetween(d.DateLiteral(time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)),
		d.DateLiteral(time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, db.QueryRow(q).Scan(&days))
	require.Equal(t, 182, days) // 1 (to Jan 1) + 152 (Jan–May, a leap year) + 29 (to Jun 30)

	for _, typ := range []Type{String, Int64, Float64, Bool, Date, Timestamp} {
		_, err := db.Exec("SELECT CAST(NULL AS " + d.TypeName(typ) + ")")
		require.NoError(t, err, "type %v", typ)
	}
}

// TestDuckDBDateFunctionsExecute checks the date arithmetic on DuckDB,
// with the answers worked out by calendar.
func TestDuckDBDateFunctionsExecute(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	d := DuckDB{}
	day := func(y int, m time.Month, dd int) string {
		return d.DateLiteral(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC))
	}
	dates := map[string]string{
		d.AddMonths(day(2024, 3, 31), "-1"):                      "2024-02-29", // clamped to the leap day
		d.AddMonths(day(2023, 3, 31), "-1"):                      "2023-02-28",
		d.AddMonths(day(2024, 1, 31), "1"):                       "2024-02-29",
		d.AddMonths(day(2024, 6, 1), "-15"):                      "2023-03-01",
		d.AddMonths(day(2024, 6, 1), "2 + 1"):                    "2024-09-01", // n is parenthesised
		d.AddDays(day(2024, 2, 28), "1"):                         "2024-02-29",
		d.AddDays(day(2024, 3, 1), "-30"):                        "2024-01-31",
		d.AddDays(day(2024, 3, 1), "10 - 40"):                    "2024-01-31",
		d.TruncMonth(day(2024, 2, 29)):                           "2024-02-01",
		d.TruncMonth("CAST('2024-12-31 23:59:59' AS TIMESTAMP)"): "2024-12-01",
	}
	for expr, want := range dates {
		var got time.Time
		require.NoError(t, db.QueryRow("SELECT "+expr).Scan(&got), expr)
		require.Equal(t, want, got.Format(time.DateOnly), expr)
		// The result is a DATE, not a TIMESTAMP.
		var typ string
		require.NoError(t, db.QueryRow("SELECT typeof("+expr+")").Scan(&typ))
		require.Equal(t, "DATE", typ, expr)
	}
	ints := map[string]int{
		d.MonthsBetween(day(2023, 3, 1), day(2024, 6, 1)):  15,
		d.MonthsBetween(day(2024, 6, 1), day(2023, 3, 1)):  -15,
		d.MonthsBetween(day(2024, 1, 1), day(2024, 1, 1)):  0,
		d.MonthsBetween(day(2023, 12, 1), day(2024, 1, 1)): 1,
		d.DaysBetween(day(2024, 3, 1), day(2024, 2, 1)):    -29,
	}
	for expr, want := range ints {
		var got int
		require.NoError(t, db.QueryRow("SELECT "+expr).Scan(&got), expr)
		require.Equal(t, want, got, expr)
	}

	var q sql.NullFloat64
	require.NoError(t, db.QueryRow("SELECT "+d.SafeDivide("CAST(3 AS DOUBLE)", "2")).Scan(&q))
	require.Equal(t, sql.NullFloat64{Float64: 1.5, Valid: true}, q)
	require.NoError(t, db.QueryRow("SELECT "+d.SafeDivide("1", "1 - 1")).Scan(&q))
	require.False(t, q.Valid, "division by zero is NULL")

	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM (
		SELECT x FROM range(10) AS r(x) WHERE TRUE `+d.Qualify("ROW_NUMBER() OVER (ORDER BY x DESC) <= 3")+`)`).Scan(&n))
	require.Equal(t, 3, n)
}

// TestDuckDBHashingExecute checks MD5Hex and HashBucket against Go's
// crypto/md5, the reference every dialect must agree with.
func TestDuckDBHashingExecute(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	d := DuckDB{}
	for _, s := range []string{"", "vip:42", "at_risk:1000007", "ünï'code"} {
		var hex string
		require.NoError(t, db.QueryRow("SELECT "+d.MD5Hex(d.StringLiteral(s))).Scan(&hex))
		require.Equal(t, fmt.Sprintf("%x", md5.Sum([]byte(s))), hex)
		for _, n := range []int{2, 100, 10000} {
			var got int
			require.NoError(t, db.QueryRow("SELECT "+d.HashBucket(d.StringLiteral(s), n)).Scan(&got))
			sum := md5.Sum([]byte(s))
			want := (uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])) % uint32(n)
			require.Equal(t, int(want), got, "%q mod %d", s, n)
			require.Equal(t, int(want), Bucket(s, n))
		}
	}
	// md5("") is d41d8cd98f00b204e9800998ecf8427e: 0xd41d8cd9 = 3558706393.
	require.Equal(t, 3558706393%10000, Bucket("", 10000))

	ts := time.Date(2026, 12, 2, 3, 4, 5, 123456000, time.UTC)
	var got time.Time
	require.NoError(t, db.QueryRow("SELECT "+d.TimestampLiteral(ts)).Scan(&got))
	require.True(t, ts.Equal(got), "%v != %v", ts, got)
}
