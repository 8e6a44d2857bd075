package report

import (
	"context"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
)

// CLV shows the fitted parameters with their standard errors, and how
// CLV and P(alive) are distributed over customers.
func CLV(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	params, err := Query(ctx, wh, "fitted parameters",
		`SELECT model, parameter, value, std_error FROM `+d.Table(schema, "clv_params")+` ORDER BY model, parameter`)
	if err != nil {
		return nil, err
	}
	clv := d.Table(schema, "clv")
	risk, err := Query(ctx, wh, "customers by churn risk", `SELECT churn_risk,
  COUNT(*) AS customers,
  ROUND(AVG(p_alive), 3) AS avg_p_alive,
  ROUND(AVG(expected_purchases), 2) AS avg_expected_purchases,
  ROUND(SUM(clv), 2) AS total_clv,
  ROUND(AVG(clv), 2) AS avg_clv
FROM `+clv+`
GROUP BY churn_risk
ORDER BY avg_p_alive`)
	if err != nil {
		return nil, err
	}
	// CLV deciles: NTILE over customers ordered by CLV.
	deciles, err := Query(ctx, wh, "CLV by decile (1 = highest)", `SELECT decile,
  COUNT(*) AS customers,
  ROUND(MIN(clv), 2) AS min_clv,
  ROUND(MAX(clv), 2) AS max_clv,
  ROUND(SUM(clv), 2) AS total_clv,
  ROUND(AVG(p_alive), 3) AS avg_p_alive
FROM (SELECT clv, p_alive, NTILE(10) OVER (ORDER BY clv DESC, customer_id) AS decile FROM `+clv+`) AS q
GROUP BY decile
ORDER BY decile`)
	if err != nil {
		return nil, err
	}
	return []*Table{params, risk, deciles}, nil
}
