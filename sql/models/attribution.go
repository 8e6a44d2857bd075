package models

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/sql/dialect"
)

// AttributionOptions configures the attribution model. The zero value
// is the documented default.
type AttributionOptions struct {
	// LookbackDays is how long before an order a touchpoint may be
	// credited with it: touches with ordered_at − LookbackDays <
	// occurred_at ≤ ordered_at are eligible. 0 means 30.
	LookbackDays int
	// HalfLifeDays is the half-life of the time_decay model: a touch
	// age_days before the order weighs 2^(−age_days / HalfLifeDays).
	// 0 means 7.
	HalfLifeDays float64
	// ReuseTouches lets a touch be credited to every order within its
	// lookback. By default (false) a touch is eligible only for the
	// customer's first order after it: touches at or before the previous
	// order are not, so each touch is credited to one conversion at most.
	ReuseTouches bool
	// PositionWeights are the weights of the custom_position model. Nil
	// leaves that model out.
	PositionWeights *PositionWeights
	// WindowMonths limits the conversions to orders in the last
	// WindowMonths months up to as_of (order_date ≥ as_of − WindowMonths
	// months). 0 means all history.
	WindowMonths int
	// SegmentBreakdown adds the rfm_segment dimension to
	// attribution_breakdown. It reads the rfm table in the output
	// schema, so the rfm model must have been built before attribution
	// (in the same run, or earlier).
	SegmentBreakdown bool
}

// PositionWeights are the shares of the first touch, of all middle
// touches together and of the last touch of a conversion with three or
// more touches. They need not sum to 1: they are scaled to. With two
// touches the middle weight is split between the first and last touch
// in proportion to theirs (equally when both are 0); one touch gets
// everything.
type PositionWeights struct {
	First, Middle, Last float64
}

// The attribution models, in report order. custom_position is rendered
// only with PositionWeights.
var (
	attributionRuleModels = []string{"first_touch", "last_touch", "linear", "time_decay", "position_based", "custom_position"}
	attributionDataModels = []string{attribution.ModelMarkov, attribution.ModelShapley}
)

// AttributionModels returns the names of the attribution models o
// computes: the rule-based ones (in SQL) then the data-driven ones
// (markov and shapley, computed in Go; see RenderAttributionResults).
func AttributionModels(o AttributionOptions) []string {
	var out []string
	for _, m := range attributionRuleModels {
		if m != "custom_position" || o.PositionWeights != nil {
			out = append(out, m)
		}
	}
	return append(out, attributionDataModels...)
}

func (o *AttributionOptions) withDefaults() error {
	if o.LookbackDays == 0 {
		o.LookbackDays = 30
	}
	if o.HalfLifeDays == 0 {
		o.HalfLifeDays = 7
	}
	var errs []error
	if o.LookbackDays < 1 || o.LookbackDays > 3660 {
		errs = append(errs, fmt.Errorf("Attribution.LookbackDays must be between 1 and 3660, got %d", o.LookbackDays))
	}
	if !(o.HalfLifeDays > 0) || math.IsInf(o.HalfLifeDays, 0) {
		errs = append(errs, fmt.Errorf("Attribution.HalfLifeDays must be positive, got %g", o.HalfLifeDays))
	}
	if o.WindowMonths < 0 || o.WindowMonths > 1200 {
		errs = append(errs, fmt.Errorf("Attribution.WindowMonths must be between 0 (all history) and 1200, got %d", o.WindowMonths))
	}
	if w := o.PositionWeights; w != nil {
		ok := true
		for _, v := range []float64{w.First, w.Middle, w.Last} {
			ok = ok && v >= 0 && !math.IsInf(v, 0)
		}
		if !ok || w.First+w.Middle+w.Last <= 0 {
			errs = append(errs, fmt.Errorf("Attribution.PositionWeights must be non-negative with a positive sum, got %g/%g/%g",
				w.First, w.Middle, w.Last))
		}
	}
	return errors.Join(errs...)
}

var attributionModel = model{
	sources: []string{"customers", "orders", "touchpoints"},
	steps: []step{
		{"orders_clean", "orders/orders_clean.sql.tmpl"},
		{"data_quality", "orders/data_quality.sql.tmpl"},
		{"attribution_touch_quality", "attribution/touch_quality.sql.tmpl"},
		{"attribution_conversions", "attribution/conversions.sql.tmpl"},
		{"attribution_touches", "attribution/touches.sql.tmpl"},
		{"attribution_credits", "attribution/credits.sql.tmpl"},
		{"attribution_summary", "attribution/summary.sql.tmpl"},
		{"attribution_breakdown", "attribution/breakdown.sql.tmpl"},
		{"attribution_transitions", "attribution/transitions.sql.tmpl"},
		{"attribution_channel_sets", "attribution/channel_sets.sql.tmpl"},
		{"channel_combinations", "attribution/channel_combinations.sql.tmpl"},
	},
	// No per-customer table: segments cannot filter attribution.
}

