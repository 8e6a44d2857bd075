package customeriostandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the Customer.io bench, scaled down from 100 requests/s
// to 10 (a bucket of 3 for network jitter). A batch of 1,000 people costs
// two requests (v2 batch, segment add): 5,000 records/s. newDest
// constructs the destination (customerio.New; passed in because the
// destination's tests import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const rate, burst, batch, perBatch = 10, 3, 1000, 2
	return destbench.Target{
		Name:    "customerio",
		Records: 30_000,
		New:     newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{SiteID: "site", APIKey: "key", Segments: []int{1}, RequestsPerSecond: rate, Burst: burst})
			return &destbench.Instance{
				Config: fmt.Sprintf(`{"site_id": "site", "api_key": "key", "base_url": %q, "segment_id": 1, "batch_size": %d, "requests_per_second": %d}`,
					s.URL(), batch, rate),
				AllowedPerSecond: rate * batch / perBatch,
				AllowedIn:        func(d time.Duration) float64 { return (burst + rate*d.Seconds()) * batch / perBatch },
				Held:             func() int64 { return int64(len(s.SegmentMembers(1))) },
				Throttled:        s.Refused,
				Close:            s.Close,
			}, nil
		},
	}
}
