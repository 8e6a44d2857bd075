package filter

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
)

// testColumns are the columns of the filters under test: an rfm-like
// model output with a column of every type.
var testColumns = []Column{
	{Name: "customer_id", Type: dialect.String},
	{Name: "segment", Type: dialect.String},
	{Name: "email", Type: dialect.String},
	{Name: "recency_days", Type: dialect.Int64},
	{Name: "frequency", Type: dialect.Int64},
	{Name: "monetary", Type: dialect.Float64},
	{Name: "loyal", Type: dialect.Bool},
	{Name: "first_order_date", Type: dialect.Date},
	{Name: "last_order_at", Type: dialect.Timestamp},
}

func dialects(t *testing.T) map[string]dialect.Dialect {
	t.Helper()
	ds := map[string]dialect.Dialect{}
	for _, name := range dialect.Names() {
		d, err := dialect.Get(name)
		require.NoError(t, err)
		ds[name] = d
	}
	return ds
}

// compileCase is a filter and the SQL it compiles to. In sql, $name
// stands for the dialect's reference to column name; by holds the SQL of
// dialects that spell it differently.
type compileCase struct {
	expr   string
	sql    string
	by     map[string]string
	params []any
}

var ts0 = time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)

var compileCases = []compileCase{
	{expr: `segment == 'Champions'`, sql: `($segment = ?)`, params: []any{"Champions"}},
	{expr: `segment != "Lost"`, sql: `($segment <> ?)`, params: []any{"Lost"}},
	{expr: `recency_days < 30`, sql: `($recency_days < ?)`, params: []any{int64(30)}},
	{expr: `recency_days <= 30 && frequency >= 2`, sql: `(($recency_days <= ?) AND ($frequency >= ?))`, params: []any{int64(30), int64(2)}},
	{expr: `monetary > 100.5 || loyal`, sql: `(($monetary > ?) OR $loyal)`, params: []any{100.5}},
	{expr: `a || b || c`}, // placeholder, replaced below
	{expr: `!loyal`, sql: `(NOT $loyal)`},
	{expr: `!(segment == 'Lost')`, sql: `(NOT ($segment = ?))`, params: []any{"Lost"}},
	{expr: `loyal == true`, sql: `($loyal = ?)`, params: []any{true}},
	{expr: `segment in ['Champions', 'Loyal']`, sql: `($segment IN (?, ?))`, params: []any{"Champions", "Loyal"}},
	{expr: `recency_days in [1, 2, 3]`, sql: `($recency_days IN (?, ?, ?))`, params: []any{int64(1), int64(2), int64(3)}},
	{expr: `segment in [email, 'x']`, sql: `($segment IN ($email, ?))`, params: []any{"x"}},
	{expr: `segment in []`, sql: `FALSE`},
	{expr: `email == null`, sql: `($email IS NULL)`},
	{expr: `null != email`, sql: `($email IS NOT NULL)`},
	{expr: `first_order_date == null || last_order_at != null`, sql: `(($first_order_date IS NULL) OR ($last_order_at IS NOT NULL))`},
	{expr: `recency_days + 1 > frequency * 2 - 3`, sql: `(($recency_days + ?) > (($frequency * ?) - ?))`, params: []any{int64(1), int64(2), int64(3)}},
	{expr: `-recency_days < -5`, sql: `((- $recency_days) < ?)`, params: []any{int64(-5)}},
	{expr: `recency_days - -frequency > 0`, sql: `(($recency_days - (- $frequency)) > ?)`, params: []any{int64(0)}},
	{expr: `recency_days < 30.5`, sql: `($recency_days < ?)`, params: []any{30.5}},
	{
		expr: `monetary / double(frequency) > 50.0`,
		sql:  `((($monetary) / NULLIF(CAST($frequency AS DOUBLE), 0)) > ?)`,
		by: map[string]string{
			"bigquery":  "((SAFE_DIVIDE($monetary, CAST($frequency AS FLOAT64))) > ?)",
			"snowflake": `((($monetary) / NULLIF(CAST($frequency AS FLOAT), 0)) > ?)`,
		},
		params: []any{50.0},
	},
	{expr: `double(monetary) > 1.0`, sql: `($monetary > ?)`, params: []any{1.0}},
	{expr: `segment + '!' == 'Lost!'`, sql: `(($segment || ?) = ?)`, params: []any{"!", "Lost!"}},
	{
		expr: `email.endsWith('@example.com') && segment.startsWith('Ch') && !customer_id.contains('%_')`,
		sql:  `((ends_with($email, ?) AND starts_with($segment, ?)) AND (NOT contains($customer_id, ?)))`,
		by: map[string]string{
			"bigquery":  `((ENDS_WITH($email, ?) AND STARTS_WITH($segment, ?)) AND (NOT (STRPOS($customer_id, ?) > 0)))`,
			"snowflake": `((ENDSWITH($email, ?) AND STARTSWITH($segment, ?)) AND (NOT CONTAINS($customer_id, ?)))`,
		},
		params: []any{"@example.com", "Ch", "%_"},
	},
	{
		expr: `size(segment) > 3 && email.size() < 100`,
		sql:  `((length($segment) > ?) AND (length($email) < ?))`,
		by: map[string]string{
			"bigquery":  `((LENGTH($segment) > ?) AND (LENGTH($email) < ?))`,
			"snowflake": `((LENGTH($segment) > ?) AND (LENGTH($email) < ?))`,
		},
		params: []any{int64(3), int64(100)},
	},
	{
		expr:   `loyal ? monetary > 50.0 : monetary > 200.0`,
		sql:    `(CASE $loyal WHEN TRUE THEN ($monetary > ?) WHEN FALSE THEN ($monetary > ?) END)`,
		params: []any{50.0, 200.0},
	},
	{
		expr:   `(recency_days < 10 ? 'recent' : segment) == 'recent'`,
		sql:    `((CASE ($recency_days < ?) WHEN TRUE THEN ? WHEN FALSE THEN $segment END) = ?)`,
		params: []any{int64(10), "recent", "recent"},
	},
	{expr: `first_order_date >= date('2025-01-01')`, sql: `($first_order_date >= CAST(? AS DATE))`, params: []any{"2025-01-01"}},
	{expr: `first_order_date in [date('2025-01-01'), date('2025-02-01')]`, sql: `($first_order_date IN (CAST(? AS DATE), CAST(? AS DATE)))`, params: []any{"2025-01-01", "2025-02-01"}},
	{
		expr: `last_order_at < timestamp('2025-01-01T10:00:00+02:00')`,
		sql:  `($last_order_at < CAST(? AS TIMESTAMP))`,
		by: map[string]string{
			"snowflake": `($last_order_at < CAST(? AS TIMESTAMP_NTZ))`,
		},
		params: []any{ts0},
	},
	{expr: `'a' == 'a'`, sql: `(? = ?)`, params: []any{"a", "a"}},
	{expr: `true`, sql: `?`, params: []any{true}},
	{expr: "segment == 'Loyal' &&\n  recency_days < 90", sql: `(($segment = ?) AND ($recency_days < ?))`, params: []any{"Loyal", int64(90)}},
}

