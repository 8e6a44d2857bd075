package schedule

import (
	"fmt"
	"time"
)

// CatchUp says what to do with scheduled times that passed without a run,
// because no instance was up or because the job was still busy with an
// earlier run (runs of a job never overlap: a time that comes while the
// job runs is handled as missed once it finishes).
type CatchUp int

const (
	// CatchUpOne runs once, for the latest missed time, and drops the
	// others. It is the default (the zero value) because a segflow run is
	// not a slice of work tied to its time: it rebuilds models from the
	// warehouse's whole history as of today and syncs each destination up
	// to the latest segment. One run after an outage brings everything up
	// to date; running every missed time would repeat the same work,
	// scanning (and paying for) the warehouse again for nothing new, while
	// skipping them all (CatchUpNone) leaves destinations stale until the
	// next scheduled time, a day later for a nightly job.
	CatchUpOne CatchUp = iota
	// CatchUpNone skips missed times: only a time that is due now (passed
	// less than Grace ago) runs.
	CatchUpNone
	// CatchUpAll runs every missed time, oldest first, but at most the
	// latest max of them; older ones are dropped. For jobs whose runs
	// depend on their scheduled time.
	CatchUpAll
)

// Grace is how late a run may start and still count as on time: the
// scheduler notices a due time within moments, so one seen later than
// this was missed. Only CatchUpNone looks at it.
const Grace = time.Minute

// DefaultMaxCatchUp bounds CatchUpAll when no bound is given.
const DefaultMaxCatchUp = 10

// maxScan guards against a schedule that fires implausibly often over a
// long outage (a year of @every 1s).
const maxScan = 1 << 20

func (c CatchUp) String() string {
	switch c {
	case CatchUpOne:
		return "one"
	case CatchUpNone:
		return "none"
	case CatchUpAll:
		return "all"
	}
	return fmt.Sprintf("CatchUp(%d)", int(c))
}

// ParseCatchUp reads "one", "none" or "all"; "" is the default, one.
func ParseCatchUp(s string) (CatchUp, error) {
	switch s {
	case "", "one":
		return CatchUpOne, nil
	case "none":
		return CatchUpNone, nil
	case "all":
		return CatchUpAll, nil
	}
	return 0, fmt.Errorf("catch-up policy %q: want one (run once for the latest missed time, the default), none (skip missed times) or all (run each, up to a bound)", s)
}

// Due returns the scheduled times to run now, oldest first: those after
// last (the latest scheduled time that ran) and not after now, as policy
// keeps them. max bounds CatchUpAll (DefaultMaxCatchUp when <= 0). With
// a zero last nothing is due: there is no history to have missed.
func Due(s Schedule, last, now time.Time, policy CatchUp, max int) []time.Time {
	if last.IsZero() {
		return nil
	}
	if max <= 0 {
		max = DefaultMaxCatchUp
	}
	var due []time.Time
	for t, n := s.Next(last), 0; !t.IsZero() && !t.After(now) && n < maxScan; n++ {
		if policy == CatchUpAll {
			due = append(due, t)
			if len(due) > max {
				due = due[1:]
			}
		} else {
			due = append(due[:0], t)
		}
		next := s.Next(t)
		if !next.After(t) {
			break // a schedule that does not move on
		}
		t = next
	}
	if policy == CatchUpNone && len(due) == 1 && now.Sub(due[0]) >= Grace {
		return nil
	}
	return due
}

// nextAfter is the first scheduled time after now, counting from last
// (so @every keeps its grid); zero if the schedule has none.
func nextAfter(s Schedule, last, now time.Time) time.Time {
	t := s.Next(last)
	for n := 0; !t.IsZero() && !t.After(now) && n < maxScan; n++ {
		next := s.Next(t)
		if !next.After(t) {
			return time.Time{}
		}
		t = next
	}
	if !t.After(now) {
		return s.Next(now)
	}
	return t
}
