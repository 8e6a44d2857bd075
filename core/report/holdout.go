package report

import (
	"context"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
)

// Holdout reads holdout_results: per segment and publish date, treated
// against control conversion and revenue per customer, with the lifts
// and their 95% confidence intervals.
func Holdout(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	t, err := Query(ctx, wh, "true added value: treated (sent) against control (held out) members, per publish", `SELECT segment, publish_date, window_days, window_complete,
  treated_customers, control_customers,
  ROUND(100 * treated_conversion, 2) AS treated_conversion_pct,
  ROUND(100 * control_conversion, 2) AS control_conversion_pct,
  ROUND(100 * conversion_lift, 2) AS conversion_lift_pts,
  ROUND(100 * conversion_lift_ci_low, 2) AS conversion_lift_ci_low_pts,
  ROUND(100 * conversion_lift_ci_high, 2) AS conversion_lift_ci_high_pts,
  ROUND(100 * conversion_lift_relative, 1) AS conversion_lift_relative_pct,
  ROUND(treated_revenue_per_customer, 2) AS treated_revenue_per_customer,
  ROUND(control_revenue_per_customer, 2) AS control_revenue_per_customer,
  ROUND(revenue_lift, 2) AS revenue_lift,
  ROUND(revenue_lift_ci_low, 2) AS revenue_lift_ci_low,
  ROUND(revenue_lift_ci_high, 2) AS revenue_lift_ci_high
FROM `+d.Table(schema, "holdout_results")+`
ORDER BY segment, publish_date`)
	if err != nil {
		return nil, err
	}
	return []*Table{t}, nil
}
