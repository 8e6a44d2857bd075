package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/core/state/statetest"
)

var t0 = utc("2026-03-04T09:30:00Z")

// call is one RunFunc call as the recorder saw it.
type call struct {
	Job          string
	ScheduledFor time.Time
	Trigger      string
	At           time.Time // fake clock
	RunID        string
	Instance     string
}

// recorder is the RunFunc of the tests: it records calls, checks that
// runs of a job never overlap, and does what fn says (nil: succeed).
type recorder struct {
	mu       sync.Mutex
	calls    []call
	inflight map[string]int
	overlaps int
	fn       func(ctx context.Context, c call) error
}

func (r *recorder) runFunc(clock Clock, instance string) RunFunc {
	return func(ctx context.Context, job string, scheduledFor time.Time, trigger string) error {
		run, ok := RunFromContext(ctx)
		if !ok {
			return errors.New("no run in context")
		}
		c := call{Job: job, ScheduledFor: scheduledFor.UTC(), Trigger: trigger, At: clock.Now(), RunID: run.ID, Instance: instance}
		r.mu.Lock()
		r.calls = append(r.calls, c)
		if r.inflight == nil {
			r.inflight = map[string]int{}
		}
		if r.inflight[job]++; r.inflight[job] > 1 {
			r.overlaps++
		}
		fn := r.fn
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.inflight[job]--
			r.mu.Unlock()
		}()
		if fn == nil {
			return nil
		}
		return fn(ctx, c)
	}
}

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recorder) count() int { return len(r.snapshot()) }

type bundle struct {
	clock *fakeClock
	open  statetest.Open
	store state.Store
	rec   *recorder
}

func setup(t *testing.T, newDB func(*testing.T) statetest.Open) *bundle {
	t.Parallel()
	open := newDB(t)
	return &bundle{clock: newFakeClock(t0), open: open, store: open(t), rec: &recorder{}}
}

// scheduler returns a scheduler on b's clock and store (or another Store
// on the same database, as another instance would have), stopped when
// the test ends.
func (b *bundle) scheduler(t *testing.T, instance string, store state.Store, jobs ...Job) *Scheduler {
	t.Helper()
	if store == nil {
		store = b.store
	}
	s, err := New(Config{
		Store: store, Run: b.rec.runFunc(b.clock, instance), Jobs: jobs, Instance: instance,
		LockTTL: 10 * time.Minute, PollInterval: 5 * time.Second, Clock: b.clock,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Stop(ctx)
	})
	return s
}

func (b *bundle) runs(t *testing.T, job string) []state.Run {
	t.Helper()
	runs, err := b.store.ListRuns(context.Background(), state.RunFilter{Job: job, Limit: 1000})
	require.NoError(t, err)
	slices.Reverse(runs) // oldest first
	return runs
}

// finished counts the job's runs that ended.
func (b *bundle) finished(t *testing.T, job string) int {
	n := 0
	for _, r := range b.runs(t, job) {
		if r.Status != state.StatusRunning {
			n++
		}
	}
	return n
}

// settle waits until n of the job's runs ended and the clock has timers
// pending: the schedulers' loops wait on the clock again.
func (b *bundle) settle(t *testing.T, job string, n, timers int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d finished runs of %s and %d timers", n, job, timers), func() bool {
		return b.finished(t, job) == n && len(b.clock.deadlines()) == timers
	})
}

func hourlyJob(t *testing.T, name string) Job {
	s, err := Parse("0 * * * *", nil)
	require.NoError(t, err)
	return Job{Name: name, Schedule: s}
}

func TestSchedulerRunsEachScheduledTime(t *testing.T) {
	b := setup(t, statetest.SQLite)
	s := b.scheduler(t, "a", nil, hourlyJob(t, "hourly"))
	require.NoError(t, s.Start(t.Context()))

	for i := range 3 {
		b.settle(t, "hourly", i, 1)
		b.clock.Set(utc("2026-03-04T10:00:00Z").Add(time.Duration(i) * time.Hour))
	}
	b.settle(t, "hourly", 3, 1)
	require.NoError(t, s.Stop(t.Context()))

	var scheduled []time.Time
	for _, r := range b.runs(t, "hourly") {
		require.Equal(t, state.TriggerSchedule, r.Trigger)
		require.Equal(t, state.StatusSucceeded, r.Status)
		require.Equal(t, "a", r.Instance)
		scheduled = append(scheduled, r.ScheduledFor)
	}
	want := []time.Time{utc("2026-03-04T10:00:00Z"), utc("2026-03-04T11:00:00Z"), utc("2026-03-04T12:00:00Z")}
	require.Equal(t, want, scheduled)
	var called []time.Time
	for _, c := range b.rec.snapshot() {
		called = append(called, c.ScheduledFor)
		require.Equal(t, state.TriggerSchedule, c.Trigger)
	}
	require.Equal(t, want, called)
}

