package models

import (
	"fmt"
	"time"
)

// LifecycleOptions configures the lifecycle model.
type LifecycleOptions struct {
	// ActiveDays is the largest number of days since a contact's last
	// purchase for which the contact still counts as active (or a
	// first-time buyer). 0 derives it from the data: the 75th percentile
	// of the days between consecutive purchase days of repeat buyers,
	// rounded up.
	ActiveDays int
	// InactiveDays is the number of days since the last purchase after
	// which a contact is inactive; between ActiveDays and InactiveDays a
	// contact is defecting. 0 derives it from the data: the 95th
	// percentile of the same gaps, rounded up, and at least ActiveDays+1.
	InactiveDays int
	// PeriodDays is how far before as_of the earlier stages of
	// lifecycle_transitions are taken. 0 means 30.
	PeriodDays int
}

// Fallback thresholds when they are derived but the data has no repeat
// purchase at all, so no gap to take a percentile of.
const (
	fallbackActiveDays = 90
	// fallbackInactiveFactor: a derived inactive threshold without gaps is
	// this many times the active one.
	fallbackInactiveFactor = 2
)

func (o *LifecycleOptions) withDefaults() error {
	if o.PeriodDays == 0 {
		o.PeriodDays = 30
	}
	switch {
	case o.ActiveDays < 0 || o.InactiveDays < 0:
		return fmt.Errorf("Lifecycle.ActiveDays and Lifecycle.InactiveDays must not be negative (0 derives them from the data), got %d and %d",
			o.ActiveDays, o.InactiveDays)
	case o.ActiveDays > 0 && o.InactiveDays > 0 && o.InactiveDays <= o.ActiveDays:
		return fmt.Errorf("Lifecycle.InactiveDays (%d) must be greater than Lifecycle.ActiveDays (%d)", o.InactiveDays, o.ActiveDays)
	case o.ActiveDays == 0 && o.InactiveDays == 1:
		return fmt.Errorf("Lifecycle.InactiveDays must be at least 2 when ActiveDays is derived, got 1")
	case o.PeriodDays < 1 || o.PeriodDays > 3660:
		return fmt.Errorf("Lifecycle.PeriodDays must be between 1 and 3660, got %d", o.PeriodDays)
	case o.ActiveDays > 36600 || o.InactiveDays > 36600:
		return fmt.Errorf("Lifecycle.ActiveDays and Lifecycle.InactiveDays must be at most 36600, got %d and %d", o.ActiveDays, o.InactiveDays)
	}
	return nil
}

// Derived reports whether a threshold is derived from the data.
func (o LifecycleOptions) Derived() bool { return o.ActiveDays == 0 || o.InactiveDays == 0 }

// The lifecycle stages, in funnel order.
var lifecycleStages = []string{"lead", "first_time_buyer", "active", "defecting", "inactive"}

// LifecycleStages returns the lifecycle stages in funnel order: lead,
// first_time_buyer, active, defecting, inactive.
func LifecycleStages() []string { return append([]string(nil), lifecycleStages...) }

var lifecycleModel = model{
	sources: []string{"customers", "orders"},
	steps: []step{
		{"orders_clean", "orders/orders_clean.sql.tmpl"},
		{"data_quality", "orders/data_quality.sql.tmpl"},
		{"lifecycle", "lifecycle/lifecycle.sql.tmpl"},
		{"lifecycle_summary", "lifecycle/lifecycle_summary.sql.tmpl"},
		{"lifecycle_transitions", "lifecycle/lifecycle_transitions.sql.tmpl"},
	},
	columns: []string{
		"customer_id", "stage", "last_order_at", "orders", "revenue",
		"days_since_last_order", "active_days", "inactive_days", "as_of",
	},
}

// Template helpers for the lifecycle model.

// numberedStage is a lifecycle stage and its place in the funnel.
type numberedStage struct {
	Order int // 1 for lead, ..., 5 for inactive
	Name  string
}

// Stages are the lifecycle stages in funnel order, numbered from 1.
func (templateData) Stages() []numberedStage {
	out := make([]numberedStage, len(lifecycleStages))
	for i, s := range lifecycleStages {
		out[i] = numberedStage{Order: i + 1, Name: s}
	}
	return out
}

// PeriodStart is the earlier as-of date of lifecycle_transitions.
func (d templateData) PeriodStart() time.Time { return d.AsOf.AddDate(0, 0, -d.Lifecycle.PeriodDays) }

// FallbackActiveDays is the derived active threshold when the data has
// no repeat purchase.
func (templateData) FallbackActiveDays() int { return fallbackActiveDays }

// FallbackInactiveFactor multiplies the active threshold when the
// inactive one is derived and there is no gap.
func (templateData) FallbackInactiveFactor() int { return fallbackInactiveFactor }
