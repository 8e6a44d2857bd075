package klaviyostandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the Klaviyo bench, scaled down from the M tier's 10/s
// burst and 150/min steady to 10/s and 20 per 4 s (5 jobs/s), with jobs
// of 500 profiles: 2,500 records/s in the long run. newDest constructs
// the destination (klaviyo.New; passed in because the destination's
// tests import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const burst, steady, window, batch = 10, 20, 4 * time.Second, 500
	return destbench.Target{
		Name:    "klaviyo",
		Records: 30_000,
		New:     newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{Burst: burst, Steady: steady, SteadyWindow: window, PollsToComplete: 2})
			return &destbench.Instance{
				Config: fmt.Sprintf(`{"api_key": %q, "list_id": "LIST1", "base_url": %q, "batch_size": %d,
					"burst_limit": %d, "steady_limit": %d, "steady_window": %q, "poll_interval": "50ms", "jobs_in_flight": 16,
					"properties": {"score": "score"}}`, s.APIKey(), s.URL(), batch, burst, steady, window.String()),
				AllowedPerSecond: float64(min(burst, int(steady/window.Seconds())) * batch),
				// The most jobs sliding windows let through in d: each
				// window's requests at its start, again every window.
				AllowedIn: func(d time.Duration) float64 {
					jobs := min(burst*(int(d/time.Second)+1), steady*(int(d/window)+1))
					return float64(jobs * batch)
				},
				Held:      func() int64 { return int64(len(s.ListProfiles("LIST1"))) },
				Throttled: func() int64 { return s.Counts().Throttled },
				Close:     s.Close,
			}, nil
		},
	}
}
