package pluginstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
)

// Options configure the suite for one plugin.
type Options struct {
	// Config is a valid configuration for the plugin (JSON).
	Config string
	// BadConfig is an invalid configuration and BadField the field its
	// error must name.
	BadConfig, BadField string
	// LargeRows is the row count of the large-result test; default 1M.
	LargeRows int
	// SQL overrides the dialect's statements, for dialects the suite
	// does not know.
	SQL *DialectSQL
}

// DialectSQL holds the statements the suite needs in one dialect.
type DialectSQL struct {
	// Types selects one row with columns i (integer 42), neg (-7),
	// d (decimal 123.45), f (float 1.5), s ('héllo, 世界'), b (true),
	// dt (date 2024-02-29), ts (timestamp 2024-02-29 13:45:30.123456) and
	// n (a NULL integer).
	Types string
	// Series selects n rows: id 0..n-1 and label 'row-' || id.
	Series func(n int) string
	// Slow runs for minutes unless cancelled.
	Slow string
	// Table creates a table t(id integer, s string) named by %s.
	CreateTable string
}

// KnownDialects are the statements for the dialects segflow ships.
var KnownDialects = map[string]DialectSQL{
	"duckdb": {
		Types: `SELECT CAST(42 AS BIGINT) AS i, CAST(-7 AS INTEGER) AS neg, CAST(123.45 AS DECIMAL(10,2)) AS d,
  CAST(1.5 AS DOUBLE) AS f, 'héllo, 世界' AS s, TRUE AS b, DATE '2024-02-29' AS dt,
  TIMESTAMP '2024-02-29 13:45:30.123456' AS ts, CAST(NULL AS BIGINT) AS n`,
		Series:      func(n int) string { return fmt.Sprintf("SELECT i AS id, 'row-' || i AS label FROM range(%d) t(i)", n) },
		Slow:        "SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3",
		CreateTable: "CREATE TABLE %s (id BIGINT, s VARCHAR)",
	},
	// GoogleSQL. The BigQuery stand-in (plugins/warehouse/bigquery/bqstandin)
	// runs these on DuckDB after its documented translations
	// (GENERATE_ARRAY, FLOAT64, TIMESTAMP).
	"bigquery": {
		// NUMERIC arrives as decimal128(38, 9); the suite compares
		// decimals by value.
		Types: `SELECT CAST(42 AS INT64) AS i, CAST(-7 AS INT64) AS neg, CAST(123.45 AS NUMERIC) AS d,
  CAST(1.5 AS FLOAT64) AS f, 'héllo, 世界' AS s, TRUE AS b, DATE '2024-02-29' AS dt,
  TIMESTAMP '2024-02-29 13:45:30.123456' AS ts, CAST(NULL AS INT64) AS n`,
		// GENERATE_ARRAY is limited to 1,048,575 elements in BigQuery.
		Series: func(n int) string {
			return fmt.Sprintf("SELECT id, CONCAT('row-', CAST(id AS STRING)) AS label FROM UNNEST(GENERATE_ARRAY(0, %d)) AS id", n-1)
		},
		Slow:        "SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 1000000)) AS a CROSS JOIN UNNEST(GENERATE_ARRAY(1, 1000000)) AS b WHERE MOD(a + b, 7) = 3",
		CreateTable: "CREATE TABLE %s (id INT64, s STRING)",
	},
	// Snowflake SQL. Unquoted names fold to upper case; the plugin reports
	// upper-case column names in lower case. The Snowflake stand-in
	// (plugins/warehouse/snowflake/sfstandin) runs these on DuckDB after
	// its documented translations (GENERATOR, SEQ8).
	"snowflake": {
		Types: `SELECT CAST(42 AS BIGINT) AS i, CAST(-7 AS INTEGER) AS neg, CAST(123.45 AS DECIMAL(10,2)) AS d,
  CAST(1.5 AS DOUBLE) AS f, 'héllo, 世界' AS s, TRUE AS b, DATE '2024-02-29' AS dt,
  TIMESTAMP '2024-02-29 13:45:30.123456' AS ts, CAST(NULL AS BIGINT) AS n`,
		// SEQ8 may have gaps; ROW_NUMBER over it does not.
		Series: func(n int) string {
			return fmt.Sprintf("SELECT id, 'row-' || id AS label FROM (SELECT ROW_NUMBER() OVER (ORDER BY SEQ8()) - 1 AS id FROM TABLE(GENERATOR(ROWCOUNT => %d)))", n)
		},
		Slow:        "SELECT COUNT(*) AS n FROM TABLE(GENERATOR(ROWCOUNT => 1000000000000)) WHERE MOD(SEQ8(), 7) = 3",
		CreateTable: "CREATE TABLE %s (id BIGINT, s VARCHAR)",
	},
}

