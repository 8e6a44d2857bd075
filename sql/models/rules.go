package models

// DataQualityRule is one way segflow treats dirty order rows. The
// data_quality table reports, per rule, how many rows it applied to.
type DataQualityRule struct {
	Name string
	// Excludes tells whether matching rows are left out of orders_clean
	// (true) or kept, possibly adjusted (false).
	Excludes    bool
	Description string
}

// Action is the rule's action as reported in data_quality.action.
func (r DataQualityRule) Action() string {
	if r.Excludes {
		return "excluded"
	}
	return "kept"
}

// orderRules are applied in this order. A row is excluded by, and
// counted under, the first exclusion rule it matches; the rules that
// keep rows are counted over the rows that survive the exclusions. The
// data_quality template has one count per rule, under the rule's name.
var orderRules = []DataQualityRule{
	{"null_order_id", true, "order rows with no order_id are excluded: they cannot be counted or deduplicated"},
	{"null_customer_id", true, "order rows with no customer_id are excluded: they belong to no customer"},
	{"null_ordered_at", true, "order rows with no ordered_at are excluded: they fall in no time window"},
	{"cancelled", true, "order rows whose status is 'cancelled' or 'canceled' (any case) are excluded"},
	{"future_timestamp", true, "order rows dated after the as_of date (ordered_at later than the end of that day) are excluded"},
	{"duplicate", true, "order rows identical in every column to an earlier row are excluded; one copy is kept"},
	{"null_revenue", false, "order rows with NULL revenue are kept with revenue 0"},
	{"refund", false, "refund rows (revenue < 0 or status 'refunded') are kept with revenue -|revenue|: they reduce monetary but count as no order for recency, frequency or loyalty"},
	{"orphan_customer", false, "order rows whose customer_id has no customers row are kept; such customers have a NULL email in segments"},
}

// DataQualityRules returns the rules that build orders_clean, in the
// order they are applied.
func DataQualityRules() []DataQualityRule {
	return append([]DataQualityRule(nil), orderRules...)
}
