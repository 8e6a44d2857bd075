// Package filter compiles segment filters, written in CEL (the Common
// Expression Language, https://cel.dev), to SQL boolean expressions for a
// warehouse dialect, with every literal as a bound parameter.
//
//	c, err := filter.Compile(`segment in ['Champions', 'Loyal'] && recency_days <= 30`,
//		[]filter.Column{{Name: "segment", Type: dialect.String}, {Name: "recency_days", Type: dialect.Int64}},
//		dialect.DuckDB{})
//	// c.SQL:    (("segment" IN (?, ?)) AND ("recency_days" <= ?))
//	// c.Params: ["Champions", "Loyal", int64(30)]
//
// A filter is parsed and type-checked by cel-go against the columns it
// may use, must have type bool, and is then rendered as fully
// parenthesised SQL for the dialect. A mistake is reported as an *Error
// with its line and column in the filter:
//
//	filter:1:1: undeclared reference to "segmnt" (did you mean "segment"?)
//	filter:1:9: no matching overload for "==" applied to (string, int)
//	filter:1:1: filter must be a bool expression, not int
//
// # Safety
//
// No part of a filter's text reaches the SQL. Every literal (string,
// number, bool, date, timestamp) becomes a positional ? placeholder with
// its value in Compiled.Params, in the order of the placeholders; column
// names are declared by segflow, checked to be identifiers and quoted
// with the dialect's QuoteIdent; everything else in the SQL (operators,
// function names, CASE, CAST) is fixed text chosen by this package. So
//
//	segment == "x' OR 1=1 --"
//
// compiles to ("segment" = ?) with the single parameter "x' OR 1=1 --".
//
// # Columns and types
//
// Each column is a variable of the filter, named as the column:
//
//	Column type        CEL type                          Literals
//	dialect.String     string (nullable)                 'Loyal', "Loyal", '''…''', r'…'
//	dialect.Int64      int (nullable)                    30, -5, 0x1F
//	dialect.Float64    double (nullable)                 2.5, 1e3 (write 2.0, not 2)
//	dialect.Bool       bool (nullable)                   true, false
//	dialect.Date       date (segflow's own type)         date('2025-01-01')
//	dialect.Timestamp  google.protobuf.Timestamp         timestamp('2025-01-01T00:00:00Z')
//
// Every column can be compared with null. Types follow CEL's rules,
// strictly: an int does not equal a double and arithmetic needs operands
// of one type (monetary * 2.0, double(frequency) / 2.0), but <, <=, > and
// >= compare ints with doubles (recency_days < 30.5). A date compares
// only with a date and a timestamp only with a timestamp. Parameters are
// bound as Go string, int64, float64, bool and time.Time (UTC); date()
// binds its string and casts it, CAST(? AS DATE), and timestamp() casts
// its time.Time to the dialect's TIMESTAMP type (TIMESTAMP_NTZ in
// Snowflake: TIMESTAMP columns are taken to hold UTC).
//
// In Snowflake, column references are upper-cased before quoting
// ("RECENCY_DAYS"): segflow's model tables name their columns with bare
// lower-case identifiers, which Snowflake stores in upper case.
//
// # Supported grammar
//
//	filter   = expr                        (of type bool)
//	expr     = expr "?" expr ":" expr      CASE c WHEN TRUE THEN a WHEN FALSE THEN b END
//	         | expr "||" expr              OR
//	         | expr "&&" expr              AND
//	         | "!" expr                    NOT
//	         | expr cmp expr               = <> < <= > >= ; == null is IS NULL, != null IS NOT NULL
//	         | expr "in" "[" [expr {"," expr}] "]"   IN (…); in [] is FALSE
//	         | expr ("+" | "-" | "*" | "/") expr     numbers; + also joins strings (||)
//	         | "-" expr
//	         | "(" expr ")"
//	         | column | literal | null
//	         | s.startsWith(t) | s.endsWith(t) | s.contains(t)   on strings
//	         | size(s) | s.size()          length of a string in characters
//	         | double(n)                   an int as a double
//	         | date('YYYY-MM-DD') | timestamp('RFC 3339')        string literal argument only
//	cmp      = "==" | "!=" | "<" | "<=" | ">" | ">="
//
// Division is on doubles only, and x / 0.0 is NULL (the dialect's
// SafeDivide) rather than an error or infinity. Anything else CEL has is
// rejected with an *Error naming it: integer division and %, other
// functions and methods (matches, int(), string(), duration(), timestamp
// accessors, ...), macros (has, all, exists, ...), lists other than after
// in, maps, field selection, uint and bytes literals.
//
// Examples:
//
//	segment == 'Champions'
//	segment in ['Champions', 'Loyal', 'Potential Loyalist'] && monetary >= 100.0
//	recency_days <= 30 || (frequency >= 5 && !(segment in ['Lost', 'Hibernating']))
//	email != null && email.endsWith('@example.com')
//	monetary / double(frequency) > 50.0
//	first_order_date >= date('2025-01-01')
//	last_order_at < timestamp('2025-06-01T00:00:00Z')
//	size(customer_id) == 8
//	loyal ? monetary > 50.0 : monetary > 200.0
//
// # NULL semantics
//
// Filters follow SQL's three-valued logic: a comparison, arithmetic
// operation or function with a NULL operand is unknown (NULL), ! of
// unknown is unknown, unknown && false is false, unknown || true is true,
// and a row is in the segment only when the whole filter is true. So a
// customer whose segment is NULL is in neither `segment == 'Lost'` nor
// `segment != 'Lost'` (nor `!(segment == 'Lost')`); write
// `segment == null || segment != 'Lost'` to include them. A ternary with
// an unknown condition is unknown (not its else branch). This differs from
// evaluating the expression with CEL itself, where null == 'Lost' is
// false; the two agree on rows without NULLs.
//
// The API is pre-1.0 and may change between minor versions.
package filter
