package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/segflow/segflow/core/state"
)

// RunFunc runs one job once. ctx carries the run (RunFromContext), so the
// function can record steps with Store.AddStep. ctx is cancelled when the
// attempt times out, when the scheduler stops and its grace period is
// over, or when the job's lock is lost; RunFunc must then return
// promptly. An error fails the attempt, which is retried unless the
// error is Permanent. scheduledFor is the cron time of a scheduled run
// and the request time of any other; trigger is one of state's Trigger
// constants.
type RunFunc func(ctx context.Context, job string, scheduledFor time.Time, trigger string) error

// Job is one job's scheduling.
type Job struct {
	Name string
	// Schedule says when the job is due; nil means only when triggered.
	Schedule Schedule
	// CatchUp handles missed times; the zero value is CatchUpOne.
	CatchUp CatchUp
	// MaxCatchUp bounds CatchUpAll (default DefaultMaxCatchUp).
	MaxCatchUp int
	// Retries is how many more attempts a failed run gets.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// further one (default 30s) up to MaxBackoff (default 10m).
	Backoff, MaxBackoff time.Duration
	// Timeout bounds each attempt; 0 means none.
	Timeout time.Duration
}

// Config configures a Scheduler.
type Config struct {
	Store state.Store // required
	Run   RunFunc     // required
	Jobs  []Job
	// Instance names this process in run history (default host:pid).
	Instance string
	// LockTTL is how long a job's lock outlives a holder that stopped
	// extending it (default 1m); holders extend it every LockTTL/3.
	LockTTL time.Duration
	// PollInterval is how soon to look again when the job is busy
	// elsewhere or the store failed (default 10s).
	PollInterval time.Duration
	Clock        Clock        // default RealClock
	Logger       *slog.Logger // default slog.Default()
}

var (
	// ErrJobRunning is returned when a run is requested for a job that
	// is running, in this instance or another.
	ErrJobRunning = errors.New("job is already running")
	// ErrNotStarted is returned by Trigger before Start.
	ErrNotStarted = errors.New("scheduler is not started")
	// ErrStopped is returned by Trigger once Stop was called.
	ErrStopped = errors.New("scheduler is stopping")

	errShutdown = errors.New("segflow is shutting down")
)

// maxSleep is the longest the scheduler waits without looking at the
// store again, so a changed clock or another instance's runs are
// noticed.
const maxSleep = time.Minute

// Scheduler runs jobs at their scheduled times, as one of any number of
// instances sharing a Store. For each due time it takes the job's lock
// (no two runs of a job at once, anywhere), claims the time in the store
// (each time runs once, anywhere), and calls the RunFunc with retries.
// A time that comes while the job is running waits for it to finish and
// is then handled by the job's CatchUp policy, like any missed time.
type Scheduler struct {
	cfg  Config
	jobs map[string]*Job
	log  *slog.Logger

	mu         sync.Mutex
	started    bool
	stopping   bool
	startedAt  time.Time
	stopLoops  context.CancelFunc
	runCtx     context.Context
	cancelRuns context.CancelCauseFunc
	loops      sync.WaitGroup // one per scheduled job
	runs       sync.WaitGroup // triggered runs
}

// WithDefaults returns the config with unset fields defaulted.
func (c Config) WithDefaults() Config {
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = host + ":" + strconv.Itoa(os.Getpid())
	}
	if c.LockTTL == 0 {
		c.LockTTL = time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 10 * time.Second
	}
	if c.Clock == nil {
		c.Clock = RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if c.Run == nil {
		errs = append(errs, errors.New("Run is required"))
	}
	if c.LockTTL < time.Second {
		errs = append(errs, fmt.Errorf("LockTTL must be at least 1s, not %s", c.LockTTL))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("PollInterval must be positive, not %s", c.PollInterval))
	}
	seen := map[string]bool{}
	for i, j := range c.Jobs {
		switch {
		case j.Name == "":
			errs = append(errs, fmt.Errorf("Jobs[%d].Name is empty", i))
		case seen[j.Name]:
			errs = append(errs, fmt.Errorf("Jobs[%d].Name %q is used twice", i, j.Name))
		}
		seen[j.Name] = true
		if j.Retries < 0 || j.Backoff < 0 || j.MaxBackoff < 0 || j.Timeout < 0 || j.MaxCatchUp < 0 {
			errs = append(errs, fmt.Errorf("Jobs[%d] (%s): Retries, Backoff, MaxBackoff, Timeout and MaxCatchUp cannot be negative", i, j.Name))
		}
	}
	return errors.Join(errs...)
}

