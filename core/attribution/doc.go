// Package attribution computes the data-driven attribution models —
// the first-order Markov chain's removal effects and Shapley values over
// channel sets — in Go, on aggregates the warehouse computed.
//
// The rule-based models (first touch, last touch, linear, time decay,
// position based) run entirely in SQL (sql/models, model attribution).
// The data-driven ones need a small computation over the whole data set,
// so the warehouse reduces the touchpoints to
//
//   - transition counts between states (table attribution_transitions),
//     a few rows per pair of channels, for Markov, and
//   - conversion and non-conversion counts per set of channels touched
//     (attribution_channel_sets), at most 2^12 sets, for Shapley,
//
// and this package only ever sees those rows: memory and time do not
// grow with the number of touchpoints or customers.
//
// # Paths
//
// A converting path is one conversion's eligible touchpoints in time
// order; a non-converting path is a customer's touchpoints that no
// conversion was credited with. Conversions without touchpoints are no
// path: the models leave them to the channel None, "(none)".
//
// # Markov (MarkovModel, Markov)
//
// States are Start, the channels, Conversion and Null. Each path adds
// Start → c₁, cᵢ → cᵢ₊₁ and c_k → Conversion (converting) or c_k → Null
// (non-converting); probabilities are counts over the counts out of a
// state. A first-order chain depends on the paths only through these
// counts, which is why the SQL aggregates transitions rather than path
// strings (it also keeps the SQL portable: ordered string aggregation
// is spelt differently in every warehouse). P(conversion) is the
// probability of absorption in Conversion from Start; the removal effect
// of channel c is RE(c) = 1 − P(conversion with c's incoming transitions
// sent to Null) / P(conversion) (Anderl et al. 2016). The shares are
// RE(c)/Σ RE, which normalises the removal effects to the total number
// of conversions. One Gauss-Jordan inversion of I − Q gives all of them
// (see MarkovModel), O(n³) for n channels.
//
// # Shapley (ShapleyModel, Shapley)
//
// Players are channels; v(S) is the number of conversions of the
// converting paths whose channel set is a subset of S (Zhao, Mahboobi &
// Bagheri 2018, arXiv:1804.05327). Its Shapley value has the closed form
// φ_j = Σ_{T ∋ j} conversions(T)/|T|, each converting path's conversion
// split equally among its distinct channels; the tests check it against
// the definition over all coalitions. Shares are φ_j / Σ φ. Channel sets
// in SQL draw from at most MaxSetChannels (12) channels, the rest being
// grouped as Other; the computation itself has no limit.
// Non-conversions do not enter v.
//
// # Revenue
//
// Both models give shares summing to 1 over the channels of the touched
// conversions. A channel is credited share × the number of touched
// conversions and share × their revenue (Allocate); the untouched
// conversions and their revenue stay with None. So, as for the
// rule-based models, the credited revenue sums to the total conversion
// revenue. sql/models.RenderAttributionResults writes exactly this.
//
// # The runner
//
//	in := models.AttributionInputs(o)       // after models.Render("attribution", o) ran
//	rdr, _ := wh.Query(ctx, in.Transitions)
//	ts, _ := attribution.ReadTransitions(rdr) // then rdr.Release()
//	rdr, _ = wh.Query(ctx, in.ChannelSets)
//	sets, _ := attribution.ReadSetStats(rdr)
//	mk, _ := attribution.MarkovModel(ts)
//	sh, _ := attribution.ShapleyModel(sets)
//	stmts, _ := models.RenderAttributionResults(o, mk, sh) // execute them in order
package attribution