// RunWarehouse runs the conformance suite against the plugin opened by o.
func RunWarehouse(t *testing.T, o Opener, opts Options) {
	if opts.LargeRows == 0 {
		opts.LargeRows = 1_000_000
	}
	t.Run(o.Name, func(t *testing.T) {
		ctx := context.Background()
		open := func(t *testing.T) (core.Warehouse, DialectSQL) {
			w := o.Open(t)
			require.NoError(t, w.Configure(ctx, json.RawMessage(opts.Config)), "configure with the valid config")
			info, err := w.Info(ctx)
			require.NoError(t, err)
			if opts.SQL != nil {
				return w, *opts.SQL
			}
			sql, ok := KnownDialects[info.Dialect]
			require.True(t, ok, "dialect %q unknown to the suite: set Options.SQL", info.Dialect)
			return w, sql
		}

		t.Run("info", func(t *testing.T) {
			info, err := o.Open(t).Info(ctx)
			require.NoError(t, err)
			require.NotEmpty(t, info.Name)
			require.NotEmpty(t, info.Version)
			require.NotEmpty(t, info.Dialect)
		})

		t.Run("bad config names the field", func(t *testing.T) {
			if opts.BadConfig == "" {
				t.Skip("no BadConfig given")
			}
			err := o.Open(t).Configure(ctx, json.RawMessage(opts.BadConfig))
			var fields core.FieldErrors
			require.ErrorAs(t, err, &fields)
			names := []string{}
			for _, f := range fields {
				names = append(names, f.Field)
			}
			require.Contains(t, names, opts.BadField)
		})

		t.Run("test connection", func(t *testing.T) {
			w, _ := open(t)
			require.NoError(t, w.TestConnection(ctx))
		})

		t.Run("types", func(t *testing.T) {
			w, sql := open(t)
			rows := queryAll(t, w, sql.Types)
			require.Len(t, rows, 1)
			r := rows[0]
			require.Equal(t, int64(42), r["i"])
			require.Equal(t, int64(-7), r["neg"])
			requireDecimal(t, "123.45", r["d"])
			require.Equal(t, 1.5, r["f"])
			require.Equal(t, "héllo, 世界", r["s"])
			require.Equal(t, true, r["b"])
			require.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), r["dt"])
			require.Equal(t, time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC), r["ts"])
			require.Contains(t, r, "n")
			require.Nil(t, r["n"])
		})

		t.Run("parameters", func(t *testing.T) {
			w, _ := open(t)
			rows := queryAll(t, w, "SELECT ? AS a, ? AS b, ? AS c", int64(7), "it's", true)
			require.Equal(t, []map[string]any{{"a": int64(7), "b": "it's", "c": true}}, rows)
		})

		t.Run("empty result keeps its schema", func(t *testing.T) {
			w, sql := open(t)
			rdr, err := w.Query(ctx, "SELECT * FROM ("+sql.Series(10)+") q WHERE id < 0")
			require.NoError(t, err)
			defer rdr.Release()
			require.Equal(t, 2, rdr.Schema().NumFields())
			require.Equal(t, "id", rdr.Schema().Field(0).Name)
			var n int64
			for rdr.Next() {
				n += rdr.RecordBatch().NumRows()
			}
			require.NoError(t, rdr.Err())
			require.Zero(t, n)
		})

		t.Run("large result arrives whole", func(t *testing.T) {
			w, sql := open(t)
			rdr, err := w.Query(ctx, sql.Series(opts.LargeRows))
			require.NoError(t, err)
			defer rdr.Release()
			var rows, sum, labels int64
			for rdr.Next() {
				rec := rdr.RecordBatch()
				rows += rec.NumRows()
				for i := 0; i < int(rec.NumRows()); i++ {
					sum += toInt64(t, rec.Column(0), i)
				}
				labels += int64(rec.Column(1).Len() - rec.Column(1).NullN())
			}
			require.NoError(t, rdr.Err())
			n := int64(opts.LargeRows)
			require.Equal(t, n, rows)
			require.Equal(t, n*(n-1)/2, sum, "ids 0..n-1 sum to n(n-1)/2")
			require.Equal(t, n, labels)
		})

		t.Run("execute and read back", func(t *testing.T) {
			w, sql := open(t)
			table := fmt.Sprintf("segflow_conformance_%d", time.Now().UnixNano())
			_, err := w.Execute(ctx, fmt.Sprintf(sql.CreateTable, table))
			require.NoError(t, err)
			defer w.Execute(ctx, "DROP TABLE "+table)
			n, err := w.Execute(ctx, "INSERT INTO "+table+" VALUES (?, ?), (?, ?)", int64(1), "a", int64(2), nil)
			require.NoError(t, err)
			if n >= 0 {
				require.Equal(t, int64(2), n)
			}
			rows := queryAll(t, w, "SELECT id, s FROM "+table+" ORDER BY id")
			require.Equal(t, []map[string]any{{"id": int64(1), "s": "a"}, {"id": int64(2), "s": nil}}, rows)
			info, err := w.Info(ctx)
			require.NoError(t, err)
			if info.Has(core.CapDescribeTable) {
				schema, err := w.DescribeTable(ctx, table)
				require.NoError(t, err)
				require.Equal(t, 2, schema.NumFields())
			}
		})

		t.Run("SQL error carries its position", func(t *testing.T) {
			w, _ := open(t)
			_, err := w.Query(ctx, "SELECT 1 AS a,\n  no_such_column\nFROM (SELECT 1 AS b) t")
			var se *core.SQLError
			require.ErrorAs(t, err, &se, "got %v", err)
			require.Equal(t, 2, se.Line, "error: %v", se)
			require.Equal(t, 3, se.Column, "error: %v", se)
			// Snowflake names the column in upper case.
			require.Contains(t, strings.ToLower(se.Message), "no_such_column")
		})

		t.Run("cancellation stops the query", func(t *testing.T) {
			w, sql := open(t)
			qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := drain(w, qctx, sql.Slow)
			require.Error(t, err)
			require.True(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded), "got %v", err)
			require.Less(t, time.Since(start), 20*time.Second, "cancellation must not wait for the query")
			// The plugin still serves after a cancelled query.
			require.NoError(t, w.TestConnection(ctx))
		})
	})
}