// New checks the config and returns a scheduler that is not started.
func New(cfg Config) (*Scheduler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	s := &Scheduler{cfg: cfg, jobs: map[string]*Job{}, log: cfg.Logger.With("instance", cfg.Instance)}
	for _, j := range cfg.Jobs {
		if j.Backoff == 0 {
			j.Backoff = 30 * time.Second
		}
		if j.MaxBackoff == 0 {
			j.MaxBackoff = 10 * time.Minute
		}
		s.jobs[j.Name] = &j
	}
	return s, nil
}

// Start begins scheduling and returns. Scheduling stops when ctx is done
// or Stop is called; runs in progress then are left to Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("schedule: already started")
	}
	s.started = true
	s.startedAt = s.cfg.Clock.Now()
	var loopCtx context.Context
	loopCtx, s.stopLoops = context.WithCancel(ctx)
	s.runCtx, s.cancelRuns = context.WithCancelCause(context.WithoutCancel(ctx))
	for _, j := range s.jobs {
		if j.Schedule != nil {
			s.loops.Add(1)
			go s.loop(loopCtx, j)
		}
	}
	return nil
}

// Stop stops scheduling and waits for the runs in progress to finish.
// When ctx is done first it cancels them, waits for them to return
// (RunFunc must heed its context), records them as cancelled and returns
// ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	s.stopLoops()
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.loops.Wait()
		s.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancelRuns(errShutdown)
		<-done
		return fmt.Errorf("schedule: runs still going at shutdown were cancelled: %w", ctx.Err())
	}
}

// Trigger starts a manual run of job now and returns it without waiting
// for it to finish. It fails with ErrJobRunning if the job is running,
// here or in another instance. Stop waits for triggered runs too.
func (s *Scheduler) Trigger(ctx context.Context, job string) (state.Run, error) {
	j, err := s.job(job)
	if err != nil {
		return state.Run{}, err
	}
	s.mu.Lock()
	switch {
	case s.stopping:
		s.mu.Unlock()
		return state.Run{}, ErrStopped
	case !s.started:
		s.mu.Unlock()
		return state.Run{}, ErrNotStarted
	}
	s.runs.Add(1)
	runCtx := s.runCtx
	s.mu.Unlock()

	run, lock, err := s.begin(ctx, j, state.TriggerManual)
	if err != nil {
		s.runs.Done()
		return run, err
	}
	go func() {
		defer s.runs.Done()
		defer s.release(lock)
		s.execute(runCtx, j, run, lock)
	}()
	return run, nil
}

// RunNow runs job at once in the caller's goroutine, under the job's
// lock and with its retries, recorded with trigger (state.TriggerCLI for
// `segflow run`); it needs no Start. It returns the finished run and the
// run's error, or ErrJobRunning if the job is running anywhere.
func (s *Scheduler) RunNow(ctx context.Context, job, trigger string) (state.Run, error) {
	j, err := s.job(job)
	if err != nil {
		return state.Run{}, err
	}
	run, lock, err := s.begin(ctx, j, trigger)
	if err != nil {
		return run, err
	}
	defer s.release(lock)
	return s.execute(ctx, j, run, lock)
}

func (s *Scheduler) job(name string) (*Job, error) {
	j := s.jobs[name]
	if j == nil {
		return nil, fmt.Errorf("schedule: no job named %q", name)
	}
	return j, nil
}

// begin takes the job's lock and records an unscheduled run.
func (s *Scheduler) begin(ctx context.Context, j *Job, trigger string) (state.Run, *state.Lock, error) {
	lock, ok, err := s.cfg.Store.TryLockJob(ctx, j.Name, s.cfg.Instance, s.cfg.LockTTL)
	if err == nil && !ok && s.breakDeadHolder(ctx, j.Name) {
		lock, ok, err = s.cfg.Store.TryLockJob(ctx, j.Name, s.cfg.Instance, s.cfg.LockTTL)
	}
	if err != nil {
		return state.Run{}, nil, err
	}
	if !ok {
		return state.Run{}, nil, fmt.Errorf("%s: %w", j.Name, ErrJobRunning)
	}
	s.abandon(ctx, j.Name)
	now := s.cfg.Clock.Now()
	run, err := s.cfg.Store.CreateRun(ctx, state.Run{Job: j.Name, Trigger: trigger, ScheduledFor: now, StartedAt: now, Instance: s.cfg.Instance})
	if err != nil {
		s.release(lock)
		return run, nil, err
	}
	return run, lock, nil
}

