//go:build duckdb_arrow

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/braze"
	"github.com/segflow/segflow/plugins/destination/braze/brazestandin"
	"github.com/segflow/segflow/plugins/destination/customerio"
	"github.com/segflow/segflow/plugins/destination/customerio/customeriostandin"
	"github.com/segflow/segflow/plugins/destination/destbench"
	"github.com/segflow/segflow/plugins/destination/hubspot"
	"github.com/segflow/segflow/plugins/destination/hubspot/hubspotstandin"
	"github.com/segflow/segflow/plugins/destination/klaviyo"
	"github.com/segflow/segflow/plugins/destination/klaviyo/klaviyostandin"
	"github.com/segflow/segflow/plugins/destination/mailchimp"
	"github.com/segflow/segflow/plugins/destination/mailchimp/mailchimpstandin"
	"github.com/segflow/segflow/plugins/destination/sendgrid"
	"github.com/segflow/segflow/plugins/destination/sendgrid/sendgridstandin"
	"github.com/segflow/segflow/plugins/destination/webhook"
	"github.com/segflow/segflow/plugins/destination/webhook/webhookstandin"
)

// destinationTargets are the built-in destinations, each with its
// vendor's stand-in under a rate limit scaled down from the vendor's
// (see each BenchTarget).
func destinationTargets() []destbench.Target {
	return []destbench.Target{
		mailchimpstandin.BenchTarget(func() core.Destination { return mailchimp.New() }),
		klaviyostandin.BenchTarget(func() core.Destination { return klaviyo.New() }),
		brazestandin.BenchTarget(func() core.Destination { return braze.New() }),
		sendgridstandin.BenchTarget(func() core.Destination { return sendgrid.New() }),
		hubspotstandin.BenchTarget(func() core.Destination { return hubspot.New() }),
		customeriostandin.BenchTarget(func() core.Destination { return customerio.New() }),
		webhookstandin.BenchTarget(func() core.Destination { return webhook.New() }),
	}
}

// destinationThroughput upserts each target's records through its
// destination (in process, behind core.SplitBatches as the host uses
// it) into its stand-in and reports the records sent as a fraction of
// what the stand-in's limit allows in the elapsed time (its long-run rate
// plus the burst or window a short run can use up front, so a run may
// beat the long-run rate and still be under 1.00), with the records lost
// and the 429s drawn. The stand-ins are local servers following
// each vendor's documented contract, so the figures measure how well a
// destination paces itself, not the vendors. One failing target is
// reported in its row; the others still run.
func destinationThroughput(ctx context.Context) []figure {
	const target = ">= 0.90, lost 0, 429s 0"
	var out []figure
	for _, t := range destinationTargets() {
		res, err := destbench.Run(ctx, t, t.Records)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			out = append(out, figure{"destination_fraction_of_limit " + t.Name + " (stand-in)", "failed", target})
			continue
		}
		out = append(out, figure{
			fmt.Sprintf("destination_fraction_of_limit %s (stand-in; %d records in %.1f s = %.0f rec/s; limit %.0f rec/s + its burst)",
				t.Name, res.Records, res.Elapsed.Seconds(), res.RecordsPerSecond, res.AllowedPerSecond),
			fmt.Sprintf("%.2f (lost %d, 429s %d)", res.Fraction, res.Lost, res.Throttled),
			target,
		})
	}
	return out
}
