package dialect

import (
	"fmt"
	"strings"
	"time"
)

// BigQuery is the dialect of Google BigQuery (GoogleSQL).
//
// Names: identifiers are delimited with backticks, each part of a path
// separately (`project`.`dataset`.`table`). BigQuery compares dataset
// and table names case-sensitively and column names case-insensitively,
// and keeps names as written, so segflow's lower-case names need no
// further care. An output schema is a dataset, optionally qualified by
// its project ("analytics" or "my-project.analytics").
type BigQuery struct{}

var _ Dialect = BigQuery{}

// Name implements Dialect.
func (BigQuery) Name() string { return "bigquery" }

// QuoteIdent implements Dialect. A backtick-quoted identifier takes the
// escapes of a GoogleSQL string literal: a backtick and a backslash are
// escaped with a backslash, and control characters are written as
// escapes since a quoted identifier may not span lines.
func (BigQuery) QuoteIdent(name string) string { return backslashQuote(name, '`') }

// Table implements Dialect. schema is a dataset or "project.dataset".
func (d BigQuery) Table(schema, name string) string {
	var parts []string
	for _, p := range splitSchema(schema) {
		parts = append(parts, d.QuoteIdent(p))
	}
	return strings.Join(append(parts, d.QuoteIdent(name)), ".")
}

// DateLiteral implements Dialect.
func (BigQuery) DateLiteral(t time.Time) string {
	return fmt.Sprintf("DATE '%04d-%02d-%02d'", t.Year(), int(t.Month()), t.Day())
}

// StringLiteral implements Dialect. GoogleSQL strings take backslash
// escapes; a quote is escaped as \', not by doubling.
func (BigQuery) StringLiteral(s string) string { return backslashQuote(s, '\'') }

// TypeName implements Dialect.
func (BigQuery) TypeName(t Type) string {
	switch t {
	case String:
		return "STRING"
	case Int64:
		return "INT64"
	case Float64:
		return "FLOAT64"
	case Bool:
		return "BOOL"
	case Date:
		return "DATE"
	case Timestamp:
		return "TIMESTAMP"
	}
	panic(fmt.Sprintf("dialect: unknown type %v", t))
}

// DaysBetween implements Dialect.
func (BigQuery) DaysBetween(start, end string) string {
	return fmt.Sprintf("DATE_DIFF(%s, %s, DAY)", end, start)
}

// AddDays implements Dialect.
func (BigQuery) AddDays(date, n string) string {
	return fmt.Sprintf("DATE_ADD(%s, INTERVAL (%s) DAY)", date, n)
}

// AddMonths implements Dialect. DATE_ADD clamps the day to the end of a
// shorter month.
func (BigQuery) AddMonths(date, n string) string {
	return fmt.Sprintf("DATE_ADD(%s, INTERVAL (%s) MONTH)", date, n)
}

// TruncMonth implements Dialect.
func (BigQuery) TruncMonth(date string) string {
	return fmt.Sprintf("DATE_TRUNC(%s, MONTH)", date)
}

// MonthsBetween implements Dialect. DATE_DIFF counts month boundaries.
func (BigQuery) MonthsBetween(start, end string) string {
	return fmt.Sprintf("DATE_DIFF(%s, %s, MONTH)", end, start)
}

// SafeDivide implements Dialect.
func (BigQuery) SafeDivide(num, den string) string {
	return fmt.Sprintf("SAFE_DIVIDE(%s, %s)", num, den)
}

// Qualify implements Dialect.
func (BigQuery) Qualify(condition string) string { return "QUALIFY " + condition }

// CreateTableAs implements Dialect.
func (BigQuery) CreateTableAs(table, query string) string {
	return "CREATE OR REPLACE TABLE " + table + " AS\n" + query
}

// TimestampLiteral implements Dialect.
func (BigQuery) TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + timestampText(t) + "+00'"
}

// MD5Hex implements Dialect. BigQuery's MD5 returns BYTES.
func (BigQuery) MD5Hex(s string) string { return "TO_HEX(MD5(" + s + "))" }

// HashBucket implements Dialect. GoogleSQL casts a '0x'-prefixed string
// to INT64 as hexadecimal.
func (d BigQuery) HashBucket(s string, buckets int) string {
	return fmt.Sprintf("MOD(CAST(CONCAT('0x', SUBSTR(%s, 1, 8)) AS INT64), %d)", d.MD5Hex(s), buckets)
}
