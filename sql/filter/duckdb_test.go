//go:build duckdb_arrow

package filter

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"cel.dev/cel-go/cel"
	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
)

// openTestTable returns an in-memory DuckDB database holding testRows as
// table t.
func openTestTable(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	// One connection, so every statement sees the same in-memory database.
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	_, err = db.Exec(`CREATE TABLE t (id INTEGER, customer_id VARCHAR, segment VARCHAR, email VARCHAR,
		recency_days BIGINT, frequency BIGINT, monetary DOUBLE, loyal BOOLEAN,
		first_order_date DATE, last_order_at TIMESTAMP)`)
	require.NoError(t, err)
	for _, r := range testRows {
		var last any
		if r.lastOrderAt != nil {
			last = r.lastOrderAt.Format("2006-01-02 15:04:05")
		}
		_, err := db.Exec(`INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS DATE), CAST(? AS TIMESTAMP))`,
			r.id, nullable(r.customerID), nullable(r.seg), nullable(r.email), nullable(r.recency), nullable(r.frequency),
			nullable(r.monetary), nullable(r.loyal), nullable(r.firstOrder), last)
		require.NoError(t, err)
	}
	return db
}

func nullable[V any](p *V) any {
	if p == nil {
		return nil
	}
	return *p
}

// selectIDs runs the filter on t and returns the ids of the rows it keeps.
func selectIDs(t *testing.T, db *sql.DB, c Compiled) []int {
	t.Helper()
	rows, err := db.Query("SELECT id FROM t WHERE "+c.SQL+" ORDER BY id", c.Params...)
	require.NoError(t, err, c.SQL)
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

func wantIDs(pred func(row) tri) []int {
	var ids []int
	for _, r := range testRows {
		if pred(r) == T {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// TestDuckDBExecute runs every filter on DuckDB and compares the rows it
// keeps with the same predicate evaluated in Go with SQL's NULL semantics.
func TestDuckDBExecute(t *testing.T) {
	db := openTestTable(t)
	for _, c := range execCases {
		compiled, err := Compile(c.expr, testColumns, dialect.DuckDB{})
		require.NoError(t, err, c.expr)
		require.Equal(t, wantIDs(c.pred), selectIDs(t, db, compiled), "%s\n%s %v", c.expr, compiled.SQL, compiled.Params)
	}
}

// TestDuckDBTimeZone: timestamp() and date() parameters do not depend on
// the session's time zone.
func TestDuckDBTimeZone(t *testing.T) {
	db := openTestTable(t)
	for _, tz := range []string{"Pacific/Kiritimati", "America/Los_Angeles"} {
		if _, err := db.Exec("SET TimeZone = '" + tz + "'"); err != nil {
			t.Skipf("no time zone support: %v", err)
		}
		for _, c := range execCases {
			if !strings.Contains(c.expr, "date(") && !strings.Contains(c.expr, "timestamp(") {
				continue
			}
			compiled, err := Compile(c.expr, testColumns, dialect.DuckDB{})
			require.NoError(t, err, c.expr)
			require.Equal(t, wantIDs(c.pred), selectIDs(t, db, compiled), "%s: %s", tz, c.expr)
		}
	}
}

// TestDuckDBInjection: an injection attempt is one bound value and
// selects nothing, though the table has rows that 1=1 would select.
func TestDuckDBInjection(t *testing.T) {
	db := openTestTable(t)
	c, err := Compile(`segment == "x' OR 1=1 --"`, testColumns, dialect.DuckDB{})
	require.NoError(t, err)
	require.Equal(t, []any{"x' OR 1=1 --"}, c.Params)
	require.Equal(t, `("segment" = ?)`, c.SQL)
	require.Empty(t, selectIDs(t, db, c))
	// The table is intact and the statement did select rows with x.
	c, err = Compile(`segment == "x"`, testColumns, dialect.DuckDB{})
	require.NoError(t, err)
	require.Equal(t, []int{6}, selectIDs(t, db, c))
}

// TestDuckDBAgreesWithCEL: on rows without NULLs, the SQL keeps exactly
// the rows for which CEL itself evaluates the filter to true. (Dates are
// segflow's own type, which CEL cannot evaluate; x / 0.0 is NULL in SQL
// and infinity in CEL.)
func TestDuckDBAgreesWithCEL(t *testing.T) {
	db := openTestTable(t)
	env, _, err := newEnv(testColumns)
	require.NoError(t, err)
	checked := 0
	for _, c := range execCases {
		if strings.Contains(c.expr, "date") || c.expr == `2.0 / 0.0 > 1.0` {
			continue
		}
		compiled, err := Compile(c.expr, testColumns, dialect.DuckDB{})
		require.NoError(t, err, c.expr)
		got := map[int]bool{}
		for _, id := range selectIDs(t, db, compiled) {
			got[id] = true
		}
		ast, iss := env.Compile(c.expr)
		require.NoError(t, iss.Err())
		prg, err := env.Program(ast)
		require.NoError(t, err)
		for _, r := range testRows {
			vars, ok := celVars(r)
			if !ok {
				continue
			}
			out, _, err := prg.Eval(vars)
			require.NoError(t, err, "%s on row %d", c.expr, r.id)
			require.Equal(t, out.Value(), got[r.id], "%s on row %d", c.expr, r.id)
			checked++
		}
	}
	require.Greater(t, checked, 300)
}

// celVars are the CEL variables for r, if it has no NULLs.
func celVars(r row) (cel.Activation, bool) {
	if r.customerID == nil || r.seg == nil || r.email == nil || r.recency == nil || r.frequency == nil ||
		r.monetary == nil || r.loyal == nil || r.firstOrder == nil || r.lastOrderAt == nil {
		return nil, false
	}
	vars, err := cel.NewActivation(map[string]any{
		"customer_id": *r.customerID, "segment": *r.seg, "email": *r.email,
		"recency_days": *r.recency, "frequency": *r.frequency, "monetary": *r.monetary,
		"loyal": *r.loyal, "last_order_at": r.lastOrderAt.UTC(),
	})
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return vars, true
}