// A slow run holds the job while later times come: they wait for it,
// then the catch-up policy decides which run.
func TestSchedulerNoOverlap(t *testing.T) {
	tests := []struct {
		policy CatchUp
		want   []string // scheduled times run, after the slow 10:00
	}{
		{CatchUpOne, []string{"2026-03-04T12:00:00Z"}},
		{CatchUpNone, nil},
		{CatchUpAll, []string{"2026-03-04T11:00:00Z", "2026-03-04T12:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			b := setup(t, statetest.SQLite)
			release := make(chan struct{})
			b.rec.fn = func(ctx context.Context, c call) error {
				if c.ScheduledFor.Equal(utc("2026-03-04T10:00:00Z")) {
					<-release
				}
				return nil
			}
			job := hourlyJob(t, "hourly")
			job.CatchUp = tt.policy
			s := b.scheduler(t, "a", nil, job)
			require.NoError(t, s.Start(t.Context()))

			b.settle(t, "hourly", 0, 1)
			b.clock.Set(utc("2026-03-04T10:00:00Z"))
			waitFor(t, "the slow run", func() bool { return b.rec.count() == 1 })
			b.clock.Set(utc("2026-03-04T11:00:00Z"))
			b.clock.Set(utc("2026-03-04T12:00:00Z"))
			b.clock.Set(utc("2026-03-04T12:05:00Z")) // 12:00 is now past Grace
			_, err := s.Trigger(t.Context(), "hourly")
			require.ErrorIs(t, err, ErrJobRunning)
			require.Equal(t, 1, b.rec.count(), "nothing starts while the job runs")

			close(release)
			b.settle(t, "hourly", 1+len(tt.want), 1)
			var got []string
			for _, c := range b.rec.snapshot()[1:] {
				got = append(got, c.ScheduledFor.Format(time.RFC3339))
				require.Equal(t, utc("2026-03-04T12:05:00Z"), c.At)
			}
			require.Equal(t, tt.want, got)

			// And the schedule goes on.
			b.clock.Set(utc("2026-03-04T13:00:00Z"))
			b.settle(t, "hourly", 2+len(tt.want), 1)
			require.Equal(t, utc("2026-03-04T13:00:00Z"), b.rec.snapshot()[1+len(tt.want)].ScheduledFor)
			require.Zero(t, b.rec.overlaps)
		})
	}
}

func TestSchedulerRetriesWithBackoff(t *testing.T) {
	b := setup(t, statetest.SQLite)
	b.rec.fn = func(ctx context.Context, c call) error {
		if c.Job == "permanent" {
			return Permanent(errors.New("credentials rejected"))
		}
		return errors.New("warehouse returned 503")
	}
	s := b.scheduler(t, "a", nil,
		Job{Name: "flaky", Retries: 3, Backoff: 10 * time.Second, MaxBackoff: 30 * time.Second},
		Job{Name: "permanent", Retries: 3, Backoff: 10 * time.Second})
	require.NoError(t, s.Start(t.Context()))

	run, err := s.Trigger(t.Context(), "flaky")
	require.NoError(t, err)
	// Waits of 10s, 20s, then 30s (40s capped by MaxBackoff).
	for i, at := range []time.Time{t0.Add(10 * time.Second), t0.Add(30 * time.Second), t0.Add(60 * time.Second)} {
		waitTimer(t, b.clock, at)
		require.Equal(t, i+1, b.rec.count(), "no attempt before the backoff ends")
		b.clock.Set(at)
	}
	b.settle(t, "flaky", 1, 0)
	var at []time.Time
	for _, c := range b.rec.snapshot() {
		at = append(at, c.At)
	}
	require.Equal(t, []time.Time{t0, t0.Add(10 * time.Second), t0.Add(30 * time.Second), t0.Add(60 * time.Second)}, at)

	got, steps, err := b.store.GetRun(t.Context(), run.ID)
	require.NoError(t, err)
	require.Equal(t, state.StatusFailed, got.Status)
	require.Equal(t, "warehouse returned 503", got.Error)
	require.Equal(t, t0.Add(60*time.Second), got.FinishedAt)
	require.Len(t, steps, 4)
	for i, st := range steps {
		require.Equal(t, "attempt", st.Kind)
		require.Equal(t, fmt.Sprintf("attempt %d of 4", i+1), st.Name)
		require.Equal(t, "warehouse returned 503", st.Error)
	}

	// A permanent error is not retried.
	_, err = s.Trigger(t.Context(), "permanent")
	require.NoError(t, err)
	b.settle(t, "permanent", 1, 0)
	runs := b.runs(t, "permanent")
	require.Equal(t, state.StatusFailed, runs[0].Status)
	require.Equal(t, "credentials rejected", runs[0].Error)
	require.Equal(t, 5, b.rec.count())
}