func drain(w core.Warehouse, ctx context.Context, sql string) error {
	rdr, err := w.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	return rdr.Err()
}

// ReadAll reads a (small) result into rows of Go values, as
// core.ValueAt gives them: integers as int64, decimals as strings, dates
// and timestamps as UTC time.Time.
func ReadAll(ctx context.Context, w core.Warehouse, sql string, params ...any) ([]map[string]any, error) {
	rdr, err := w.Query(ctx, sql, params...)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var out []map[string]any
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = core.ValueAt(rec.Column(c), i)
			}
			out = append(out, row)
		}
	}
	return out, rdr.Err()
}

func queryAll(t *testing.T, w core.Warehouse, sql string, params ...any) []map[string]any {
	t.Helper()
	rows, err := ReadAll(context.Background(), w, sql, params...)
	require.NoError(t, err)
	return rows
}

func toInt64(t *testing.T, a arrow.Array, i int) int64 {
	v, ok := core.ValueAt(a, i).(int64)
	require.True(t, ok, "column of type %s is not an integer", a.DataType())
	return v
}

// requireDecimal checks a decimal read by core.ValueAt (its exact string,
// e.g. "123.450000000" for a scale-9 NUMERIC) against want by value.
func requireDecimal(t *testing.T, want string, got any) {
	t.Helper()
	s, ok := got.(string)
	require.True(t, ok, "want a decimal, got %T %v", got, got)
	w, _ := new(big.Rat).SetString(want)
	g, ok := new(big.Rat).SetString(s)
	require.True(t, ok, "not a decimal: %q", s)
	require.Zero(t, w.Cmp(g), "want %s, got %s", want, s)
}
