package brazestandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the Braze bench, scaled down from 3,000 requests per
// 3 s to 40 per 2 s window, with 75 objects per request: 1,500
// records/s. newDest constructs the destination (braze.New; passed in
// because the destination's tests import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const limit, window, batch = 40, 2 * time.Second, 75
	return destbench.Target{
		Name:      "braze",
		Records:   15_000,
		BatchRows: 7_500,
		New:       newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{Limit: limit, Window: window})
			return &destbench.Instance{
				Config: fmt.Sprintf(`{"api_key": %q, "endpoint": %q, "batch_size": %d, "rate_limit": %d, "rate_window": %q,
					"attributes": {"score": "score"}}`, s.APIKey(), s.URL(), batch, limit, window.String()),
				AllowedPerSecond: float64(limit*batch) / window.Seconds(),
				// The most requests fixed windows let through in d.
				AllowedIn: func(d time.Duration) float64 {
					return float64((int(d/window) + 1) * limit * batch)
				},
				Held:      func() int64 { return int64(len(s.Users())) },
				Throttled: func() int64 { return s.Counts().Throttled },
				Close:     s.Close,
			}, nil
		},
	}
}
