package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule gives the next time a job is due after a given time. It is
// river's PeriodicSchedule; robfig/cron's schedules satisfy it.
type Schedule interface {
	// Next returns the first activation time strictly after t, or the
	// zero time if there is none.
	Next(t time.Time) time.Time
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var fieldNames = [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}

// Parse reads a cron expression: five fields (minute hour day-of-month
// month day-of-week, as in crontab(5)) or a descriptor (@yearly,
// @monthly, @weekly, @daily, @hourly, @every 6h). Times are read in tz
// (UTC when nil), so "0 3 * * *" in Europe/Paris is 03:00 Paris time,
// DST or not; a CRON_TZ=Zone prefix in the expression overrides tz.
// Changes of the clock behave as in cron(8): on the day a zone springs
// forward, a time the clock skips (02:30 in Paris) runs when the clock
// jumps (03:00 CEST); on the day it falls back, a time the clock shows
// twice runs the first time only, so a frequent schedule pauses for the
// repeated hour (use UTC or @every for strict intervals). Errors say
// which field is wrong and why.
func Parse(expr string, tz *time.Location) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("schedule is empty: want 5 fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily or @every 6h")
	}
	if tz == nil {
		tz = time.UTC
	}
	if rest, ok := strings.CutPrefix(expr, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("schedule %q: @every needs a Go duration such as 90s, 15m or 6h: %w", expr, err)
		}
		if d < time.Second {
			return nil, fmt.Errorf("schedule %q: @every needs at least 1s", expr)
		}
	}
	s, err := parser.Parse(expr)
	if err != nil {
		return nil, explain(expr, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return s, nil // @every: a fixed interval, no zone
	}
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		tz = spec.Location
	}
	spec.Location = time.UTC // it reads wall-clock times (see wallClock)
	return wallClock{spec: spec, loc: tz}, nil
}

// wallClock evaluates a cron spec on the wall clock of loc, with cron(8)'s
// answer to DST changes: a time the clock skips runs when the clock jumps
// past it, and a time the clock shows twice runs the first time only.
// (robfig/cron alone skips the first and runs the second twice.)
type wallClock struct {
	spec *cron.SpecSchedule // on wall-clock times written as UTC
	loc  *time.Location
}

func (s wallClock) Next(t time.Time) time.Time {
	w := wall(t, s.loc)
	for {
		if w = s.spec.Next(w); w.IsZero() {
			return w
		}
		// A reading that maps to t or before is one that already ran: in
		// the repeated hour, or the second of several in a skipped one.
		if n := instant(w, s.loc); n.After(t) {
			return n
		}
	}
}

// wall is t's wall-clock reading in loc, written as a UTC time.
func wall(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// instant is the first instant at which loc's clock reads w or, if the
// clock skips w, the instant it jumps past it.
func instant(w time.Time, loc *time.Location) time.Time {
	// The offsets in effect well before and well after w (zone changes
	// are months apart) give the only candidates.
	var first time.Time
	for _, probe := range []time.Duration{-30 * time.Hour, 30 * time.Hour} {
		_, off := w.Add(probe).In(loc).Zone()
		c := w.Add(-time.Duration(off) * time.Second)
		if wall(c, loc).Equal(w) && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	if !first.IsZero() {
		return first
	}
	_, before := w.Add(-30 * time.Hour).In(loc).Zone()
	jump, _ := w.Add(-time.Duration(before) * time.Second).In(loc).ZoneBounds()
	return jump
}

// explain names the field robfig/cron rejected, which its own messages
// leave out.
func explain(expr string, err error) error {
	fields := strings.Fields(expr)
	switch {
	case strings.HasPrefix(expr, "@"):
		return fmt.Errorf("schedule %q: %w (descriptors: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every DURATION)", expr, err)
	case len(fields) == 6:
		return fmt.Errorf("schedule %q has 6 fields; segflow schedules have 5 (minute hour day-of-month month day-of-week), seconds are not supported", expr)
	case len(fields) != 5:
		return fmt.Errorf("schedule %q has %d fields; want 5 (minute hour day-of-month month day-of-week)", expr, len(fields))
	}
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, perr := parser.Parse(strings.Join(probe, " ")); perr != nil {
			return fmt.Errorf("schedule %q: %s field %q: %w", expr, fieldNames[i], f, perr)
		}
	}
	return fmt.Errorf("schedule %q: %w", expr, err)
}
