// Package zetasql checks rendered BigQuery and Snowflake SQL with ZetaSQL,
// the analyzer behind BigQuery, as DESIGN §8 asks: a statement that names an
// unknown table, column or function, or passes a function the wrong argument
// types, is an error here without a warehouse to run it on.
//
// # Servers
//
// The analyzers are the prebuilt servers of two npm packages pinned in
// tools/zetasql (`npm ci --prefix tools/zetasql` installs them):
// @fivetrandevelopers/zetasql (Google's ZetaSQL, for [BigQuery]) and
// @fivetrandevelopers/zetasql-snowflake (Fivetran's Snowflake fork, for
// [Snowflake]). Each is an executable, lib/<dir>/remote_server.so, run as
// `remote_server.so localhost PORT`, that serves ZetaSQL's gRPC
// ZetaSqlLocalService. [Start] runs one on a free port, as the packages' own
// JavaScript client does, and talks to it with the Go code in zetasqlpb,
// generated from the subset of ZetaSQL's protos in proto/ (`go generate`).
// A server answers within a fraction of a second, so each test starts its
// own: see [StartForTest].
//
// # What is checked
//
// [Analyzer.Analyze] analyses one statement against a catalog of the given
// tables plus ZetaSQL's builtin functions, with every language feature the
// server knows enabled. BigQuery is analysed in ZetaSQL's external product
// mode (BigQuery's types and functions); Snowflake in the internal mode, as
// the fork's own tests do. A qualified table name such as "p.d.t" is found
// however the statement quotes it: p.d.t, `p.d.t`, `p.d`.t, ...
// [Analyzer.AnalyzeAll] analyses a sequence of statements the way segflow's
// models run: a table created by CREATE TABLE ... AS SELECT is visible to the
// statements after it, with the columns the analyzer inferred for it.
//
// # Known differences from the warehouses
//
// Both analyzers accept QUALIFY only in a SELECT that also has WHERE, GROUP
// BY or HAVING (`WHERE TRUE QUALIFY ...` passes); Snowflake does not require
// that. The Snowflake fork lacks some Snowflake syntax and
// functions (WITHIN GROUP, DIV0, ...) and maps NUMBER to ZetaSQL's NUMERIC,
// so NUMBER(38, 2) is rejected (precision at most 29 + scale).
package zetasql
