package state

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultSchema is the PostgreSQL schema that holds segflow's tables.
const DefaultSchema = "segflow_state"

// PostgresOption configures OpenPostgres.
type PostgresOption func(*pgOptions)

type pgOptions struct {
	schema   string
	maxConns int
}

// WithSchema keeps the tables in schema instead of DefaultSchema. It is
// created if missing.
func WithSchema(schema string) PostgresOption { return func(o *pgOptions) { o.schema = schema } }

// WithMaxConns bounds the connections the store opens (default 4).
func WithMaxConns(n int) PostgresOption { return func(o *pgOptions) { o.maxConns = n } }

type pgStore struct {
	pool *pgPool
	now  func() time.Time
}

// OpenPostgres connects to PostgreSQL (a postgres:// URL or key=value
// DSN), creates the store's schema if missing and brings it up to date.
// Instances that open the same database at once migrate one after the
// other (pg_advisory_xact_lock). Lock expiry is judged by the database's
// clock, so instances with skewed clocks still agree.
func OpenPostgres(ctx context.Context, dsn string, opts ...PostgresOption) (Store, error) {
	o := pgOptions{schema: DefaultSchema, maxConns: 4}
	for _, opt := range opts {
		opt(&o)
	}
	if o.schema == "" || o.maxConns < 1 {
		return nil, errors.New("state: PostgreSQL schema must be set and max connections at least 1")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("state: PostgreSQL DSN: %w", err)
	}
	schema := pgx.Identifier{o.schema}.Sanitize()
	cfg.RuntimeParams["search_path"] = schema
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "segflow"
	}
	s := &pgStore{pool: newPGPool(cfg, o.maxConns), now: time.Now}
	if err := s.migrate(ctx, o.schema, schema); err != nil {
		s.pool.close()
		return nil, fmt.Errorf("state: PostgreSQL %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	return s, nil
}

func (s *pgStore) migrate(ctx context.Context, name, quoted string) error {
	ms, err := migrations("postgres")
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write([]byte("segflow/state/migrate/" + name))
	key := int64(h.Sum64())
	return s.with(ctx, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		for _, q := range []string{
			fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", key),
			"CREATE SCHEMA IF NOT EXISTS " + quoted,
			"SET LOCAL search_path TO " + quoted,
			`CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
}

func (s *pgStore) Close() error {
	s.pool.close()
	return nil
}

func (s *pgStore) with(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.pool.release(c)
	return fn(c)
}

func pgTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

const pgRunCols = `id, job, trigger, scheduled_for, status, started_at, finished_at, error, instance`

func scanPGRun(row pgx.Row) (Run, error) {
	var r Run
	var sched, finished *time.Time
	err := row.Scan(&r.ID, &r.Job, &r.Trigger, &sched, &r.Status, &r.StartedAt, &finished, &r.Error, &r.Instance)
	r.ScheduledFor, r.StartedAt, r.FinishedAt = utc(sched), r.StartedAt.UTC(), utc(finished)
	return r, err
}

func (s *pgStore) CreateRun(ctx context.Context, run Run) (Run, error) {
	run, err := prepare(run, s.now())
	if err != nil {
		return run, err
	}
	err = s.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO runs (`+pgRunCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			run.ID, run.Job, run.Trigger, pgTime(run.ScheduledFor), run.Status,
			run.StartedAt, pgTime(run.FinishedAt), run.Error, run.Instance)
		return err
	})
	if err != nil {
		return run, fmt.Errorf("state: create run of %s: %w", run.Job, err)
	}
	return run, nil
}

