package models

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/sql/zetasql"
)

// TestZetaSQLAttributionAffinity analyses the attribution and affinity
// statements with every option that changes their SQL, and the
// statements that write the data-driven results back, as BigQuery and
// Snowflake would compile them. (TestZetaSQLAnalysis covers the
// defaults.)
func TestZetaSQLAttributionAffinity(t *testing.T) {
	results := []attribution.Result{
		{Model: "markov", Shares: map[string]float64{"email": 0.75, "it's \"odd\"": 0.25}, Weights: map[string]float64{"email": 0.9, "it's \"odd\"": 0.3}},
		{Model: "shapley", Shares: map[string]float64{"email": 1}, Weights: map[string]float64{"email": 12}},
	}
	for dn, flavor := range analyzerFlavors {
		t.Run(dn, func(t *testing.T) {
			a := zetasql.StartForTest(t, flavor)
			t.Run("attribution with every option", func(t *testing.T) {
				o := warehouseOptions(t, dn)
				o.Attribution = AttributionOptions{
					LookbackDays: 14, HalfLifeDays: 3.5, ReuseTouches: true, WindowMonths: 6, SegmentBreakdown: true,
					PositionWeights: &PositionWeights{First: 0.3, Middle: 0.4, Last: 0.3},
				}
				// SegmentBreakdown reads rfm: build it first, as a job would.
				stmts, err := RenderModels([]string{"rfm", "attribution"}, o)
				require.NoError(t, err)
				res, err := RenderAttributionResults(o, results...)
				require.NoError(t, err)
				analyzeAll(t, a, append(stmts, res...), sourceCatalog(o))
			})
			t.Run("attribution results without shares", func(t *testing.T) {
				o := warehouseOptions(t, dn)
				stmts, err := Render("attribution", o)
				require.NoError(t, err)
				res, err := RenderAttributionResults(o, attribution.Result{Model: "markov"})
				require.NoError(t, err)
				analyzeAll(t, a, append(stmts, res...), sourceCatalog(o))
				res, err = RenderAttributionResults(o)
				require.NoError(t, err)
				analyzeAll(t, a, append(stmts, res...), sourceCatalog(o))
			})
			t.Run("affinity with every option", func(t *testing.T) {
				o := warehouseOptions(t, dn)
				o.Affinity = AffinityOptions{MinCount: 20, MinSupport: 0.001, TopK: 10, Recommendations: 3}
				stmts, err := Render("affinity", o)
				require.NoError(t, err)
				analyzeAll(t, a, stmts, sourceCatalog(o))
			})
		})
	}
}
