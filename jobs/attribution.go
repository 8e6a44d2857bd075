package jobs

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/sql/models"
)

// dataDrivenAttribution is the attribution model's Go stage: the SQL
// aggregated channel transitions and channel sets; the Markov removal
// effects and Shapley values are computed here on those aggregates and
// written back next to the rule-based models.
func (r *Runner) dataDrivenAttribution(ctx context.Context, sum *Summary, o models.Options) error {
	start := time.Now()
	in := models.AttributionInputs(o)
	var transitions []attribution.Transition
	var sets []attribution.SetStats
	err := r.read(ctx, in.Transitions, func(rdr array.RecordReader) (err error) {
		transitions, err = attribution.ReadTransitions(rdr)
		return err
	})
	if err == nil {
		err = r.read(ctx, in.ChannelSets, func(rdr array.RecordReader) (err error) {
			sets, err = attribution.ReadSetStats(rdr)
			return err
		})
	}
	var markov, shapley attribution.Result
	if err == nil {
		markov, err = attribution.MarkovModel(transitions)
	}
	if err == nil {
		shapley, err = attribution.ShapleyModel(sets)
	}
	st := Step{Kind: "fit", Name: "attribution.markov+shapley", Rows: int64(len(transitions) + len(sets))}
	if err := r.record(sum, st, start, err); err != nil {
		return err
	}
	stmts, err := models.RenderAttributionResults(o, markov, shapley)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if err := r.materialise(ctx, sum, "model", s.Model+"."+s.Name, s.Name, s.SQL); err != nil {
			return err
		}
	}
	return nil
}

// read runs sql and hands its result to fn.
func (r *Runner) read(ctx context.Context, sql string, fn func(array.RecordReader) error) error {
	rdr, err := r.Warehouse.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rdr.Release()
	if err := fn(rdr); err != nil {
		return err
	}
	return rdr.Err()
}
