package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// cohortOffsets is the number of month offsets in cohort_retention: 0 to 15.
const cohortOffsets = models.CohortMonths + 1

// Cohort summarises the cohort model: the retention triangle (one row
// per acquisition month, its size, and the share of it buying in each
// month since, m0 to m15, in percent; blank where that month is still to
// come), the monthly buyer mix and the monthly spend per department.
func Cohort(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	q := d.QuoteIdent // output names are quoted so that every warehouse reports them in lower case
	cols := make([]string, cohortOffsets)
	for k := range cols {
		cols[k] = fmt.Sprintf("  MAX(CASE WHEN month_offset = %d THEN ROUND(100 * retention_rate, 1) END) AS %s", k, q(fmt.Sprintf("m%d", k)))
	}
	triangle, err := Query(ctx, wh, "retention % by acquisition month (rows) and months since (columns)",
		`SELECT cohort_month AS `+q("cohort_month")+`,
  MAX(cohort_size) AS `+q("customers")+`,
`+strings.Join(cols, ",\n")+`
FROM `+d.Table(schema, "cohort_retention")+`
GROUP BY cohort_month
ORDER BY cohort_month`)
	if err != nil {
		return nil, err
	}
	mix, err := Query(ctx, wh, "buyers by month: first, second and repeat purchases",
		`SELECT month AS `+q("month")+`,
  first_time AS `+q("first_time")+`,
  second_time AS `+q("second_time")+`,
  repeat AS `+q("repeat")+`,
  buyers AS `+q("buyers")+`,
  ROUND(100 * `+d.SafeDivide("CAST(repeat AS "+d.TypeName(dialect.Float64)+")", "buyers")+`, 1) AS `+q("repeat_pct")+`
FROM `+d.Table(schema, "buyer_mix_monthly")+`
ORDER BY month`)
	if err != nil {
		return nil, err
	}
	spend, err := Query(ctx, wh, "spend by department and month",
		`SELECT month AS `+q("month")+`,
  value AS `+q("department")+`,
  revenue AS `+q("revenue")+`,
  customers AS `+q("customers")+`,
  orders AS `+q("orders")+`
FROM `+d.Table(schema, "category_spend_monthly")+`
WHERE level = `+d.StringLiteral("department")+`
ORDER BY month, revenue DESC, value`)
	if err != nil {
		return nil, err
	}
	return []*Table{triangle, mix, spend}, nil
}
