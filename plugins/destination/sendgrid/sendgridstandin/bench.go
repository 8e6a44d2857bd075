package sendgridstandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the SendGrid bench: the stand-in takes 10 requests/s (a
// bucket of 3 for network jitter), jobs of 500 contacts complete at the
// first poll, so each job costs two requests (PUT, then GET status):
// 2,500 records/s. newDest constructs the destination (sendgrid.New;
// passed in because the destination's tests import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const rate, burst, batch, perJob = 10, 3, 500, 2
	const key = "SG.bench-key"
	return destbench.Target{
		Name:    "sendgrid",
		Records: 15_000,
		New:     newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{APIKey: key, CustomFields: map[string]string{"score": "Number"}, Lists: []string{"L"},
				RequestsPerSecond: rate, Burst: burst, PollsPending: -1})
			return &destbench.Instance{
				Config: fmt.Sprintf(`{"api_key": %q, "base_url": %q, "list_id": "L", "batch_size": %d, "requests_per_second": %d,
					"attributes": {"customer_id": "external_id"}, "poll_interval": "10ms"}`, key, s.URL(), batch, rate),
				AllowedPerSecond: rate * batch / perJob,
				AllowedIn:        func(d time.Duration) float64 { return (burst + rate*d.Seconds()) * batch / perJob },
				Held:             func() int64 { return int64(len(s.ListMembers("L"))) },
				Throttled:        s.Refused,
				Close:            s.Close,
			}, nil
		},
	}
}