func TestSchedulerTimeout(t *testing.T) {
	b := setup(t, statetest.SQLite)
	b.rec.fn = func(ctx context.Context, c call) error {
		<-ctx.Done()
		return ctx.Err()
	}
	s := b.scheduler(t, "a", nil, Job{Name: "slow", Timeout: 30 * time.Second, Retries: 1, Backoff: 10 * time.Second})
	require.NoError(t, s.Start(t.Context()))
	run, err := s.Trigger(t.Context(), "slow")
	require.NoError(t, err)
	for _, at := range []time.Time{t0.Add(30 * time.Second), t0.Add(40 * time.Second), t0.Add(70 * time.Second)} {
		waitTimer(t, b.clock, at)
		b.clock.Set(at)
	}
	b.settle(t, "slow", 1, 0)
	got, _, err := b.store.GetRun(t.Context(), run.ID)
	require.NoError(t, err)
	require.Equal(t, state.StatusFailed, got.Status)
	require.Equal(t, "timed out after 30s: context canceled", got.Error)
	require.Equal(t, 2, b.rec.count())
}

func TestSchedulerManualTrigger(t *testing.T) {
	b := setup(t, statetest.SQLite)
	release := make(chan struct{})
	b.rec.fn = func(ctx context.Context, c call) error {
		if c.Trigger == state.TriggerManual {
			run, _ := RunFromContext(ctx)
			if err := b.store.AddStep(ctx, run.ID, state.Step{Kind: "model", Name: "rfm.rfm_scores", Rows: 42}); err != nil {
				return err
			}
			<-release
		}
		return nil
	}
	s := b.scheduler(t, "a", nil, hourlyJob(t, "hourly"))
	_, err := s.Trigger(t.Context(), "hourly")
	require.ErrorIs(t, err, ErrNotStarted)
	require.NoError(t, s.Start(t.Context()))
	_, err = s.Trigger(t.Context(), "nope")
	require.ErrorContains(t, err, `no job named "nope"`)

	// A run left "running" by an instance that died is closed by the
	// next holder of the lock.
	orphan, err := b.store.CreateRun(t.Context(), state.Run{Job: "hourly", Trigger: state.TriggerManual, Instance: "dead"})
	require.NoError(t, err)

	run, err := s.Trigger(t.Context(), "hourly")
	require.NoError(t, err)
	require.Equal(t, state.TriggerManual, run.Trigger)
	require.Equal(t, t0, run.ScheduledFor)
	waitFor(t, "the manual run", func() bool { return b.rec.count() == 1 })
	c := b.rec.snapshot()[0]
	require.Equal(t, state.TriggerManual, c.Trigger)
	require.Equal(t, run.ID, c.RunID)
	got, _, err := b.store.GetRun(t.Context(), orphan.ID)
	require.NoError(t, err)
	require.Equal(t, state.StatusFailed, got.Status)
	require.Contains(t, got.Error, "abandoned")

	_, err = s.Trigger(t.Context(), "hourly")
	require.ErrorIs(t, err, ErrJobRunning, "manual runs go through the job's lock")

	// 10:00 comes while the manual run holds the lock: it waits.
	b.clock.Set(utc("2026-03-04T10:00:00Z"))
	waitTimer(t, b.clock, utc("2026-03-04T10:00:05Z")) // the poll
	require.Equal(t, 1, b.rec.count())
	close(release)
	waitFor(t, "the manual run to end", func() bool { return b.finished(t, "hourly") == 2 })
	b.clock.Set(utc("2026-03-04T10:00:05Z"))
	b.settle(t, "hourly", 3, 1)
	require.Equal(t, utc("2026-03-04T10:00:00Z"), b.rec.snapshot()[1].ScheduledFor)

	got, steps, err := b.store.GetRun(t.Context(), run.ID)
	require.NoError(t, err)
	require.Equal(t, state.StatusSucceeded, got.Status)
	require.Equal(t, []state.Step{{Kind: "model", Name: "rfm.rfm_scores", Rows: 42}}, steps)

	require.NoError(t, s.Stop(t.Context()))
	_, err = s.Trigger(t.Context(), "hourly")
	require.ErrorIs(t, err, ErrStopped)
}

