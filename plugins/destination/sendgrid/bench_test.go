package sendgrid_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/destbench"
	"github.com/segflow/segflow/plugins/destination/sendgrid"
	"github.com/segflow/segflow/plugins/destination/sendgrid/sendgridstandin"
)

// raceEnabled is set under the race detector, which slows the
// destination so much that the bench measures the machine instead.
var raceEnabled bool

// TestBench runs the rate-limited bench: nothing lost, no 429 drawn, and
// at least 90% of what the stand-in's limit allows.
func TestBench(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("the bench takes seconds, and means nothing under the race detector")
	}
	target := sendgridstandin.BenchTarget(func() core.Destination { return sendgrid.New() })
	res, err := destbench.Run(context.Background(), target, target.Records)
	require.NoError(t, err)
	t.Log(res)
	require.Zero(t, res.Lost, "records lost")
	require.Zero(t, res.Throttled, "429s drawn")
	require.GreaterOrEqual(t, res.Fraction, 0.9, "fraction of the allowed rate")
}
