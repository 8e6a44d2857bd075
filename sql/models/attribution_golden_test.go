package models

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/sql/dialect"
)

// TestAttributionAffinityGolden pins the SQL of attribution and affinity
// in every dialect: with the default options (the files TestGolden
// checks too), with every option that changes the SQL, and the
// statements that write the data-driven results back. Run
//
//	go test ./sql/models -run TestAttributionAffinityGolden -update
//
// to rewrite these files only.
func TestAttributionAffinityGolden(t *testing.T) {
	results := []attribution.Result{
		{Model: "markov", Shares: map[string]float64{"email": 0.6, "display": 0.4}, Weights: map[string]float64{"email": 0.75, "display": 0.5}},
		{Model: "shapley", Shares: map[string]float64{"email": 0.65, "display": 0.35}, Weights: map[string]float64{"email": 13, "display": 7}},
	}
	for _, name := range dialect.Names() {
		o := goldenOptionsFor(t, name)
		for _, model := range []string{"attribution", "affinity"} {
			stmts, err := Render(model, o)
			require.NoError(t, err)
			checkGolden(t, model+"."+name+".sql", joinStatements(stmts...))
		}

		res, err := RenderAttributionResults(o, results...)
		require.NoError(t, err)
		checkGolden(t, "attribution_results."+name+".sql", joinStatements(res...))

		opts := o
		opts.Attribution = AttributionOptions{
			LookbackDays: 14, HalfLifeDays: 3.5, ReuseTouches: true, WindowMonths: 6, SegmentBreakdown: true,
			PositionWeights: &PositionWeights{First: 0.3, Middle: 0.4, Last: 0.3},
		}
		opts.Affinity = AffinityOptions{MinCount: 20, MinSupport: 0.001, TopK: 10, Recommendations: 3}
		var all []Statement
		for _, model := range []string{"attribution", "affinity"} {
			stmts, err := Render(model, opts)
			require.NoError(t, err)
			for _, s := range stmts {
				if !s.Shared {
					all = append(all, s)
				}
			}
		}
		checkGolden(t, "attribution_affinity_options."+name+".sql", joinStatements(all...))
	}
}
