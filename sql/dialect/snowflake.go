package dialect

import (
	"fmt"
	"strings"
	"time"
)

// Snowflake is the dialect of Snowflake.
//
// Names and case: Snowflake stores an unquoted identifier in upper case
// and a double-quoted one exactly as written. segflow handles the two
// kinds of names differently, and consistently:
//
//   - Names that come from the config (source tables and columns, the
//     output schema and database) and the tables segflow creates in the
//     output schema go through QuoteIdent or Table, so they are
//     case-sensitive: a config names Snowflake objects as they are
//     stored (an object created without quotes is stored in upper case:
//     ANALYTICS.PUBLIC.ORDERS). segflow's own tables are created with
//     quoted lower-case names ("rfm", "orders_clean", "segment_vip")
//     and every statement that reads them names them through Table too,
//     so writes and reads agree. In a worksheet, query them quoted:
//     SELECT * FROM ANALYTICS."rfm".
//   - Names segflow chooses itself inside a statement (column aliases,
//     CTE names, logical column names) are plain lower-case identifiers
//     written bare in the templates, so Snowflake folds them to upper
//     case wherever they appear, consistently: the rfm table's columns
//     are CUSTOMER_ID, RECENCY_DAYS, ..., and a segment's raw-SQL filter
//     may write them in any case. Result sets report them in upper case.
//
// An output schema is a schema, optionally qualified by its database
// ("SEGFLOW" or "ANALYTICS.SEGFLOW").
type Snowflake struct{}

var _ Dialect = Snowflake{}

// Name implements Dialect.
func (Snowflake) Name() string { return "snowflake" }

// QuoteIdent implements Dialect. Snowflake delimits identifiers with
// double quotes and escapes a double quote inside by doubling it; a
// backslash is an ordinary character in an identifier.
func (Snowflake) QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Table implements Dialect. schema is a schema or "database.schema".
func (d Snowflake) Table(schema, name string) string {
	var parts []string
	for _, p := range splitSchema(schema) {
		parts = append(parts, d.QuoteIdent(p))
	}
	return strings.Join(append(parts, d.QuoteIdent(name)), ".")
}

// DateLiteral implements Dialect.
func (Snowflake) DateLiteral(t time.Time) string {
	return fmt.Sprintf("DATE '%04d-%02d-%02d'", t.Year(), int(t.Month()), t.Day())
}

// StringLiteral implements Dialect. Snowflake's single-quoted strings
// take backslash escapes (an unknown one such as \d drops the
// backslash), so a backslash is doubled; a quote is written \', which
// Snowflake reads like a doubled quote.
func (Snowflake) StringLiteral(s string) string { return backslashQuote(s, '\'') }

// TypeName implements Dialect. Int64 is NUMBER, Snowflake's integer
// type (NUMBER(38, 0)), which holds every int64.
func (Snowflake) TypeName(t Type) string {
	switch t {
	case String:
		return "VARCHAR"
	case Int64:
		return "NUMBER"
	case Float64:
		return "FLOAT"
	case Bool:
		return "BOOLEAN"
	case Date:
		return "DATE"
	case Timestamp:
		return "TIMESTAMP_NTZ"
	}
	panic(fmt.Sprintf("dialect: unknown type %v", t))
}

// DaysBetween implements Dialect.
func (Snowflake) DaysBetween(start, end string) string {
	return fmt.Sprintf("DATEDIFF(day, %s, %s)", start, end)
}

// AddDays implements Dialect.
func (Snowflake) AddDays(date, n string) string {
	return fmt.Sprintf("DATEADD(day, %s, %s)", n, date)
}

// AddMonths implements Dialect. DATEADD clamps the day to the end of a
// shorter month.
func (Snowflake) AddMonths(date, n string) string {
	return fmt.Sprintf("DATEADD(month, %s, %s)", n, date)
}

// TruncMonth implements Dialect.
func (Snowflake) TruncMonth(date string) string {
	return fmt.Sprintf("DATE_TRUNC('MONTH', %s)", date)
}

// MonthsBetween implements Dialect. DATEDIFF counts month boundaries
// (Snowflake's MONTHS_BETWEEN returns a fraction instead).
func (Snowflake) MonthsBetween(start, end string) string {
	return fmt.Sprintf("DATEDIFF(month, %s, %s)", start, end)
}

// SafeDivide implements Dialect. Snowflake's DIV0 returns 0, not NULL.
func (Snowflake) SafeDivide(num, den string) string {
	return fmt.Sprintf("(%s) / NULLIF(%s, 0)", num, den)
}

// Qualify implements Dialect.
func (Snowflake) Qualify(condition string) string { return "QUALIFY " + condition }

// CreateTableAs implements Dialect.
func (Snowflake) CreateTableAs(table, query string) string {
	return "CREATE OR REPLACE TABLE " + table + " AS\n" + query
}

// TimestampLiteral implements Dialect. TIMESTAMP is TIMESTAMP_NTZ by
// default; segflow writes UTC.
func (Snowflake) TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + timestampText(t) + "'"
}

// MD5Hex implements Dialect. Snowflake's MD5 already returns the hex
// VARCHAR; the cast is a no-op there, and is what lets the ZetaSQL fork,
// which types MD5 as BYTES, analyse the statement.
func (Snowflake) MD5Hex(s string) string { return "CAST(MD5(" + s + ") AS VARCHAR)" }

// HashBucket implements Dialect: TO_NUMBER with an X format reads hex.
func (d Snowflake) HashBucket(s string, buckets int) string {
	return fmt.Sprintf("MOD(TO_NUMBER(SUBSTR(%s, 1, 8), 'XXXXXXXX'), %d)", d.MD5Hex(s), buckets)
}
