package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// nexts returns the n activation times after from.
func nexts(s Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for range n {
		from = s.Next(from)
		out = append(out, from.UTC())
	}
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseFieldsAndDescriptors(t *testing.T) {
	t.Parallel()
	from := utc("2026-03-04T10:17:00Z") // a Wednesday
	tests := []struct {
		expr string
		want []string
	}{
		{"0 3 * * *", []string{"2026-03-05T03:00:00Z", "2026-03-06T03:00:00Z"}},
		{"*/20 * * * *", []string{"2026-03-04T10:20:00Z", "2026-03-04T10:40:00Z", "2026-03-04T11:00:00Z"}},
		{"15 9-10 * * 1-5", []string{"2026-03-05T09:15:00Z", "2026-03-05T10:15:00Z", "2026-03-06T09:15:00Z", "2026-03-06T10:15:00Z", "2026-03-09T09:15:00Z"}},
		{"0 0 1 */3 *", []string{"2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z"}},
		{"30 6 * * sun", []string{"2026-03-08T06:30:00Z", "2026-03-15T06:30:00Z"}},
		{"0 12 1 jan,jul *", []string{"2026-07-01T12:00:00Z", "2027-01-01T12:00:00Z"}},
		{"@daily", []string{"2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"}},
		{"@midnight", []string{"2026-03-05T00:00:00Z"}},
		{"@hourly", []string{"2026-03-04T11:00:00Z", "2026-03-04T12:00:00Z"}},
		{"@weekly", []string{"2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z"}},
		{"@monthly", []string{"2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"}},
		{"@yearly", []string{"2027-01-01T00:00:00Z"}},
		{"@every 1h", []string{"2026-03-04T11:17:00Z", "2026-03-04T12:17:00Z"}},
		{"@every 90m", []string{"2026-03-04T11:47:00Z", "2026-03-04T13:17:00Z"}},
		{"  0 3 * * *  ", []string{"2026-03-05T03:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tt.expr, nil)
			require.NoError(t, err)
			var want []time.Time
			for _, w := range tt.want {
				want = append(want, utc(w))
			}
			require.Equal(t, want, nexts(s, from, len(want)))
		})
	}
}

func TestParseErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"":             {"empty", "5 fields"},
		"61 * * * *":   {`minute field "61"`, "above maximum (59)"},
		"0 25 * * *":   {`hour field "25"`},
		"0 0 32 * *":   {`day-of-month field "32"`},
		"0 0 * 13 *":   {`month field "13"`},
		"0 0 * * 8":    {`day-of-week field "8"`},
		"0 0 x * *":    {`day-of-month field "x"`},
		"0 0 3 * * *":  {"6 fields", "seconds are not supported"},
		"0 3 * *":      {"4 fields", "want 5"},
		"@dayly":       {"unrecognized descriptor", "@daily"},
		"@every 500ms": {"at least 1s"},
		"@every soon":  {"Go duration"},
		"daily":        {"1 fields"},
	}
	for expr, wants := range tests {
		_, err := Parse(expr, nil)
		require.Error(t, err, expr)
		for _, w := range wants {
			require.ErrorContains(t, err, w, expr)
		}
	}
}

func TestParseTimeZone(t *testing.T) {
	t.Parallel()
	paris := mustLoad(t, "Europe/Paris")
	s, err := Parse("0 3 * * *", paris)
	require.NoError(t, err)
	// 03:00 in Paris is 02:00 UTC in winter (CET, +1) and 01:00 in summer.
	require.Equal(t, utc("2026-01-10T02:00:00Z"), s.Next(utc("2026-01-09T12:00:00Z")).UTC())
	require.Equal(t, utc("2026-07-10T01:00:00Z"), s.Next(utc("2026-07-09T12:00:00Z")).UTC())

	// The zone in the expression wins over the job's.
	ny, err := Parse("CRON_TZ=America/New_York 0 3 * * *", paris)
	require.NoError(t, err)
	require.Equal(t, utc("2026-01-10T08:00:00Z"), ny.Next(utc("2026-01-09T12:00:00Z")).UTC())

	// Without a zone, UTC (not the host's local zone).
	u, err := Parse("@daily", nil)
	require.NoError(t, err)
	require.Equal(t, utc("2026-01-10T00:00:00Z"), u.Next(utc("2026-01-09T12:00:00Z")).UTC())

	// @every is an interval and ignores zones.
	e, err := Parse("@every 6h", paris)
	require.NoError(t, err)
	require.Equal(t, utc("2026-01-09T18:00:00Z"), e.Next(utc("2026-01-09T12:00:00Z")).UTC())
}

