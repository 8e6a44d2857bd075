package attribution

import (
	"math"
	"slices"
)

// Special states and channels. Channel names from the data never start
// with "(" in the SQL the models render except for these.
const (
	// None is the channel untouched conversions are credited to.
	None = "(none)"
	// Other stands for the channels beyond the MaxSetChannels most
	// touched in channel sets (Shapley and channel combinations).
	Other = "(other)"
	// Unknown is the channel of a touchpoint whose channel is NULL.
	Unknown = "(unknown)"
)

// MaxSetChannels is the largest number of distinct channels a channel
// set can draw from. The SQL keeps the MaxSetChannels-1 channels with
// the most touches and groups the rest as Other when there are more.
const MaxSetChannels = 12

// Model names of the data-driven models.
const (
	ModelMarkov  = "markov"
	ModelShapley = "shapley"
)

// Path is one customer journey: the channels of its touchpoints in time
// order, and how many journeys with exactly this sequence converted or
// did not. A converting path is a conversion's eligible touchpoints; a
// non-converting path is a customer's touchpoints that no conversion
// was credited with. Paths without channels are ignored (untouched
// conversions go to None, outside the models).
type Path struct {
	Channels       []string
	Conversions    float64
	NonConversions float64
}

// SetStats is the number of converting and non-converting paths whose
// set of distinct channels is exactly Channels (order and repeats do not
// matter).
type SetStats struct {
	Channels       []string
	Conversions    float64
	NonConversions float64
}

// Result is a data-driven model's outcome over the touched conversions.
type Result struct {
	// Model is ModelMarkov or ModelShapley.
	Model string
	// Shares are the channels' shares of the credit; they sum to 1, or
	// the map is empty when no path converted.
	Shares map[string]float64
	// Weights are the model's scores before normalisation: the removal
	// effect of each channel for markov, its Shapley value (in
	// conversions) for shapley.
	Weights map[string]float64
	// Conversions is the number of converting paths the model saw.
	Conversions float64
}

// Channels returns the channels of r in a fixed order: by share,
// largest first, then by name.
func (r Result) Channels() []string {
	out := make([]string, 0, len(r.Shares))
	for c := range r.Shares {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b string) int {
		switch sa, sb := r.Shares[a], r.Shares[b]; {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	return out
}

// Allocate splits conversions and revenue over channels by shares: each
// channel gets share × conversions and share × revenue. The models
// allocate the touched conversions and their revenue this way; the
// untouched ones stay with None.
func Allocate(shares map[string]float64, conversions, revenue float64) (conv, rev map[string]float64) {
	conv, rev = make(map[string]float64, len(shares)), make(map[string]float64, len(shares))
	for c, s := range shares {
		conv[c] = s * conversions
		rev[c] = s * revenue
	}
	return conv, rev
}

// normalise returns w scaled to sum to 1, leaving out negative and
// non-finite weights (a zero weight stays, as a zero share); it is empty
// when no weight is positive.
func normalise(w map[string]float64) map[string]float64 {
	var sum float64
	for _, v := range w {
		if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			sum += v
		}
	}
	out := map[string]float64{}
	if sum <= 0 {
		return out
	}
	for c, v := range w {
		if v >= 0 && !math.IsInf(v, 0) {
			out[c] = v / sum
		}
	}
	return out
}
