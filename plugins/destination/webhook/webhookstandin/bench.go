package webhookstandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the webhook bench: a receiver limited to 20 requests/s
// (a bucket of 3 for network jitter) and a sender configured for the same
// rate, batches of 500: 10,000 records/s. newDest constructs the
// destination (webhook.New; passed in because the destination's tests
// import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const rate, burst, batch = 20, 3, 500
	const secret = "bench-secret-0123456789"
	return destbench.Target{
		Name:    "webhook",
		Records: 50_000,
		New:     newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{Secret: secret, RequestsPerSecond: rate, Burst: burst})
			return &destbench.Instance{
				Config: fmt.Sprintf(`{"url": %q, "secret": %q, "batch_size": %d, "requests_per_second": %d, "concurrency": 8}`,
					s.URL(), secret, batch, rate),
				AllowedPerSecond: rate * batch,
				AllowedIn:        func(d time.Duration) float64 { return (burst + rate*d.Seconds()) * batch },
				Held:             func() int64 { return int64(len(s.Records("bench"))) },
				Throttled:        s.Refused,
				Close:            s.Close,
			}, nil
		},
	}
}
