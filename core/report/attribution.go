package report

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// attributionModelOrder is the order of the models' columns: rule-based
// first, data-driven last, as models.AttributionModels lists them.
var attributionModelOrder = models.AttributionModels(models.AttributionOptions{PositionWeights: &models.PositionWeights{}})

// Attribution compares the attribution models side by side: one row per
// channel and one column per model that attribution_summary holds, with
// the channel's share (%) of the model's credited revenue, the untouched
// conversions' (none) row last. A second table lists the channel
// combinations with the most customers and their conversion rates.
func Attribution(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	q := d.QuoteIdent // output names are quoted so that every warehouse reports them in lower case
	summary := d.Table(schema, "attribution_summary")
	present, err := Query(ctx, wh, "", `SELECT DISTINCT model AS `+q("model")+` FROM `+summary)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range present.Rows {
		if s, ok := r[0].(string); ok {
			names = append(names, s)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(attributionModelOrder, a), slices.Index(attributionModelOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	float := d.TypeName(dialect.Float64)
	var cols strings.Builder
	for _, m := range names {
		lit := d.StringLiteral(m)
		fmt.Fprintf(&cols, ",\n  ROUND(100 * %s, 1) AS %s", d.SafeDivide(
			"SUM(CASE WHEN model = "+lit+" THEN revenue END)",
			"MAX(CASE WHEN model = "+lit+" THEN total END)"), q(m))
	}
	none := d.StringLiteral(models.AttributionNone)
	shares, err := Query(ctx, wh, "revenue share (%) by channel and attribution model", `SELECT channel AS `+q("channel")+cols.String()+`
FROM (
  SELECT model, channel, CAST(revenue AS `+float+`) AS revenue,
    SUM(CAST(revenue AS `+float+`)) OVER (PARTITION BY model) AS total
  FROM `+summary+`
) AS s
GROUP BY channel
ORDER BY CASE WHEN channel = `+none+` THEN 1 ELSE 0 END, SUM(revenue) DESC, channel`)
	if err != nil {
		return nil, err
	}
	combos, err := Query(ctx, wh, "channel combinations (channels touched per customer) with the most customers", `SELECT channel_set AS `+q("channel_set")+`,
  customers AS `+q("customers")+`,
  converters AS `+q("converters")+`,
  ROUND(100 * conversion_rate, 1) AS `+q("conversion_rate_pct")+`
FROM `+d.Table(schema, "channel_combinations")+`
ORDER BY customers DESC, channel_set
LIMIT 20`)
	if err != nil {
		return nil, err
	}
	return []*Table{shares, combos}, nil
}
