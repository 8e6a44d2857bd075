-- attribution: attribution_data_driven
CREATE OR REPLACE TABLE "segflow"."attribution_data_driven" AS
WITH shares AS (
    SELECT CAST(NULL AS VARCHAR) AS model, CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS DOUBLE) AS share, CAST(NULL AS DOUBLE) AS weight FROM (SELECT 1 AS one) AS z WHERE 1 = 0
    UNION ALL
    SELECT 'markov', CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)
    UNION ALL
    SELECT 'markov', 'email', CAST(0.6 AS DOUBLE), CAST(0.75 AS DOUBLE)
    UNION ALL
    SELECT 'markov', 'display', CAST(0.4 AS DOUBLE), CAST(0.5 AS DOUBLE)
    UNION ALL
    SELECT 'shapley', CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE)
    UNION ALL
    SELECT 'shapley', 'email', CAST(0.65 AS DOUBLE), CAST(13 AS DOUBLE)
    UNION ALL
    SELECT 'shapley', 'display', CAST(0.35 AS DOUBLE), CAST(7 AS DOUBLE)
),
touched AS (
    SELECT DISTINCT customer_id, order_id
    FROM "segflow"."attribution_touches"
    WHERE converted
),
totals AS (
    SELECT
        CAST(COALESCE(SUM(CASE WHEN t.customer_id IS NULL THEN 0 ELSE 1 END), 0) AS DOUBLE) AS touched_conversions,
        CAST(COALESCE(SUM(CASE WHEN t.customer_id IS NULL THEN 0 ELSE c.revenue END), 0) AS DOUBLE) AS touched_revenue,
        CAST(COALESCE(SUM(CASE WHEN t.customer_id IS NULL THEN 1 ELSE 0 END), 0) AS DOUBLE) AS untouched_conversions,
        CAST(COALESCE(SUM(CASE WHEN t.customer_id IS NULL THEN c.revenue ELSE 0 END), 0) AS DOUBLE) AS untouched_revenue
    FROM "segflow"."attribution_conversions" AS c
    LEFT JOIN touched AS t ON t.customer_id = c.customer_id AND t.order_id = c.order_id
)
SELECT
    s.model,
    s.channel,
    s.share,
    s.weight,
    s.share * x.touched_conversions AS conversions,
    s.share * x.touched_revenue AS revenue
FROM shares AS s
CROSS JOIN totals AS x
WHERE s.channel IS NOT NULL
UNION ALL
SELECT
    s.model,
    '(none)' AS channel,
    s.share,
    s.weight,
    x.untouched_conversions AS conversions,
    x.untouched_revenue AS revenue
FROM shares AS s
CROSS JOIN totals AS x
WHERE s.channel IS NULL
  AND x.untouched_conversions > 0;

-- attribution: attribution_summary
CREATE OR REPLACE TABLE "segflow"."attribution_summary" AS
SELECT
    model,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM "segflow"."attribution_credits"
GROUP BY model, channel
UNION ALL
SELECT
    model,
    channel,
    conversions,
    revenue
FROM "segflow"."attribution_data_driven";