// breakDeadHolder breaks job's lock when its holder is a process of this
// host that no longer exists (a segflow killed with SIGKILL), so a rerun
// need not wait for the lock to expire. It reports whether it did.
func (s *Scheduler) breakDeadHolder(ctx context.Context, job string) bool {
	holder, ok, err := s.cfg.Store.LockHolder(ctx, job)
	if err != nil || !ok || !processGone(holder) {
		return false
	}
	s.cfg.Logger.Warn("breaking the job lock of a process that no longer exists", "job", job, "holder", holder)
	return s.cfg.Store.BreakLock(ctx, job, holder) == nil
}

// processGone reports whether instance names a process of this host, as
// host:pid (the default instance name), that does not exist.
func processGone(instance string) bool {
	host, pidText, ok := strings.Cut(instance, ":")
	me, _ := os.Hostname()
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || host != me || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// loop schedules one job until ctx is done.
func (s *Scheduler) loop(ctx context.Context, j *Job) {
	defer s.loops.Done()
	for {
		wake := s.tick(ctx, j)
		if ctx.Err() != nil || !s.wait(ctx.Done(), wake.Sub(s.cfg.Clock.Now())) {
			return
		}
	}
}

// tick runs whatever of j is due and says when to look again.
func (s *Scheduler) tick(ctx context.Context, j *Job) time.Time {
	for ctx.Err() == nil {
		now := s.cfg.Clock.Now()
		last, err := s.last(ctx, j)
		if err != nil {
			s.log.Warn("read schedule state", "job", j.Name, "err", err)
			return now.Add(s.cfg.PollInterval)
		}
		if len(Due(j.Schedule, last, now, j.CatchUp, j.MaxCatchUp)) == 0 {
			next := nextAfter(j.Schedule, last, now)
			if next.IsZero() || next.Sub(now) > maxSleep {
				return now.Add(maxSleep)
			}
			return next
		}
		if !s.runDue(ctx, j) {
			return now.Add(s.cfg.PollInterval)
		}
	}
	return time.Time{}
}

// last is the latest scheduled time of j that ran anywhere or, if none
// has, when this scheduler started.
func (s *Scheduler) last(ctx context.Context, j *Job) (time.Time, error) {
	t, ok, err := s.cfg.Store.LastScheduledFor(ctx, j.Name)
	if err != nil || ok {
		return t, err
	}
	return s.startedAt, nil
}

// runDue takes j's lock and runs the times due; false when the job is
// busy or the store failed.
func (s *Scheduler) runDue(ctx context.Context, j *Job) bool {
	lock, ok, err := s.cfg.Store.TryLockJob(ctx, j.Name, s.cfg.Instance, s.cfg.LockTTL)
	if err != nil {
		s.log.Warn("lock job", "job", j.Name, "err", err)
		return false
	}
	if !ok {
		s.log.Debug("job is running; due time deferred", "job", j.Name)
		return false
	}
	defer s.release(lock)
	s.abandon(ctx, j.Name)
	// Again, under the lock: another instance may have just run them.
	last, err := s.last(ctx, j)
	if err != nil {
		s.log.Warn("read schedule state", "job", j.Name, "err", err)
		return false
	}
	for _, t := range Due(j.Schedule, last, s.cfg.Clock.Now(), j.CatchUp, j.MaxCatchUp) {
		if ctx.Err() != nil {
			break
		}
		claimed, run, err := s.cfg.Store.ClaimScheduledRun(ctx, j.Name, t, s.cfg.Instance)
		if err != nil {
			s.log.Warn("claim scheduled run", "job", j.Name, "scheduled_for", t, "err", err)
			return false
		}
		if claimed {
			s.execute(s.runCtx, j, run, lock)
		}
	}
	return true
}

// abandon closes the job's runs left "running" by an instance that died:
// the caller holds the lock, so none of them can still be running.
func (s *Scheduler) abandon(ctx context.Context, job string) {
	n, err := s.cfg.Store.AbandonRuns(ctx, job,
		"abandoned: the segflow instance running it stopped before it finished", s.cfg.Clock.Now())
	if err != nil {
		s.log.Warn("close abandoned runs", "job", job, "err", err)
	} else if n > 0 {
		s.log.Warn("closed abandoned runs", "job", job, "runs", n)
	}
}

type runKey struct{}

// RunFromContext returns the run a RunFunc was called for.
func RunFromContext(ctx context.Context) (state.Run, bool) {
	run, ok := ctx.Value(runKey{}).(state.Run)
	return run, ok
}

// execute runs a recorded run under lock (kept alive meanwhile) with
// retries, and records how it ended.
func (s *Scheduler) execute(parent context.Context, j *Job, run state.Run, lock *state.Lock) (state.Run, error) {
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, runKey{}, run))
	defer cancel(nil)
	log := s.log.With("job", j.Name, "run", run.ID, "trigger", run.Trigger, "scheduled_for", run.ScheduledFor)
	log.Info("run started")

	stopBeat := s.heartbeat(lock, cancel, log)
	err := s.attempts(ctx, j, run, log)
	stopBeat()

	run.Status, run.FinishedAt = state.StatusSucceeded, s.cfg.Clock.Now()
	if err != nil {
		run.Status, run.Error = state.StatusFailed, err.Error()
		if ctx.Err() != nil && !errors.Is(context.Cause(ctx), state.ErrLockLost) {
			run.Status = state.StatusCancelled
		}
	}
	bctx, done := bookkeeping()
	defer done()
	if ferr := s.cfg.Store.FinishRun(bctx, run.ID, run.Status, run.Error, run.FinishedAt); ferr != nil {
		log.Error("record run result", "status", run.Status, "err", ferr)
	}
	log.Info("run finished", "status", run.Status, "error", run.Error, "duration", run.FinishedAt.Sub(run.StartedAt))
	return run, err
}

