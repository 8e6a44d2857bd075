package attribution

import (
	"fmt"
	"math"
	"slices"
)

// Shapley returns each channel's share of the conversions under the
// Shapley value of ShapleyModel; the shares sum to 1, or the map is
// empty when no set converted.
func Shapley(sets []SetStats) map[string]float64 {
	r, err := ShapleyModel(sets)
	if err != nil {
		return map[string]float64{}
	}
	return r.Shares
}

// ShapleyModel credits the channels by their Shapley values in the
// cooperative game whose players are the channels and whose
// characteristic function is
//
//	v(S) = Σ_{T ⊆ S} conversions(T)
//
// the conversions of the paths whose set of channels is a subset of S
// (conversions(T) counts the converting paths whose channel set is
// exactly T). This is the game of Zhao, Mahboobi & Bagheri (2018),
// "Shapley Value Methods for Attribution Modeling in Online Advertising"
// (arXiv:1804.05327), section 3, who show that its Shapley value
//
//	φ_j = Σ_S |S|!(N−|S|−1)!/N! · (v(S ∪ {j}) − v(S))
//
// reduces to
//
//	φ_j = Σ_{T ∋ j} conversions(T) / |T|
//
// since v is a sum of unanimity games u_T with coefficients
// conversions(T), each of whose Shapley value splits its worth equally
// among the members of T. That closed form is what is computed here (the
// tests check it against the definition): each converting path's
// conversion is split equally among the distinct channels it touched.
// The Shapley values add up to v(all channels), the total conversions;
// the shares are φ_j / Σ φ. Non-converting paths do not enter v; they
// are part of SetStats for conversion rates (channel_combinations).
//
// Channel sets in SQL draw from at most MaxSetChannels channels; this
// function itself has no limit.
func ShapleyModel(sets []SetStats) (Result, error) {
	res := Result{Model: ModelShapley, Shares: map[string]float64{}, Weights: map[string]float64{}}
	for _, s := range sets {
		if math.IsNaN(s.Conversions) || math.IsInf(s.Conversions, 0) || s.Conversions < 0 ||
			math.IsNaN(s.NonConversions) || s.NonConversions < 0 {
			return res, fmt.Errorf("attribution: channel set %v has counts %g, %g", s.Channels, s.Conversions, s.NonConversions)
		}
		members := distinct(s.Channels)
		if len(members) == 0 {
			continue
		}
		for _, c := range members {
			if _, ok := res.Weights[c]; !ok {
				res.Weights[c] = 0
			}
			res.Weights[c] += s.Conversions / float64(len(members))
		}
		res.Conversions += s.Conversions
	}
	if res.Conversions == 0 {
		return res, nil
	}
	res.Shares = normalise(res.Weights)
	return res, nil
}

// distinct returns the distinct elements of s, sorted.
func distinct(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
