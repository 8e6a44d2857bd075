// Package bqstandin is a local stand-in for BigQuery, for tests and
// benchmarks: a protocol fixture that speaks the wire protocols the
// official Go client (cloud.google.com/go/bigquery) uses, and executes
// the SQL it receives on an embedded DuckDB where that SQL is also valid
// DuckDB. It is not a BigQuery SQL emulator: it proves that a client
// drives the protocol correctly (jobs, polling, the Storage Read API,
// retries, cancellation, errors), not that a statement means in DuckDB
// what it means in BigQuery.
//
// It needs cgo and the duckdb_arrow build tag. The API is for segflow's
// own tests and may change.
//
// # What it serves
//
// REST, JSON, no authentication, with or without the /bigquery/v2 prefix:
//
//	POST /projects/{p}/jobs                  jobs.insert (query jobs; configuration.dryRun answers at once)
//	GET  /projects/{p}/jobs/{j}              jobs.get, with configuration.query.destinationTable
//	POST /projects/{p}/jobs/{j}/cancel       jobs.cancel (interrupts DuckDB)
//	GET  /projects/{p}/queries/{j}           jobs.getQueryResults: waits for the job, then pages rows
//	GET  /projects/{p}/datasets/{d}          datasets.get
//	GET  /projects/{p}/datasets/{d}/tables/{t}  tables.get, for result and real tables
//
// gRPC google.cloud.bigquery.storage.v1.BigQueryRead, plaintext, using the
// real protos (cloud.google.com/go/bigquery/storage/apiv1/storagepb):
// CreateReadSession answers with one bare Arrow schema message and up to
// preferred_min_stream_count streams (one when max_stream_count is 1, none
// for an empty result); ReadRows streams bare record-batch messages of
// Options.BatchRows rows and honours the request's offset, so a client
// that reconnects after a dropped stream resumes where it stopped.
//
// Each query job runs in the background on its own DuckDB connection, with
// the project attached as a DuckDB catalog and each dataset a schema; its
// result is kept as Arrow in BigQuery's types (INT64 as int64, NUMERIC as
// decimal128(38,9), TIMESTAMP as timestamp[us, UTC], DATETIME as
// timestamp[us], ...) under an anonymous destination table, as BigQuery
// does. The last few results are kept; older ones are dropped.
//
// # Translations
//
// Where BigQuery and DuckDB spell the same thing differently and DuckDB
// cannot run the BigQuery spelling, the stand-in rewrites the statement
// before running it. The list is deliberately short (see translate.go);
// positions in error messages refer to the rewritten text, which keeps
// every line where it was:
//
//   - `a.b.c` (backquoted names) become "a"."b"."c".
//   - The type names FLOAT64, NUMERIC, BIGNUMERIC, BYTES, DATETIME and
//     TIMESTAMP become DOUBLE, DECIMAL(38,9), DECIMAL(38,9), BLOB,
//     TIMESTAMP and TIMESTAMPTZ (not when called as a function).
//   - UNNEST(GENERATE_ARRAY(a, b)) AS x becomes range(a, (b) + 1) AS x(x).
//   - A '...' string literal holding a backslash escape becomes DuckDB's
//     E'...', which reads the same escapes.
//   - DATE_DIFF(end, start, PART) becomes date_diff('part', start, end).
//
// Errors come back as BigQuery reports them: a failed job has
// status.errorResult {reason: invalidQuery, location: query} and
// getQueryResults answers 400 with the same error; DuckDB's position is
// appended in BigQuery's form, "... at [line:column]".
//
// # Fault injection
//
//   - FailNext: the next n requests to a REST route answer with an HTTP
//     error (for example 503 backendError).
//   - FailNextRPC: the next n CreateReadSession or ReadRows calls fail
//     with a gRPC code.
//   - FailNextJobs: the next n jobs finish with an error result (for
//     example backendError) without running.
//   - DropReadRows: the next n ReadRows streams break after k messages.
//   - SetQueryDelay: every job waits this long (cancellably) before it
//     runs, to make any query slow.
//
// Count, ReadRowsOffsets and Jobs report what the stand-in saw, so tests
// can assert that a client retried, resumed or cancelled.
package bqstandin