func (s *pgStore) FinishRun(ctx context.Context, id, status, errMsg string, finishedAt time.Time) error {
	if err := checkStatus(status, true); err != nil {
		return err
	}
	var n int64
	err := s.with(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE id = $4`,
			status, errMsg, pgTime(norm(finishedAt)), id)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("state: finish run %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("finish run %s: %w", id, ErrNotFound)
	}
	return nil
}

func (s *pgStore) AddStep(ctx context.Context, runID string, st Step) error {
	var n int64
	err := s.with(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `INSERT INTO steps
			(run_id, kind, name, rows, bytes_scanned, duration_ms, error, sql, detail, started_at)
			SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM runs WHERE id = $1`,
			runID, st.Kind, st.Name, st.Rows, st.BytesScanned, st.DurationMs, st.Error, st.SQL, st.Detail, pgTime(norm(st.StartedAt)))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("state: add step to run %s: %w", runID, err)
	}
	if n == 0 {
		return fmt.Errorf("add step to run %s: %w", runID, ErrNotFound)
	}
	return nil
}

func (s *pgStore) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	var runs []Run
	err := s.with(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+pgRunCols+` FROM runs
			WHERE ($1 = '' OR job = $1) ORDER BY started_at DESC, id DESC LIMIT $2`, f.Job, limit(f))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanPGRun(rows)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("state: list runs: %w", err)
	}
	return runs, nil
}

func (s *pgStore) GetRun(ctx context.Context, id string) (Run, []Step, error) {
	var run Run
	var steps []Step
	err := s.with(ctx, func(c *pgx.Conn) error {
		var err error
		if run, err = scanPGRun(c.QueryRow(ctx, `SELECT `+pgRunCols+` FROM runs WHERE id = $1`, id)); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT kind, name, rows, bytes_scanned, duration_ms, error, sql, detail, started_at
			FROM steps WHERE run_id = $1 ORDER BY id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st Step
			var started *time.Time
			if err := rows.Scan(&st.Kind, &st.Name, &st.Rows, &st.BytesScanned, &st.DurationMs, &st.Error, &st.SQL, &st.Detail, &started); err != nil {
				return err
			}
			st.StartedAt = utc(started)
			steps = append(steps, st)
		}
		return rows.Err()
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return run, nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return run, nil, fmt.Errorf("state: get run %s: %w", id, err)
	}
	return run, steps, nil
}

func (s *pgStore) ClaimScheduledRun(ctx context.Context, job string, scheduledFor time.Time, instance string) (bool, Run, error) {
	run, err := prepare(Run{Job: job, Trigger: TriggerSchedule, ScheduledFor: scheduledFor, Instance: instance}, s.now())
	if err != nil {
		return false, run, err
	}
	claimed := false
	err = s.with(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `INSERT INTO runs (`+pgRunCols+`) VALUES ($1, $2, $3, $4, $5, $6, NULL, '', $7)
			ON CONFLICT (job, scheduled_for) WHERE trigger = 'schedule' DO NOTHING`,
			run.ID, run.Job, run.Trigger, run.ScheduledFor, run.Status, run.StartedAt, run.Instance)
		if err != nil || tag.RowsAffected() == 1 {
			claimed = err == nil
			return err
		}
		run, err = scanPGRun(c.QueryRow(ctx, `SELECT `+pgRunCols+` FROM runs
			WHERE job = $1 AND scheduled_for = $2 AND trigger = 'schedule'`, job, run.ScheduledFor))
		return err
	})
	if err != nil {
		return false, run, fmt.Errorf("state: claim %s at %s: %w", job, run.ScheduledFor.Format(time.RFC3339), err)
	}
	return claimed, run, nil
}

func (s *pgStore) TryLockJob(ctx context.Context, job, instance string, ttl time.Duration) (*Lock, bool, error) {
	token := newToken()
	err := s.with(ctx, func(c *pgx.Conn) error {
		var got string
		return c.QueryRow(ctx, `INSERT INTO job_locks (job, instance, token, acquired_at, expires_at)
			VALUES ($1, $2, $3, now(), now() + $4::bigint * interval '1 microsecond')
			ON CONFLICT (job) DO UPDATE SET instance = excluded.instance, token = excluded.token,
				acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
			WHERE job_locks.expires_at <= now()
			RETURNING token`, job, instance, token, ttl.Microseconds()).Scan(&got)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: lock job %s: %w", job, err)
	}
	return &Lock{Job: job, Instance: instance, token: token, backend: s}, true, nil
}

func (s *pgStore) LockHolder(ctx context.Context, job string) (string, bool, error) {
	var instance string
	err := s.with(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT instance FROM job_locks WHERE job = $1`, job).Scan(&instance)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state: lock holder of job %s: %w", job, err)
	}
	return instance, true, nil
}

func (s *pgStore) BreakLock(ctx context.Context, job, instance string) error {
	err := s.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM job_locks WHERE job = $1 AND instance = $2`, job, instance)
		return err
	})
	if err != nil {
		return fmt.Errorf("state: break lock of job %s: %w", job, err)
	}
	return nil
}

func (s *pgStore) extendLock(ctx context.Context, job, token string, ttl time.Duration) error {
	var n int64
	err := s.with(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE job_locks SET expires_at = now() + $3::bigint * interval '1 microsecond'
			WHERE job = $1 AND token = $2`, job, token, ttl.Microseconds())
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("state: extend lock of job %s: %w", job, err)
	}
	if n == 0 {
		return fmt.Errorf("job %s: %w", job, ErrLockLost)
	}
	return nil
}

func (s *pgStore) releaseLock(ctx context.Context, job, token string) error {
	err := s.with(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM job_locks WHERE job = $1 AND token = $2`, job, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("state: release lock of job %s: %w", job, err)
	}
	return nil
}

func (s *pgStore) LastScheduledFor(ctx context.Context, job string) (time.Time, bool, error) {
	var last *time.Time
	err := s.with(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT MAX(scheduled_for) FROM runs WHERE job = $1 AND trigger = 'schedule'`, job).Scan(&last)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state: last scheduled time of %s: %w", job, err)
	}
	return utc(last), last != nil, nil
}

func (s *pgStore) AbandonRuns(ctx context.Context, job, errMsg string, finishedAt time.Time) (int64, error) {
	var n int64
	err := s.with(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE runs SET status = 'failed', error = $1, finished_at = $2
			WHERE job = $3 AND status = 'running'`, errMsg, norm(finishedAt), job)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("state: abandon runs of %s: %w", job, err)
	}
	return n, nil
}

// pgPool is a minimal connection pool: at most max connections, idle
// ones reused. (pgxpool needs a module this build does not carry.)
type pgPool struct {
	cfg   *pgx.ConnConfig
	slots chan struct{} // one token per open or opening connection
	mu    sync.Mutex
	idle  []*pgx.Conn
	done  bool
}

func newPGPool(cfg *pgx.ConnConfig, max int) *pgPool {
	return &pgPool{cfg: cfg, slots: make(chan struct{}, max)}
}

func (p *pgPool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		<-p.slots
		return nil, errors.New("state: store is closed")
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// release returns a connection; one that broke (a cancelled query closes
// it) or is left inside a transaction is closed instead.
func (p *pgPool) release(c *pgx.Conn) {
	defer func() { <-p.slots }()
	p.mu.Lock()
	reuse := !p.done && !c.IsClosed() && c.PgConn().TxStatus() == 'I'
	if reuse {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !reuse {
		closeConn(c)
	}
}

func (p *pgPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.done = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		closeConn(c)
	}
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
