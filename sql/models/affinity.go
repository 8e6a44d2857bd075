package models

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// AffinityOptions configures the affinity model. The zero value is the
// documented default.
type AffinityOptions struct {
	// MinCount is the fewest baskets a pair must be seen in to be
	// reported. 0 means 5.
	MinCount int
	// MinSupport is the smallest support (share of the segment's baskets
	// holding both items) a pair must have. 0 means no minimum.
	MinSupport float64
	// TopK keeps, per level, segment and antecedent, only the TopK
	// consequents with the highest lift. 0 keeps all.
	TopK int
	// Recommendations is how many categories the recommendations table
	// holds per customer at most. 0 means 5.
	Recommendations int
}

func (o *AffinityOptions) withDefaults() error {
	if o.MinCount == 0 {
		o.MinCount = 5
	}
	if o.Recommendations == 0 {
		o.Recommendations = 5
	}
	var errs []error
	if o.MinCount < 1 {
		errs = append(errs, fmt.Errorf("Affinity.MinCount must be at least 1 (0 means 5), got %d", o.MinCount))
	}
	if !(o.MinSupport >= 0 && o.MinSupport <= 1) {
		errs = append(errs, fmt.Errorf("Affinity.MinSupport must be between 0 and 1, got %g", o.MinSupport))
	}
	if o.TopK < 0 {
		errs = append(errs, fmt.Errorf("Affinity.TopK must not be negative (0 keeps all), got %d", o.TopK))
	}
	if o.Recommendations < 1 || o.Recommendations > 1000 {
		errs = append(errs, fmt.Errorf("Affinity.Recommendations must be between 1 and 1000, got %d", o.Recommendations))
	}
	return errors.Join(errs...)
}

var affinityModel = model{
	sources: []string{"customers", "orders", "order_lines", "products"},
	steps: []step{
		{"orders_clean", "orders/orders_clean.sql.tmpl"},
		{"data_quality", "orders/data_quality.sql.tmpl"},
		{"affinity_baskets", "affinity/baskets.sql.tmpl"},
		{"affinity_items", "affinity/items.sql.tmpl"},
		{"affinity_pairs", "affinity/pairs.sql.tmpl"},
		{"next_category", "affinity/next_category.sql.tmpl"},
		{"recommendations", "affinity/recommendations.sql.tmpl"},
	},
	// No per-customer table: recommendations has several rows per customer.
}

// AffinityLevels are the item levels of affinity_pairs: the product
// itself, its category, its subcategory and its brand.
var affinityLevels = []string{"product", "category", "subcategory", "brand"}

// AffinityLevels returns the item levels of affinity_pairs.
func AffinityLevels() []string { return append([]string(nil), affinityLevels...) }

// Template helpers for the affinity model.

// AffinityLevels are the item levels, for templates.
func (templateData) AffinityLevels() []string { return affinityLevels }

// AffinityMinSupport is Affinity.MinSupport as a SQL literal.
func (d templateData) AffinityMinSupport() string {
	if d.Affinity.MinSupport == 0 || math.IsNaN(d.Affinity.MinSupport) {
		return ""
	}
	return strconv.FormatFloat(d.Affinity.MinSupport, 'g', -1, 64)
}

// AffinitySegmentation is one way affinity_pairs splits the baskets:
// Name is the segment_type (and a CTE prefix); Column is the
// affinity_baskets column whose values are the segment_values, or empty
// for the single segment_value 'all'.
type AffinitySegmentation struct {
	Name, Column string
}

// AffinitySegmentations are all baskets, by loyalty class and by season.
func (templateData) AffinitySegmentations() []AffinitySegmentation {
	return []AffinitySegmentation{{Name: "all"}, {Name: "loyalty", Column: "loyalty"}, {Name: "season", Column: "season"}}
}
