// Package snowflake is the Snowflake warehouse plugin, built on the
// gosnowflake driver.
//
// # Configuration
//
//	account               account identifier, such as myorg-myaccount; required
//	user                  user to log in as; required unless token is an OAuth token that names it
//	password              password login, or
//	private_key_file      key-pair login: unencrypted RSA key in PEM (PKCS#8 or PKCS#1), or
//	token                 OAuth access token; exactly one of the three
//	warehouse, role, database, schema   session defaults
//	query_tag             QUERY_TAG set on every session
//	preserve_column_case  keep upper-case column names (default: lower-case them)
//
// Decoding is strict: an unknown or mistyped field is a core.FieldError
// naming it, as is every invalid value.
//
// # How statements run
//
// Queries read Arrow batches straight from the driver (WithArrowBatches,
// then each batch's Fetch), downloading up to four result chunks ahead
// of the reader. The driver hands Arrow over in Snowflake's physical
// types, which vary per chunk (a NUMBER arrives as the narrowest integer
// that holds the chunk's values); the plugin takes the result's schema
// from the column types Snowflake reports and converts every batch to it:
// NUMBER(p, 0) as int64, NUMBER(p, s) as decimal128(p, s), FLOAT as
// float64, DATE as date32, TIMESTAMP_NTZ as timestamp[us],
// TIMESTAMP_LTZ and TIMESTAMP_TZ as timestamp[us, UTC], TIME as
// time64[ns], BINARY as binary and everything else (TEXT, VARIANT, ...)
// as text. Microseconds, not nanoseconds: nanosecond timestamps overflow
// after 2262, and "9999-12-31" is a common end date.
//
// Snowflake folds unquoted names to upper case; column names entirely in
// upper case are reported in lower case (as SQLAlchemy's Snowflake
// dialect does), so that SELECT customer_id yields "customer_id" as on
// the other warehouses. Quoted names with lower-case letters are kept.
//
// The driver does the protocol work: a statement still running after one
// request is polled at the result URL Snowflake returns (codes 333333 and
// 333334), an expired session (390112) is renewed with the master token,
// 5xx answers are retried, and when the caller's context is cancelled the
// driver sends abort-request so the statement stops in the warehouse.
//
// Parameters bind to the statement's ? placeholders. A rejected
// statement is a *core.SQLError whose Line and Column come from
// Snowflake's "error line L at position P" (Column = P + 1); a failed
// login says so. Snowflake has no bytes estimate, so DryRun returns
// core.ErrNotImplemented; DescribeTable reads a LIMIT 0 result.
//
// Tests run against sfstandin, a local stand-in for the REST protocol;
// TestIntegrationSnowflake* run against a real account when the
// SEGFLOW_SNOWFLAKE_* variables are set (see integration_test.go).
package snowflake
