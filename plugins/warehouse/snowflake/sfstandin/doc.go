// Package sfstandin is a local stand-in for Snowflake, for tests and
// benchmarks: a protocol fixture that speaks the REST protocol the Go
// driver (github.com/snowflakedb/gosnowflake) uses, and executes the SQL
// it receives on an embedded DuckDB where that SQL is also valid DuckDB.
// It is not a Snowflake SQL emulator: it proves that a client drives the
// protocol correctly (login, sessions and their renewal, in-progress
// polling, result chunks, cancellation, errors), not that a statement
// means in DuckDB what it means in Snowflake.
//
// It needs cgo and the duckdb_arrow build tag. The API is for segflow's
// own tests and may change.
//
// # What it serves
//
// Plain HTTP; every answer is the {data, code, message, success} envelope.
//
//	POST /session/v1/login-request   password (SNOWFLAKE), key-pair JWT (SNOWFLAKE_JWT) or OAUTH;
//	                                 checked when Options says what to expect
//	POST /session/token-request      renews a session token with the master token
//	POST /session?delete=true        ends a session
//	POST /session/heartbeat, /telemetry/send   accepted
//	POST /queries/v1/query-request   runs sqlText with its bindings
//	GET  /queries/{id}/result        the result of a query that was still running
//	POST /queries/v1/abort-request   cancels the query of a requestId
//	GET  /monitoring/queries/{id}    a query's status
//	GET  /chunk/{id}/{n}             result chunks after the first
//
// A query runs in the background on its own DuckDB connection, with the
// session's database attached as a DuckDB catalog and its schema the
// default. If it has not finished after Options.ProgressAfter (Snowflake
// waits about 45 seconds), the answer is code 333333, or 333334 when the
// client asked for asyncExec, with a getResultUrl to poll.
//
// Results are Arrow typed as gosnowflake expects from each column's
// rowtype: NUMBER as the narrowest integer that holds the chunk's values
// (scaled by the column's scale) or decimal128 beyond int64; FLOAT as
// float64; TEXT as utf8; DATE as date32; TIMESTAMP_NTZ and TIMESTAMP_LTZ
// as {epoch, fraction} structs with scale 9. The first
// Options.FirstChunkRows rows travel inline in rowsetBase64; the rest in
// chunks of Options.ChunkRows rows behind chunk URLs, served as Arrow IPC
// streams (gzipped if Options.GzipChunks). DML and DDL answer with JSON
// rowsets, as Snowflake does. Column names that are plain lower-case
// identifiers are folded to upper case, as Snowflake folds unquoted names
// (a quoted lower-case alias is folded too: the stand-in cannot tell).
//
// # Translations
//
// Where Snowflake and DuckDB spell the same thing differently and DuckDB
// cannot run the Snowflake spelling, the stand-in rewrites the statement
// before running it; the list is deliberately short (translate.go):
//
//   - TABLE(GENERATOR(ROWCOUNT => n)) becomes range(n).
//   - SEQ4() and SEQ8() become range, the column of that range(n).
//   - A '...' string literal holding a backslash escape becomes DuckDB's
//     E'...', which reads the same escapes.
//   - The type names NUMBER, FLOAT and TIMESTAMP_NTZ become
//     DECIMAL(38,0), DOUBLE and TIMESTAMP (not when called or given a
//     precision).
//   - DATEDIFF(part, a, b) becomes date_diff('part', a, b), and
//     DATEADD(part, n, d) becomes d + to_parts(n).
//
// Errors come back in Snowflake's shape: success false, a code (001003
// syntax error, 000904 invalid identifier, 002003 missing object, 000604
// cancelled, 100038 conversion), a sqlState, and for compilation errors a
// message starting "SQL compilation error: error line L at position P"
// (P counted from 0), followed by DuckDB's own message.
//
// # Fault injection
//
//   - FailNext: the next n requests to a route answer with an HTTP status
//     (for example 503, which the driver retries).
//   - ExpireSessions: every current session token answers 390112 (session
//     expired) until the driver renews it at /session/token-request.
//   - SetQueryDelay: every query waits this long (cancellably) before it
//     runs, to make any query slow.
//
// Count, Queries and Logins report what the stand-in saw.
package sfstandin