// attempts calls the RunFunc until it succeeds, fails for good, or runs
// out of retries, waiting Backoff, 2×Backoff, … (at most MaxBackoff)
// between attempts. Failed attempts of a job with retries are recorded
// as steps of kind "attempt".
func (s *Scheduler) attempts(ctx context.Context, j *Job, run state.Run, log *slog.Logger) error {
	for n := 1; ; n++ {
		start := s.cfg.Clock.Now()
		err := s.attempt(ctx, j, run)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		if j.Retries > 0 {
			step := state.Step{Kind: "attempt", Name: fmt.Sprintf("attempt %d of %d", n, j.Retries+1),
				DurationMs: s.cfg.Clock.Now().Sub(start).Milliseconds(), Error: err.Error(), StartedAt: start}
			if serr := s.cfg.Store.AddStep(ctx, run.ID, step); serr != nil {
				log.Warn("record attempt", "err", serr)
			}
		}
		if n > j.Retries || IsPermanent(err) {
			return err
		}
		delay := backoff(j, n)
		log.Warn("attempt failed; retrying", "attempt", n, "retry_in", delay, "err", err)
		if !s.wait(ctx.Done(), delay) {
			return fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
	}
}

// backoff is the wait after failed attempt n (1-based).
func backoff(j *Job, n int) time.Duration {
	d := j.Backoff
	for i := 1; i < n && d < j.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, j.MaxBackoff)
}

type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return "timed out after " + e.d.String() }
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// attempt calls the RunFunc once, within the job's timeout (on the
// scheduler's clock), turning a panic into an error.
func (s *Scheduler) attempt(ctx context.Context, j *Job, run state.Run) (err error) {
	if j.Timeout > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		timer := s.cfg.Clock.NewTimer(j.Timeout)
		done := make(chan struct{})
		defer func() { close(done); timer.Stop(); cancel(nil) }()
		go func() {
			select {
			case <-timer.C():
				cancel(&timeoutError{j.Timeout})
			case <-done:
			}
		}()
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("run panicked", "job", j.Name, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	err = s.cfg.Run(ctx, j.Name, run.ScheduledFor, run.Trigger)
	var te *timeoutError
	if err != nil && errors.As(context.Cause(ctx), &te) && !errors.As(err, &te) {
		err = fmt.Errorf("%w: %w", te, err)
	}
	return err
}

// heartbeat extends lock every LockTTL/3 until stopped; when the lock
// is lost it cancels the run, since another instance may start one.
func (s *Scheduler) heartbeat(lock *state.Lock, cancel context.CancelCauseFunc, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for s.wait(done, s.cfg.LockTTL/3) {
			ctx, cancelCtx := bookkeeping()
			err := lock.Extend(ctx, s.cfg.LockTTL)
			cancelCtx()
			if errors.Is(err, state.ErrLockLost) {
				log.Error("job lock lost; cancelling the run", "err", err)
				cancel(err)
				return
			}
			if err != nil {
				log.Warn("extend job lock", "err", err)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (s *Scheduler) release(lock *state.Lock) {
	ctx, cancel := bookkeeping()
	defer cancel()
	if err := lock.Release(ctx); err != nil {
		s.log.Warn("release job lock", "job", lock.Job, "err", err)
	}
}

// wait waits d on the scheduler's clock; false if done closed first.
func (s *Scheduler) wait(done <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := s.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-done:
		return false
	}
}

// bookkeeping is the context for store writes that must happen even
// when the run's context was cancelled: results, lock release.
func bookkeeping() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Permanent() bool { return true }

// Permanent marks err as one that retrying cannot fix (a config error, a
// rejected credential): the run fails without further attempts.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, has a
// Permanent() bool method that returns true: Permanent's errors, or
// another package's with the same method.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
