package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// Lifecycle summarises the lifecycle model: the funnel (contacts, share,
// revenue and average revenue per stage, with the thresholds in the
// title) and the matrix of transitions from the stage one period before
// as_of (rows) to the stage at as_of (columns).
func Lifecycle(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	q := d.QuoteIdent // output names are quoted so that every warehouse reports them in lower case
	title := "lifecycle stages"
	th, err := Query(ctx, wh, "", `SELECT MIN(as_of) AS `+q("as_of")+`, MIN(active_days) AS `+q("active_days")+
		`, MIN(inactive_days) AS `+q("inactive_days")+` FROM `+d.Table(schema, "lifecycle"))
	if err != nil {
		return nil, err
	}
	if len(th.Rows) == 1 && th.Rows[0][0] != nil {
		r := th.Rows[0]
		title = fmt.Sprintf("lifecycle stages at %s (active: last purchase within %v days; defecting: within %v; inactive: longer ago)",
			core.FormatValue(r[0]), core.FormatValue(r[1]), core.FormatValue(r[2]))
	}
	summary, err := Query(ctx, wh, title, `SELECT stage AS `+q("stage")+`,
  customers AS `+q("customers")+`,
  ROUND(100 * share, 1) AS `+q("share_pct")+`,
  revenue AS `+q("revenue")+`,
  ROUND(avg_revenue, 2) AS `+q("avg_revenue")+`
FROM `+d.Table(schema, "lifecycle_summary")+`
ORDER BY stage_order`)
	if err != nil {
		return nil, err
	}

	title = "stage transitions (rows: stage one period earlier, columns: stage now)"
	span, err := Query(ctx, wh, "", `SELECT MIN(from_as_of) AS `+q("from_as_of")+`, MIN(to_as_of) AS `+q("to_as_of")+
		` FROM `+d.Table(schema, "lifecycle_transitions"))
	if err != nil {
		return nil, err
	}
	if len(span.Rows) == 1 && span.Rows[0][0] != nil {
		title = fmt.Sprintf("stage transitions from %s (rows) to %s (columns)",
			core.FormatValue(span.Rows[0][0]), core.FormatValue(span.Rows[0][1]))
	}
	var cols []string
	for _, s := range models.LifecycleStages() {
		cols = append(cols, fmt.Sprintf("  COALESCE(SUM(CASE WHEN t.to_stage = %s THEN t.customers END), 0) AS %s",
			d.StringLiteral(s), q(s)))
	}
	// The summary lists every stage, so every row of the matrix is there.
	transitions, err := Query(ctx, wh, title, `SELECT s.stage AS `+q("from_stage")+`,
`+strings.Join(cols, ",\n")+`,
  COALESCE(SUM(t.customers), 0) AS `+q("total")+`
FROM `+d.Table(schema, "lifecycle_summary")+` AS s
LEFT JOIN `+d.Table(schema, "lifecycle_transitions")+` AS t ON t.from_stage = s.stage
GROUP BY s.stage_order, s.stage
ORDER BY s.stage_order`)
	if err != nil {
		return nil, err
	}
	return []*Table{summary, transitions}, nil
}