// Paris springs forward on 2026-03-29 at 02:00 CET (01:00 UTC), straight
// to 03:00 CEST, and falls back on 2026-10-25 at 03:00 CEST (01:00 UTC)
// to 02:00 CET, so that day 02:00-02:59 happens twice.
func TestParseDST(t *testing.T) {
	t.Parallel()
	paris := mustLoad(t, "Europe/Paris")
	parse := func(expr string) Schedule {
		s, err := Parse(expr, paris)
		require.NoError(t, err)
		return s
	}

	t.Run("SpringForwardKeepsWallClock", func(t *testing.T) {
		t.Parallel()
		// 03:00 exists both days; the days between are 23 hours apart.
		got := nexts(parse("0 3 * * *"), utc("2026-03-27T12:00:00Z"), 3)
		require.Equal(t, []time.Time{
			utc("2026-03-28T02:00:00Z"), // 03:00 CET
			utc("2026-03-29T01:00:00Z"), // 03:00 CEST
			utc("2026-03-30T01:00:00Z"),
		}, got)
	})
	t.Run("SkippedTimeRunsAtTheJump", func(t *testing.T) {
		t.Parallel()
		// 02:30 does not exist on the 29th: it runs when the clock jumps,
		// 03:00 CEST, rather than not at all.
		got := nexts(parse("30 2 * * *"), utc("2026-03-27T12:00:00Z"), 3)
		require.Equal(t, []time.Time{
			utc("2026-03-28T01:30:00Z"), // 02:30 CET
			utc("2026-03-29T01:00:00Z"), // the jump
			utc("2026-03-30T00:30:00Z"), // 02:30 CEST
		}, got)
		// Several skipped times collapse into one run at the jump.
		got = nexts(parse("*/20 2 * * *"), utc("2026-03-29T00:30:00Z"), 2)
		require.Equal(t, []time.Time{utc("2026-03-29T01:00:00Z"), utc("2026-03-30T00:00:00Z")}, got)
	})
	t.Run("RepeatedTimeRunsOnce", func(t *testing.T) {
		t.Parallel()
		got := nexts(parse("30 2 * * *"), utc("2026-10-24T12:00:00Z"), 2)
		require.Equal(t, []time.Time{
			utc("2026-10-25T00:30:00Z"), // 02:30 CEST, the first 02:30
			utc("2026-10-26T01:30:00Z"), // 02:30 CET the next day, not 01:30 UTC the same day
		}, got)
		// Hourly: 02:00 CEST runs, its repeat at 02:00 CET does not.
		got = nexts(parse("0 * * * *"), utc("2026-10-24T23:30:00Z"), 3)
		require.Equal(t, []time.Time{
			utc("2026-10-25T00:00:00Z"), // 02:00 CEST
			utc("2026-10-25T02:00:00Z"), // 03:00 CET
			utc("2026-10-25T03:00:00Z"),
		}, got)
		// Asked from inside the repeated hour, it does not run again.
		require.Equal(t, utc("2026-10-26T01:30:00Z"), parse("30 2 * * *").Next(utc("2026-10-25T01:10:00Z")).UTC())
	})
	t.Run("NewYork", func(t *testing.T) {
		t.Parallel()
		ny := mustLoad(t, "America/New_York")
		s, err := Parse("30 2 * * *", ny)
		require.NoError(t, err)
		// 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC).
		require.Equal(t, []time.Time{utc("2026-03-07T07:30:00Z"), utc("2026-03-08T07:00:00Z"), utc("2026-03-09T06:30:00Z")},
			nexts(s, utc("2026-03-07T00:00:00Z"), 3))
	})
}
