package hubspotstandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the HubSpot bench at the real rolling limit of 100
// requests per 10 s. A batch of 100 contacts costs two requests (upsert,
// list add), so the limit allows 500 records/s; the run's 99 batches
// and the write's first request (reading the properties) fill two
// windows, about 10 s. newDest constructs the destination (hubspot.New;
// passed in because the destination's tests import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const per10s, batch, perBatch = 100, 100, 2
	const token = "pat-bench"
	return destbench.Target{
		Name:    "hubspot",
		Records: (2*per10s - perBatch) / perBatch * batch,
		New:     newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{Token: token, Properties: []string{"customer_id", "score"}, Lists: []string{"1"}, Per10s: per10s})
			return &destbench.Instance{
				Config:           fmt.Sprintf(`{"access_token": %q, "base_url": %q, "list_id": "1", "requests_per_10s": %d}`, token, s.URL(), per10s),
				AllowedPerSecond: per10s / 10.0 * batch / perBatch,
				// A full bucket at once, then the refill.
				AllowedIn: func(d time.Duration) float64 { return (per10s + per10s/10.0*d.Seconds()) * batch / perBatch },
				Held:      func() int64 { return int64(len(s.ListMembers("1"))) },
				Throttled: s.Refused,
				Close:     s.Close,
			}, nil
		},
	}
}
