package report

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
)

// The reads below serve the web UI of `segflow serve`: typed results of
// small aggregates over the materialised model tables (never over the
// source transactions), with every user-given value a bound parameter.

// RFMCell is one (recency score, frequency score) cell of the RFM matrix.
type RFMCell struct {
	R, F      int64
	Customers int64
	Revenue   float64 // net revenue (SUM of monetary) of the cell's customers
	Segment   string  // the segment map's name for the cell
}

// RFMMatrix reads the customers and revenue of each occupied (R, F)
// cell of the rfm table.
func RFMMatrix(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]RFMCell, error) {
	q := d.QuoteIdent
	t, err := Query(ctx, wh, "", `SELECT r_score AS `+q("r")+`, f_score AS `+q("f")+`,
  COUNT(*) AS `+q("customers")+`,
  CAST(SUM(monetary) AS `+d.TypeName(dialect.Float64)+`) AS `+q("revenue")+`,
  MIN(segment) AS `+q("segment")+`
FROM `+d.Table(schema, "rfm")+`
GROUP BY r_score, f_score
ORDER BY r_score DESC, f_score`)
	if err != nil {
		return nil, err
	}
	out := make([]RFMCell, 0, len(t.Rows))
	for _, r := range t.Rows {
		out = append(out, RFMCell{R: AsInt64(r[0]), F: AsInt64(r[1]), Customers: AsInt64(r[2]), Revenue: AsFloat64(r[3]), Segment: toString(r[4])})
	}
	return out, nil
}

// RFMCustomer is one row of the rfm table.
type RFMCustomer struct {
	CustomerID             string
	RecencyDays, Frequency int64
	Monetary               float64
	RScore, FScore, MScore int64
	Cell, Segment          string
}

// RFMFilter selects rfm customers: by (R, F) cell when R and F are set
// (1-5), by segment name when Segment is set, both when both are.
type RFMFilter struct {
	R, F    int64
	Segment string
}

// RFMCustomers lists up to limit customers matching f, highest monetary
// first, and how many match in all.
func RFMCustomers(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string, f RFMFilter, limit int) ([]RFMCustomer, int64, error) {
	q := d.QuoteIdent
	var conds []string
	var params []any
	if f.R > 0 && f.F > 0 {
		conds = append(conds, "r_score = "+dialect.Placeholder, "f_score = "+dialect.Placeholder)
		params = append(params, f.R, f.F)
	}
	if f.Segment != "" {
		conds = append(conds, "segment = "+dialect.Placeholder)
		params = append(params, f.Segment)
	}
	where := ""
	if len(conds) > 0 {
		where = "\nWHERE " + strings.Join(conds, " AND ")
	}
	rfm := d.Table(schema, "rfm")
	n, err := Query(ctx, wh, "", `SELECT COUNT(*) AS `+q("n")+` FROM `+rfm+where, params...)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	if len(n.Rows) == 1 {
		total = AsInt64(n.Rows[0][0])
	}
	t, err := Query(ctx, wh, "", `SELECT CAST(customer_id AS `+d.TypeName(dialect.String)+`) AS `+q("customer_id")+`,
  recency_days AS `+q("recency_days")+`, frequency AS `+q("frequency")+`,
  CAST(monetary AS `+d.TypeName(dialect.Float64)+`) AS `+q("monetary")+`,
  r_score AS `+q("r_score")+`, f_score AS `+q("f_score")+`, m_score AS `+q("m_score")+`,
  rfm_cell AS `+q("rfm_cell")+`, segment AS `+q("segment")+`
FROM `+rfm+where+`
ORDER BY monetary DESC, customer_id
LIMIT `+strconv.Itoa(limit), params...)
	if err != nil {
		return nil, 0, err
	}
	out := make([]RFMCustomer, 0, len(t.Rows))
	for _, r := range t.Rows {
		out = append(out, RFMCustomer{CustomerID: toString(r[0]), RecencyDays: AsInt64(r[1]), Frequency: AsInt64(r[2]),
			Monetary: AsFloat64(r[3]), RScore: AsInt64(r[4]), FScore: AsInt64(r[5]), MScore: AsInt64(r[6]), Cell: toString(r[7]), Segment: toString(r[8])})
	}
	return out, total, nil
}

// DecileKinds are the rfm table's decile columns, as DecileView takes them.
var DecileKinds = []string{"count_decile", "revenue_decile", "rfm_decile"}

// Decile is one decile of a grouping of the rfm customers.
type Decile struct {
	Decile       int64
	Customers    int64
	Revenue      float64
	RevenueShare float64 // of the total net revenue, 0-1
	MinMonetary  float64
	MaxMonetary  float64
	AvgRFMScore  float64
}

