package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/clv"
	"github.com/segflow/segflow/sql/models"
)

// fitCLV is the clv model's Go stage. The warehouse has materialised
// clv_summary; this reads it back grouped into unique (x, t_x, T) and
// (x, mean value) rows — thousands of rows, not one per customer — fits
// BG/NBD and Gamma-Gamma, and runs the statements that write the fitted
// parameters and the per-customer scores back into the warehouse.
func (r *Runner) fitCLV(ctx context.Context, sum *Summary, o models.Options) error {
	start := time.Now()
	q := models.CLVQueries(o)
	groups, err := r.readSummaries(ctx, q.Purchases)
	if err == nil && len(groups) == 0 {
		err = fmt.Errorf("clv: no customer has a purchase up to %s", o.AsOf.Format(time.DateOnly))
	}
	var spend []clv.SpendSummary
	if err == nil {
		spend, err = r.readSpend(ctx, q.Spend)
	}
	var fit models.CLVFit
	if err == nil {
		fit.Units = o.CLV.UnitDays
		fit.BGNBD, err = clv.FitBGNBD(ctx, summaries(groups))
	}
	if err == nil {
		fit.GammaGamma, err = clv.FitGammaGamma(ctx, spend)
	}
	if err == nil {
		fit.Scores = scoreGroups(fit.BGNBD, groups, o.CLV.Horizon)
	}
	st := Step{Kind: "fit", Name: "clv.bgnbd+gamma_gamma", Rows: int64(len(groups) + len(spend))}
	if err := r.record(sum, st, start, err); err != nil {
		return err
	}
	stmts, err := models.RenderCLVResults(o, fit)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if !s.Append {
			if err := r.materialise(ctx, sum, "model", s.Model+"."+s.Name, s.Name, s.SQL); err != nil {
				return err
			}
			continue
		}
		// A batch of rows for the table the previous statement created.
		start := time.Now()
		n, err := r.Warehouse.Execute(ctx, s.SQL, s.Params...)
		if err != nil {
			return r.record(sum, Step{Kind: "model", Name: s.Model + "." + s.Name, SQL: s.SQL}, start, err)
		}
		last := &sum.Steps[len(sum.Steps)-1]
		last.Rows += max(n, 0)
		last.Duration += time.Since(start)
	}
	return nil
}

// summaryGroup is one unique (x, t_x, T) row with its day counts, which
// key the scores when they are joined back to customers.
type summaryGroup struct {
	x                  int
	recencyDays, tDays int64
	customers          int64
	units              float64
}

func summaries(groups []summaryGroup) []clv.Summary {
	out := make([]clv.Summary, len(groups))
	for i, g := range groups {
		out[i] = clv.Summary{X: g.x, Tx: float64(g.recencyDays) / g.units, T: float64(g.tDays) / g.units, Count: g.customers}
	}
	return out
}

func scoreGroups(m clv.BGNBD, groups []summaryGroup, horizon float64) []models.CLVScore {
	out := make([]models.CLVScore, len(groups))
	for i, g := range groups {
		tx, T := float64(g.recencyDays)/g.units, float64(g.tDays)/g.units
		out[i] = models.CLVScore{
			Frequency: int64(g.x), RecencyDays: g.recencyDays, TDays: g.tDays,
			PAlive:            m.PAlive(g.x, tx, T),
			ExpectedPurchases: m.ExpectedPurchases(horizon, g.x, tx, T),
		}
	}
	return out
}

// readSummaries reads rows of (frequency, recency_days, t_days, customers, unit_days).
func (r *Runner) readSummaries(ctx context.Context, sql string) ([]summaryGroup, error) {
	var out []summaryGroup
	err := r.eachRow(ctx, sql, func(v []int64) {
		out = append(out, summaryGroup{x: int(v[0]), recencyDays: v[1], tDays: v[2], customers: v[3], units: float64(v[4])})
	})
	return out, err
}

// readSpend reads rows of (frequency, monetary_value, customers).
func (r *Runner) readSpend(ctx context.Context, sql string) ([]clv.SpendSummary, error) {
	var out []clv.SpendSummary
	err := r.read(ctx, sql, func(rdr array.RecordReader) error {
		for rdr.Next() {
			rec := rdr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				x, err1 := core.Int64At(rec.Column(0), i)
				mv, err2 := core.Float64At(rec.Column(1), i)
				n, err3 := core.Int64At(rec.Column(2), i)
				if err := firstErr(err1, err2, err3); err != nil {
					return err
				}
				out = append(out, clv.SpendSummary{X: int(x), MeanValue: mv, Count: n})
			}
		}
		return nil
	})
	return out, err
}

// eachRow calls fn with the integer columns of every row of sql's result.
func (r *Runner) eachRow(ctx context.Context, sql string, fn func([]int64)) error {
	return r.read(ctx, sql, func(rdr array.RecordReader) error {
		for rdr.Next() {
			rec := rdr.RecordBatch()
			row := make([]int64, rec.NumCols())
			for i := 0; i < int(rec.NumRows()); i++ {
				for c := range row {
					var err error
					if row[c], err = core.Int64At(rec.Column(c), i); err != nil {
						return err
					}
				}
				fn(row)
			}
		}
		return nil
	})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
