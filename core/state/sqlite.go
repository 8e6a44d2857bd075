package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// sqliteTime is how SQLite columns hold times: UTC, fixed width, so text
// order is time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// sqliteStore writes through a single connection (SQLite has one writer
// at a time; queuing in-process beats spinning on SQLITE_BUSY) and reads
// through a small pool, which WAL lets run beside the writer. Other
// processes on the same file wait up to busy_timeout.
type sqliteStore struct {
	w, r *sql.DB
	now  func() time.Time
}

// OpenSQLite opens (creating it and its directory if needed) the SQLite
// state file at path and brings its schema up to date.
func OpenSQLite(path string) (Store, error) {
	if path == "" {
		return nil, errors.New("state: no SQLite path given")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	const common = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	s := &sqliteStore{w: w, r: w, now: time.Now}
	if err := s.migrate(); err != nil {
		w.Close()
		return nil, fmt.Errorf("state: migrate %s: %w", path, err)
	}
	if path != ":memory:" { // an in-memory database lives in its one connection
		s.r, err = sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("state: open %s: %w", path, err)
		}
		s.r.SetMaxOpenConns(4)
	}
	return s, nil
}

func (s *sqliteStore) migrate() error {
	ms, err := migrations("sqlite")
	if err != nil {
		return err
	}
	tx, err := s.w.Begin() // BEGIN IMMEDIATE: one process migrates at a time
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.Exec(m.SQL); err != nil {
			return fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, fmtTime(s.now())); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteStore) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(sqliteTime)
}

func parseTime(ns sql.NullString) (time.Time, error) {
	if !ns.Valid {
		return time.Time{}, nil
	}
	return time.Parse(sqliteTime, ns.String)
}

const sqliteRunCols = `id, job, trigger, scheduled_for, status, started_at, finished_at, error, instance`

func scanSQLiteRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var sched, started, finished sql.NullString
	if err := row.Scan(&r.ID, &r.Job, &r.Trigger, &sched, &r.Status, &started, &finished, &r.Error, &r.Instance); err != nil {
		return r, err
	}
	var errs [3]error
	r.ScheduledFor, errs[0] = parseTime(sched)
	r.StartedAt, errs[1] = parseTime(started)
	r.FinishedAt, errs[2] = parseTime(finished)
	return r, errors.Join(errs[:]...)
}