func TestSchedulerRunNow(t *testing.T) {
	b := setup(t, statetest.SQLite)
	b.rec.fn = func(ctx context.Context, c call) error { return errors.New("boom") }
	s := b.scheduler(t, "cli", nil, Job{Name: "nightly"})
	run, err := s.RunNow(t.Context(), "nightly", state.TriggerCLI) // no Start needed
	require.EqualError(t, err, "boom")
	require.Equal(t, state.StatusFailed, run.Status)
	require.Equal(t, state.TriggerCLI, run.Trigger)
	stored, _, err := b.store.GetRun(t.Context(), run.ID)
	require.NoError(t, err)
	require.Equal(t, run, stored)

	other := b.open(t)
	lock, ok, err := other.TryLockJob(t.Context(), "nightly", "daemon", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	defer lock.Release(context.Background())
	_, err = s.RunNow(t.Context(), "nightly", state.TriggerCLI)
	require.ErrorIs(t, err, ErrJobRunning, "not while a daemon runs it")
}

// TestRunNowBreaksLockOfDeadProcess: a job locked by a segflow of this
// host that was killed runs at once, not after the lock expires; a lock
// of a live process is respected.
func TestRunNowBreaksLockOfDeadProcess(t *testing.T) {
	b := setup(t, statetest.SQLite)
	host, err := os.Hostname()
	require.NoError(t, err)
	dead := exec.Command("true")
	require.NoError(t, dead.Run()) // its pid now names no process
	deadHolder := fmt.Sprintf("%s:%d", host, dead.Process.Pid)
	_, ok, err := b.store.TryLockJob(t.Context(), "nightly", deadHolder, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	s := b.scheduler(t, "cli", nil, Job{Name: "nightly"})
	run, err := s.RunNow(t.Context(), "nightly", state.TriggerCLI)
	require.NoError(t, err)
	require.Equal(t, state.StatusSucceeded, run.Status)

	_, ok, err = b.store.TryLockJob(t.Context(), "weekly", fmt.Sprintf("%s:%d", host, os.Getpid()), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	s = b.scheduler(t, "cli2", nil, Job{Name: "weekly"})
	_, err = s.RunNow(t.Context(), "weekly", state.TriggerCLI)
	require.ErrorIs(t, err, ErrJobRunning, "the holder is alive")
}

func TestSchedulerStop(t *testing.T) {
	t.Run("WaitsForRunningRuns", func(t *testing.T) {
		b := setup(t, statetest.SQLite)
		release := make(chan struct{})
		b.rec.fn = func(ctx context.Context, c call) error { <-release; return nil }
		s := b.scheduler(t, "a", nil, hourlyJob(t, "hourly"))
		require.NoError(t, s.Start(t.Context()))
		b.settle(t, "hourly", 0, 1)
		b.clock.Set(utc("2026-03-04T10:00:00Z"))
		waitFor(t, "the run", func() bool { return b.rec.count() == 1 })

		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopped <- s.Stop(ctx)
		}()
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned before the run ended: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		close(release)
		require.NoError(t, <-stopped)
		require.Equal(t, state.StatusSucceeded, b.runs(t, "hourly")[0].Status)

		b.clock.Set(utc("2026-03-04T11:00:00Z"))
		time.Sleep(50 * time.Millisecond)
		require.Equal(t, 1, b.rec.count(), "nothing is scheduled after Stop")
	})
	t.Run("CancelsAtTheDeadline", func(t *testing.T) {
		b := setup(t, statetest.SQLite)
		b.rec.fn = func(ctx context.Context, c call) error { <-ctx.Done(); return ctx.Err() }
		s := b.scheduler(t, "a", nil, Job{Name: "slow", Retries: 5})
		require.NoError(t, s.Start(t.Context()))
		_, err := s.Trigger(t.Context(), "slow")
		require.NoError(t, err)
		waitFor(t, "the run", func() bool { return b.rec.count() == 1 })

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, s.Stop(ctx), context.DeadlineExceeded)
		run := b.runs(t, "slow")[0]
		require.Equal(t, state.StatusCancelled, run.Status)
		require.Equal(t, "segflow is shutting down: context canceled", run.Error)
		require.Equal(t, 1, b.rec.count(), "no retry once cancelled")
	})
}

func TestSchedulerLockLostCancelsTheRun(t *testing.T) {
	b := setup(t, statetest.SQLite)
	b.rec.fn = func(ctx context.Context, c call) error { <-ctx.Done(); return ctx.Err() }
	s, err := New(Config{Store: b.store, Run: b.rec.runFunc(b.clock, "a"), Jobs: []Job{{Name: "j"}},
		LockTTL: time.Second, Clock: b.clock, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, s.Start(t.Context()))
	defer s.Stop(context.Background())
	_, err = s.Trigger(t.Context(), "j")
	require.NoError(t, err)
	waitFor(t, "the run", func() bool { return b.rec.count() == 1 })

	// The fake clock stands still, so no heartbeat extends the lock: once
	// its second (of real time, as the store counts) is over, another
	// instance takes it. The next heartbeat finds it gone.
	other := b.open(t)
	waitFor(t, "the lock to expire", func() bool {
		_, ok, err := other.TryLockJob(t.Context(), "j", "b", time.Minute)
		require.NoError(t, err)
		return ok
	})
	b.clock.Advance(time.Second)
	b.settle(t, "j", 1, 0)
	run := b.runs(t, "j")[0]
	require.Equal(t, state.StatusFailed, run.Status)
	require.Contains(t, run.Error, "job lock lost")
}

// Two instances share one store: every scheduled time runs exactly once,
// never two runs of a job at once.
func TestSchedulersShareAStore(t *testing.T) {
	for name, newDB := range map[string]func(*testing.T) statetest.Open{
		"Postgres": statetest.Postgres,
		"SQLite":   statetest.SQLite,
	} {
		t.Run(name, func(t *testing.T) {
			b := setup(t, newDB)
			b.rec.fn = func(ctx context.Context, c call) error {
				time.Sleep(5 * time.Millisecond) // long enough for the other to find the lock taken
				return nil
			}
			half, err := Parse("*/30 * * * *", nil)
			require.NoError(t, err)
			jobs := []Job{hourlyJob(t, "hourly"), {Name: "half", Schedule: half}}
			// b is often slow to lock, so it may lock just after a ran the
			// time it saw due: it must see that the time was run.
			sa := b.scheduler(t, "a", b.open(t), jobs...)
			sb := b.scheduler(t, "b", slowLock{b.open(t), new(atomic.Int64)}, jobs...)
			require.NoError(t, sa.Start(t.Context()))
			require.NoError(t, sb.Start(t.Context()))

			wantHourly, wantHalf := 0, 0
			for at := utc("2026-03-04T10:00:00Z"); at.Before(utc("2026-03-04T16:00:00Z")); at = at.Add(30 * time.Minute) {
				b.settle(t, "hourly", wantHourly, 4)
				b.settle(t, "half", wantHalf, 4)
				b.clock.Set(at)
				wantHalf++
				if at.Minute() == 0 {
					wantHourly++
				}
			}
			b.settle(t, "hourly", wantHourly, 4)
			b.settle(t, "half", wantHalf, 4)

			perTime := map[string]int{}
			byInstance := map[string]int{}
			for _, c := range b.rec.snapshot() {
				perTime[c.Job+" "+c.ScheduledFor.Format(time.RFC3339)]++
				byInstance[c.Instance]++
			}
			require.Len(t, perTime, wantHourly+wantHalf)
			for k, n := range perTime {
				require.Equal(t, 1, n, k)
			}
			require.Equal(t, wantHourly+wantHalf, b.rec.count())
			require.Zero(t, b.rec.overlaps)
			t.Logf("runs by instance: %v", byInstance)
		})
	}
}

// slowLock is a Store whose every other TryLockJob takes a while, like
// a far-away database.
type slowLock struct {
	state.Store
	calls *atomic.Int64
}

func (s slowLock) TryLockJob(ctx context.Context, job, instance string, ttl time.Duration) (*state.Lock, bool, error) {
	if s.calls.Add(1)%2 == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	return s.Store.TryLockJob(ctx, job, instance, ttl)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Jobs: []Job{{Name: "a"}, {Name: "a"}, {Name: "", Retries: -1}}, LockTTL: time.Millisecond})
	require.Error(t, err)
	for _, want := range []string{"Store is required", "Run is required", "LockTTL must be at least 1s",
		`Jobs[1].Name "a" is used twice`, "Jobs[2].Name is empty", "cannot be negative"} {
		require.ErrorContains(t, err, want)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	j := &Job{Backoff: 30 * time.Second, MaxBackoff: 10 * time.Minute}
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, backoff(j, n))
	}
	require.Equal(t, []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}, got)
	require.Equal(t, 10*time.Minute, backoff(j, 1000), "no overflow")
}
