package state

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run statuses. A run is created "running" and finished with one of the
// other three.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// What started a run.
const (
	TriggerSchedule = "schedule" // the scheduler, for a cron time
	TriggerManual   = "manual"   // a user, through the daemon (HTTP API, UI)
	TriggerCLI      = "cli"      // `segflow run`
)

// DefaultLimit is how many runs ListRuns returns when the filter sets no
// limit.
const DefaultLimit = 50

var (
	// ErrNotFound is returned for a run ID the store does not hold.
	ErrNotFound = errors.New("state: run not found")
	// ErrLockLost is returned by Lock.Extend when the lock expired and
	// another holder took it: the caller must stop the work it guarded.
	ErrLockLost = errors.New("state: job lock lost")
)

// Run is one execution of a job.
type Run struct {
	ID      string `json:"id"`
	Job     string `json:"job"`
	Trigger string `json:"trigger"`
	// ScheduledFor is the cron time a scheduled run is for; for other
	// triggers, when the run was requested.
	ScheduledFor time.Time `json:"scheduled_for"`
	Status       string    `json:"status"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at"` // zero while running
	Error        string    `json:"error,omitempty"`
	// Instance names the segflow process that ran it (host:pid by default).
	Instance string `json:"instance"`
}

// Step is one unit of work within a run: a model statement, a segment, a
// publish to a destination, or a failed attempt that was retried.
type Step struct {
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Rows         int64  `json:"rows"`
	BytesScanned int64  `json:"bytes_scanned"`
	DurationMs   int64  `json:"duration_ms"`
	Error        string `json:"error,omitempty"`
	SQL          string `json:"sql,omitempty"`
	// Detail is the step's outcome in words beyond Rows: for a publish,
	// the diff sent and the records refused and dead-lettered.
	Detail    string    `json:"detail,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// RunFilter selects runs for ListRuns.
type RunFilter struct {
	Job   string // empty: every job
	Limit int    // at most this many; <= 0 means DefaultLimit
}

// Store keeps run history and coordinates scheduling between segflow
// instances that share it. Every method is safe for concurrent use, and
// several Stores (processes) may share one database.
type Store interface {
	// CreateRun records a run. An empty ID is filled with a new one, a
	// zero StartedAt with the current time, an empty Status with
	// "running". It returns the run as stored.
	CreateRun(ctx context.Context, run Run) (Run, error)
	// FinishRun sets a run's final status (succeeded, failed or
	// cancelled), error and finish time. ErrNotFound if there is no such run.
	FinishRun(ctx context.Context, id, status, errMsg string, finishedAt time.Time) error
	// AddStep appends a step to a run; steps keep the order they were
	// added in. ErrNotFound if there is no such run.
	AddStep(ctx context.Context, runID string, step Step) error
	// ListRuns returns runs, newest first.
	ListRuns(ctx context.Context, filter RunFilter) ([]Run, error)
	// GetRun returns a run and its steps. ErrNotFound if there is none.
	GetRun(ctx context.Context, id string) (Run, []Step, error)

	// ClaimScheduledRun records a "running" scheduled run of job for
	// scheduledFor, unless one exists: of all instances that call it for
	// the same (job, scheduledFor), exactly one gets claimed == true. The
	// others get false and the run that won.
	ClaimScheduledRun(ctx context.Context, job string, scheduledFor time.Time, instance string) (claimed bool, run Run, err error)
	// TryLockJob takes the job's lock for ttl without waiting: ok is false
	// when another holder (in this process or another) has it and it has
	// not expired. The lock is not reentrant. The holder keeps it with
	// Lock.Extend (heartbeat) and gives it back with Lock.Release; a
	// holder that dies loses it when ttl passes.
	TryLockJob(ctx context.Context, job, instance string, ttl time.Duration) (lock *Lock, ok bool, err error)
	// LockHolder names the instance holding job's lock, expired or not;
	// ok is false when nobody does.
	LockHolder(ctx context.Context, job string) (instance string, ok bool, err error)
	// BreakLock removes job's lock if instance holds it: for a holder
	// known to be dead (a process of this host that no longer exists), so
	// that its job need not wait for the lock to expire.
	BreakLock(ctx context.Context, job, instance string) error
	// LastScheduledFor is the latest scheduled time of job that any
	// instance claimed; ok is false if none was.
	LastScheduledFor(ctx context.Context, job string) (t time.Time, ok bool, err error)
	// AbandonRuns marks the job's runs that are still "running" as failed
	// with errMsg and returns how many there were. Call it while holding
	// the job's lock, when none of them can really be running: they are
	// left over from an instance that died.
	AbandonRuns(ctx context.Context, job, errMsg string, finishedAt time.Time) (int64, error)

	Close() error
}

// Lock is a held job lock (see Store.TryLockJob).
type Lock struct {
	Job      string
	Instance string
	token    string
	backend  locker
}

type locker interface {
	extendLock(ctx context.Context, job, token string, ttl time.Duration) error
	releaseLock(ctx context.Context, job, token string) error
}

// Extend keeps the lock for ttl from now. It returns ErrLockLost if the
// lock expired and someone else took it.
func (l *Lock) Extend(ctx context.Context, ttl time.Duration) error {
	return l.backend.extendLock(ctx, l.Job, l.token, ttl)
}

// Release gives the lock back. Releasing a lock that was lost does
// nothing to its new holder.
func (l *Lock) Release(ctx context.Context) error {
	return l.backend.releaseLock(ctx, l.Job, l.token)
}

// Open opens the store a DSN or path names: a postgres:// or
// postgresql:// URL opens PostgreSQL (OpenPostgres), anything else is a
// SQLite file path (OpenSQLite), created if missing.
func Open(ctx context.Context, dsnOrPath string) (Store, error) {
	if strings.HasPrefix(dsnOrPath, "postgres://") || strings.HasPrefix(dsnOrPath, "postgresql://") {
		return OpenPostgres(ctx, dsnOrPath)
	}
	return OpenSQLite(dsnOrPath)
}

// NewID returns a new run ID: 26 characters of Crockford base32 whose
// first 10 encode the millisecond time, so IDs sort by creation time.
func NewID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

var idEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newToken identifies one acquisition of a lock.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// norm is the precision both backends keep: microseconds, in UTC.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// prepare fills a new run's defaults and checks it.
func prepare(run Run, now time.Time) (Run, error) {
	if run.Job == "" {
		return run, errors.New("state: run has no job")
	}
	if run.Trigger == "" {
		return run, errors.New("state: run has no trigger")
	}
	if run.Trigger == TriggerSchedule && run.ScheduledFor.IsZero() {
		return run, errors.New("state: a scheduled run needs the time it is scheduled for")
	}
	if run.ID == "" {
		run.ID = NewID(now)
	}
	if run.StartedAt.IsZero() {
		run.StartedAt = now
	}
	if run.Status == "" {
		run.Status = StatusRunning
	}
	if err := checkStatus(run.Status, false); err != nil {
		return run, err
	}
	run.ScheduledFor = norm(run.ScheduledFor)
	run.StartedAt = norm(run.StartedAt)
	run.FinishedAt = norm(run.FinishedAt)
	return run, nil
}

// checkStatus accepts the four statuses; with final, not "running".
func checkStatus(status string, final bool) error {
	switch status {
	case StatusSucceeded, StatusFailed, StatusCancelled:
		return nil
	case StatusRunning:
		if !final {
			return nil
		}
		return errors.New(`state: a run cannot finish as "running" (want succeeded, failed or cancelled)`)
	}
	return fmt.Errorf("state: unknown run status %q (want running, succeeded, failed or cancelled)", status)
}

func limit(f RunFilter) int {
	if f.Limit <= 0 {
		return DefaultLimit
	}
	return f.Limit
}
