package zetasql

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var orders = Table{Name: "shop.orders", Columns: []Column{
	{"customer_id", "INT64"},
	{"order_date", "DATE"},
	{"ordered_at", "TIMESTAMP"},
	{"revenue", "FLOAT64"},
	{"amount", "NUMERIC"},
	{"channel", "STRING"},
	{"is_return", "BOOL"},
}}

// A statement and what the analyzer must say: wantErr empty means it must
// pass; otherwise it must fail with an *AnalysisError whose message holds
// every one of the comma-separated words.
type analyzeCase struct {
	name, sql, wantErr string
}

func runCases(t *testing.T, a *Analyzer, tables []Table, cases []analyzeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := a.Analyze(context.Background(), c.sql, tables)
			checkErr(t, err, c.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("want no error, got %v", err)
		}
		return
	}
	var ae *AnalysisError
	if !errors.As(err, &ae) {
		t.Fatalf("want an *AnalysisError mentioning %q, got %#v", want, err)
	}
	for _, w := range strings.Split(want, ",") {
		if !strings.Contains(ae.Message, w) {
			t.Errorf("message %q does not mention %q", ae.Message, w)
		}
	}
	if ae.Line < 1 || ae.Column < 1 {
		t.Errorf("no location in %#v", ae)
	}
}

func TestBigQuery(t *testing.T) {
	a := StartForTest(t, BigQuery)
	project := Table{Name: "proj.shop.orders", Columns: orders.Columns}
	runCases(t, a, []Table{orders, project}, []analyzeCase{
		{"aggregate", "SELECT customer_id, SUM(revenue) AS m FROM shop.orders GROUP BY customer_id", ""},
		{"create table as", "CREATE OR REPLACE TABLE out.rfm AS SELECT customer_id, MAX(order_date) AS last_order, COUNT(*) AS frequency FROM shop.orders GROUP BY customer_id", ""},
		{"trailing semicolon", "SELECT 1;", ""},
		{"date functions", "SELECT DATE_DIFF(CURRENT_DATE(), order_date, DAY), DATE_TRUNC(order_date, MONTH), TIMESTAMP_TRUNC(ordered_at, DAY), SAFE_DIVIDE(revenue, 2), CAST(amount AS BIGNUMERIC), NTILE(5) OVER (ORDER BY revenue) FROM shop.orders", ""},
		{"window and qualify", "SELECT customer_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_date DESC) AS rn FROM shop.orders WHERE TRUE QUALIFY rn = 1", ""},
		{"approx quantiles", "SELECT APPROX_QUANTILES(revenue, 4)[OFFSET(2)] FROM shop.orders", ""},
		// Every way of quoting a qualified name finds the table.
		{"project path", "SELECT customer_id FROM proj.shop.orders", ""},
		{"quoted whole path", "SELECT customer_id FROM `proj.shop.orders`", ""},
		{"quoted prefix", "SELECT customer_id FROM `proj.shop`.orders", ""},
		{"quoted parts", "SELECT customer_id FROM `proj`.`shop`.`orders`", ""},
		{"table names are case-insensitive", "SELECT customer_id FROM Shop.Orders", ""},

		{"unknown function", "SELECT NO_SUCH_FN(revenue) FROM shop.orders", "Function not found,NO_SUCH_FN"},
		{"wrong argument type", "SELECT DATE_DIFF(revenue, 'x', DAY) FROM shop.orders", "No matching signature,DATE_DIFF,FLOAT64"},
		{"unknown column", "SELECT customer_id, no_such_column FROM shop.orders", "Unrecognized name,no_such_column"},
		{"unknown table", "SELECT 1 FROM shop.no_such_table", "Table not found,no_such_table"},
		{"string plus int", "SELECT channel + 1 FROM shop.orders", "No matching signature"},
		{"non-aggregated column", "SELECT customer_id, revenue FROM shop.orders GROUP BY customer_id", "neither grouped nor aggregated"},
		{"syntax error", "SELECT customer_id\nFROM shop.orders\nWHERE", "Syntax error"},
		// BigQuery mode: ZetaSQL's internal types are not BigQuery's.
		{"no INT32 in BigQuery", "SELECT CAST(revenue AS INT32) FROM shop.orders", "Type not found,INT32"},
		// A known difference from the warehouses (see the package doc): a
		// SELECT with QUALIFY needs WHERE, GROUP BY or HAVING. If this starts
		// passing, the renderer may drop its WHERE TRUE.
		{"qualify alone", "SELECT customer_id FROM shop.orders QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_date) = 1", "QUALIFY"},
	})
}

