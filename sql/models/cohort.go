package models

import "time"

// CohortMonths is how many months back the cohort model looks: cohorts
// of the CohortMonths months before as_of's month and of that month
// itself, with month offsets 0 to CohortMonths.
const CohortMonths = 15

// UnknownValue is the value category_spend_monthly reports for a
// product hierarchy level that a line's product lacks (no products row,
// or a NULL department, category, subcategory or brand).
const UnknownValue = "(unknown)"

// ProductLevels are the levels of the product hierarchy that
// category_spend_monthly reports, from broad to narrow, then brand.
var productLevels = []string{"department", "category", "subcategory", "brand"}

var cohortModel = model{
	sources: []string{"customers", "orders", "order_lines", "products"},
	steps: []step{
		{"orders_clean", "orders/orders_clean.sql.tmpl"},
		{"data_quality", "orders/data_quality.sql.tmpl"},
		{"cohort_retention", "cohort/cohort_retention.sql.tmpl"},
		{"buyer_mix_monthly", "cohort/buyer_mix_monthly.sql.tmpl"},
		{"category_spend_monthly", "cohort/category_spend_monthly.sql.tmpl"},
	},
	// No per-customer table: segments cannot filter cohort.
}

// Template helpers for the cohort model.

// AsOfMonth is the first day of as_of's month.
func (d templateData) AsOfMonth() time.Time {
	return time.Date(d.AsOf.Year(), d.AsOf.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// CohortStart is the first day of the earliest cohort month.
func (d templateData) CohortStart() time.Time { return d.AsOfMonth().AddDate(0, -CohortMonths, 0) }

// MonthOffsets are 0 to CohortMonths.
func (templateData) MonthOffsets() []int {
	out := make([]int, CohortMonths+1)
	for i := range out {
		out[i] = i
	}
	return out
}

// ProductLevels are the product hierarchy levels of category_spend_monthly.
func (templateData) ProductLevels() []string { return productLevels }

// UnknownValue stands in for a missing product attribute.
func (templateData) UnknownValue() string { return UnknownValue }
