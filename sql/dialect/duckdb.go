package dialect

import (
	"fmt"
	"strings"
	"time"
)

// DuckDB is the dialect of DuckDB, segflow's embedded default warehouse.
type DuckDB struct{}

var _ Dialect = DuckDB{}

// Name implements Dialect.
func (DuckDB) Name() string { return "duckdb" }

// QuoteIdent implements Dialect. DuckDB delimits identifiers with double
// quotes and escapes a double quote inside by doubling it; no other
// character is special inside the quotes.
func (DuckDB) QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Table implements Dialect.
func (d DuckDB) Table(schema, name string) string {
	if schema == "" {
		return d.QuoteIdent(name)
	}
	return d.QuoteIdent(schema) + "." + d.QuoteIdent(name)
}

// DateLiteral implements Dialect.
func (DuckDB) DateLiteral(t time.Time) string {
	return fmt.Sprintf("DATE '%04d-%02d-%02d'", t.Year(), int(t.Month()), t.Day())
}

// StringLiteral implements Dialect. In DuckDB's standard strings a
// backslash is an ordinary character, so doubling single quotes is the
// only escape needed.
func (DuckDB) StringLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// TypeName implements Dialect.
func (DuckDB) TypeName(t Type) string {
	switch t {
	case String:
		return "VARCHAR"
	case Int64:
		return "BIGINT"
	case Float64:
		return "DOUBLE"
	case Bool:
		return "BOOLEAN"
	case Date:
		return "DATE"
	case Timestamp:
		return "TIMESTAMP"
	}
	panic(fmt.Sprintf("dialect: unknown type %v", t))
}

// DaysBetween implements Dialect.
func (DuckDB) DaysBetween(start, end string) string {
	return fmt.Sprintf("DATE_DIFF('day', %s, %s)", start, end)
}

// AddDays implements Dialect. DATE + INTEGER is a DATE in DuckDB.
func (DuckDB) AddDays(date, n string) string {
	return fmt.Sprintf("CAST((%s) + CAST((%s) AS INTEGER) AS DATE)", date, n)
}

// AddMonths implements Dialect. Adding an INTERVAL clamps the day to
// the end of a shorter month; the result is cast back from TIMESTAMP.
func (DuckDB) AddMonths(date, n string) string {
	return fmt.Sprintf("CAST((%s) + TO_MONTHS(CAST((%s) AS INTEGER)) AS DATE)", date, n)
}

// TruncMonth implements Dialect.
func (DuckDB) TruncMonth(date string) string {
	return fmt.Sprintf("CAST(DATE_TRUNC('month', %s) AS DATE)", date)
}

// MonthsBetween implements Dialect. DATE_DIFF counts month boundaries.
func (DuckDB) MonthsBetween(start, end string) string {
	return fmt.Sprintf("DATE_DIFF('month', %s, %s)", start, end)
}

// SafeDivide implements Dialect.
func (DuckDB) SafeDivide(num, den string) string {
	return fmt.Sprintf("(%s) / NULLIF(%s, 0)", num, den)
}

// Qualify implements Dialect.
func (DuckDB) Qualify(condition string) string { return "QUALIFY " + condition }

// CreateTableAs implements Dialect.
func (DuckDB) CreateTableAs(table, query string) string {
	return "CREATE OR REPLACE TABLE " + table + " AS\n" + query
}

// TimestampLiteral implements Dialect.
func (DuckDB) TimestampLiteral(t time.Time) string {
	return "TIMESTAMP '" + timestampText(t) + "'"
}

// MD5Hex implements Dialect.
func (DuckDB) MD5Hex(s string) string { return "md5(" + s + ")" }

// HashBucket implements Dialect. DuckDB casts a '0x'-prefixed string to
// an integer as hexadecimal.
func (d DuckDB) HashBucket(s string, buckets int) string {
	return fmt.Sprintf("(CAST('0x' || SUBSTRING(%s, 1, 8) AS BIGINT) %% %d)", d.MD5Hex(s), buckets)
}
