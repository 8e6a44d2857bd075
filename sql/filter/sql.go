package filter

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/segflow/segflow/sql/dialect"
)

// frag is a piece of SQL and the values of its placeholders, in order.
type frag struct {
	sql    string
	params []any
}

// param is a placeholder bound to v.
func param(v any) frag { return frag{sql: dialect.Placeholder, params: []any{v}} }

// cat concatenates parts, strings of SQL text (never user input) and
// frags, keeping the params in the order their placeholders appear.
func cat(parts ...any) frag {
	var b strings.Builder
	var params []any
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b.WriteString(p)
		case frag:
			b.WriteString(p.sql)
			params = append(params, p.params...)
		default:
			panic(fmt.Sprintf("filter: cat: %T", p))
		}
	}
	return frag{sql: b.String(), params: params}
}

// join concatenates fs with sep between them.
func join(fs []frag, sep string) frag {
	parts := make([]any, 0, 2*len(fs))
	for i, f := range fs {
		if i > 0 {
			parts = append(parts, sep)
		}
		parts = append(parts, f)
	}
	return cat(parts...)
}

// apply calls render, a function that pastes SQL expressions into a
// template (such as a Dialect method), on args. It passes markers in
// place of the arguments and replaces them in the result, so that the
// params follow the placeholders wherever render puts (or repeats) each
// argument.
func apply(render func(args ...string) string, args ...frag) frag {
	marks := make([]string, len(args))
	for i := range args {
		marks[i] = "\x00" + strconv.Itoa(i) + "\x00"
	}
	out := render(marks...)
	var parts []any
	for {
		start := strings.IndexByte(out, 0)
		if start < 0 {
			break
		}
		end := start + 1 + strings.IndexByte(out[start+1:], 0)
		i, err := strconv.Atoi(out[start+1 : end])
		if end <= start || err != nil || i < 0 || i >= len(args) {
			panic("filter: apply: bad marker in " + strconv.Quote(out))
		}
		parts = append(parts, out[:start], args[i])
		out = out[end+1:]
	}
	return cat(append(parts, out)...)
}

// funcs are the dialect's spellings of the string functions; each pastes
// its SQL arguments in.
type funcs struct {
	startsWith, endsWith, contains func(s, sub string) string
	length                         func(s string) string
}

var dialectFuncs = map[string]funcs{
	"duckdb": {
		startsWith: func(s, sub string) string { return "starts_with(" + s + ", " + sub + ")" },
		endsWith:   func(s, sub string) string { return "ends_with(" + s + ", " + sub + ")" },
		contains:   func(s, sub string) string { return "contains(" + s + ", " + sub + ")" },
		length:     func(s string) string { return "length(" + s + ")" },
	},
	"bigquery": {
		startsWith: func(s, sub string) string { return "STARTS_WITH(" + s + ", " + sub + ")" },
		endsWith:   func(s, sub string) string { return "ENDS_WITH(" + s + ", " + sub + ")" },
		contains:   func(s, sub string) string { return "(STRPOS(" + s + ", " + sub + ") > 0)" },
		length:     func(s string) string { return "LENGTH(" + s + ")" },
	},
	"snowflake": {
		startsWith: func(s, sub string) string { return "STARTSWITH(" + s + ", " + sub + ")" },
		endsWith:   func(s, sub string) string { return "ENDSWITH(" + s + ", " + sub + ")" },
		contains:   func(s, sub string) string { return "CONTAINS(" + s + ", " + sub + ")" },
		length:     func(s string) string { return "LENGTH(" + s + ")" },
	},
}

// generator renders a checked AST as SQL.
type generator struct {
	d     dialect.Dialect
	funcs funcs
	ast   *celast.AST
	expr  string
	cols  map[string]Column
}

// errorAt returns an *Error at e's position in the expression: an
// operator's, a literal's or a name's first character, or a function
// call's name.
func (g *generator) errorAt(e celast.Expr, msg, offending string) *Error {
	return g.errorAtOffset(g.offset(e), msg, offending)
}

func (g *generator) errorAtOffset(offset int32, msg, offending string) *Error {
	loc := g.ast.SourceInfo().GetLocationByOffset(offset)
	line, col := loc.Line(), loc.Column()+1
	if offset < 0 || line < 1 {
		line, col = 1, 1
	}
	return &Error{Expr: g.expr, Line: line, Column: col, Msg: msg, Offending: offending}
}

