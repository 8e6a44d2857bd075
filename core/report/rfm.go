package report

import (
	"context"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
)

// RFM summarises the rfm table: customers, revenue and average R/F/M per
// named segment, and the recency × frequency score matrix.
func RFM(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	rfm := d.Table(schema, "rfm")
	segments, err := Query(ctx, wh, "RFM segments", `SELECT segment,
  COUNT(*) AS customers,
  ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 1) AS share_pct,
  SUM(monetary) AS revenue,
  ROUND(AVG(recency_days), 1) AS avg_recency_days,
  ROUND(AVG(frequency), 2) AS avg_frequency,
  ROUND(AVG(monetary), 2) AS avg_monetary
FROM `+rfm+`
GROUP BY segment
ORDER BY revenue DESC`)
	if err != nil {
		return nil, err
	}
	matrix, err := Query(ctx, wh, "customers by recency score (rows) and frequency score (columns)", `SELECT r_score,
  COUNT(CASE WHEN f_score = 1 THEN 1 END) AS f1,
  COUNT(CASE WHEN f_score = 2 THEN 1 END) AS f2,
  COUNT(CASE WHEN f_score = 3 THEN 1 END) AS f3,
  COUNT(CASE WHEN f_score = 4 THEN 1 END) AS f4,
  COUNT(CASE WHEN f_score = 5 THEN 1 END) AS f5
FROM `+rfm+`
GROUP BY r_score
ORDER BY r_score DESC`)
	if err != nil {
		return nil, err
	}
	return []*Table{segments, matrix}, nil
}