// Template helpers for the attribution model.

// LookbackSeconds is the lookback window in seconds.
func (d templateData) LookbackSeconds() int64 { return int64(d.Attribution.LookbackDays) * 86400 }

// AttributionWindowStart is the first order_date of the conversions, or
// the zero time when they span all history.
func (d templateData) AttributionWindowStart() time.Time {
	if d.Attribution.WindowMonths == 0 {
		return time.Time{}
	}
	return monthsBefore(d.AsOf, d.Attribution.WindowMonths)
}

// CustomWeights are the custom_position weights scaled to sum to 1, as
// SQL literals, and for two touches the first touch's share; nil
// without PositionWeights.
func (d templateData) CustomWeights() *struct{ First, Middle, Last, FirstOfTwo string } {
	w := d.Attribution.PositionWeights
	if w == nil {
		return nil
	}
	sum := w.First + w.Middle + w.Last
	firstOfTwo := 0.5
	if w.First+w.Last > 0 {
		firstOfTwo = w.First / (w.First + w.Last)
	}
	lit := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return &struct{ First, Middle, Last, FirstOfTwo string }{lit(w.First / sum), lit(w.Middle / sum), lit(w.Last / sum), lit(firstOfTwo)}
}

// SetSlot is one bit of a channel-set mask.
type SetSlot struct {
	Bit   int
	Value int64 // 2^Bit
}

// SetSlots are the MaxSetChannels bits of a channel set.
func (templateData) SetSlots() []SetSlot {
	out := make([]SetSlot, attribution.MaxSetChannels)
	for i := range out {
		out[i] = SetSlot{Bit: i, Value: 1 << i}
	}
	return out
}

// MaxSetChannels is attribution.MaxSetChannels.
func (templateData) MaxSetChannels() int { return attribution.MaxSetChannels }

// Channel names the SQL uses for special cases.
func (templateData) NoneChannel() string    { return attribution.None }
func (templateData) OtherChannel() string   { return attribution.Other }
func (templateData) UnknownChannel() string { return attribution.Unknown }

// AttributionQueries are the queries whose small results the Go stage
// of the attribution model reads, after the statements of
// Render("attribution", o) have run.
type AttributionQueries struct {
	// Transitions yields from_channel, to_channel, converted,
	// transitions: read it with attribution.ReadTransitions and pass
	// the result to attribution.MarkovModel.
	Transitions string
	// ChannelSets yields set_mask, channel, conversions,
	// non_conversions: read it with attribution.ReadSetStats and pass
	// the result to attribution.ShapleyModel.
	ChannelSets string
}

// AttributionInputs returns the queries the attribution model's Go
// stage reads: a few rows per pair of channels and per channel set.
func AttributionInputs(o Options) AttributionQueries {
	d := o.Dialect
	return AttributionQueries{
		Transitions: "SELECT from_channel, to_channel, converted, transitions FROM " + d.Table(o.OutputSchema, "attribution_transitions") +
			" ORDER BY from_channel, to_channel, converted",
		ChannelSets: "SELECT set_mask, channel, conversions, non_conversions FROM " + d.Table(o.OutputSchema, "attribution_channel_sets") +
			" ORDER BY set_mask, channel",
	}
}

// attributionResultsData is what the templates of
// RenderAttributionResults see: the usual data plus the computed
// shares.
type attributionResultsData struct {
	templateData
	// SharesQuery selects model, channel, share, weight from literals.
	SharesQuery string
}

// AttributionDataDriven tells attribution_summary to include the rows
// of attribution_data_driven, which exists once the results are in.
func (attributionResultsData) AttributionDataDriven() bool { return true }

// AttributionDataDriven is false while Render builds the rule-based
// models: attribution_data_driven does not exist yet.
func (templateData) AttributionDataDriven() bool { return false }

