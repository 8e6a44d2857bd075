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
// # Dialects
//
// [DuckDB], [BigQuery] and [Snowflake] are implemented; [Get] returns
// them by name. What each decides:
//
//   - Quoting: DuckDB and Snowflake delimit identifiers with double
//     quotes (a quote inside doubled); BigQuery with backticks, escaping
//     a backtick, a backslash and control characters with backslash
//     escapes. String literals are single-quoted: doubled quotes in
//     DuckDB, backslash escapes in BigQuery and Snowflake (which both
//     read \' and would drop a lone backslash).
//   - Qualified names: [Dialect.Table] splits a BigQuery or Snowflake
//     schema on its dot ("project.dataset", "database.schema") and
//     quotes each part; a DuckDB schema is one name.
//   - Case: DuckDB and BigQuery keep names as written. Snowflake folds
//     unquoted names to upper case; see [Snowflake] for how segflow's
//     quoted lower-case table names and bare column names stay
//     consistent.
//   - Dates: [Dialect.DaysBetween], [Dialect.AddDays],
//     [Dialect.AddMonths] (clamping to the end of a shorter month in
//     every dialect), [Dialect.TruncMonth] and [Dialect.MonthsBetween]
//     (month boundaries; the same everywhere on first days of months).
//   - [Dialect.SafeDivide]: SAFE_DIVIDE in BigQuery, x / NULLIF(y, 0)
//     elsewhere.
//   - [Dialect.Qualify]: all three support QUALIFY; BigQuery requires a
//     WHERE, GROUP BY or HAVING in the same SELECT.
//   - Types ([Dialect.TypeName]): DuckDB VARCHAR, BIGINT, DOUBLE,
//     BOOLEAN, DATE, TIMESTAMP; BigQuery STRING, INT64, FLOAT64, BOOL,
//     DATE, TIMESTAMP; Snowflake VARCHAR, NUMBER, FLOAT, BOOLEAN, DATE,
//     TIMESTAMP_NTZ.
//   - Parameters: a positional ? ([Placeholder]) everywhere.
//   - [Dialect.CreateTableAs]: CREATE OR REPLACE TABLE ... AS in all three.
//
// The BigQuery and Snowflake output is checked with ZetaSQL's analyzers
// (package sql/zetasql) in the tests. The Snowflake analyzer is a fork
// of ZetaSQL that reads "..." identifiers with GoogleSQL's backslash
// escapes, unlike Snowflake; the quoting tests follow Snowflake's
// documented rules for names holding a quote or a backslash.
//
// The API is pre-1.0 and may change between minor versions.
package dialect