// offset is the character offset of e in the expression. CEL places a
// function call at its opening parenthesis; the offset returned is that
// of the function's name before it.
func (g *generator) offset(e celast.Expr) int32 {
	r, ok := g.ast.SourceInfo().GetOffsetRange(e.ID())
	if !ok {
		return -1
	}
	if e.Kind() != celast.CallKind {
		return r.Start
	}
	name := []rune(e.AsCall().FunctionName())
	src := []rune(g.expr)
	i := int(r.Start)
	if i >= len(src) || src[i] != '(' {
		return r.Start
	}
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t' || src[i-1] == '\n' || src[i-1] == '\r') {
		i--
	}
	if i >= len(name) && string(src[i-len(name):i]) == string(name) {
		return int32(i - len(name))
	}
	return r.Start
}

// start is the offset of the first character of e, with its operands.
func (g *generator) start(e celast.Expr) int32 {
	first := g.offset(e)
	var visit func(x celast.Expr)
	visit = func(x celast.Expr) {
		if o := g.offset(x); o >= 0 && (first < 0 || o < first) {
			first = o
		}
		switch x.Kind() {
		case celast.CallKind:
			c := x.AsCall()
			if c.IsMemberFunction() {
				visit(c.Target())
			}
			for _, a := range c.Args() {
				visit(a)
			}
		case celast.ListKind:
			for _, a := range x.AsList().Elements() {
				visit(a)
			}
		}
	}
	visit(e)
	// An opening parenthesis is not a node: take those just before.
	src := []rune(g.expr)
	for first > 0 && int(first) <= len(src) && src[first-1] == '(' {
		first--
	}
	return first
}

func (g *generator) kind(e celast.Expr) types.Kind { return g.ast.GetType(e.ID()).Kind() }

func (g *generator) typeOf(e celast.Expr) string { return typeName(g.ast.GetType(e.ID())) }

// column renders a reference to column name. segflow's model tables name
// their columns with bare lower-case identifiers, which Snowflake stores
// in upper case; the reference is the quoted form of what the bare name
// means in the dialect, so that it is exact whatever the name.
func (g *generator) column(name string) string {
	if g.d.Name() == "snowflake" {
		name = strings.ToUpper(name) // names are ASCII identifiers
	}
	return g.d.QuoteIdent(name)
}

func (g *generator) gen(e celast.Expr) (frag, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		return g.literal(e)
	case celast.IdentKind:
		name := e.AsIdent()
		if _, ok := g.cols[name]; !ok {
			return frag{}, g.errorAt(e, fmt.Sprintf("%q is not a column", name), name)
		}
		return frag{sql: g.column(name)}, nil
	case celast.CallKind:
		return g.call(e)
	case celast.ListKind:
		return frag{}, g.errorAt(e, "a list is only supported on the right of in: segment in ['Champions', 'Loyal']", "list")
	case celast.MapKind:
		return frag{}, g.errorAt(e, "maps are not supported in filters", "map")
	case celast.StructKind:
		return frag{}, g.errorAt(e, "messages are not supported in filters", "message")
	case celast.SelectKind:
		return frag{}, g.errorAt(e, "field selection is not supported in filters", e.AsSelect().FieldName())
	}
	return frag{}, g.errorAt(e, "unsupported expression", "")
}

func (g *generator) literal(e celast.Expr) (frag, error) {
	switch v := e.AsLiteral().(type) {
	case types.String:
		return param(string(v)), nil
	case types.Int:
		return param(int64(v)), nil
	case types.Double:
		return param(float64(v)), nil
	case types.Bool:
		return param(bool(v)), nil
	case types.Null:
		return frag{sql: "NULL"}, nil
	case types.Uint:
		return frag{}, g.errorAt(e, "unsigned integers are not supported in filters: write "+strconv.FormatUint(uint64(v), 10), "uint")
	case types.Bytes:
		return frag{}, g.errorAt(e, "bytes literals are not supported in filters", "bytes")
	}
	return frag{}, g.errorAt(e, "unsupported literal", "")
}

// isNull reports whether e is the null literal.
func isNull(e celast.Expr) bool {
	if e.Kind() != celast.LiteralKind {
		return false
	}
	_, ok := e.AsLiteral().(types.Null)
	return ok
}

// binaryOps are the operators written infix in every dialect, by CEL name.
var binaryOps = map[string]string{
	operators.Equals:        "=",
	operators.NotEquals:     "<>",
	operators.Less:          "<",
	operators.LessEquals:    "<=",
	operators.Greater:       ">",
	operators.GreaterEquals: ">=",
	operators.Add:           "+",
	operators.Subtract:      "-",
	operators.Multiply:      "*",
}

