package attribution

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShapleyHandWorked: converting paths with channel sets {A} (10),
// {A, B} (6), {B, C} (4) and a non-converting {C} (5).
//
//	v(S) = conversions of the sets contained in S:
//	v(A) = 10, v(B) = 0, v(C) = 0, v(AB) = 16, v(AC) = 10, v(BC) = 4, v(ABC) = 20.
//
// Shapley value of A over the orders of the three players (each of the
// 6 orders counts 1/6; the marginal contribution of A when it joins):
//
//	ABC, ACB: A first                 v(A) − 0       = 10, 10
//	BAC:      after B                 v(AB) − v(B)   = 16
//	CAB:      after C                 v(AC) − v(C)   = 10
//	BCA, CBA: last                    v(ABC) − v(BC) = 16, 16
//	φ_A = (10+10+16+10+16+16)/6 = 78/6 = 13
//
// and likewise, in the same six orders, φ_B = (6+10+0+0+10+4)/6 = 5 and
// φ_C = (4+0+4+4+0+0)/6 = 2, which is what the closed form gives: φ_A = 10 + 6/2 = 13, φ_B = 6/2 + 4/2 = 5,
// φ_C = 4/2 = 2. Total 20 = v(ABC); shares 0.65, 0.25, 0.10.
func TestShapleyHandWorked(t *testing.T) {
	sets := []SetStats{
		{Channels: []string{"A"}, Conversions: 10, NonConversions: 3},
		{Channels: []string{"B", "A"}, Conversions: 6},
		{Channels: []string{"B", "C"}, Conversions: 4, NonConversions: 1},
		{Channels: []string{"C"}, NonConversions: 5},
	}
	require.InDeltaMapValues(t, map[string]float64{"A": 0.65, "B": 0.25, "C": 0.10}, Shapley(sets), 1e-12)
	r, err := ShapleyModel(sets)
	require.NoError(t, err)
	require.InDeltaMapValues(t, map[string]float64{"A": 13, "B": 5, "C": 2}, r.Weights, 1e-12)
	require.Equal(t, 20.0, r.Conversions)
	require.InDeltaMapValues(t, r.Weights, bruteShapley(sets), 1e-9)
}

func TestShapleyEdgeCases(t *testing.T) {
	require.Equal(t, map[string]float64{"email": 1}, Shapley([]SetStats{{Channels: []string{"email"}, Conversions: 2}}))
	require.Equal(t, map[string]float64{"email": 1}, Shapley([]SetStats{{Channels: []string{"email", "email"}, Conversions: 2}}))
	require.Empty(t, Shapley([]SetStats{{Channels: []string{"email"}, NonConversions: 2}}))
	require.Empty(t, Shapley([]SetStats{{Conversions: 2}}))
	_, err := ShapleyModel([]SetStats{{Channels: []string{"a"}, Conversions: -1}})
	require.Error(t, err)
}

// TestShapleyMatchesDefinition checks the closed form against the
// Shapley value computed from its definition over all coalitions, for
// random sets of up to MaxSetChannels channels.
func TestShapleyMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	for trial := range 20 {
		n := 1 + trial%MaxSetChannels
		var sets []SetStats
		for range 1 + rng.IntN(30) {
			var s SetStats
			for _, c := range names[:n] {
				if rng.IntN(3) == 0 {
					s.Channels = append(s.Channels, c)
				}
			}
			if len(s.Channels) == 0 {
				s.Channels = []string{names[rng.IntN(n)]}
			}
			s.Conversions = float64(rng.IntN(10))
			s.NonConversions = float64(rng.IntN(10))
			sets = append(sets, s)
		}
		r, err := ShapleyModel(sets)
		require.NoError(t, err)
		require.InDeltaMapValues(t, bruteShapley(sets), r.Weights, 1e-8, "trial %d", trial)
	}
}

// bruteShapley computes φ_j = Σ_{S ⊆ N\{j}} |S|!(n−|S|−1)!/n! (v(S∪{j}) − v(S))
// with v(S) = conversions of the sets contained in S.
func bruteShapley(sets []SetStats) map[string]float64 {
	var players []string
	idx := map[string]int{}
	for _, s := range sets {
		for _, c := range s.Channels {
			if _, ok := idx[c]; !ok {
				idx[c] = len(players)
				players = append(players, c)
			}
		}
	}
	n := len(players)
	conv := map[uint]float64{}
	for _, s := range sets {
		var m uint
		for _, c := range s.Channels {
			m |= 1 << idx[c]
		}
		conv[m] += s.Conversions
	}
	v := func(s uint) float64 {
		var total float64
		for m, c := range conv {
			if m&^s == 0 {
				total += c
			}
		}
		return total
	}
	fact := make([]float64, n+1)
	fact[0] = 1
	for i := 1; i <= n; i++ {
		fact[i] = fact[i-1] * float64(i)
	}
	out := map[string]float64{}
	for j, p := range players {
		var phi float64
		for s := uint(0); s < 1<<n; s++ {
			if s&(1<<j) != 0 {
				continue
			}
			k := bits.OnesCount(s)
			phi += fact[k] * fact[n-k-1] / fact[n] * (v(s|1<<j) - v(s))
		}
		out[p] = phi
	}
	return out
}
