package attribution

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMarkovHandWorked checks the removal effects of a chain small
// enough to solve by hand.
//
// Paths: A → conversion (1), A → B → conversion (1), B → null (1).
// Transitions: start→A 2, start→B 1, A→conv 1, A→B 1, B→conv 1, B→null 1,
// so P(start→A) = 2/3, P(start→B) = 1/3, P(A→conv) = P(A→B) = 1/2,
// P(B→conv) = P(B→null) = 1/2.
//
//	x_B = 1/2
//	x_A = 1/2 + 1/2·x_B = 3/4
//	x_start = 2/3·x_A + 1/3·x_B = 1/2 + 1/6 = 2/3
//
// Without A (start→A goes to null): x_start = 1/3·1/2 = 1/6, so
// RE(A) = 1 − (1/6)/(2/3) = 3/4. Without B (A→B and start→B go to
// null): x_A = 1/2, x_start = 2/3·1/2 = 1/3, so RE(B) = 1 − (1/3)/(2/3)
// = 1/2. Shares: A = (3/4)/(5/4) = 0.6, B = (1/2)/(5/4) = 0.4.
func TestMarkovHandWorked(t *testing.T) {
	paths := []Path{
		{Channels: []string{"A"}, Conversions: 1},
		{Channels: []string{"A", "B"}, Conversions: 1},
		{Channels: []string{"B"}, NonConversions: 1},
	}
	shares := Markov(paths)
	require.InDeltaMapValues(t, map[string]float64{"A": 0.6, "B": 0.4}, shares, 1e-12)

	r, err := MarkovModel(TransitionsFromPaths(paths))
	require.NoError(t, err)
	require.InDelta(t, 0.75, r.Weights["A"], 1e-12)
	require.InDelta(t, 0.5, r.Weights["B"], 1e-12)
	require.Equal(t, 2.0, r.Conversions)
	require.Equal(t, []string{"A", "B"}, r.Channels())
}

func TestMarkovEdgeCases(t *testing.T) {
	t.Run("one channel gets everything", func(t *testing.T) {
		require.Equal(t, map[string]float64{"email": 1},
			Markov([]Path{{Channels: []string{"email"}, Conversions: 3, NonConversions: 7}}))
	})
	t.Run("no conversion", func(t *testing.T) {
		require.Empty(t, Markov([]Path{{Channels: []string{"email", "display"}, NonConversions: 4}}))
		require.Empty(t, Markov(nil))
	})
	t.Run("repeated channels change nothing", func(t *testing.T) {
		a := Markov([]Path{
			{Channels: []string{"A", "B"}, Conversions: 2}, {Channels: []string{"B"}, NonConversions: 3},
			{Channels: []string{"C", "A"}, Conversions: 1, NonConversions: 1},
		})
		b := Markov([]Path{
			{Channels: []string{"A", "A", "B", "B", "B"}, Conversions: 2}, {Channels: []string{"B", "B"}, NonConversions: 3},
			{Channels: []string{"C", "A", "A"}, Conversions: 1, NonConversions: 1},
		})
		require.InDeltaMapValues(t, a, b, 1e-12)
	})
	t.Run("a channel only on non-converting paths gets nothing", func(t *testing.T) {
		s := Markov([]Path{
			{Channels: []string{"A"}, Conversions: 5}, {Channels: []string{"Z"}, NonConversions: 5},
		})
		require.InDeltaMapValues(t, map[string]float64{"A": 1, "Z": 0}, s, 1e-12)
	})
	t.Run("invalid input", func(t *testing.T) {
		_, err := MarkovModel([]Transition{{From: Start, To: "A", Count: -1}})
		require.Error(t, err)
		_, err = MarkovModel([]Transition{{From: Conversion, To: "A", Count: 1}})
		require.Error(t, err)
		_, err = MarkovModel([]Transition{{From: "A", To: Start, Count: 1}})
		require.Error(t, err)
		// A loop that never reaches an absorbing state.
		_, err = MarkovModel([]Transition{{From: Start, To: "A", Count: 1}, {From: "A", To: "B", Count: 1},
			{From: "B", To: "A", Count: 1}, {From: Start, To: "C", Count: 1}, {From: "C", To: Conversion, Count: 1}})
		require.ErrorContains(t, err, "singular")
	})
}

// TestMarkovMatchesRemoval checks the fundamental-matrix shortcut
// against the definition: remove each channel by sending its incoming
// transitions to null and solve the chain again by value iteration.
func TestMarkovMatchesRemoval(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	channels := []string{"a", "b", "c", "d", "e", "f"}
	for trial := range 30 {
		var paths []Path
		for range 1 + rng.IntN(40) {
			p := Path{}
			for range 1 + rng.IntN(6) {
				p.Channels = append(p.Channels, channels[rng.IntN(2+trial%5)])
			}
			if rng.IntN(3) == 0 {
				p.Conversions = float64(1 + rng.IntN(5))
			} else {
				p.NonConversions = float64(1 + rng.IntN(9))
			}
			paths = append(paths, p)
		}
		ts := TransitionsFromPaths(paths)
		got, err := MarkovModel(ts)
		require.NoError(t, err)
		base := iterate(ts, "")
		if base == 0 {
			require.Empty(t, got.Shares)
			continue
		}
		want := map[string]float64{}
		for c := range got.Weights {
			want[c] = 1 - iterate(ts, c)/base
		}
		require.InDeltaMapValues(t, want, got.Weights, 1e-9, "trial %d", trial)
		var sum float64
		for _, s := range got.Shares {
			sum += s
		}
		require.InDelta(t, 1, sum, 1e-12)
	}
}

// iterate returns P(conversion) from Start by value iteration, with
// channel removed (its incoming transitions go to null) unless empty.
func iterate(ts []Transition, removed string) float64 {
	out := map[string]map[string]float64{}
	total := map[string]float64{}
	for _, t := range ts {
		if out[t.From] == nil {
			out[t.From] = map[string]float64{}
		}
		out[t.From][t.To] += t.Count
		total[t.From] += t.Count
	}
	states := make([]string, 0, len(out))
	for s := range out {
		states = append(states, s)
	}
	slices.Sort(states)
	x := map[string]float64{Conversion: 1}
	for range 20000 {
		next := map[string]float64{Conversion: 1}
		var delta float64
		for _, s := range states {
			if s == removed {
				continue
			}
			var v float64
			for to, c := range out[s] {
				if to != removed {
					v += c / total[s] * x[to]
				}
			}
			next[s] = v
			delta = math.Max(delta, math.Abs(v-x[s]))
		}
		x = next
		if delta < 1e-15 {
			break
		}
	}
	return x[Start]
}