func isNumeric(k types.Kind) bool { return k == types.IntKind || k == types.DoubleKind }

func (g *generator) call(e celast.Expr) (frag, error) {
	c := e.AsCall()
	fn, args := c.FunctionName(), c.Args()
	if c.IsMemberFunction() {
		args = append([]celast.Expr{c.Target()}, args...)
	}
	switch fn {
	case operators.LogicalAnd, operators.LogicalOr:
		fs, err := g.genAll(args)
		if err != nil {
			return frag{}, err
		}
		sep := " AND "
		if fn == operators.LogicalOr {
			sep = " OR "
		}
		return cat("(", join(fs, sep), ")"), nil

	case operators.LogicalNot:
		x, err := g.gen(args[0])
		if err != nil {
			return frag{}, err
		}
		return cat("(NOT ", x, ")"), nil

	case operators.Negate:
		if !isNumeric(g.kind(args[0])) {
			return frag{}, g.unsupportedTypes(e, fn, args)
		}
		x, err := g.gen(args[0])
		if err != nil {
			return frag{}, err
		}
		// The space keeps - - from reading as a comment.
		return cat("(- ", x, ")"), nil

	case operators.Equals, operators.NotEquals:
		// x == null is IS NULL: = NULL is never true in SQL.
		if isNull(args[0]) || isNull(args[1]) {
			x := args[0]
			if isNull(x) {
				x = args[1]
			}
			f, err := g.gen(x)
			if err != nil {
				return frag{}, err
			}
			if fn == operators.Equals {
				return cat("(", f, " IS NULL)"), nil
			}
			return cat("(", f, " IS NOT NULL)"), nil
		}
		return g.compare(e, fn, args)

	case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		return g.compare(e, fn, args)

	case operators.Add:
		switch k := g.kind(e); {
		case isNumeric(k):
			return g.infix("+", args)
		case k == types.StringKind:
			return g.infix("||", args)
		}
		return frag{}, g.unsupportedTypes(e, fn, args)

	case operators.Subtract, operators.Multiply:
		if !isNumeric(g.kind(e)) {
			return frag{}, g.unsupportedTypes(e, fn, args)
		}
		return g.infix(binaryOps[fn], args)

	case operators.Divide:
		switch g.kind(e) {
		case types.DoubleKind:
			fs, err := g.genAll(args)
			if err != nil {
				return frag{}, err
			}
			// x / 0 is NULL in every dialect (not an error, not Inf).
			return cat("(", apply(func(a ...string) string { return g.d.SafeDivide(a[0], a[1]) }, fs...), ")"), nil
		case types.IntKind:
			return frag{}, g.errorAt(e, "integer division is not supported in filters: divide doubles, as in double(frequency) / 2.0", "int / int")
		}
		return frag{}, g.unsupportedTypes(e, fn, args)

	case operators.In:
		return g.in(e, args)

	case operators.Conditional:
		fs, err := g.genAll(args)
		if err != nil {
			return frag{}, err
		}
		// A NULL condition gives NULL, not the else branch.
		return cat("(CASE ", fs[0], " WHEN TRUE THEN ", fs[1], " WHEN FALSE THEN ", fs[2], " END)"), nil

	case "startsWith", "endsWith", "contains":
		if len(args) != 2 || g.kind(args[0]) != types.StringKind || g.kind(args[1]) != types.StringKind {
			return frag{}, g.unsupportedTypes(e, fn, args)
		}
		fs, err := g.genAll(args)
		if err != nil {
			return frag{}, err
		}
		render := map[string]func(s, sub string) string{
			"startsWith": g.funcs.startsWith, "endsWith": g.funcs.endsWith, "contains": g.funcs.contains,
		}[fn]
		return apply(func(a ...string) string { return render(a[0], a[1]) }, fs...), nil

	case "size":
		if len(args) != 1 || g.kind(args[0]) != types.StringKind {
			return frag{}, g.errorAt(e, "size() is supported on strings only, not "+g.typeOf(args[0]), g.typeOf(args[0]))
		}
		x, err := g.gen(args[0])
		if err != nil {
			return frag{}, err
		}
		return apply(func(a ...string) string { return g.funcs.length(a[0]) }, x), nil

	case "timestamp":
		s, ok := g.stringLiteral(args)
		if !ok {
			return frag{}, g.errorAt(e, "timestamp() takes a string literal: timestamp('2025-01-01T00:00:00Z')", "timestamp")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return frag{}, g.errorAt(args[0], fmt.Sprintf("timestamp(%q): not an RFC 3339 timestamp such as 2025-01-01T00:00:00Z", s), s)
		}
		return cat("CAST(", param(t.UTC()), " AS ", g.d.TypeName(dialect.Timestamp), ")"), nil

	case "date":
		s, ok := g.stringLiteral(args)
		if !ok {
			return frag{}, g.errorAt(e, "date() takes a string literal: date('2025-01-01')", "date")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return frag{}, g.errorAt(args[0], fmt.Sprintf("date(%q): not a date such as 2025-01-01", s), s)
		}
		// The date is bound as its string and cast, so that no client's
		// time zone handling can move it to another day.
		return cat("CAST(", param(s), " AS ", g.d.TypeName(dialect.Date), ")"), nil

	case "double":
		if len(args) != 1 || !isNumeric(g.kind(args[0])) {
			return frag{}, g.errorAt(e, "double() is supported on numbers only, not "+g.typeOf(args[0]), g.typeOf(args[0]))
		}
		x, err := g.gen(args[0])
		if err != nil {
			return frag{}, err
		}
		if g.kind(args[0]) == types.DoubleKind {
			return x, nil
		}
		return cat("CAST(", x, " AS ", g.d.TypeName(dialect.Float64), ")"), nil
	}
	return frag{}, g.errorAt(e, fmt.Sprintf("%q is not supported in filters (supported: == != < <= > >= && || ! + - * / ?: in, %s)",
		displayName(fn), strings.Join(supportedFuncs, ", ")), displayName(fn))
}

