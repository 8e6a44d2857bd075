package attribution

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// The states of the Markov chain besides the channels. A channel may not
// be called by one of these names.
const (
	Start      = "(start)"
	Conversion = "(conversion)"
	Null       = "(null)"
)

// Transition is the number of times journeys moved from one state to the
// next: From is Start or a channel, To a channel, Conversion or Null.
// Repeated channels (From == To) are allowed; they do not change the
// result.
type Transition struct {
	From, To string
	Count    float64
}

// TransitionsFromPaths counts the transitions of paths: Start to the
// first channel, each channel to the next, and the last channel to
// Conversion (Conversions times) and to Null (NonConversions times).
// The SQL of the attribution model computes the same counts in the
// warehouse (table attribution_transitions).
func TransitionsFromPaths(paths []Path) []Transition {
	type key struct{ from, to string }
	counts := map[key]float64{}
	var order []key
	add := func(from, to string, n float64) {
		if n == 0 {
			return
		}
		k := key{from, to}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k] += n
	}
	for _, p := range paths {
		if len(p.Channels) == 0 {
			continue
		}
		n := p.Conversions + p.NonConversions
		prev := Start
		for _, c := range p.Channels {
			add(prev, c, n)
			prev = c
		}
		add(prev, Conversion, p.Conversions)
		add(prev, Null, p.NonConversions)
	}
	out := make([]Transition, len(order))
	for i, k := range order {
		out[i] = Transition{From: k.from, To: k.to, Count: counts[k]}
	}
	return out
}

// Markov returns each channel's share of the conversions under the
// first-order Markov model of paths (see MarkovModel); the shares sum to
// 1, or the map is empty when no path converted.
func Markov(paths []Path) map[string]float64 {
	r, err := MarkovModel(TransitionsFromPaths(paths))
	if err != nil {
		// Transitions counted from paths always reach an absorbing state
		// and have valid counts; only NaN or negative path counts fail.
		return map[string]float64{}
	}
	return r.Shares
}

// MarkovModel fits the first-order Markov chain of the transitions and
// credits the channels by their removal effects (Anderl, Becker, von
// Wangenheim & Schumann 2016, "Mapping the customer journey: Lessons
// learned from graph-based online attribution modeling", IJRM 33(3)):
//
//   - the transition probability from state i to j is the count of i→j
//     over all transitions out of i; Conversion and Null absorb;
//   - P(conversion) is the probability of being absorbed in Conversion
//     when starting in Start;
//   - removing channel c sends every transition into c to Null; the
//     removal effect is RE(c) = 1 − P₋c(conversion) / P(conversion);
//   - the shares are RE(c) / Σ RE, which normalises the removal effects
//     to the total number of conversions.
//
// It solves (I − Q) N = I once for the fundamental matrix N of the
// transient states (Start and the channels) and uses that the
// probability of ever reaching c from Start is N[start][c] / N[c][c], so
// RE(c) = N[start][c] / N[c][c] · x[c] / x[start], where x are the
// conversion probabilities: one O(n³) solve for n channels.
func MarkovModel(ts []Transition) (Result, error) {
	res := Result{Model: ModelMarkov, Shares: map[string]float64{}, Weights: map[string]float64{}}
	var channels []string
	seen := map[string]bool{}
	addChannel := func(c string) {
		if !seen[c] {
			seen[c] = true
			channels = append(channels, c)
		}
	}
	for _, t := range ts {
		if math.IsNaN(t.Count) || math.IsInf(t.Count, 0) || t.Count < 0 {
			return res, fmt.Errorf("attribution: transition %s → %s has count %g", t.From, t.To, t.Count)
		}
		switch {
		case t.From == Conversion || t.From == Null:
			return res, fmt.Errorf("attribution: transition out of absorbing state %s", t.From)
		case t.To == Start:
			return res, errors.New("attribution: transition into " + Start)
		}
		if t.From != Start {
			addChannel(t.From)
		}
		if t.To != Conversion && t.To != Null {
			addChannel(t.To)
		}
	}
	slices.Sort(channels)
	n := len(channels) + 1 // transient states: Start is 0, channel i is i+1
	index := map[string]int{Start: 0}
	for i, c := range channels {
		index[c] = i + 1
	}
	counts := make([][]float64, n) // among transient states
	for i := range counts {
		counts[i] = make([]float64, n)
	}
	toConv := make([]float64, n)
	total := make([]float64, n)
	for _, t := range ts {
		i := index[t.From]
		total[i] += t.Count
		switch t.To {
		case Conversion:
			toConv[i] += t.Count
			res.Conversions += t.Count
		case Null:
		default:
			counts[i][index[t.To]] += t.Count
		}
	}
	if res.Conversions == 0 {
		return res, nil
	}
	// I − Q; a state without transitions out absorbs in Null.
	m := make([][]float64, n)
	r := make([]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		m[i][i] = 1
		if total[i] == 0 {
			continue
		}
		for j, c := range counts[i] {
			m[i][j] -= c / total[i]
		}
		r[i] = toConv[i] / total[i]
	}
	fund, err := inverse(m)
	if err != nil {
		return res, fmt.Errorf("attribution: markov chain: %w (some states never reach conversion or null)", err)
	}
	x := make([]float64, n) // P(conversion) from each state: N r
	for i := range x {
		for j := range r {
			x[i] += fund[i][j] * r[j]
		}
	}
	if x[0] <= 0 {
		return res, nil
	}
	for c, k := range index {
		if k == 0 {
			continue
		}
		re := fund[0][k] / fund[k][k] * x[k] / x[0]
		// Rounding can push an exact 0 or 1 slightly past.
		res.Weights[c] = min(max(re, 0), 1)
	}
	res.Shares = normalise(res.Weights)
	return res, nil
}

// inverse inverts a by Gauss-Jordan elimination with partial pivoting.
func inverse(a [][]float64) ([][]float64, error) {
	n := len(a)
	m := make([][]float64, n)
	for i := range a {
		m[i] = make([]float64, 2*n)
		copy(m[i], a[i])
		m[i][n+i] = 1
	}
	for col := range n {
		p := col
		for i := col + 1; i < n; i++ {
			if math.Abs(m[i][col]) > math.Abs(m[p][col]) {
				p = i
			}
		}
		if math.Abs(m[p][col]) < 1e-12 {
			return nil, errors.New("singular system")
		}
		m[col], m[p] = m[p], m[col]
		piv := m[col][col]
		for j := range m[col] {
			m[col][j] /= piv
		}
		for i := range n {
			if i == col || m[i][col] == 0 {
				continue
			}
			f := m[i][col]
			for j := range m[i] {
				m[i][j] -= f * m[col][j]
			}
		}
	}
	out := make([][]float64, n)
	for i := range m {
		out[i] = m[i][n:]
	}
	return out, nil
}
