package dialect

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Dialect renders the parts of a SQL statement that differ between
// warehouses. Implementations are stateless and safe for concurrent use.
//
// Expression arguments (start, end, date, n, ...) are SQL expressions
// that the method pastes in as they are, inside parentheses where
// precedence could matter; they must come from segflow's own templates
// or from the dialect's literal functions, never from user input.
type Dialect interface {
	// Name is the dialect's name as used in config and on the command
	// line: "duckdb", "bigquery", "snowflake".
	Name() string

	// QuoteIdent returns name as a delimited identifier that means
	// exactly name, whatever characters it holds.
	QuoteIdent(name string) string
	// Table returns the qualified, quoted name of table name in schema.
	// An empty schema leaves the name unqualified. BigQuery and
	// Snowflake accept a two-part schema ("project.dataset",
	// "database.schema"), split on the dot; DuckDB's schema is one name.
	Table(schema, name string) string

	// DateLiteral returns a DATE literal for the calendar date of t in
	// t's location.
	DateLiteral(t time.Time) string
	// StringLiteral returns a string literal whose value is exactly s.
	StringLiteral(s string) string
	// TimestampLiteral returns a TIMESTAMP literal for t in UTC, to the
	// microsecond.
	TimestampLiteral(t time.Time) string

	// TypeName returns the dialect's name for a column type, for use in
	// CAST(... AS type).
	TypeName(t Type) string

	// DaysBetween returns an integer expression for the number of days
	// from DATE expression start to DATE expression end (end - start).
	DaysBetween(start, end string) string
	// AddDays returns the DATE expression date plus n days; n is an
	// integer expression and may be negative.
	AddDays(date, n string) string
	// AddMonths returns the DATE expression date plus n months; n is an
	// integer expression and may be negative. A day that does not exist
	// in the target month is clamped to the month's last day
	// (2024-03-31 minus one month is 2024-02-29) in every dialect.
	AddMonths(date, n string) string
	// TruncMonth returns the first day of the month of DATE expression
	// date, as a DATE.
	TruncMonth(date string) string
	// MonthsBetween returns an integer expression for the number of
	// month boundaries from DATE expression start to DATE expression end
	// (end - start in calendar months, ignoring the day of the month).
	// Only its value on first days of months is the same in every
	// dialect, and that is how templates use it: on TruncMonth results.
	MonthsBetween(start, end string) string

	// SafeDivide returns num / den, or NULL when den is 0 (or NULL). The
	// result type follows the operands: cast them to FLOAT64 first for a
	// floating-point quotient.
	SafeDivide(num, den string) string
	// Qualify returns the QUALIFY clause that filters the rows of a
	// SELECT by condition, a boolean expression over window functions.
	// The SELECT must also have a WHERE, GROUP BY or HAVING clause
	// (write WHERE TRUE if it has none): BigQuery requires one.
	Qualify(condition string) string

	// MD5Hex returns the MD5 digest of STRING expression s as 32
	// lower-case hex digits (a STRING), the same in every dialect.
	MD5Hex(s string) string
	// HashBucket returns an integer expression in [0, buckets): the first
	// 32 bits of MD5Hex(s), read as an unsigned big-endian number, modulo
	// buckets. The same s gives the same bucket in every dialect, and in
	// Go (see Bucket), which is what makes holdout groups reproducible.
	HashBucket(s string, buckets int) string

	// CreateTableAs returns a statement that (re)creates table, an
	// already quoted and qualified name, as the result of query.
	CreateTableAs(table, query string) string
}

// Bucket is HashBucket computed in Go.
func Bucket(s string, buckets int) int {
	sum := md5.Sum([]byte(s))
	return int(binary.BigEndian.Uint32(sum[:4]) % uint32(buckets))
}

func timestampText(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

// Placeholder is how a bound parameter is written in every dialect: a
// positional ?, bound in order. The warehouse plugins translate it to
// their client's form where that differs.
const Placeholder = "?"

// Type is a column type in segflow's logical model, independent of any
// warehouse's type names.
type Type int

// The types segflow's logical model and model outputs use.
const (
	String Type = iota
	Int64
	Float64
	Bool
	Date
	Timestamp
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int64:
		return "int64"
	case Float64:
		return "float64"
	case Bool:
		return "bool"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Names lists the dialect names Get knows.
func Names() []string { return []string{"duckdb", "bigquery", "snowflake"} }

// Get returns the dialect called name.
func Get(name string) (Dialect, error) {
	switch name {
	case "duckdb":
		return DuckDB{}, nil
	case "bigquery":
		return BigQuery{}, nil
	case "snowflake":
		return Snowflake{}, nil
	}
	return nil, fmt.Errorf("unknown dialect %q (known: duckdb, bigquery, snowflake)", name)
}

// splitSchema splits a two-part schema ("project.dataset",
// "database.schema") into its parts; a schema without a dot is one part.
func splitSchema(schema string) []string {
	if schema == "" {
		return nil
	}
	return strings.Split(schema, ".")
}

// backslashQuote delimits s with quote, escaping as GoogleSQL quoted
// identifiers and string literals (and Snowflake string literals) read
// them: a backslash before the quote character and before a backslash,
// \n, \r and \t for those controls and \xHH for the other ASCII
// controls, so that the result holds no raw line break. Other bytes,
// including non-ASCII UTF-8, are written as they are.
func backslashQuote(s string, quote byte) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// Schema returns the quoted, possibly qualified name of schema, spelled
// exactly as Table spells it before the table name.
func Schema(d Dialect, schema string) string {
	const probe = "t"
	return strings.TrimSuffix(d.Table(schema, probe), "."+d.QuoteIdent(probe))
}
