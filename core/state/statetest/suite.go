package statetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/state"
)

// base is a fixed time the suite's data is laid out from.
var base = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// Run runs the suite. newDB gives each test a fresh, empty database.
func Run(t *testing.T, newDB func(t *testing.T) Open) {
	setup := func(t *testing.T) (state.Store, Open) {
		t.Parallel()
		open := newDB(t)
		return open(t), open
	}

	t.Run("RunRoundTrip", func(t *testing.T) {
		s, _ := setup(t)
		ctx := t.Context()
		paris, err := time.LoadLocation("Europe/Paris")
		require.NoError(t, err)
		// Nanoseconds and a zone other than UTC: the store keeps
		// microseconds and gives UTC back.
		sched := time.Date(2026, 3, 1, 3, 0, 0, 123456789, paris)
		in := state.Run{Job: "nightly", Trigger: state.TriggerManual, ScheduledFor: sched,
			StartedAt: sched.Add(time.Second), Instance: "host-a:1"}
		run, err := s.CreateRun(ctx, in)
		require.NoError(t, err)
		require.Len(t, run.ID, 26)
		require.Equal(t, state.StatusRunning, run.Status)
		require.Equal(t, sched.UTC().Truncate(time.Microsecond), run.ScheduledFor)

		got, steps, err := s.GetRun(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, run, got)
		require.Empty(t, steps)
		require.True(t, got.FinishedAt.IsZero())

		want := []state.Step{
			{Kind: "model", Name: "rfm.rfm_scores", Rows: 1200, BytesScanned: 1 << 20, DurationMs: 350,
				SQL: "CREATE TABLE x AS SELECT 1", StartedAt: base},
			{Kind: "segment", Name: "champions", Rows: 80, DurationMs: 20, StartedAt: base.Add(time.Second)},
			{Kind: "publish", Name: "champions -> mailchimp", Rows: 78, Error: "2 records rejected",
				Detail: "+80 ~0 -0; acknowledged 78, failed 2 (dead letters 0)"},
		}
		for _, st := range want {
			require.NoError(t, s.AddStep(ctx, run.ID, st))
		}
		finished := base.Add(time.Minute + 500*time.Nanosecond)
		require.NoError(t, s.FinishRun(ctx, run.ID, state.StatusFailed, "publish: 2 records rejected", finished))

		got, steps, err = s.GetRun(ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, want, steps)
		require.Equal(t, state.StatusFailed, got.Status)
		require.Equal(t, "publish: 2 records rejected", got.Error)
		require.Equal(t, base.Add(time.Minute), got.FinishedAt)
		require.Equal(t, "host-a:1", got.Instance)
	})

	t.Run("RunErrors", func(t *testing.T) {
		s, _ := setup(t)
		ctx := t.Context()
		_, _, err := s.GetRun(ctx, "nope")
		require.ErrorIs(t, err, state.ErrNotFound)
		require.ErrorIs(t, s.FinishRun(ctx, "nope", state.StatusSucceeded, "", base), state.ErrNotFound)
		require.ErrorIs(t, s.AddStep(ctx, "nope", state.Step{Kind: "model", Name: "x"}), state.ErrNotFound)

		run, err := s.CreateRun(ctx, state.Run{Job: "j", Trigger: state.TriggerCLI})
		require.NoError(t, err)
		require.ErrorContains(t, s.FinishRun(ctx, run.ID, state.StatusRunning, "", base), "cannot finish")
		require.ErrorContains(t, s.FinishRun(ctx, run.ID, "done", "", base), "unknown run status")
		_, err = s.CreateRun(ctx, state.Run{Job: "j", Trigger: state.TriggerCLI, ID: run.ID})
		require.Error(t, err, "duplicate id")
		_, err = s.CreateRun(ctx, state.Run{Trigger: state.TriggerCLI})
		require.ErrorContains(t, err, "no job")
		_, err = s.CreateRun(ctx, state.Run{Job: "j", Trigger: state.TriggerSchedule})
		require.ErrorContains(t, err, "scheduled for")
	})

	t.Run("ListRuns", func(t *testing.T) {
		s, _ := setup(t)
		ctx := t.Context()
		var ids []string // in start order
		for i := range 6 {
			job := []string{"a", "b"}[i%2]
			run, err := s.CreateRun(ctx, state.Run{Job: job, Trigger: state.TriggerCLI, StartedAt: base.Add(time.Duration(i) * time.Minute)})
			require.NoError(t, err)
			ids = append(ids, run.ID)
		}
		idsOf := func(runs []state.Run) []string {
			var out []string
			for _, r := range runs {
				out = append(out, r.ID)
			}
			return out
		}
		all, err := s.ListRuns(ctx, state.RunFilter{})
		require.NoError(t, err)
		require.Equal(t, []string{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}, idsOf(all), "newest first")

		two, err := s.ListRuns(ctx, state.RunFilter{Limit: 2})
		require.NoError(t, err)
		require.Equal(t, []string{ids[5], ids[4]}, idsOf(two))

		a, err := s.ListRuns(ctx, state.RunFilter{Job: "a"})
		require.NoError(t, err)
		require.Equal(t, []string{ids[4], ids[2], ids[0]}, idsOf(a))

		none, err := s.ListRuns(ctx, state.RunFilter{Job: "c"})
		require.NoError(t, err)
		require.Empty(t, none)

		for i := range state.DefaultLimit {
			_, err := s.CreateRun(ctx, state.Run{Job: "c", Trigger: state.TriggerCLI, StartedAt: base.Add(time.Hour + time.Duration(i)*time.Second)})
			require.NoError(t, err)
		}
		all, err = s.ListRuns(ctx, state.RunFilter{})
		require.NoError(t, err)
		require.Len(t, all, state.DefaultLimit, "default limit")
	})

	t.Run("ClaimScheduledRunOneWinner", func(t *testing.T) {
		s, _ := setup(t)
		ctx := t.Context()
		at := base.Add(3 * time.Hour)
		winners, runs := race(t, 10, func(i int) (bool, state.Run, error) {
			return s.ClaimScheduledRun(ctx, "nightly", at, fmt.Sprintf("g%d", i))
		})
		require.Equal(t, 1, winners)
		for _, r := range runs[1:] {
			require.Equal(t, runs[0].ID, r.ID, "losers see the winning run")
		}
		require.Equal(t, state.TriggerSchedule, runs[0].Trigger)
		require.Equal(t, state.StatusRunning, runs[0].Status)
		require.Equal(t, at, runs[0].ScheduledFor)

		// Another time, another job, and a manual run at the same time all
		// stand apart.
		ok, _, err := s.ClaimScheduledRun(ctx, "nightly", at.Add(24*time.Hour), "g0")
		require.NoError(t, err)
		require.True(t, ok)
		ok, _, err = s.ClaimScheduledRun(ctx, "hourly", at, "g0")
		require.NoError(t, err)
		require.True(t, ok)
		_, err = s.CreateRun(ctx, state.Run{Job: "nightly", Trigger: state.TriggerManual, ScheduledFor: at})
		require.NoError(t, err)
		// Finishing the run does not free its time.
		require.NoError(t, s.FinishRun(ctx, runs[0].ID, state.StatusFailed, "boom", at.Add(time.Minute)))
		ok, _, err = s.ClaimScheduledRun(ctx, "nightly", at, "late")
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("ClaimScheduledRunAcrossStores", func(t *testing.T) {
		_, open := setup(t)
		stores := []state.Store{open(t), open(t)} // two "processes"
		at := base.Add(5 * time.Hour)
		winners, runs := race(t, 20, func(i int) (bool, state.Run, error) {
			return stores[i%2].ClaimScheduledRun(t.Context(), "nightly", at, fmt.Sprintf("p%d-g%d", i%2, i))
		})
		require.Equal(t, 1, winners)
		for _, r := range runs {
			require.Equal(t, runs[0].ID, r.ID)
		}
	})

	t.Run("TryLockJob", func(t *testing.T) {
		s, open := setup(t)
		ctx := t.Context()
		lock, ok, err := s.TryLockJob(ctx, "nightly", "a", time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "nightly", lock.Job)

		_, ok, err = s.TryLockJob(ctx, "nightly", "a", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "not reentrant")
		other := open(t)
		_, ok, err = other.TryLockJob(ctx, "nightly", "b", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "held for another process")
		l2, ok, err := other.TryLockJob(ctx, "hourly", "b", time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "locks are per job")
		require.NoError(t, l2.Release(ctx))

		require.NoError(t, lock.Extend(ctx, time.Minute))
		require.NoError(t, lock.Release(ctx))
		l3, ok, err := other.TryLockJob(ctx, "nightly", "b", time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "free once released")
		require.NoError(t, lock.Release(ctx), "releasing a lost lock is harmless")
		_, ok, err = s.TryLockJob(ctx, "nightly", "a", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "and leaves the new holder's lock alone")
		require.ErrorIs(t, lock.Extend(ctx, time.Minute), state.ErrLockLost)
		require.NoError(t, l3.Release(ctx))

		winners, _ := race(t, 10, func(i int) (bool, state.Run, error) {
			_, ok, err := []state.Store{s, other}[i%2].TryLockJob(ctx, "race", fmt.Sprint(i), time.Minute)
			return ok, state.Run{}, err
		})
		require.Equal(t, 1, winners)
	})

	t.Run("BreakLock", func(t *testing.T) {
		s, open := setup(t)
		ctx := t.Context()
		_, ok, err := s.LockHolder(ctx, "nightly")
		require.NoError(t, err)
		require.False(t, ok, "nobody holds a lock never taken")
		_, ok, err = s.TryLockJob(ctx, "nightly", "host:41", time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
		other := open(t)
		holder, ok, err := other.LockHolder(ctx, "nightly")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "host:41", holder)
		require.NoError(t, other.BreakLock(ctx, "nightly", "host:42"))
		_, ok, err = other.TryLockJob(ctx, "nightly", "b", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "breaking another holder's lock does nothing")
		require.NoError(t, other.BreakLock(ctx, "nightly", "host:41"))
		_, ok, err = other.TryLockJob(ctx, "nightly", "b", time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "free once its holder's lock is broken")
	})

	t.Run("TryLockJobExpires", func(t *testing.T) {
		s, open := setup(t)
		ctx := t.Context()
		const ttl = 400 * time.Millisecond
		start := time.Now()
		dead, ok, err := s.TryLockJob(ctx, "nightly", "dead", ttl)
		require.NoError(t, err)
		require.True(t, ok)
		ok = false

		other := open(t)
		var next *state.Lock
		for deadline := time.Now().Add(10 * time.Second); !ok; time.Sleep(20 * time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "lock never expired")
			next, ok, err = other.TryLockJob(ctx, "nightly", "alive", time.Minute)
			require.NoError(t, err)
		}
		require.GreaterOrEqual(t, time.Since(start), ttl-50*time.Millisecond, "not before the TTL")

		require.ErrorIs(t, dead.Extend(ctx, time.Minute), state.ErrLockLost)
		require.NoError(t, dead.Release(ctx))
		_, ok, err = s.TryLockJob(ctx, "nightly", "third", time.Minute)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, next.Release(ctx))

		// A holder that heartbeats keeps its lock past the first TTL.
		live, ok, err := s.TryLockJob(ctx, "hourly", "live", ttl)
		require.NoError(t, err)
		require.True(t, ok)
		for range 4 {
			time.Sleep(ttl / 2)
			require.NoError(t, live.Extend(ctx, ttl))
			_, ok, err := other.TryLockJob(ctx, "hourly", "other", ttl)
			require.NoError(t, err)
			require.False(t, ok)
		}
	})

	t.Run("LastScheduledFor", func(t *testing.T) {
		s, _ := setup(t)
		ctx := t.Context()
		_, ok, err := s.LastScheduledFor(ctx, "nightly")
		require.NoError(t, err)
		require.False(t, ok)
		for _, h := range []int{1, 3, 2} {
			_, _, err := s.ClaimScheduledRun(ctx, "nightly", base.Add(time.Duration(h)*time.Hour), "a")
			require.NoError(t, err)
		}
		_, err = s.CreateRun(ctx, state.Run{Job: "nightly", Trigger: state.TriggerManual, ScheduledFor: base.Add(9 * time.Hour)})
		require.NoError(t, err)
		_, _, err = s.ClaimScheduledRun(ctx, "other", base.Add(8*time.Hour), "a")
		require.NoError(t, err)

		last, ok, err := s.LastScheduledFor(ctx, "nightly")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, base.Add(3*time.Hour), last, "latest scheduled time; manual runs and other jobs do not count")
	})

	t.Run("AbandonRuns", func(t *testing.T) {
		s, _ := setup(t)
		ctx := t.Context()
		var ids []string
		for i := range 3 {
			run, err := s.CreateRun(ctx, state.Run{Job: "nightly", Trigger: state.TriggerCLI, StartedAt: base.Add(time.Duration(i) * time.Second)})
			require.NoError(t, err)
			ids = append(ids, run.ID)
		}
		require.NoError(t, s.FinishRun(ctx, ids[0], state.StatusSucceeded, "", base.Add(time.Minute)))
		_, err := s.CreateRun(ctx, state.Run{Job: "other", Trigger: state.TriggerCLI})
		require.NoError(t, err)

		n, err := s.AbandonRuns(ctx, "nightly", "instance died", base.Add(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
		for i, want := range []string{state.StatusSucceeded, state.StatusFailed, state.StatusFailed} {
			run, _, err := s.GetRun(ctx, ids[i])
			require.NoError(t, err)
			require.Equal(t, want, run.Status)
		}
		run, _, err := s.GetRun(ctx, ids[2])
		require.NoError(t, err)
		require.Equal(t, "instance died", run.Error)
		require.Equal(t, base.Add(time.Hour), run.FinishedAt)
	})

	t.Run("OpenConcurrentlyAndAgain", func(t *testing.T) {
		t.Parallel()
		open := newDB(t)
		var wg sync.WaitGroup
		stores := make([]state.Store, 3)
		for i := range stores {
			wg.Go(func() { stores[i] = open(t) }) // migrate at once
		}
		wg.Wait()
		run, err := stores[0].CreateRun(t.Context(), state.Run{Job: "j", Trigger: state.TriggerCLI})
		require.NoError(t, err)
		got, _, err := open(t).GetRun(t.Context(), run.ID) // and once more, migrated already
		require.NoError(t, err)
		require.Equal(t, run.ID, got.ID)
	})
}

// race calls fn from n goroutines released at once and counts the true
// results; runs are in goroutine order.
func race(t *testing.T, n int, fn func(i int) (bool, state.Run, error)) (int, []state.Run) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	oks := make([]bool, n)
	runs := make([]state.Run, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			oks[i], runs[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range n {
		require.NoError(t, errs[i])
		if oks[i] {
			winners++
		}
	}
	return winners, runs
}
