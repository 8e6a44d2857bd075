// Package state is segflow's runner metadata: the history of runs and
// their steps, and the coordination that lets several segflow instances
// share one schedule. (Segment snapshots and sync state are not here:
// they live as tables in the warehouse.)
//
// # Backends
//
// [OpenSQLite] keeps everything in one local file, the default for a
// single instance. It runs in WAL mode, waits on a locked database
// (busy_timeout) rather than failing, and sends all writes through one
// connection. Several processes on the same file are safe but not the
// point: use PostgreSQL for that.
//
// [OpenPostgres] is for high availability: every instance opens the same
// database and the store's tables live in their own schema
// ([DefaultSchema], "segflow_state"), so they are easy to find and to
// drop. [Open] picks the backend from its argument.
//
// Both apply their embedded migrations (migrations/<backend>/NNN_name.sql)
// when opened, recording them in a schema_migrations table; PostgreSQL
// serialises instances that migrate at once with an advisory lock.
//
// # Schema
//
//	runs       (id, job, trigger, scheduled_for, status, started_at, finished_at, error, instance)
//	           unique (job, scheduled_for) where trigger = 'schedule'
//	steps      (id, run_id → runs, kind, name, rows, bytes_scanned, duration_ms, error, sql, started_at)
//	job_locks  (job, instance, token, acquired_at, expires_at)
//
// # Coordination
//
// Two guarantees let instances share work without a leader:
//
//   - [Store.ClaimScheduledRun] inserts the run for (job, scheduled time)
//     with ON CONFLICT DO NOTHING on that unique index, so exactly one
//     instance runs each scheduled time.
//   - [Store.TryLockJob] is a lease: a row per job with an expiry that the
//     holder pushes forward ([Lock.Extend]) while it works. A holder that
//     dies stops extending and its lock expires after the TTL. Each
//     acquisition has its own token, so a holder that lost its lock can
//     neither extend nor release its successor's.
//
// jobs/schedule builds the scheduler on these. Package statetest is the
// behaviour every backend must have, run against both.
//
// The API is pre-1.0 and may change between minor versions.
package state
