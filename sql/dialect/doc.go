// Package dialect describes how the SQL that segflow renders differs
// between warehouses.
//
// Model templates (package sql/models) are written once in ANSI-style SQL.
// Everything that is spelled differently per warehouse goes through a
// [Dialect]: quoting identifiers, writing literals, type names, date
// arithmetic and the CREATE TABLE ... AS wrapper. A new warehouse is
// added by implementing Dialect; a template overrides the ANSI file only
// where a whole statement has to be shaped differently.
//
// # Safety
//
// Anything that came from a user (schema and table names, physical
// column names, segment names) reaches SQL only through
// [Dialect.QuoteIdent] or [Dialect.Table], and string values only through
// [Dialect.StringLiteral], so that no input can end the quoted form
// early. The quoting functions accept any string; an empty identifier
// quotes to an empty delimited identifier, which warehouses reject, so
// callers validate names before rendering.
//
// # Status
//
// Only "duckdb" is implemented. "bigquery" and "snowflake" are known
// names for which [Get] returns [ErrNotYetSupported].
//
// The API is pre-1.0 and may change between minor versions.
package dialect
