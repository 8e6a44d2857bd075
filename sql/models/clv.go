package models

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/segflow/segflow/core/clv"
	"github.com/segflow/segflow/sql/dialect"
)

// clvColumns are the columns of the clv table, which segments filter.
var clvColumns = []string{
	"customer_id", "frequency", "recency", "t", "p_alive", "expected_purchases",
	"expected_value", "clv", "churn_risk", "purchase_outlook",
}

// CLVOptions configures the clv model.
type CLVOptions struct {
	// UnitDays is the model's time unit in days: 7 (weeks, the default,
	// the unit of the published CDNOW results) or 1.
	UnitDays int
	// Horizon is how many time units ahead expected purchases and CLV
	// look. Default 52.
	Horizon float64
}

func (o *CLVOptions) withDefaults() error {
	if o.UnitDays == 0 {
		o.UnitDays = 7
	}
	if o.Horizon == 0 {
		o.Horizon = 52
	}
	if o.UnitDays < 1 || o.Horizon < 0 {
		return fmt.Errorf("CLV.UnitDays must be at least 1 and CLV.Horizon not negative, got %d and %g", o.UnitDays, o.Horizon)
	}
	return nil
}

// CLVScore is the BG/NBD prediction for every customer with the same
// frequency, recency and age.
type CLVScore struct {
	Frequency, RecencyDays, TDays int64
	PAlive, ExpectedPurchases     float64
}

// CLVFit is the outcome of the clv model's Go stage.
type CLVFit struct {
	Units      int
	BGNBD      clv.BGNBD
	GammaGamma clv.GammaGamma
	Scores     []CLVScore
}

// CLVInputs are the queries whose small results the Go stage fits on.
type CLVInputs struct {
	// Purchases yields frequency, recency_days, t_days, customers,
	// unit_days: one row per distinct (x, t_x, T).
	Purchases string
	// Spend yields frequency, monetary_value, customers for customers
	// with repeat transactions: one row per distinct (x, mean value).
	Spend string
}

// CLVQueries returns the queries that group clv_summary for fitting.
func CLVQueries(o Options) CLVInputs {
	t := o.Dialect.Table(o.OutputSchema, "clv_summary")
	return CLVInputs{
		Purchases: "SELECT frequency, recency_days, t_days, COUNT(*) AS customers, MIN(unit_days) AS unit_days FROM " + t +
			" GROUP BY frequency, recency_days, t_days ORDER BY frequency, recency_days, t_days",
		Spend: "SELECT frequency, monetary_value, COUNT(*) AS customers FROM " + t +
			" WHERE frequency > 0 AND monetary_value > 0 GROUP BY frequency, monetary_value ORDER BY frequency, monetary_value",
	}
}

// scoreBatchRows bounds the rows of one INSERT, keeping a statement
// (about 60 bytes a row) well under BigQuery's and Snowflake's limits
// on statement length.
const scoreBatchRows = 5000

// RenderCLVResults returns the statements that write a fit back: the
// clv_params table, the clv_scores table (created, then filled by
// batches of rows) and the clv table joining scores to customers.
func RenderCLVResults(o Options, fit CLVFit) ([]Statement, error) {
	r, err := newRenderer("clv", o, nil)
	if err != nil {
		return nil, err
	}
	d := r.d
	stmts := []Statement{{Model: "clv", Name: "clv_params", SQL: d.CreateTableAs(d.Table(o.OutputSchema, "clv_params"), paramsQuery(d, fit))}}

	// An empty typed table first: its columns come from a SELECT that
	// returns no rows, so no dialect-specific column DDL is needed.
	scores := d.Table(o.OutputSchema, "clv_scores")
	empty := fmt.Sprintf("SELECT CAST(NULL AS %[1]s) AS frequency, CAST(NULL AS %[1]s) AS recency_days, CAST(NULL AS %[1]s) AS t_days, "+
		"CAST(NULL AS %[2]s) AS p_alive, CAST(NULL AS %[2]s) AS expected_purchases FROM (SELECT 1 AS one) AS z WHERE 1 = 0",
		d.TypeName(dialect.Int64), d.TypeName(dialect.Float64))
	stmts = append(stmts, Statement{Model: "clv", Name: "clv_scores", SQL: d.CreateTableAs(scores, empty)})
	for lo := 0; lo < len(fit.Scores); lo += scoreBatchRows {
		batch := fit.Scores[lo:min(lo+scoreBatchRows, len(fit.Scores))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + scores + " (frequency, recency_days, t_days, p_alive, expected_purchases) VALUES ")
		for i, s := range batch {
			if math.IsNaN(s.PAlive) || math.IsNaN(s.ExpectedPurchases) || math.IsInf(s.ExpectedPurchases, 0) {
				return nil, fmt.Errorf("clv: no prediction for x=%d t_x=%dd T=%dd", s.Frequency, s.RecencyDays, s.TDays)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			// Numbers computed here, not user input: written as literals,
			// which warehouses parse far faster than they bind thousands
			// of parameters.
			fmt.Fprintf(&b, "(%d, %d, %d, %s, %s)", s.Frequency, s.RecencyDays, s.TDays,
				strconv.FormatFloat(s.PAlive, 'g', -1, 64), strconv.FormatFloat(s.ExpectedPurchases, 'g', -1, 64))
		}
		stmts = append(stmts, Statement{Model: "clv", Name: "clv_scores", Append: true, SQL: b.String()})
	}

	data := r.data()
	data.Fit = &fit
	sql, err := r.create("clv", "clv/clv.sql.tmpl", data)
	if err != nil {
		return nil, err
	}
	return append(stmts, Statement{Model: "clv", Name: "clv", SQL: sql}), nil
}

// paramsQuery selects clv_params: model, parameter, value, std_error.
func paramsQuery(d dialect.Dialect, fit CLVFit) string {
	type row struct {
		model, param string
		value, se    float64
	}
	bg, gg := fit.BGNBD, fit.GammaGamma
	rows := []row{
		{"bgnbd", "r", bg.R, bg.StdErr[0]}, {"bgnbd", "alpha", bg.Alpha, bg.StdErr[1]},
		{"bgnbd", "a", bg.A, bg.StdErr[2]}, {"bgnbd", "b", bg.B, bg.StdErr[3]},
		{"bgnbd", "log_likelihood", bg.LogLik, math.NaN()},
		{"bgnbd", "customers", float64(bg.N), math.NaN()},
		{"gamma_gamma", "p", gg.P, gg.StdErr[0]}, {"gamma_gamma", "q", gg.Q, gg.StdErr[1]},
		{"gamma_gamma", "gamma", gg.Gamma, gg.StdErr[2]},
		{"gamma_gamma", "log_likelihood", gg.LogLik, math.NaN()},
		{"gamma_gamma", "customers", float64(gg.N), math.NaN()},
		{"model", "unit_days", float64(fit.Units), math.NaN()},
	}
	float := d.TypeName(dialect.Float64)
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "CAST(NULL AS " + float + ")"
		}
		return "CAST(" + fmt.Sprint(v) + " AS " + float + ")"
	}
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmt.Sprintf("SELECT %s AS model, %s AS parameter, %s AS value, %s AS std_error",
			d.StringLiteral(r.model), d.StringLiteral(r.param), num(r.value), num(r.se))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}