func TestSnowflake(t *testing.T) {
	a := StartForTest(t, Snowflake)
	runCases(t, a, []Table{orders}, []analyzeCase{
		{"aggregate", "SELECT customer_id, SUM(revenue) AS m FROM shop.orders GROUP BY customer_id", ""},
		{"create table as", "CREATE OR REPLACE TABLE db.sch.t AS SELECT customer_id, MAX(order_date) AS last_order FROM shop.orders GROUP BY customer_id", ""},
		{"snowflake functions", "SELECT DATEDIFF(day, order_date, CURRENT_DATE()), DATEADD(day, 1, order_date), IFF(revenue > 0, 1, 0), NVL(revenue, 0), LISTAGG(channel, ',') OVER (PARTITION BY customer_id) FROM shop.orders", ""},
		{"casts", "SELECT revenue::float, amount::number(18, 2), customer_id::varchar, ordered_at::date, CAST(1 AS BIGINT) FROM shop.orders", ""},
		{"quoted identifiers", `SELECT "customer_id" FROM "SHOP"."ORDERS"`, ""},
		{"window and qualify", "SELECT customer_id FROM shop.orders WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_date DESC) = 1", ""},

		{"unknown function", "SELECT NO_SUCH_FN(revenue) FROM shop.orders", "Function not found,NO_SUCH_FN"},
		{"wrong argument type", "SELECT DATEDIFF(day, revenue, channel) FROM shop.orders", "No matching signature,DATEDIFF"},
		{"unknown column", "SELECT customer_id, no_such_column FROM shop.orders", "Unrecognized name,no_such_column"},
		{"unknown table", "SELECT 1 FROM shop.no_such_table", "Table not found,no_such_table"},
		{"syntax error", "SELECT customer_id FROM shop.orders WHERE", "Syntax error"},
	})
}

// TestLocation checks that the error's position is split from its message.
func TestLocation(t *testing.T) {
	a := StartForTest(t, BigQuery)
	sql := "SELECT customer_id,\n       NO_SUCH_FN(revenue)\nFROM shop.orders"
	err := a.Analyze(context.Background(), sql, []Table{orders})
	want := &AnalysisError{SQL: sql, Message: "Function not found: NO_SUCH_FN", Line: 2, Column: 8}
	if got, ok := err.(*AnalysisError); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", err, want)
	}
	if got := err.Error(); got != "zetasql: 2:8: Function not found: NO_SUCH_FN" {
		t.Errorf("Error() = %q", got)
	}
}

// TestAnalyzeAll runs a model-like sequence: each statement reads the table
// the one before created.
func TestAnalyzeAll(t *testing.T) {
	for _, f := range []Flavor{BigQuery, Snowflake} {
		t.Run(f.String(), func(t *testing.T) {
			a := StartForTest(t, f)
			ctx := context.Background()
			steps := []string{
				"CREATE OR REPLACE TABLE out.base AS SELECT customer_id, SUM(revenue) AS monetary, COUNT(*) AS frequency FROM shop.orders GROUP BY customer_id",
				"CREATE OR REPLACE TABLE out.scored AS SELECT customer_id, NTILE(5) OVER (ORDER BY monetary) AS m_score FROM out.base",
				"SELECT m_score, COUNT(*) FROM out.scored GROUP BY m_score",
			}
			if err := a.AnalyzeAll(ctx, steps, []Table{orders}); err != nil {
				t.Fatal(err)
			}
			// The created table has exactly the inferred columns.
			bad := append(steps[:2:2], "SELECT monetary FROM out.scored")
			checkErr(t, a.AnalyzeAll(ctx, bad, []Table{orders}), "Unrecognized name,monetary")
			// Without the earlier statements the table does not exist.
			checkErr(t, a.AnalyzeAll(ctx, steps[2:], []Table{orders}), "Table not found")
		})
	}
}

func TestBadColumnType(t *testing.T) {
	a := StartForTest(t, BigQuery)
	err := a.Analyze(context.Background(), "SELECT 1", []Table{{Name: "t", Columns: []Column{{"c", "VARCHAR2"}}}})
	var ae *AnalysisError
	if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "VARCHAR2") {
		t.Fatalf("want a plain error naming the type, got %v", err)
	}
}

func TestGroupings(t *testing.T) {
	got := groupings([]string{"a", "b", "c"})
	want := [][]string{{"a", "b", "c"}, {"a.b", "c"}, {"a", "b.c"}, {"a.b.c"}}
	if !sameSet(got, want) {
		t.Errorf("groupings(a b c) = %q, want %q", got, want)
	}
	if got := groupings([]string{"t"}); !reflect.DeepEqual(got, [][]string{{"t"}}) {
		t.Errorf("groupings(t) = %q", got)
	}
}

func sameSet(a, b [][]string) bool {
	key := func(xs [][]string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[strings.Join(x, "|")] = true
		}
		return m
	}
	return len(a) == len(b) && reflect.DeepEqual(key(a), key(b))
}

func TestTypeKind(t *testing.T) {
	for in, want := range map[string]string{
		"INT64": "TYPE_INT64", "int64": "TYPE_INT64", "TYPE_INT64": "TYPE_INT64",
		"FLOAT64": "TYPE_DOUBLE", "DOUBLE": "TYPE_DOUBLE", "NUMERIC": "TYPE_NUMERIC",
		"STRING": "TYPE_STRING", "BOOL": "TYPE_BOOL", "BOOLEAN": "TYPE_BOOL",
		"DATE": "TYPE_DATE", "TIMESTAMP": "TYPE_TIMESTAMP", "VARIANT": "TYPE_VARIANT",
	} {
		if got, err := typeKind(in); err != nil || got.String() != want {
			t.Errorf("typeKind(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "UNKNOWN", "ARRAY", "STRUCT", "VARCHAR2"} {
		if _, err := typeKind(in); err == nil {
			t.Errorf("typeKind(%q) succeeded", in)
		}
	}
}