func init() {
	// A chain of || is rendered flat or nested, as CEL parses it.
	compileCases[5] = compileCase{
		expr:   `loyal || segment == 'a' || email == 'b'`,
		sql:    `(($loyal OR ($segment = ?)) OR ($email = ?))`,
		params: []any{"a", "b"},
	}
}

var colRef = regexp.MustCompile(`\$[a-z_]+`)

// expand replaces $name in sql by d's reference to column name.
func expand(sql string, d dialect.Dialect) string {
	return colRef.ReplaceAllStringFunc(sql, func(m string) string {
		name := m[1:]
		if d.Name() == "snowflake" {
			name = strings.ToUpper(name)
		}
		return d.QuoteIdent(name)
	})
}

func (c compileCase) want(d dialect.Dialect) string {
	if s, ok := c.by[d.Name()]; ok {
		return expand(s, d)
	}
	return expand(c.sql, d)
}

func TestCompile(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			for _, c := range compileCases {
				got, err := Compile(c.expr, testColumns, d)
				require.NoError(t, err, c.expr)
				assert.Equal(t, c.want(d), got.SQL, c.expr)
				assert.Equal(t, c.params, got.Params, c.expr)
				assert.Equal(t, len(got.Params), strings.Count(got.SQL, "?"), c.expr)
			}
		})
	}
}