// DecileView reads one of DecileKinds: all ten deciles, empty ones
// (possible for revenue deciles) with zero customers.
func DecileView(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema, kind string) ([]Decile, error) {
	if !slices.Contains(DecileKinds, kind) {
		return nil, fmt.Errorf("no decile grouping %q (%s)", kind, strings.Join(DecileKinds, ", "))
	}
	q := d.QuoteIdent
	float := d.TypeName(dialect.Float64)
	t, err := Query(ctx, wh, "", `SELECT `+kind+` AS `+q("decile")+`,
  COUNT(*) AS `+q("customers")+`,
  CAST(SUM(monetary) AS `+float+`) AS `+q("revenue")+`,
  CAST(MIN(monetary) AS `+float+`) AS `+q("min_monetary")+`,
  CAST(MAX(monetary) AS `+float+`) AS `+q("max_monetary")+`,
  AVG(CAST(rfm_score AS `+float+`)) AS `+q("avg_rfm_score")+`
FROM `+d.Table(schema, "rfm")+`
GROUP BY `+kind+`
ORDER BY `+kind)
	if err != nil {
		return nil, err
	}
	out := make([]Decile, 10)
	var total float64
	for i := range out {
		out[i].Decile = int64(i + 1)
	}
	for _, r := range t.Rows {
		k := AsInt64(r[0])
		if k < 1 || k > 10 {
			continue
		}
		out[k-1] = Decile{Decile: k, Customers: AsInt64(r[1]), Revenue: AsFloat64(r[2]), MinMonetary: AsFloat64(r[3]),
			MaxMonetary: AsFloat64(r[4]), AvgRFMScore: AsFloat64(r[5])}
		total += AsFloat64(r[2])
	}
	if total != 0 {
		for i := range out {
			out[i].RevenueShare = out[i].Revenue / total
		}
	}
	return out, nil
}

// LoyaltyClass is one loyalty class of the rfm customers (13 months).
type LoyaltyClass struct {
	Loyalty   string // first_time, second_time, repeat ("" for none)
	Customers int64
	Revenue   float64
}

// LoyaltyClasses reads the customers and revenue per loyalty class.
func LoyaltyClasses(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]LoyaltyClass, error) {
	q := d.QuoteIdent
	t, err := Query(ctx, wh, "", `SELECT loyalty AS `+q("loyalty")+`, COUNT(*) AS `+q("customers")+`,
  CAST(SUM(monetary) AS `+d.TypeName(dialect.Float64)+`) AS `+q("revenue")+`
FROM `+d.Table(schema, "rfm")+`
GROUP BY loyalty
ORDER BY CASE loyalty WHEN 'first_time' THEN 1 WHEN 'second_time' THEN 2 WHEN 'repeat' THEN 3 ELSE 4 END`)
	if err != nil {
		return nil, err
	}
	out := make([]LoyaltyClass, 0, len(t.Rows))
	for _, r := range t.Rows {
		out = append(out, LoyaltyClass{Loyalty: toString(r[0]), Customers: AsInt64(r[1]), Revenue: AsFloat64(r[2])})
	}
	return out, nil
}

// AffinityRule is one rule A → B of affinity_pairs.
type AffinityRule struct {
	Level, SegmentType, SegmentValue string
	Antecedent, Consequent           string
	PairCount                        int64
	Support, Confidence, Lift        float64
	Conviction                       *float64 // nil: infinite (confidence 1)
}

// AffinitySorts are the columns AffinityRules can sort by.
var AffinitySorts = []string{"lift", "confidence", "support", "pair_count", "conviction"}

// AffinityQuery selects and orders affinity rules. Empty fields take
// the defaults: level "category", segment all/all, sort by lift
// descending, 100 rules.
type AffinityQuery struct {
	Level                     string
	SegmentType, SegmentValue string
	Sort                      string // one of AffinitySorts
	Asc                       bool
	Limit                     int
}

