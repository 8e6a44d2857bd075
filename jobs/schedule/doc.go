// Package schedule runs segflow's jobs on their cron schedules, in one
// instance or in several that share a state store (core/state) for high
// availability.
//
// # Schedules
//
// [Parse] reads five-field cron expressions and descriptors (@daily,
// @every 1h) in the job's time zone. [Schedule] has one method, Next, so
// any robfig/cron schedule, or a hand-written one, fits.
//
// # Missed times
//
// A scheduled time is missed when no instance was up to run it, or when
// the job was still running an earlier run: runs of one job never
// overlap, so a time that comes meanwhile waits until the run ends and
// is then treated like any missed time. [Due] applies the job's
// [CatchUp] policy: [CatchUpOne] (the default) runs once for the latest
// missed time, [CatchUpNone] skips them, [CatchUpAll] runs each, up to a
// bound. CatchUpOne is the default because a run rebuilds models and
// syncs segments from the warehouse's current state, so one run catches
// everything up while more would only repeat (and bill) the same work.
//
// # Running
//
// For each job with a schedule the [Scheduler] loops: it reads the latest
// scheduled time that ran (from the store, so all instances agree), and
// when something is due it
//
//  1. takes the job's lock in the store (TryLockJob, a lease with a TTL
//     that is extended while the run goes on); if another run holds it,
//     it looks again after PollInterval,
//  2. claims each due time in the store (ClaimScheduledRun: exactly one
//     instance wins a time),
//  3. calls the [RunFunc], retrying failures with exponential backoff,
//     each attempt bounded by the job's timeout, and records the result.
//
// Taking the lock before claiming means a time is only claimed by an
// instance that can run it at once, so history never holds a "running"
// run that is really waiting. [Scheduler.Trigger] (manual runs, from the
// API) and [Scheduler.RunNow] (the CLI) go through the same lock and
// fail with [ErrJobRunning] rather than queue. Holding the lock also
// proves that any run of the job still marked running was left by an
// instance that died; the scheduler marks those failed.
//
// [Scheduler.Stop] stops scheduling and waits for running runs until its
// context is done, then cancels them (recorded as cancelled).
//
// Time comes from a [Clock], so tests drive hours of schedule with a
// fake one.
//
// The API is pre-1.0 and may change between minor versions.
package schedule