// TestColumnQuoting: BigQuery quotes with backticks, Snowflake refers to
// the upper-case name a bare identifier means there.
func TestColumnQuoting(t *testing.T) {
	want := map[string]string{
		"duckdb":    `("recency_days" < ?)`,
		"bigquery":  "(`recency_days` < ?)",
		"snowflake": `("RECENCY_DAYS" < ?)`,
	}
	for name, d := range dialects(t) {
		got, err := Compile("recency_days < 3", testColumns, d)
		require.NoError(t, err)
		assert.Equal(t, want[name], got.SQL, name)
	}
}

func TestInjectionIsOneParameter(t *testing.T) {
	payloads := []string{
		`x' OR 1=1 --`,
		`x" OR 1=1 --`,
		`x\' OR 1=1; DROP TABLE rfm; --`,
		"x`) OR TRUE OR (`",
		`?`,
	}
	for name, d := range dialects(t) {
		for _, p := range payloads {
			// The CEL string literal for p, in double quotes.
			lit := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
			got, err := Compile("segment == "+lit, testColumns, d)
			require.NoError(t, err, p)
			require.Equal(t, []any{p}, got.Params, "%s: %s", name, p)
			require.Equal(t, expand(`($segment = ?)`, d), got.SQL, "%s: %s", name, p)
			for _, part := range []string{"OR", "1=1", "--", "DROP", "'", "x"} {
				require.NotContains(t, got.SQL, part, "%s: %s", name, p)
			}
		}
	}
}

// errorCase is a filter that does not compile, and where and why.
type errorCase struct {
	expr         string
	line, column int
	offending    string
	msg          string // a substring of the message
}

