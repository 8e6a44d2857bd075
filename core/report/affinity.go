package report

import (
	"context"
	"strconv"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

// affinityTopPairs is how many pairs per level the affinity report shows.
const affinityTopPairs = 10

// Affinity shows, per level (product, category, subcategory, brand), the
// item pairs with the highest lift over all baskets, one row per pair in
// the direction of the higher confidence; and the most likely next
// categories.
func Affinity(ctx context.Context, wh core.Warehouse, d dialect.Dialect, schema string) ([]*Table, error) {
	q := d.QuoteIdent
	var levelOrder strings.Builder
	levelOrder.WriteString("CASE level")
	for i, l := range models.AffinityLevels() {
		levelOrder.WriteString(" WHEN " + d.StringLiteral(l) + " THEN " + strconv.Itoa(i))
	}
	levelOrder.WriteString(" END")
	pairs, err := Query(ctx, wh, "top pairs by lift per level (all baskets)", `SELECT level AS `+q("level")+`,
  antecedent AS `+q("antecedent")+`,
  consequent AS `+q("consequent")+`,
  pair_count AS `+q("pair_count")+`,
  ROUND(100 * support, 2) AS `+q("support_pct")+`,
  ROUND(100 * confidence, 1) AS `+q("confidence_pct")+`,
  ROUND(lift, 2) AS `+q("lift")+`
FROM (
  SELECT level, antecedent, consequent, pair_count, support, confidence, lift,
    ROW_NUMBER() OVER (PARTITION BY level ORDER BY lift DESC, pair_count DESC, antecedent, consequent) AS pair_rank
  FROM (
    SELECT level, antecedent, consequent, pair_count, support, confidence, lift
    FROM `+d.Table(schema, "affinity_pairs")+`
    WHERE segment_type = `+d.StringLiteral("all")+`
    `+d.Qualify("ROW_NUMBER() OVER (PARTITION BY level, LEAST(antecedent, consequent), GREATEST(antecedent, consequent) ORDER BY confidence DESC, antecedent) = 1")+`
  ) AS one_way
) AS ranked
WHERE pair_rank <= `+strconv.Itoa(affinityTopPairs)+`
ORDER BY `+levelOrder.String()+`, pair_rank`)
	if err != nil {
		return nil, err
	}
	next, err := Query(ctx, wh, "next best category: P(next order holds B | this order held A), B ≠ A", `SELECT from_category AS `+q("from_category")+`,
  to_category AS `+q("to_category")+`,
  transitions AS `+q("transitions")+`,
  ROUND(100 * probability, 1) AS `+q("probability_pct")+`
FROM `+d.Table(schema, "next_category")+`
WHERE from_category <> to_category
ORDER BY probability DESC, transitions DESC, from_category, to_category
LIMIT 20`)
	if err != nil {
		return nil, err
	}
	return []*Table{pairs, next}, nil
}