// comparable reports whether e's type has the same order and equality in
// SQL as in CEL.
func (g *generator) comparable(e celast.Expr) bool {
	switch k := g.kind(e); k {
	case types.StringKind, types.IntKind, types.DoubleKind, types.BoolKind, types.TimestampKind:
		return true
	case types.OpaqueKind:
		return g.ast.GetType(e.ID()).TypeName() == dateType.TypeName()
	}
	return false
}

// compare renders a comparison of two values of comparable types.
func (g *generator) compare(e celast.Expr, fn string, args []celast.Expr) (frag, error) {
	fs, err := g.genAll(args)
	if err != nil {
		return frag{}, err
	}
	if !g.comparable(args[0]) || !g.comparable(args[1]) {
		return frag{}, g.unsupportedTypes(e, fn, args)
	}
	return cat("(", fs[0], " "+binaryOps[fn]+" ", fs[1], ")"), nil
}

func (g *generator) unsupportedTypes(e celast.Expr, fn string, args []celast.Expr) *Error {
	ts := make([]string, len(args))
	for i, a := range args {
		ts[i] = g.typeOf(a)
	}
	offending := "(" + strings.Join(ts, ", ") + ")"
	return g.errorAt(e, fmt.Sprintf("%q is not supported on %s in filters", displayName(fn), offending), offending)
}

func (g *generator) infix(op string, args []celast.Expr) (frag, error) {
	fs, err := g.genAll(args)
	if err != nil {
		return frag{}, err
	}
	return cat("(", fs[0], " "+op+" ", fs[1], ")"), nil
}

func (g *generator) genAll(args []celast.Expr) ([]frag, error) {
	fs := make([]frag, len(args))
	for i, a := range args {
		f, err := g.gen(a)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	return fs, nil
}

// in renders x in [a, b, ...] as x IN (a, b, ...).
func (g *generator) in(e celast.Expr, args []celast.Expr) (frag, error) {
	if args[1].Kind() != celast.ListKind {
		return frag{}, g.errorAt(args[1], "in is supported with a list literal only: segment in ['Champions', 'Loyal']", "in")
	}
	if !g.comparable(args[0]) {
		return frag{}, g.unsupportedTypes(e, operators.In, args)
	}
	x, err := g.gen(args[0])
	if err != nil {
		return frag{}, err
	}
	elems := args[1].AsList().Elements()
	if len(elems) == 0 {
		return frag{sql: "FALSE"}, nil
	}
	fs, err := g.genAll(elems)
	if err != nil {
		return frag{}, err
	}
	return cat("(", x, " IN (", join(fs, ", "), "))"), nil
}

// stringLiteral returns the value of args if it is one string literal.
func (g *generator) stringLiteral(args []celast.Expr) (string, bool) {
	if len(args) != 1 || args[0].Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := args[0].AsLiteral().(types.String)
	return string(s), ok
}
