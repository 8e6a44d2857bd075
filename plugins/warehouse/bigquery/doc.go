// Package bigquery is the BigQuery warehouse plugin, built on
// cloud.google.com/go/bigquery.
//
// # Configuration
//
//	project               the project that runs (and pays for) the jobs; required
//	dataset               default dataset for unqualified table names; required
//	location              job location, such as US or europe-west1; empty lets BigQuery infer it
//	credentials_file      a service-account key (JSON); empty uses application default credentials
//	labels                map of labels put on every job, for cost attribution
//	maximum_bytes_billed  BigQuery refuses a statement that would bill more; 0 = project default
//	priority              interactive (default) or batch
//
// Decoding is strict: an unknown or mistyped field is a core.FieldError
// naming it, as is every invalid value.
//
// # How statements run
//
// Every statement runs as a job (jobs.insert) with a job ID the plugin
// chooses, so that it can be cancelled even if the insert never answered.
// The plugin polls the job; when the caller's context is cancelled it
// cancels the job (jobs.cancel) and returns the context's error. A job
// that fails for a transient reason (backendError, internalError,
// jobInternalError, rateLimitExceeded, jobRateLimitExceeded) runs again
// with backoff, up to four times; the client library already retries 5xx answers of the
// individual calls.
//
// Query results are read as Arrow through the Storage Read API
// (job.Read, then the iterator's ArrowIterator): the plugin decodes the
// schema and record-batch messages itself with arrow-go v18 (the client
// uses Arrow v15 internally). Column types are BigQuery's: INT64 as int64,
// NUMERIC as decimal128(38, 9), BIGNUMERIC as decimal256(76, 38),
// TIMESTAMP as timestamp[us, UTC], DATETIME as timestamp[us], DATE as
// date32. A result is never returned short: if the rows read disagree
// with the result table's row count, the reader fails with
// core.ErrIncompleteResult. When a read session cannot be opened (the
// credentials lack bigquery.readsessions.create, for example) the client
// falls back to REST; the plugin then reads results of up to 10,000 rows
// row by row, logs that it did, and refuses larger ones.
//
// Parameters bind to the statement's ? placeholders as BigQuery
// positional query parameters. A nil parameter has no BigQuery type, so
// it is written into the statement as NULL instead.
//
// Errors: a rejected statement is a *core.SQLError whose Line and Column
// come from BigQuery's "[line:column]"; authentication and permission
// failures say which and what to check.
//
// DryRun (capability dry_run) returns BigQuery's totalBytesProcessed
// estimate. DescribeTable accepts table, dataset.table or
// project.dataset.table.
//
// Tests run against bqstandin, a local stand-in for the REST and Storage
// Read protocols; TestIntegrationBigQuery* run against a real project when
// SEGFLOW_BIGQUERY_PROJECT and GOOGLE_APPLICATION_CREDENTIALS are set.
package bigquery
