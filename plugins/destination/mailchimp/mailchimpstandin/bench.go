package mailchimpstandin

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
)

// BenchTarget is the Mailchimp bench: Mailchimp limits connections, not
// rates, so the stand-in takes 500 ms per request and allows 10 at once;
// with batches of 100 members that allows 10 × 100 / 0.5 s = 2,000
// records/s. newDest constructs the destination (mailchimp.New; passed
// in because the destination's tests import this package).
func BenchTarget(newDest func() core.Destination) destbench.Target {
	const latency, conc, batch = 500 * time.Millisecond, 10, 100
	return destbench.Target{
		Name:      "mailchimp",
		Records:   16_000,
		BatchRows: 8_000,
		New:       newDest,
		Start: func() (*destbench.Instance, error) {
			s := New(Options{Latency: latency, MaxConcurrent: conc})
			return &destbench.Instance{
				Config: fmt.Sprintf(`{"api_key": %q, "list_id": "list1", "base_url": %q, "batch_size": %d, "concurrency": %d,
					"merge_fields": {"score": "SCORE"}}`, s.APIKey(), s.URL(), batch, conc),
				AllowedPerSecond: conc * batch / latency.Seconds(),
				Held:             func() int64 { return int64(len(s.Members("list1"))) },
				Throttled:        func() int64 { return s.Counts().Throttled },
				Close:            s.Close,
			}, nil
		},
	}
}
