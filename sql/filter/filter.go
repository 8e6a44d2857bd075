package filter

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/operators"

	"github.com/segflow/segflow/sql/dialect"
)

// Column is a column a filter may refer to: a variable of the filter of
// the CEL type that Type maps to (see the package documentation).
type Column struct {
	// Name is the column's name, and the filter's name for it: a CEL
	// identifier ([A-Za-z_][A-Za-z0-9_]*, not a CEL reserved word).
	// segflow's model output columns are lower-case.
	Name string
	Type dialect.Type
}

// Compiled is a filter compiled to a SQL boolean expression.
type Compiled struct {
	// SQL is a fully parenthesised boolean expression over the columns,
	// with a positional ? placeholder (dialect.Placeholder) for each
	// literal of the filter. It holds no character of any literal.
	SQL string
	// Params are the values of SQL's placeholders, in order: string,
	// int64, float64, bool or time.Time (in UTC).
	Params []any
}

// Error is a filter that does not parse, does not type-check or uses
// something outside the supported subset. Line and Column are 1-based and
// count characters (Unicode code points) within the expression.
type Error struct {
	Expr         string // the filter expression
	Line, Column int
	Msg          string
	// Offending is what the error is about: the unknown name, the
	// unsupported function or construct, or the types an operator or
	// function cannot take ("(string, int)"), or the result type of a
	// filter that is not a bool. Empty when there is nothing more
	// specific than the position (some syntax errors).
	Offending string
}

func (e *Error) Error() string {
	return fmt.Sprintf("filter:%d:%d: %s", e.Line, e.Column, e.Msg)
}

// Compile parses and type-checks expr, a CEL expression of type bool over
// columns, and compiles it to d's SQL. Errors in expr are returned as
// *Error; other errors (an invalid column list, an unknown dialect) are
// plain errors.
func Compile(expr string, columns []Column, d dialect.Dialect) (Compiled, error) {
	if d == nil {
		return Compiled{}, errors.New("filter: dialect is required")
	}
	funcs, ok := dialectFuncs[d.Name()]
	if !ok {
		return Compiled{}, fmt.Errorf("filter: dialect %q is not supported (supported: duckdb, bigquery, snowflake)", d.Name())
	}
	env, cols, err := newEnv(columns)
	if err != nil {
		return Compiled{}, err
	}
	if strings.TrimSpace(expr) == "" {
		return Compiled{}, &Error{Expr: expr, Line: 1, Column: 1, Msg: "empty filter"}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return Compiled{}, convertIssues(expr, iss.Errors(), cols)
	}
	native := ast.NativeRep()
	g := &generator{d: d, funcs: funcs, ast: native, expr: expr, cols: cols}
	if t := ast.OutputType(); t.Kind() != cel.BoolKind {
		return Compiled{}, g.errorAtOffset(g.start(native.Expr()), "filter must be a bool expression, not "+typeName(t), typeName(t))
	}
	f, err := g.gen(native.Expr())
	if err != nil {
		return Compiled{}, err
	}
	return Compiled{SQL: f.sql, Params: f.params}, nil
}

// dateType is the CEL type of Date columns and date() literals: an opaque
// type that compares only with itself, so that a date is never compared
// with a timestamp (which BigQuery rejects) by accident.
var dateType = cel.OpaqueType("date")

// celType is the CEL type of a column of type t. Columns are nullable:
// the scalar types are CEL's wrapper types, which compare with null.
func celType(t dialect.Type) (*cel.Type, bool) {
	switch t {
	case dialect.String:
		return cel.NullableType(cel.StringType), true
	case dialect.Int64:
		return cel.NullableType(cel.IntType), true
	case dialect.Float64:
		return cel.NullableType(cel.DoubleType), true
	case dialect.Bool:
		return cel.NullableType(cel.BoolType), true
	case dialect.Date:
		return dateType, true
	case dialect.Timestamp:
		return cel.TimestampType, true
	}
	return nil, false
}

var (
	baseEnvOnce sync.Once
	baseEnv     *cel.Env
	baseEnvErr  error
)

