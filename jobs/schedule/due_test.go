package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDue(t *testing.T) {
	t.Parallel()
	hourly, err := Parse("0 * * * *", nil)
	require.NoError(t, err)
	last := utc("2026-03-04T10:00:00Z") // the 10:00 run happened
	at := func(hours ...int) []time.Time {
		var out []time.Time
		for _, h := range hours {
			out = append(out, last.Add(time.Duration(h-10)*time.Hour))
		}
		return out
	}
	tests := []struct {
		name   string
		now    time.Time
		policy CatchUp
		max    int
		want   []time.Time
	}{
		{"nothing due yet", utc("2026-03-04T10:59:59Z"), CatchUpOne, 0, nil},
		{"on time, one", utc("2026-03-04T11:00:00Z"), CatchUpOne, 0, at(11)},
		{"on time, none", utc("2026-03-04T11:00:00Z"), CatchUpNone, 0, at(11)},
		{"on time, all", utc("2026-03-04T11:00:00Z"), CatchUpAll, 0, at(11)},
		{"a little late, none", utc("2026-03-04T11:00:59Z"), CatchUpNone, 0, at(11)},
		{"past grace, none skips", utc("2026-03-04T11:01:00Z"), CatchUpNone, 0, nil},
		// Down from 10:30 to 14:20: 11, 12, 13 and 14 were missed.
		{"outage, one runs the latest", utc("2026-03-04T14:20:00Z"), CatchUpOne, 0, at(14)},
		{"outage, none skips all", utc("2026-03-04T14:20:00Z"), CatchUpNone, 0, nil},
		{"outage, all runs each", utc("2026-03-04T14:20:00Z"), CatchUpAll, 0, at(11, 12, 13, 14)},
		{"outage, all keeps the latest max", utc("2026-03-04T14:20:00Z"), CatchUpAll, 2, at(13, 14)},
		// Back exactly at 14:00: the latest is on time.
		{"outage ending on a scheduled time, none", utc("2026-03-04T14:00:00Z"), CatchUpNone, 0, at(14)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, utcAll(Due(hourly, last, tt.now, tt.policy, tt.max)))
		})
	}

	t.Run("all is bounded by default", func(t *testing.T) {
		t.Parallel()
		due := Due(hourly, last, last.Add(100*time.Hour), CatchUpAll, 0)
		require.Len(t, due, DefaultMaxCatchUp)
		require.Equal(t, last.Add(100*time.Hour), due[len(due)-1].UTC())
	})
	t.Run("no history, nothing missed", func(t *testing.T) {
		t.Parallel()
		require.Empty(t, Due(hourly, time.Time{}, last, CatchUpAll, 0))
	})
	t.Run("a long outage on a frequent schedule", func(t *testing.T) {
		t.Parallel()
		every, err := Parse("@every 1m", nil)
		require.NoError(t, err)
		now := last.Add(90 * 24 * time.Hour) // 129,600 missed minutes
		require.Equal(t, []time.Time{now}, Due(every, last, now, CatchUpOne, 0))
	})
	t.Run("a schedule that stops", func(t *testing.T) {
		t.Parallel()
		stuck := scheduleFunc(func(t time.Time) time.Time { return last.Add(time.Hour) })
		require.Equal(t, at(11), utcAll(Due(stuck, last, last.Add(5*time.Hour), CatchUpAll, 0)))
	})
}

func TestParseCatchUp(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]CatchUp{"": CatchUpOne, "one": CatchUpOne, "none": CatchUpNone, "all": CatchUpAll} {
		got, err := ParseCatchUp(s)
		require.NoError(t, err)
		require.Equal(t, want, got)
		if s != "" {
			require.Equal(t, s, got.String())
		}
	}
	_, err := ParseCatchUp("latest")
	require.ErrorContains(t, err, "want one")
	var zero CatchUp
	require.Equal(t, CatchUpOne, zero, "the zero value is the default")
}

type scheduleFunc func(time.Time) time.Time

func (f scheduleFunc) Next(t time.Time) time.Time { return f(t) }

func utcAll(ts []time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		out = append(out, t.UTC())
	}
	return out
}