var errorCases = []errorCase{
	// Unknown names, with a suggestion.
	{`segmnt == 'Lost'`, 1, 1, "segmnt", `undeclared reference to "segmnt" (did you mean "segment"?)`},
	{`recency_days < 30 && Segment == 'Lost'`, 1, 22, "Segment", `(did you mean "segment"?)`},
	{"recency_days < 30 &&\n  segmnt == 'Lost'", 2, 3, "segmnt", `undeclared reference to "segmnt"`},
	{`revenue > 10.0`, 1, 1, "revenue", `undeclared reference to "revenue" (columns: customer_id, email, first_order_date`},
	// Unknown functions.
	{`segment.startswith('C')`, 1, 9, "startswith", `undeclared reference to "startswith" (did you mean "startsWith"?)`},
	{`lower(segment) == 'lost'`, 1, 1, "lower", `undeclared reference to "lower"`},
	{`has(segment)`, 1, 1, "has", `undeclared reference to "has"`},
	// Type errors.
	{`segment == 1`, 1, 9, "(string, int)", `no matching overload for "==" applied to (string, int)`},
	{`recency_days == 'recent'`, 1, 14, "(int, string)", `no matching overload for "=="`},
	{`recency_days == 2.0`, 1, 14, "(int, double)", `write 2.0 for a double, or double(n)`},
	{`monetary * 2 > 10.0`, 1, 10, "(double, int)", `arithmetic needs operands of one type`},
	{`first_order_date < last_order_at`, 1, 18, "(date, timestamp)", `a date compares with a date`},
	{`first_order_date < timestamp('2025-01-01T00:00:00Z')`, 1, 18, "(date, timestamp)", `no matching overload for "<"`},
	{`segment in [1, 2]`, 1, 9, "(string, list(int))", `no matching overload for "in"`},
	{`segment in ['a', 1]`, 1, 18, "int", `expected string but found int`},
	{`loyal && segment`, 1, 10, "string", `expected bool but found string`},
	// The result is not a bool.
	{`recency_days + 1`, 1, 1, "int", `filter must be a bool expression, not int`},
	{`(segment)`, 1, 1, "string", `filter must be a bool expression, not string`},
	{`  monetary`, 1, 3, "double", `filter must be a bool expression, not double`},
	// Outside the supported subset.
	{`segment.matches('^C')`, 1, 9, "matches", `"matches" is not supported in filters`},
	{`int(monetary) > 3`, 1, 1, "int", `"int" is not supported in filters`},
	{`recency_days / 2 > 1`, 1, 14, "int / int", `integer division is not supported`},
	{`recency_days % 2 == 0`, 1, 14, "%", `"%" is not supported`},
	{`recency_days < 3u`, 1, 16, "uint", `unsigned integers are not supported`},
	{`segment in ['a'] + ['b']`, 1, 18, "in", `in is supported with a list literal only`},
	{`size(['a']) > 0`, 1, 1, "list(string)", `size() is supported on strings only, not list(string)`},
	{`['a'][0] == segment`, 1, 6, "_[_]", `"_[_]" is not supported`},
	{`{'a': 1}['a'] == 1`, 1, 9, "_[_]", `"_[_]" is not supported`},
	{`last_order_at > timestamp(segment)`, 1, 17, "timestamp", `timestamp() takes a string literal`},
	{`last_order_at > timestamp('yesterday')`, 1, 27, "yesterday", `not an RFC 3339 timestamp`},
	{`first_order_date > date('2025-13-01')`, 1, 25, "2025-13-01", `not a date such as 2025-01-01`},
	{`size(segment.size()) > 1`, 1, 1, "(int)", `no matching overload for "size" applied to (int)`},
	// Syntax.
	{`segment == `, 1, 12, "<EOF>", `Syntax error`},
	{`segment = 'a'`, 1, 9, "=", `Syntax error`},
	{``, 1, 1, "", `empty filter`},
	{"   \n ", 1, 1, "", `empty filter`},
}

func TestErrors(t *testing.T) {
	d := dialect.DuckDB{}
	for _, c := range errorCases {
		_, err := Compile(c.expr, testColumns, d)
		var fe *Error
		require.ErrorAs(t, err, &fe, "%q", c.expr)
		assert.Equal(t, c.expr, fe.Expr)
		assert.Equal(t, [2]int{c.line, c.column}, [2]int{fe.Line, fe.Column}, "%q: %v", c.expr, err)
		if c.offending != "" {
			assert.Equal(t, c.offending, fe.Offending, "%q: %v", c.expr, err)
		}
		assert.Contains(t, fe.Error(), c.msg, "%q", c.expr)
		assert.True(t, strings.HasPrefix(fe.Error(), "filter:"), fe.Error())
	}
}

func TestErrorString(t *testing.T) {
	_, err := Compile(`segment == 'a' && segmnt == 'b'`, testColumns, dialect.DuckDB{})
	assert.EqualError(t, err, `filter:1:19: undeclared reference to "segmnt" (did you mean "segment"?)`)
}

