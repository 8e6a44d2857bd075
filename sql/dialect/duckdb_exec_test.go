package dialect

import (
	"database/sql"
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