func (s *sqliteStore) CreateRun(ctx context.Context, run Run) (Run, error) {
	run, err := prepare(run, s.now())
	if err != nil {
		return run, err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO runs (`+sqliteRunCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		run.ID, run.Job, run.Trigger, fmtTime(run.ScheduledFor), run.Status,
		fmtTime(run.StartedAt), fmtTime(run.FinishedAt), run.Error, run.Instance)
	if err != nil {
		return run, fmt.Errorf("state: create run of %s: %w", run.Job, err)
	}
	return run, nil
}

func (s *sqliteStore) FinishRun(ctx context.Context, id, status, errMsg string, finishedAt time.Time) error {
	if err := checkStatus(status, true); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?`,
		status, errMsg, fmtTime(finishedAt), id)
	if err != nil {
		return fmt.Errorf("state: finish run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("finish run %s: %w", id, ErrNotFound)
	}
	return nil
}

func (s *sqliteStore) AddStep(ctx context.Context, runID string, st Step) error {
	// Selecting the run tells a missing run apart from other failures.
	res, err := s.w.ExecContext(ctx, `INSERT INTO steps
		(run_id, kind, name, rows, bytes_scanned, duration_ms, error, sql, detail, started_at)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM runs WHERE id = ?`,
		st.Kind, st.Name, st.Rows, st.BytesScanned, st.DurationMs, st.Error, st.SQL, st.Detail, fmtTime(st.StartedAt), runID)
	if err != nil {
		return fmt.Errorf("state: add step to run %s: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("add step to run %s: %w", runID, ErrNotFound)
	}
	return nil
}

func (s *sqliteStore) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sqliteRunCols+` FROM runs
		WHERE (? = '' OR job = ?) ORDER BY started_at DESC, id DESC LIMIT ?`, f.Job, f.Job, limit(f))
	if err != nil {
		return nil, fmt.Errorf("state: list runs: %w", err)
	}
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		r, err := scanSQLiteRun(rows)
		if err != nil {
			return nil, fmt.Errorf("state: list runs: %w", err)
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

func (s *sqliteStore) GetRun(ctx context.Context, id string) (Run, []Step, error) {
	run, err := scanSQLiteRun(s.r.QueryRowContext(ctx, `SELECT `+sqliteRunCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return run, nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return run, nil, fmt.Errorf("state: get run %s: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, name, rows, bytes_scanned, duration_ms, error, sql, detail, started_at
		FROM steps WHERE run_id = ? ORDER BY id`, id)
	if err != nil {
		return run, nil, fmt.Errorf("state: get steps of run %s: %w", id, err)
	}
	defer rows.Close()
	var steps []Step
	for rows.Next() {
		var st Step
		var started sql.NullString
		if err := rows.Scan(&st.Kind, &st.Name, &st.Rows, &st.BytesScanned, &st.DurationMs, &st.Error, &st.SQL, &st.Detail, &started); err != nil {
			return run, nil, fmt.Errorf("state: get steps of run %s: %w", id, err)
		}
		if st.StartedAt, err = parseTime(started); err != nil {
			return run, nil, err
		}
		steps = append(steps, st)
	}
	return run, steps, rows.Err()
}

func (s *sqliteStore) ClaimScheduledRun(ctx context.Context, job string, scheduledFor time.Time, instance string) (bool, Run, error) {
	run, err := prepare(Run{Job: job, Trigger: TriggerSchedule, ScheduledFor: scheduledFor, Instance: instance}, s.now())
	if err != nil {
		return false, run, err
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO runs (`+sqliteRunCols+`) VALUES (?, ?, ?, ?, ?, ?, NULL, '', ?)
		ON CONFLICT (job, scheduled_for) WHERE trigger = 'schedule' DO NOTHING`,
		run.ID, run.Job, run.Trigger, fmtTime(run.ScheduledFor), run.Status, fmtTime(run.StartedAt), run.Instance)
	if err != nil {
		return false, run, fmt.Errorf("state: claim %s at %s: %w", job, run.ScheduledFor.Format(time.RFC3339), err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, run, nil
	}
	won, err := scanSQLiteRun(s.w.QueryRowContext(ctx, `SELECT `+sqliteRunCols+` FROM runs
		WHERE job = ? AND scheduled_for = ? AND trigger = 'schedule'`, job, fmtTime(run.ScheduledFor)))
	if err != nil {
		return false, won, fmt.Errorf("state: claim %s at %s: read the winner: %w", job, run.ScheduledFor.Format(time.RFC3339), err)
	}
	return false, won, nil
}

func (s *sqliteStore) TryLockJob(ctx context.Context, job, instance string, ttl time.Duration) (*Lock, bool, error) {
	now := s.now()
	token := newToken()
	var got string
	err := s.w.QueryRowContext(ctx, `INSERT INTO job_locks (job, instance, token, acquired_at, expires_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (job) DO UPDATE SET instance = excluded.instance, token = excluded.token,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
		WHERE job_locks.expires_at <= excluded.acquired_at
		RETURNING token`,
		job, instance, token, fmtTime(now), fmtTime(now.Add(ttl))).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: lock job %s: %w", job, err)
	}
	return &Lock{Job: job, Instance: instance, token: token, backend: s}, true, nil
}

func (s *sqliteStore) LockHolder(ctx context.Context, job string) (string, bool, error) {
	var instance string
	err := s.r.QueryRowContext(ctx, `SELECT instance FROM job_locks WHERE job = ?`, job).Scan(&instance)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state: lock holder of job %s: %w", job, err)
	}
	return instance, true, nil
}

func (s *sqliteStore) BreakLock(ctx context.Context, job, instance string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM job_locks WHERE job = ? AND instance = ?`, job, instance); err != nil {
		return fmt.Errorf("state: break lock of job %s: %w", job, err)
	}
	return nil
}

func (s *sqliteStore) extendLock(ctx context.Context, job, token string, ttl time.Duration) error {
	res, err := s.w.ExecContext(ctx, `UPDATE job_locks SET expires_at = ? WHERE job = ? AND token = ?`,
		fmtTime(s.now().Add(ttl)), job, token)
	if err != nil {
		return fmt.Errorf("state: extend lock of job %s: %w", job, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %s: %w", job, ErrLockLost)
	}
	return nil
}

func (s *sqliteStore) releaseLock(ctx context.Context, job, token string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM job_locks WHERE job = ? AND token = ?`, job, token)
	if err != nil {
		return fmt.Errorf("state: release lock of job %s: %w", job, err)
	}
	return nil
}

func (s *sqliteStore) LastScheduledFor(ctx context.Context, job string) (time.Time, bool, error) {
	var last sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT MAX(scheduled_for) FROM runs WHERE job = ? AND trigger = 'schedule'`, job).Scan(&last)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state: last scheduled time of %s: %w", job, err)
	}
	t, err := parseTime(last)
	return t, last.Valid, err
}

func (s *sqliteStore) AbandonRuns(ctx context.Context, job, errMsg string, finishedAt time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET status = 'failed', error = ?, finished_at = ?
		WHERE job = ? AND status = 'running'`, errMsg, fmtTime(finishedAt), job)
	if err != nil {
		return 0, fmt.Errorf("state: abandon runs of %s: %w", job, err)
	}
	return res.RowsAffected()
}