var plainName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// RenderAttributionResults returns the statements that write the
// data-driven models' results back, after the statements of
// Render("attribution", o) ran and the runner computed results (one per
// data-driven model, usually attribution.MarkovModel and
// attribution.ShapleyModel on the AttributionInputs):
//
//   - attribution_data_driven (model, channel, share, weight,
//     conversions, revenue): each channel's share of the touched
//     conversions, the model's raw weight (removal effect, Shapley
//     value), and share × the number and the revenue of the touched
//     conversions; plus a (none) row per model with the untouched
//     conversions and their revenue;
//   - attribution_summary again, now with those rows after the
//     rule-based models' rows.
func RenderAttributionResults(o Options, results ...attribution.Result) ([]Statement, error) {
	r, err := newRenderer("attribution", o, nil)
	if err != nil {
		return nil, fmt.Errorf("render attribution results: %w", err)
	}
	d := r.d
	float, str := d.TypeName(dialect.Float64), d.TypeName(dialect.String)
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "CAST(NULL AS " + float + ")"
		}
		return "CAST(" + strconv.FormatFloat(v, 'g', -1, 64) + " AS " + float + ")"
	}
	// The first, empty branch gives every column its type.
	rows := []string{fmt.Sprintf("SELECT CAST(NULL AS %[1]s) AS model, CAST(NULL AS %[1]s) AS channel, CAST(NULL AS %[2]s) AS share, "+
		"CAST(NULL AS %[2]s) AS weight FROM (SELECT 1 AS one) AS z WHERE 1 = 0", str, float)}
	seen := map[string]bool{}
	for _, res := range results {
		if !plainName.MatchString(res.Model) {
			return nil, fmt.Errorf("render attribution results: model name %q is not a plain lower-case name", res.Model)
		}
		if seen[res.Model] {
			return nil, fmt.Errorf("render attribution results: model %s given twice", res.Model)
		}
		if slices.Contains(attributionRuleModels, res.Model) {
			return nil, fmt.Errorf("render attribution results: %s is a rule-based model, computed in SQL", res.Model)
		}
		seen[res.Model] = true
		// The model's (none) row comes from this marker row: a NULL channel.
		rows = append(rows, fmt.Sprintf("SELECT %s, CAST(NULL AS %s), CAST(NULL AS %s), CAST(NULL AS %s)", d.StringLiteral(res.Model), str, float, float))
		var sum float64
		for _, c := range res.Channels() {
			s := res.Shares[c]
			if math.IsNaN(s) || s < 0 || s > 1+1e-9 {
				return nil, fmt.Errorf("render attribution results: %s share of %q is %g", res.Model, c, s)
			}
			sum += s
			w, ok := res.Weights[c]
			if !ok {
				w = math.NaN()
			}
			rows = append(rows, fmt.Sprintf("SELECT %s, %s, %s, %s", d.StringLiteral(res.Model), d.StringLiteral(c), num(s), num(w)))
		}
		if len(res.Shares) > 0 && math.Abs(sum-1) > 1e-6 {
			return nil, fmt.Errorf("render attribution results: %s shares sum to %g, not 1", res.Model, sum)
		}
	}
	data := attributionResultsData{templateData: r.data(), SharesQuery: strings.Join(rows, "\n    UNION ALL\n    ")}
	var stmts []Statement
	for _, s := range []step{
		{"attribution_data_driven", "attribution/data_driven.sql.tmpl"},
		{"attribution_summary", "attribution/summary.sql.tmpl"},
	} {
		var b strings.Builder
		if err := r.tmpl.ExecuteTemplate(&b, s.template, data); err != nil {
			return nil, fmt.Errorf("render attribution results for %s: %w", d.Name(), err)
		}
		sql := d.CreateTableAs(d.Table(o.OutputSchema, s.table), strings.TrimSpace(b.String()))
		stmts = append(stmts, Statement{Model: "attribution", Name: s.table, SQL: sql})
	}
	return stmts, nil
}

// touchRules are the touchpoint rules attribution_touch_quality reports,
// in the order they are tried; the touches CTE applies them.
var touchRules = []DataQualityRule{
	{"null_customer_id", true, "touchpoint rows with no customer_id are excluded: they belong to no customer"},
	{"null_occurred_at", true, "touchpoint rows with no occurred_at are excluded: they fall in no lookback window"},
	{"future_timestamp", true, "touchpoint rows dated after the as_of date are excluded"},
	{"duplicate", true, "touchpoint rows identical in customer_id, occurred_at, channel and campaign to an earlier row are excluded; one copy is kept"},
	{"null_channel", false, "touchpoint rows with no channel are kept under the channel (unknown)"},
}

// TouchRules are the touchpoint rules, for templates.
func (templateData) TouchRules() []DataQualityRule { return touchRules }

// AttributionRuleModels are the rule-based models rendered in SQL.
func (d templateData) AttributionRuleModels() []string {
	var out []string
	for _, m := range attributionRuleModels {
		if m != "custom_position" || d.Attribution.PositionWeights != nil {
			out = append(out, m)
		}
	}
	return out
}

// AttributionDimensions are the dimensions of attribution_breakdown.
func (d templateData) AttributionDimensions() []string {
	dims := []string{"campaign", "sales_channel", "store"}
	if d.Attribution.SegmentBreakdown {
		dims = append(dims, "rfm_segment")
	}
	return dims
}

// AttributionNone is the channel the untouched conversions are credited
// to in every attribution table.
const AttributionNone = attribution.None