// base is the environment without columns: CEL's standard library (what
// it declares but the SQL generator does not support is rejected there,
// with a clearer message than an unknown name), no macros, date().
func base() (*cel.Env, error) {
	baseEnvOnce.Do(func() {
		dateCmp := func(op, id string) cel.EnvOption {
			return cel.Function(op, cel.Overload(id, []*cel.Type{dateType, dateType}, cel.BoolType))
		}
		baseEnv, baseEnvErr = cel.NewEnv(
			cel.ClearMacros(),
			// recency_days < 30.5 and monetary > 100 compare as written.
			cel.CrossTypeNumericComparisons(true),
			// [1, 'a'] is a type error, not a list(dyn).
			cel.HomogeneousAggregateLiterals(),
			cel.Function("date", cel.Overload("filter_date_string", []*cel.Type{cel.StringType}, dateType)),
			dateCmp(operators.Less, "filter_less_date"),
			dateCmp(operators.LessEquals, "filter_less_equals_date"),
			dateCmp(operators.Greater, "filter_greater_date"),
			dateCmp(operators.GreaterEquals, "filter_greater_equals_date"),
		)
	})
	return baseEnv, baseEnvErr
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved are CEL's reserved words, which cannot name a variable.
var reserved = map[string]bool{
	"false": true, "in": true, "null": true, "true": true,
	"as": true, "break": true, "const": true, "continue": true, "else": true,
	"for": true, "function": true, "if": true, "import": true, "let": true,
	"loop": true, "package": true, "namespace": true, "return": true,
	"var": true, "void": true, "while": true,
}

func newEnv(columns []Column) (*cel.Env, map[string]Column, error) {
	env, err := base()
	if err != nil {
		return nil, nil, fmt.Errorf("filter: %w", err)
	}
	cols := make(map[string]Column, len(columns))
	opts := make([]cel.EnvOption, 0, len(columns))
	for _, c := range columns {
		switch {
		case !identRE.MatchString(c.Name):
			return nil, nil, fmt.Errorf("filter: column %q: a filter column name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", c.Name)
		case reserved[c.Name]:
			return nil, nil, fmt.Errorf("filter: column %q: the name is a reserved word in filters", c.Name)
		}
		if _, dup := cols[c.Name]; dup {
			return nil, nil, fmt.Errorf("filter: column %q is declared twice", c.Name)
		}
		t, ok := celType(c.Type)
		if !ok {
			return nil, nil, fmt.Errorf("filter: column %q: unsupported type %v", c.Name, c.Type)
		}
		cols[c.Name] = c
		opts = append(opts, cel.Variable(c.Name, t))
	}
	env, err = env.Extend(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("filter: %w", err)
	}
	return env, cols, nil
}

// typeName is how messages name a CEL type: wrapper(int), a nullable
// column's type, is shown as int.
func typeName(t *cel.Type) string {
	return unwrapTypes(t.String())
}

var wrapperRE = regexp.MustCompile(`wrapper\(([a-z]+)\)`)

func unwrapTypes(s string) string {
	s = wrapperRE.ReplaceAllString(s, "$1")
	return strings.ReplaceAll(s, "google.protobuf.Timestamp", "timestamp")
}

var (
	undeclaredRE = regexp.MustCompile(`^undeclared reference to '([^']*)'`)
	overloadRE   = regexp.MustCompile(`^found no matching overload for '([^']*)' applied to '(\(.*\))'`)
	expectedRE   = regexp.MustCompile(`^expected type '([^']*)' but found '([^']*)'`)
	syntaxRE     = regexp.MustCompile(`(?:mismatched input|extraneous input|no viable alternative at input|token recognition error at:) '([^']*)'`)
)

// convertIssues turns the first of CEL's errors (in source order) into
// an *Error, rewording the messages that name CEL internals.
func convertIssues(expr string, errs []*cel.Error, cols map[string]Column) error {
	if len(errs) == 0 {
		return &Error{Expr: expr, Line: 1, Column: 1, Msg: "invalid filter"}
	}
	first := slices.MinFunc(errs, func(a, b *cel.Error) int {
		if c := a.Location.Line() - b.Location.Line(); c != 0 {
			return c
		}
		return a.Location.Column() - b.Location.Column()
	})
	e := &Error{Expr: expr, Line: first.Location.Line(), Column: first.Location.Column() + 1, Msg: first.Message}
	if e.Line < 1 { // no location: limits and the like
		e.Line, e.Column = 1, 1
	}
	switch msg := first.Message; {
	case undeclaredRE.MatchString(msg):
		name := undeclaredRE.FindStringSubmatch(msg)[1]
		e.Offending = name
		// CEL places an unknown function at its opening parenthesis.
		if col := nameBefore(expr, e.Line, e.Column, name); col > 0 {
			e.Column = col
		}
		e.Msg = fmt.Sprintf("undeclared reference to %q", name)
		if s := suggest(name, cols); s != "" {
			e.Msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if len(cols) > 0 {
			e.Msg += " (columns: " + strings.Join(sortedNames(cols), ", ") + ")"
		}
	case overloadRE.MatchString(msg):
		m := overloadRE.FindStringSubmatch(msg)
		args := unwrapTypes(m[2])
		e.Offending = args
		if col := nameBefore(expr, e.Line, e.Column, m[1]); col > 0 {
			e.Column = col
		}
		e.Msg = fmt.Sprintf("no matching overload for %q applied to %s", displayName(m[1]), args)
		if hint := overloadHint(m[1], args); hint != "" {
			e.Msg += " (" + hint + ")"
		}
	case expectedRE.MatchString(msg):
		m := expectedRE.FindStringSubmatch(msg)
		e.Offending = unwrapTypes(m[2])
		e.Msg = fmt.Sprintf("expected %s but found %s", unwrapTypes(m[1]), e.Offending)
	case strings.HasPrefix(msg, "Syntax error:"):
		if m := syntaxRE.FindStringSubmatch(msg); m != nil {
			e.Offending = strings.TrimSpace(m[1])
		}
	default:
		e.Msg = unwrapTypes(msg)
	}
	return e
}

// overloadHint explains the commonest type errors.
func overloadHint(fn, args string) string {
	numeric := strings.Contains(args, "int") && strings.Contains(args, "double")
	switch {
	case numeric && (fn == operators.Equals || fn == operators.NotEquals):
		return "== and != need operands of one type: write 2.0 for a double, or double(n)"
	case numeric:
		return "arithmetic needs operands of one type: write 2.0 for a double, or double(n)"
	case strings.Contains(args, "date") && strings.Contains(args, "timestamp"):
		return "a date compares with a date: write date('2025-01-01')"
	}
	return ""
}

// displayName is how messages name a CEL function: operators as written.
func displayName(fn string) string {
	if op, ok := operators.FindReverse(fn); ok && op != "" {
		return op
	}
	switch fn {
	case operators.Conditional:
		return "?:"
	case operators.Negate:
		return "-"
	case operators.LogicalNot:
		return "!"
	}
	return fn
}

// supportedFuncs are the functions a filter may call, for suggestions.
var supportedFuncs = []string{"startsWith", "endsWith", "contains", "size", "timestamp", "date", "double"}

// suggest returns the column or function name closest to name, if one is
// close enough to be a likely misspelling.
func suggest(name string, cols map[string]Column) string {
	best, bestDist := "", 0
	for _, c := range append(sortedNames(cols), supportedFuncs...) {
		if strings.EqualFold(c, name) {
			return c
		}
		dist := levenshtein(strings.ToLower(name), strings.ToLower(c))
		limit := max(1, min(utf8.RuneCountInString(name), utf8.RuneCountInString(c))/3)
		if dist <= limit && (best == "" || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

func sortedNames(cols map[string]Column) []string {
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// nameBefore returns the 1-based column of name if it ends just before
// (or, with blanks between, before) the opening parenthesis at line:col,
// and 0 otherwise.
func nameBefore(expr string, line, col int, name string) int {
	lines := strings.Split(expr, "\n")
	if line < 1 || line > len(lines) {
		return 0
	}
	src := []rune(lines[line-1])
	i := col - 1
	if i < 0 || i >= len(src) || src[i] != '(' {
		return 0
	}
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t' || src[i-1] == '\r') {
		i--
	}
	n := []rune(name)
	if i >= len(n) && string(src[i-len(n):i]) == name {
		return i - len(n) + 1
	}
	return 0
}