func TestBadColumns(t *testing.T) {
	for _, cols := range [][]Column{
		{{Name: "a b", Type: dialect.String}},
		{{Name: "", Type: dialect.String}},
		{{Name: `a"`, Type: dialect.String}},
		{{Name: "1st", Type: dialect.String}},
		{{Name: "in", Type: dialect.String}},
		{{Name: "null", Type: dialect.Int64}},
		{{Name: "a", Type: dialect.String}, {Name: "a", Type: dialect.Int64}},
		{{Name: "a", Type: dialect.Type(99)}},
	} {
		_, err := Compile("true", cols, dialect.DuckDB{})
		require.Error(t, err, "%v", cols)
		var fe *Error
		require.False(t, errors.As(err, &fe), "a bad column list is not an *Error: %v", err)
	}
	_, err := Compile("true", nil, nil)
	require.Error(t, err)
}

// TestColumnNamedLikeFunction: a column may share a name with a function.
func TestColumnNamedLikeFunction(t *testing.T) {
	cols := []Column{{Name: "date", Type: dialect.Date}, {Name: "size", Type: dialect.Int64}}
	got, err := Compile(`date >= date('2025-01-01') && size > 2`, cols, dialect.DuckDB{})
	require.NoError(t, err)
	assert.Equal(t, `(("date" >= CAST(? AS DATE)) AND ("size" > ?))`, got.SQL)
	assert.Equal(t, []any{"2025-01-01", int64(2)}, got.Params)
}

// TestApplyFollowsArguments: params follow their placeholders when a
// template reorders or repeats its arguments.
func TestApplyFollowsArguments(t *testing.T) {
	a, b := param("a"), cat("(", param(int64(1)), " + ", param(int64(2)), ")")
	got := apply(func(x ...string) string { return "F(" + x[1] + ", " + x[0] + ", " + x[1] + ")" }, a, b)
	assert.Equal(t, "F((? + ?), ?, (? + ?))", got.sql)
	assert.Equal(t, []any{int64(1), int64(2), "a", int64(1), int64(2)}, got.params)
}

// TestConcurrentCompile: Compile is safe for concurrent use (go test -race).
func TestConcurrentCompile(t *testing.T) {
	done := make(chan error)
	for n := 0; n < 8; n++ {
		go func() {
			var err error
			for _, c := range compileCases {
				var got Compiled
				if got, err = Compile(c.expr, testColumns, dialect.BigQuery{}); err != nil {
					break
				}
				if len(got.Params) != len(c.params) {
					err = errors.New(c.expr + ": params differ")
					break
				}
			}
			done <- err
		}()
	}
	for n := 0; n < 8; n++ {
		require.NoError(t, <-done)
	}
}

func FuzzCompile(f *testing.F) {
	for _, c := range compileCases {
		f.Add(c.expr)
	}
	for _, c := range errorCases {
		f.Add(c.expr)
	}
	f.Add(`segment == "x' OR 1=1 --"`)
	f.Add(`((((loyal))))`)
	f.Add(`recency_days - - - 1 > 0`)
	ds := []dialect.Dialect{dialect.DuckDB{}, dialect.BigQuery{}, dialect.Snowflake{}}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, d := range ds {
			got, err := Compile(expr, testColumns, d)
			if err != nil {
				var fe *Error
				if errors.As(err, &fe) {
					if fe.Line < 1 || fe.Column < 1 || fe.Expr != expr {
						t.Fatalf("%q: bad error position: %+v", expr, fe)
					}
				}
				continue
			}
			if n := strings.Count(got.SQL, "?"); n != len(got.Params) {
				t.Fatalf("%q: %d placeholders, %d params: %s", expr, n, len(got.Params), got.SQL)
			}
			if strings.Contains(got.SQL, "--") || strings.Contains(got.SQL, "/*") || strings.Contains(got.SQL, "'") {
				t.Fatalf("%q: SQL holds a comment or a quote: %s", expr, got.SQL)
			}
			for _, p := range got.Params {
				switch p.(type) {
				case string, int64, float64, bool, time.Time:
				default:
					t.Fatalf("%q: param of type %T", expr, p)
				}
			}
		}
	})
}