// AffinityRules reads the rules of one level and segment, ordered in the
// warehouse.
func AffinityRules(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string, aq AffinityQuery) ([]AffinityRule, error) {
	if aq.Level == "" {
		aq.Level = "category"
	}
	if aq.SegmentType == "" {
		aq.SegmentType, aq.SegmentValue = "all", "all"
	}
	if aq.Sort == "" {
		aq.Sort = "lift"
	}
	if !slices.Contains(AffinitySorts, aq.Sort) {
		return nil, fmt.Errorf("cannot sort affinity rules by %q (%s)", aq.Sort, strings.Join(AffinitySorts, ", "))
	}
	if aq.Limit <= 0 {
		aq.Limit = 100
	}
	dir := " DESC"
	if aq.Asc {
		dir = " ASC"
	}
	q := d.QuoteIdent
	float := d.TypeName(dialect.Float64)
	// NULL conviction is infinite: it sorts as the largest value.
	order := aq.Sort + dir
	if aq.Sort == "conviction" {
		order = "CASE WHEN conviction IS NULL THEN 1 ELSE 0 END" + dir + ", conviction" + dir
	}
	t, err := Query(ctx, wh, "", `SELECT level AS `+q("level")+`, segment_type AS `+q("segment_type")+`,
  segment_value AS `+q("segment_value")+`, antecedent AS `+q("antecedent")+`, consequent AS `+q("consequent")+`,
  pair_count AS `+q("pair_count")+`, CAST(support AS `+float+`) AS `+q("support")+`,
  CAST(confidence AS `+float+`) AS `+q("confidence")+`, CAST(lift AS `+float+`) AS `+q("lift")+`,
  CAST(conviction AS `+float+`) AS `+q("conviction")+`
FROM `+d.Table(schema, "affinity_pairs")+`
WHERE level = `+dialect.Placeholder+` AND segment_type = `+dialect.Placeholder+` AND segment_value = `+dialect.Placeholder+`
ORDER BY `+order+`, pair_count DESC, antecedent, consequent
LIMIT `+strconv.Itoa(aq.Limit), aq.Level, aq.SegmentType, aq.SegmentValue)
	if err != nil {
		return nil, err
	}
	out := make([]AffinityRule, 0, len(t.Rows))
	for _, r := range t.Rows {
		rule := AffinityRule{Level: toString(r[0]), SegmentType: toString(r[1]), SegmentValue: toString(r[2]),
			Antecedent: toString(r[3]), Consequent: toString(r[4]), PairCount: AsInt64(r[5]),
			Support: AsFloat64(r[6]), Confidence: AsFloat64(r[7]), Lift: AsFloat64(r[8])}
		if r[9] != nil {
			v := AsFloat64(r[9])
			rule.Conviction = &v
		}
		out = append(out, rule)
	}
	return out, nil
}

// AffinitySegment is a (segment_type, segment_value) of affinity_pairs.
type AffinitySegment struct{ Type, Value string }

// AffinityFacets lists the levels and segments affinity_pairs holds.
func AffinityFacets(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) (levels []string, segments []AffinitySegment, err error) {
	q := d.QuoteIdent
	t, err := Query(ctx, wh, "", `SELECT DISTINCT level AS `+q("level")+`, segment_type AS `+q("segment_type")+`, segment_value AS `+q("segment_value")+`
FROM `+d.Table(schema, "affinity_pairs")+`
ORDER BY segment_type, segment_value`)
	if err != nil {
		return nil, nil, err
	}
	seenSeg := map[AffinitySegment]bool{}
	for _, r := range t.Rows {
		if l := toString(r[0]); !slices.Contains(levels, l) {
			levels = append(levels, l)
		}
		s := AffinitySegment{toString(r[1]), toString(r[2])}
		if !seenSeg[s] {
			seenSeg[s] = true
			segments = append(segments, s)
		}
	}
	// all/all first, then the others as ordered.
	slices.SortStableFunc(segments, func(a, b AffinitySegment) int {
		return boolInt(b.Type == "all") - boolInt(a.Type == "all")
	})
	return levels, segments, nil
}

// NextCategory is one row of next_category.
type NextCategory struct {
	From, To                string
	Transitions, FromOrders int64
	Probability             float64
}

// NextCategories reads the most likely next categories (B ≠ A), most
// likely first.
func NextCategories(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string, limit int) ([]NextCategory, error) {
	q := d.QuoteIdent
	t, err := Query(ctx, wh, "", `SELECT from_category AS `+q("from_category")+`, to_category AS `+q("to_category")+`,
  transitions AS `+q("transitions")+`, from_orders AS `+q("from_orders")+`,
  CAST(probability AS `+d.TypeName(dialect.Float64)+`) AS `+q("probability")+`
FROM `+d.Table(schema, "next_category")+`
WHERE from_category <> to_category
ORDER BY probability DESC, transitions DESC, from_category, to_category
LIMIT `+strconv.Itoa(limit))
	if err != nil {
		return nil, err
	}
	out := make([]NextCategory, 0, len(t.Rows))
	for _, r := range t.Rows {
		out = append(out, NextCategory{From: toString(r[0]), To: toString(r[1]), Transitions: AsInt64(r[2]),
			FromOrders: AsInt64(r[3]), Probability: AsFloat64(r[4])})
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AsInt64 reads a value of a report Table as an integer: Tables hold
// what core.ValueAt returns (int64, float64, or text for decimals).
func AsInt64(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// AsFloat64 reads a value of a report Table as a float; see AsInt64.
func AsFloat64(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	case string: // a decimal
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return core.FormatValue(v)
}
