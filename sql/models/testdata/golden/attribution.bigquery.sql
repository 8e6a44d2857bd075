-- attribution: orders_clean
CREATE OR REPLACE TABLE `segflow`.`orders_clean` AS
WITH
staged_orders AS (
    SELECT
        `order_id` AS order_id,
        `customer_id` AS customer_id,
        `ordered_at` AS ordered_at,
        `total_amount` AS revenue,
        `sales_channel` AS sales_channel,
        CAST(NULL AS STRING) AS store_id,
        `status` AS status
    FROM `shop`.`orders`
),
numbered_orders AS (
    -- Copies of a row that is equal in every column share a partition;
    -- all but the first are duplicates. Revenue is compared as text since
    -- some warehouses cannot partition by a float. The copies are equal,
    -- so the ORDER BY (which Snowflake requires) picks none in particular.
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY order_id, customer_id, ordered_at, CAST(revenue AS STRING), sales_channel, store_id, status
            ORDER BY ordered_at
        ) AS copy_number
    FROM staged_orders
),
classified_orders AS (
    SELECT
        order_id,
        customer_id,
        ordered_at,
        revenue,
        sales_channel,
        store_id,
        CASE
            WHEN order_id IS NULL THEN 'null_order_id'
            WHEN customer_id IS NULL THEN 'null_customer_id'
            WHEN ordered_at IS NULL THEN 'null_ordered_at'
            WHEN LOWER(status) IN ('cancelled', 'canceled') THEN 'cancelled'
            -- Compared as dates, so anything on the as_of day itself is kept.
            WHEN CAST(ordered_at AS DATE) > DATE '2024-06-30' THEN 'future_timestamp'
            WHEN copy_number > 1 THEN 'duplicate'
        END AS excluded_by,
        (COALESCE(revenue, 0) < 0 OR COALESCE(LOWER(status), '') = 'refunded') AS is_refund
    FROM numbered_orders
)
SELECT
    order_id,
    customer_id,
    ordered_at,
    CAST(ordered_at AS DATE) AS order_date,
    CASE
        WHEN revenue IS NULL THEN 0
        -- A refund always reduces revenue, whatever sign it was recorded with.
        WHEN is_refund THEN -ABS(revenue)
        ELSE revenue
    END AS revenue,
    sales_channel,
    store_id,
    is_refund
FROM classified_orders
WHERE excluded_by IS NULL;

-- attribution: data_quality
CREATE OR REPLACE TABLE `segflow`.`data_quality` AS
WITH
staged_orders AS (
    SELECT
        `order_id` AS order_id,
        `customer_id` AS customer_id,
        `ordered_at` AS ordered_at,
        `total_amount` AS revenue,
        `sales_channel` AS sales_channel,
        CAST(NULL AS STRING) AS store_id,
        `status` AS status
    FROM `shop`.`orders`
),
numbered_orders AS (
    -- Copies of a row that is equal in every column share a partition;
    -- all but the first are duplicates. Revenue is compared as text since
    -- some warehouses cannot partition by a float. The copies are equal,
    -- so the ORDER BY (which Snowflake requires) picks none in particular.
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY order_id, customer_id, ordered_at, CAST(revenue AS STRING), sales_channel, store_id, status
            ORDER BY ordered_at
        ) AS copy_number
    FROM staged_orders
),
classified_orders AS (
    SELECT
        order_id,
        customer_id,
        ordered_at,
        revenue,
        sales_channel,
        store_id,
        CASE
            WHEN order_id IS NULL THEN 'null_order_id'
            WHEN customer_id IS NULL THEN 'null_customer_id'
            WHEN ordered_at IS NULL THEN 'null_ordered_at'
            WHEN LOWER(status) IN ('cancelled', 'canceled') THEN 'cancelled'
            -- Compared as dates, so anything on the as_of day itself is kept.
            WHEN CAST(ordered_at AS DATE) > DATE '2024-06-30' THEN 'future_timestamp'
            WHEN copy_number > 1 THEN 'duplicate'
        END AS excluded_by,
        (COALESCE(revenue, 0) < 0 OR COALESCE(LOWER(status), '') = 'refunded') AS is_refund
    FROM numbered_orders
),
staged_customers AS (
    SELECT
        `cid` AS customer_id
    FROM (
SELECT id AS cid, email_address FROM crm.contacts WHERE NOT deleted
    ) AS src
),
known_customers AS (
    SELECT DISTINCT customer_id FROM staged_customers
),
rule_counts AS (
    SELECT
        COUNT(CASE WHEN o.excluded_by = 'null_order_id' THEN 1 END) AS null_order_id,
        COUNT(CASE WHEN o.excluded_by = 'null_customer_id' THEN 1 END) AS null_customer_id,
        COUNT(CASE WHEN o.excluded_by = 'null_ordered_at' THEN 1 END) AS null_ordered_at,
        COUNT(CASE WHEN o.excluded_by = 'cancelled' THEN 1 END) AS cancelled,
        COUNT(CASE WHEN o.excluded_by = 'future_timestamp' THEN 1 END) AS future_timestamp,
        COUNT(CASE WHEN o.excluded_by = 'duplicate' THEN 1 END) AS duplicate,
        -- The rules below keep rows, so they count only rows that are kept.
        COUNT(CASE WHEN o.excluded_by IS NULL AND o.revenue IS NULL THEN 1 END) AS null_revenue,
        COUNT(CASE WHEN o.excluded_by IS NULL AND o.is_refund THEN 1 END) AS refund,
        COUNT(CASE WHEN o.excluded_by IS NULL AND k.customer_id IS NULL THEN 1 END) AS orphan_customer
    FROM classified_orders AS o
    LEFT JOIN known_customers AS k ON k.customer_id = o.customer_id
)
SELECT
    'orders' AS source,
    'null_order_id' AS rule,
    'excluded' AS action,
    CAST(null_order_id AS INT64) AS rows_affected,
    CAST(null_order_id AS INT64) AS rows_excluded,
    'order rows with no order_id are excluded: they cannot be counted or deduplicated' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_customer_id' AS rule,
    'excluded' AS action,
    CAST(null_customer_id AS INT64) AS rows_affected,
    CAST(null_customer_id AS INT64) AS rows_excluded,
    'order rows with no customer_id are excluded: they belong to no customer' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_ordered_at' AS rule,
    'excluded' AS action,
    CAST(null_ordered_at AS INT64) AS rows_affected,
    CAST(null_ordered_at AS INT64) AS rows_excluded,
    'order rows with no ordered_at are excluded: they fall in no time window' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'cancelled' AS rule,
    'excluded' AS action,
    CAST(cancelled AS INT64) AS rows_affected,
    CAST(cancelled AS INT64) AS rows_excluded,
    'order rows whose status is \'cancelled\' or \'canceled\' (any case) are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'future_timestamp' AS rule,
    'excluded' AS action,
    CAST(future_timestamp AS INT64) AS rows_affected,
    CAST(future_timestamp AS INT64) AS rows_excluded,
    'order rows dated after the as_of date (ordered_at later than the end of that day) are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'duplicate' AS rule,
    'excluded' AS action,
    CAST(duplicate AS INT64) AS rows_affected,
    CAST(duplicate AS INT64) AS rows_excluded,
    'order rows identical in every column to an earlier row are excluded; one copy is kept' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_revenue' AS rule,
    'kept' AS action,
    CAST(null_revenue AS INT64) AS rows_affected,
    CAST(0 AS INT64) AS rows_excluded,
    'order rows with NULL revenue are kept with revenue 0' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'refund' AS rule,
    'kept' AS action,
    CAST(refund AS INT64) AS rows_affected,
    CAST(0 AS INT64) AS rows_excluded,
    'refund rows (revenue < 0 or status \'refunded\') are kept with revenue -|revenue|: they reduce monetary but count as no order for recency, frequency or loyalty' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'orphan_customer' AS rule,
    'kept' AS action,
    CAST(orphan_customer AS INT64) AS rows_affected,
    CAST(0 AS INT64) AS rows_excluded,
    'order rows whose customer_id has no customers row are kept; such customers have a NULL email in segments' AS description
FROM rule_counts;

-- attribution: attribution_touch_quality
CREATE OR REPLACE TABLE `segflow`.`attribution_touch_quality` AS
WITH staged_touches AS (
    SELECT
        `customer_id` AS customer_id,
        `touched_at` AS occurred_at,
        `channel` AS channel,
        CAST(NULL AS STRING) AS campaign
    FROM `mkt`.`touchpoints`
),
numbered_touches AS (
    -- Copies share a partition; all but the first are duplicates. The
    -- copies are equal, so the ORDER BY picks none in particular.
    SELECT
        customer_id,
        occurred_at,
        channel,
        ROW_NUMBER() OVER (
            PARTITION BY customer_id, occurred_at, COALESCE(channel, '(unknown)'), COALESCE(campaign, '(none)')
            ORDER BY occurred_at
        ) AS copy_number
    FROM staged_touches
),
classified_touches AS (
    SELECT
        channel,
        CASE
            WHEN customer_id IS NULL THEN 'null_customer_id'
            WHEN occurred_at IS NULL THEN 'null_occurred_at'
            -- Compared as dates, so anything on the as_of day itself is kept.
            WHEN CAST(occurred_at AS DATE) > DATE '2024-06-30' THEN 'future_timestamp'
            WHEN copy_number > 1 THEN 'duplicate'
        END AS excluded_by
    FROM numbered_touches
),
rule_counts AS (
    SELECT
        COUNT(CASE WHEN excluded_by = 'null_customer_id' THEN 1 END) AS null_customer_id,
        COUNT(CASE WHEN excluded_by = 'null_occurred_at' THEN 1 END) AS null_occurred_at,
        COUNT(CASE WHEN excluded_by = 'future_timestamp' THEN 1 END) AS future_timestamp,
        COUNT(CASE WHEN excluded_by = 'duplicate' THEN 1 END) AS duplicate,
        -- Kept rows only.
        COUNT(CASE WHEN excluded_by IS NULL AND channel IS NULL THEN 1 END) AS null_channel
    FROM classified_touches
)
SELECT
    'touchpoints' AS source,
    'null_customer_id' AS rule,
    'excluded' AS action,
    CAST(null_customer_id AS INT64) AS rows_affected,
    CAST(null_customer_id AS INT64) AS rows_excluded,
    'touchpoint rows with no customer_id are excluded: they belong to no customer' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'null_occurred_at' AS rule,
    'excluded' AS action,
    CAST(null_occurred_at AS INT64) AS rows_affected,
    CAST(null_occurred_at AS INT64) AS rows_excluded,
    'touchpoint rows with no occurred_at are excluded: they fall in no lookback window' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'future_timestamp' AS rule,
    'excluded' AS action,
    CAST(future_timestamp AS INT64) AS rows_affected,
    CAST(future_timestamp AS INT64) AS rows_excluded,
    'touchpoint rows dated after the as_of date are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'duplicate' AS rule,
    'excluded' AS action,
    CAST(duplicate AS INT64) AS rows_affected,
    CAST(duplicate AS INT64) AS rows_excluded,
    'touchpoint rows identical in customer_id, occurred_at, channel and campaign to an earlier row are excluded; one copy is kept' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'null_channel' AS rule,
    'kept' AS action,
    CAST(null_channel AS INT64) AS rows_affected,
    CAST(0 AS INT64) AS rows_excluded,
    'touchpoint rows with no channel are kept under the channel (unknown)' AS description
FROM rule_counts;

-- attribution: attribution_conversions
CREATE OR REPLACE TABLE `segflow`.`attribution_conversions` AS
WITH purchases AS (
    -- Rows of one order (same customer and order_id) make one
    -- conversion at the time of its first row, worth their revenue.
    SELECT
        customer_id,
        order_id,
        MIN(ordered_at) AS ordered_at,
        MIN(order_date) AS order_date,
        CAST(SUM(revenue) AS FLOAT64) AS revenue,
        MIN(sales_channel) AS sales_channel,
        MIN(store_id) AS store_id
    FROM `segflow`.`orders_clean`
    WHERE NOT is_refund
    GROUP BY customer_id, order_id
),
numbered AS (
    -- Over all history, so that the previous conversion of the first
    -- one in the window is known.
    SELECT
        customer_id,
        order_id,
        ordered_at,
        order_date,
        revenue,
        sales_channel,
        store_id,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS conversion_number,
        LAG(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS previous_ordered_at
    FROM purchases
)
SELECT
    customer_id,
    order_id,
    ordered_at,
    order_date,
    revenue,
    sales_channel,
    store_id,
    CAST(conversion_number AS INT64) AS conversion_number,
    previous_ordered_at
FROM numbered;

-- attribution: attribution_touches
CREATE OR REPLACE TABLE `segflow`.`attribution_touches` AS
WITH
staged_touches AS (
    SELECT
        `customer_id` AS customer_id,
        `touched_at` AS occurred_at,
        `channel` AS channel,
        CAST(NULL AS STRING) AS campaign
    FROM `mkt`.`touchpoints`
),
touches AS (
    -- Rows without a customer or a time, and rows after the as_of day,
    -- are left out; copies identical in customer, time, channel and
    -- campaign count once. A NULL channel is (unknown), a NULL campaign
    -- (none).
    SELECT DISTINCT
        customer_id,
        occurred_at,
        COALESCE(channel, '(unknown)') AS channel,
        COALESCE(campaign, '(none)') AS campaign
    FROM staged_touches
    WHERE customer_id IS NOT NULL
      AND occurred_at IS NOT NULL
      AND CAST(occurred_at AS DATE) <= DATE '2024-06-30'
),
conversions AS (
    SELECT customer_id, order_id, ordered_at, previous_ordered_at
    FROM `segflow`.`attribution_conversions`
),
candidates AS (
    SELECT
        c.customer_id,
        c.order_id,
        t.occurred_at,
        t.channel,
        t.campaign,
        -- Whole seconds from the touch to the order, from the dates and
        -- the times of day (sub-second parts are ignored).
        DATE_DIFF(CAST(c.ordered_at AS DATE), CAST(t.occurred_at AS DATE), DAY) * 86400
            + (EXTRACT(HOUR FROM c.ordered_at) - EXTRACT(HOUR FROM t.occurred_at)) * 3600
            + (EXTRACT(MINUTE FROM c.ordered_at) - EXTRACT(MINUTE FROM t.occurred_at)) * 60
            + (EXTRACT(SECOND FROM c.ordered_at) - EXTRACT(SECOND FROM t.occurred_at)) AS age_seconds
    FROM conversions AS c
    JOIN touches AS t
      ON t.customer_id = c.customer_id
     AND t.occurred_at <= c.ordered_at
     -- A coarse bound by date, so the join stays small; age_seconds decides.
     AND CAST(t.occurred_at AS DATE) >= DATE_ADD(CAST(c.ordered_at AS DATE), INTERVAL (-30) DAY)
     -- A touch belongs to the first conversion after it only.
     AND (c.previous_ordered_at IS NULL OR t.occurred_at > c.previous_ordered_at)
),
eligible AS (
    SELECT customer_id, order_id, occurred_at, channel, campaign, age_seconds
    FROM candidates
    WHERE age_seconds < 2592000
),
credited AS (
    SELECT DISTINCT customer_id, occurred_at, channel, campaign
    FROM eligible
),
paths AS (
    SELECT
        customer_id,
        order_id,
        TRUE AS converted,
        occurred_at,
        channel,
        campaign,
        CAST(age_seconds AS FLOAT64) / 86400 AS age_days
    FROM eligible
    UNION ALL
    SELECT
        t.customer_id,
        NULL AS order_id,
        FALSE AS converted,
        t.occurred_at,
        t.channel,
        t.campaign,
        NULL AS age_days
    FROM touches AS t
    LEFT JOIN credited AS e
      ON e.customer_id = t.customer_id
     AND e.occurred_at = t.occurred_at
     AND e.channel = t.channel
     AND e.campaign = t.campaign
    WHERE e.customer_id IS NULL
)
SELECT
    customer_id,
    order_id,
    converted,
    CAST(ROW_NUMBER() OVER (PARTITION BY customer_id, order_id ORDER BY occurred_at, channel, campaign) AS INT64) AS touch_number,
    CAST(COUNT(*) OVER (PARTITION BY customer_id, order_id) AS INT64) AS touch_count,
    occurred_at,
    channel,
    campaign,
    age_days
FROM paths;

-- attribution: attribution_credits
CREATE OR REPLACE TABLE `segflow`.`attribution_credits` AS
WITH conversions AS (
    SELECT customer_id, order_id, revenue
    FROM `segflow`.`attribution_conversions`
),
touches AS (
    SELECT
        customer_id,
        order_id,
        channel,
        campaign,
        touch_number AS k,
        touch_count AS n,
        -- Age in days after the conversion's most recent touch.
        age_days - MIN(age_days) OVER (PARTITION BY customer_id, order_id) AS relative_age
    FROM `segflow`.`attribution_touches`
    WHERE converted
),
decayed AS (
    -- time_decay: a touch age_days old weighs 2^(-age_days / half-life);
    -- counting the age from the most recent touch scales all weights of
    -- a conversion alike and keeps the largest at 1, so that the sum
    -- cannot underflow to 0.
    SELECT
        customer_id,
        order_id,
        channel,
        campaign,
        k,
        n,
        POWER(CAST(0.5 AS FLOAT64), relative_age / CAST(7 AS FLOAT64)) AS decay
    FROM touches
),
weighted AS (
    SELECT
        customer_id,
        order_id,
        channel,
        campaign,
        CAST(CASE WHEN k = 1 THEN 1 ELSE 0 END AS FLOAT64) AS first_touch,
        CAST(CASE WHEN k = n THEN 1 ELSE 0 END AS FLOAT64) AS last_touch,
        CAST(1 AS FLOAT64) / n AS linear,
        decay / SUM(decay) OVER (PARTITION BY customer_id, order_id) AS time_decay,
        -- 40/20/40; two touches 50/50; one touch 100%.
        CASE
            WHEN n = 1 THEN CAST(1 AS FLOAT64)
            WHEN n = 2 THEN CAST(0.5 AS FLOAT64)
            WHEN k = 1 OR k = n THEN CAST(0.4 AS FLOAT64)
            ELSE CAST(0.2 AS FLOAT64) / (n - 2)
        END AS position_based
    FROM decayed
),
rule_models AS (
    SELECT 'first_touch' AS model
    UNION ALL SELECT 'last_touch' AS model
    UNION ALL SELECT 'linear' AS model
    UNION ALL SELECT 'time_decay' AS model
    UNION ALL SELECT 'position_based' AS model
),
credits AS (
    -- One row per touch and model (one scan of weighted), the model's
    -- weight picked by name.
    SELECT
        w.customer_id,
        w.order_id,
        m.model,
        w.channel,
        w.campaign,
        CASE m.model
            WHEN 'first_touch' THEN w.first_touch
            WHEN 'last_touch' THEN w.last_touch
            WHEN 'linear' THEN w.linear
            WHEN 'time_decay' THEN w.time_decay
            WHEN 'position_based' THEN w.position_based
        END AS credit
    FROM weighted AS w
    CROSS JOIN rule_models AS m
),
touched AS (
    SELECT DISTINCT customer_id, order_id
    FROM touches
),
untouched AS (
    SELECT c.customer_id, c.order_id
    FROM conversions AS c
    LEFT JOIN touched AS t ON t.customer_id = c.customer_id AND t.order_id = c.order_id
    WHERE t.customer_id IS NULL
),
all_credits AS (
    SELECT customer_id, order_id, model, channel, campaign, credit
    FROM credits
    -- A zero weight (not the first touch, say) is no credit.
    WHERE credit > 0
    UNION ALL
    -- A conversion without eligible touches goes to (none) in every model.
    SELECT u.customer_id, u.order_id, m.model, '(none)' AS channel, '(none)' AS campaign, CAST(1 AS FLOAT64) AS credit
    FROM untouched AS u
    CROSS JOIN rule_models AS m
)
SELECT
    a.order_id,
    a.customer_id,
    a.model,
    a.channel,
    a.campaign,
    SUM(a.credit) AS credit,
    SUM(a.credit * c.revenue) AS revenue_credit
FROM all_credits AS a
JOIN conversions AS c ON c.customer_id = a.customer_id AND c.order_id = a.order_id
GROUP BY a.order_id, a.customer_id, a.model, a.channel, a.campaign;

-- attribution: attribution_summary
CREATE OR REPLACE TABLE `segflow`.`attribution_summary` AS
SELECT
    model,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM `segflow`.`attribution_credits`
GROUP BY model, channel;

-- attribution: attribution_breakdown
CREATE OR REPLACE TABLE `segflow`.`attribution_breakdown` AS
WITH credits AS (
    SELECT
        cr.model,
        cr.channel,
        cr.campaign,
        COALESCE(c.sales_channel, '(unknown)') AS sales_channel,
        -- Online orders have no store.
        COALESCE(CAST(c.store_id AS STRING), '(none)') AS store,
        cr.credit,
        cr.revenue_credit
    FROM `segflow`.`attribution_credits` AS cr
    JOIN `segflow`.`attribution_conversions` AS c
      ON c.customer_id = cr.customer_id AND c.order_id = cr.order_id
)
SELECT
    model,
    'campaign' AS dimension,
    campaign AS value,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM credits
GROUP BY model, campaign, channel
UNION ALL
SELECT
    model,
    'sales_channel' AS dimension,
    sales_channel AS value,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM credits
GROUP BY model, sales_channel, channel
UNION ALL
SELECT
    model,
    'store' AS dimension,
    store AS value,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM credits
GROUP BY model, store, channel;

-- attribution: attribution_transitions
CREATE OR REPLACE TABLE `segflow`.`attribution_transitions` AS
WITH steps AS (
    SELECT
        LAG(channel) OVER (PARTITION BY customer_id, order_id ORDER BY touch_number) AS from_channel,
        channel AS to_channel,
        converted
    FROM `segflow`.`attribution_touches`
    UNION ALL
    SELECT
        channel AS from_channel,
        NULL AS to_channel,
        converted
    FROM `segflow`.`attribution_touches`
    WHERE touch_number = touch_count
)
SELECT
    from_channel,
    to_channel,
    converted,
    CAST(COUNT(*) AS INT64) AS transitions
FROM steps
GROUP BY from_channel, to_channel, converted;

-- attribution: attribution_channel_sets
CREATE OR REPLACE TABLE `segflow`.`attribution_channel_sets` AS
WITH
channel_touches AS (
    SELECT channel, COUNT(*) AS touches
    FROM `segflow`.`attribution_touches`
    GROUP BY channel
),
channel_ranks AS (
    SELECT
        channel,
        ROW_NUMBER() OVER (ORDER BY touches DESC, channel) AS touch_rank,
        COUNT(*) OVER () AS channel_count
    FROM channel_touches
),
set_channel_map AS (
    SELECT
        channel,
        CASE WHEN channel_count <= 12 OR touch_rank < 12 THEN channel ELSE '(other)' END AS set_channel
    FROM channel_ranks
),
set_bits AS (
    SELECT set_channel, CAST(ROW_NUMBER() OVER (ORDER BY set_channel) - 1 AS INT64) AS bit
    FROM (SELECT DISTINCT set_channel FROM set_channel_map) AS s
),
set_names AS (
    -- One row: the channel of each bit.
    SELECT
        MAX(CASE WHEN bit = 0 THEN set_channel END) AS c0,
        MAX(CASE WHEN bit = 1 THEN set_channel END) AS c1,
        MAX(CASE WHEN bit = 2 THEN set_channel END) AS c2,
        MAX(CASE WHEN bit = 3 THEN set_channel END) AS c3,
        MAX(CASE WHEN bit = 4 THEN set_channel END) AS c4,
        MAX(CASE WHEN bit = 5 THEN set_channel END) AS c5,
        MAX(CASE WHEN bit = 6 THEN set_channel END) AS c6,
        MAX(CASE WHEN bit = 7 THEN set_channel END) AS c7,
        MAX(CASE WHEN bit = 8 THEN set_channel END) AS c8,
        MAX(CASE WHEN bit = 9 THEN set_channel END) AS c9,
        MAX(CASE WHEN bit = 10 THEN set_channel END) AS c10,
        MAX(CASE WHEN bit = 11 THEN set_channel END) AS c11
    FROM set_bits
),
path_flags AS (
    SELECT
        t.customer_id,
        t.order_id,
        t.converted,
        MAX(CASE WHEN b.bit = 0 THEN 1 ELSE 0 END) AS h0,
        MAX(CASE WHEN b.bit = 1 THEN 1 ELSE 0 END) AS h1,
        MAX(CASE WHEN b.bit = 2 THEN 1 ELSE 0 END) AS h2,
        MAX(CASE WHEN b.bit = 3 THEN 1 ELSE 0 END) AS h3,
        MAX(CASE WHEN b.bit = 4 THEN 1 ELSE 0 END) AS h4,
        MAX(CASE WHEN b.bit = 5 THEN 1 ELSE 0 END) AS h5,
        MAX(CASE WHEN b.bit = 6 THEN 1 ELSE 0 END) AS h6,
        MAX(CASE WHEN b.bit = 7 THEN 1 ELSE 0 END) AS h7,
        MAX(CASE WHEN b.bit = 8 THEN 1 ELSE 0 END) AS h8,
        MAX(CASE WHEN b.bit = 9 THEN 1 ELSE 0 END) AS h9,
        MAX(CASE WHEN b.bit = 10 THEN 1 ELSE 0 END) AS h10,
        MAX(CASE WHEN b.bit = 11 THEN 1 ELSE 0 END) AS h11
    FROM `segflow`.`attribution_touches` AS t
    JOIN set_channel_map AS m ON m.channel = t.channel
    JOIN set_bits AS b ON b.set_channel = m.set_channel
    GROUP BY t.customer_id, t.order_id, t.converted
),
sets AS (
    SELECT
        h0,
        h1,
        h2,
        h3,
        h4,
        h5,
        h6,
        h7,
        h8,
        h9,
        h10,
        h11,
        COUNT(CASE WHEN converted THEN 1 END) AS conversions,
        COUNT(CASE WHEN NOT converted THEN 1 END) AS non_conversions
    FROM path_flags
    GROUP BY h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11
)
SELECT
    CAST(s.h0 * 1 + s.h1 * 2 + s.h2 * 4 + s.h3 * 8 + s.h4 * 16 + s.h5 * 32 + s.h6 * 64 + s.h7 * 128 + s.h8 * 256 + s.h9 * 512 + s.h10 * 1024 + s.h11 * 2048 AS INT64) AS set_mask,
    SUBSTR(''
            || CASE WHEN h0 = 1 THEN '+' || n.c0 ELSE '' END
            || CASE WHEN h1 = 1 THEN '+' || n.c1 ELSE '' END
            || CASE WHEN h2 = 1 THEN '+' || n.c2 ELSE '' END
            || CASE WHEN h3 = 1 THEN '+' || n.c3 ELSE '' END
            || CASE WHEN h4 = 1 THEN '+' || n.c4 ELSE '' END
            || CASE WHEN h5 = 1 THEN '+' || n.c5 ELSE '' END
            || CASE WHEN h6 = 1 THEN '+' || n.c6 ELSE '' END
            || CASE WHEN h7 = 1 THEN '+' || n.c7 ELSE '' END
            || CASE WHEN h8 = 1 THEN '+' || n.c8 ELSE '' END
            || CASE WHEN h9 = 1 THEN '+' || n.c9 ELSE '' END
            || CASE WHEN h10 = 1 THEN '+' || n.c10 ELSE '' END
            || CASE WHEN h11 = 1 THEN '+' || n.c11 ELSE '' END, 2) AS channel_set,
    b.set_channel AS channel,
    CAST(s.conversions AS INT64) AS conversions,
    CAST(s.non_conversions AS INT64) AS non_conversions
FROM sets AS s
CROSS JOIN set_names AS n
JOIN set_bits AS b
  ON CASE b.bit WHEN 0 THEN s.h0 WHEN 1 THEN s.h1 WHEN 2 THEN s.h2 WHEN 3 THEN s.h3 WHEN 4 THEN s.h4 WHEN 5 THEN s.h5 WHEN 6 THEN s.h6 WHEN 7 THEN s.h7 WHEN 8 THEN s.h8 WHEN 9 THEN s.h9 WHEN 10 THEN s.h10 WHEN 11 THEN s.h11 END = 1;

-- attribution: channel_combinations
CREATE OR REPLACE TABLE `segflow`.`channel_combinations` AS
WITH
channel_touches AS (
    SELECT channel, COUNT(*) AS touches
    FROM `segflow`.`attribution_touches`
    GROUP BY channel
),
channel_ranks AS (
    SELECT
        channel,
        ROW_NUMBER() OVER (ORDER BY touches DESC, channel) AS touch_rank,
        COUNT(*) OVER () AS channel_count
    FROM channel_touches
),
set_channel_map AS (
    SELECT
        channel,
        CASE WHEN channel_count <= 12 OR touch_rank < 12 THEN channel ELSE '(other)' END AS set_channel
    FROM channel_ranks
),
set_bits AS (
    SELECT set_channel, CAST(ROW_NUMBER() OVER (ORDER BY set_channel) - 1 AS INT64) AS bit
    FROM (SELECT DISTINCT set_channel FROM set_channel_map) AS s
),
set_names AS (
    -- One row: the channel of each bit.
    SELECT
        MAX(CASE WHEN bit = 0 THEN set_channel END) AS c0,
        MAX(CASE WHEN bit = 1 THEN set_channel END) AS c1,
        MAX(CASE WHEN bit = 2 THEN set_channel END) AS c2,
        MAX(CASE WHEN bit = 3 THEN set_channel END) AS c3,
        MAX(CASE WHEN bit = 4 THEN set_channel END) AS c4,
        MAX(CASE WHEN bit = 5 THEN set_channel END) AS c5,
        MAX(CASE WHEN bit = 6 THEN set_channel END) AS c6,
        MAX(CASE WHEN bit = 7 THEN set_channel END) AS c7,
        MAX(CASE WHEN bit = 8 THEN set_channel END) AS c8,
        MAX(CASE WHEN bit = 9 THEN set_channel END) AS c9,
        MAX(CASE WHEN bit = 10 THEN set_channel END) AS c10,
        MAX(CASE WHEN bit = 11 THEN set_channel END) AS c11
    FROM set_bits
),
customer_flags AS (
    SELECT
        t.customer_id,
        MAX(CASE WHEN b.bit = 0 THEN 1 ELSE 0 END) AS h0,
        MAX(CASE WHEN b.bit = 1 THEN 1 ELSE 0 END) AS h1,
        MAX(CASE WHEN b.bit = 2 THEN 1 ELSE 0 END) AS h2,
        MAX(CASE WHEN b.bit = 3 THEN 1 ELSE 0 END) AS h3,
        MAX(CASE WHEN b.bit = 4 THEN 1 ELSE 0 END) AS h4,
        MAX(CASE WHEN b.bit = 5 THEN 1 ELSE 0 END) AS h5,
        MAX(CASE WHEN b.bit = 6 THEN 1 ELSE 0 END) AS h6,
        MAX(CASE WHEN b.bit = 7 THEN 1 ELSE 0 END) AS h7,
        MAX(CASE WHEN b.bit = 8 THEN 1 ELSE 0 END) AS h8,
        MAX(CASE WHEN b.bit = 9 THEN 1 ELSE 0 END) AS h9,
        MAX(CASE WHEN b.bit = 10 THEN 1 ELSE 0 END) AS h10,
        MAX(CASE WHEN b.bit = 11 THEN 1 ELSE 0 END) AS h11
    FROM `segflow`.`attribution_touches` AS t
    JOIN set_channel_map AS m ON m.channel = t.channel
    JOIN set_bits AS b ON b.set_channel = m.set_channel
    GROUP BY t.customer_id
),
converters AS (
    SELECT DISTINCT customer_id
    FROM `segflow`.`attribution_conversions`
),
staged_customers AS (
    SELECT
        `cid` AS customer_id
    FROM (
SELECT id AS cid, email_address FROM crm.contacts WHERE NOT deleted
    ) AS src
),
all_customers AS (
    -- Customers with a customers row, a conversion or a touch.
    SELECT DISTINCT customer_id
    FROM (
        SELECT customer_id FROM staged_customers WHERE customer_id IS NOT NULL
        UNION ALL
        SELECT customer_id FROM converters
        UNION ALL
        SELECT customer_id FROM customer_flags
    ) AS u
),
per_customer AS (
    SELECT
        COALESCE(f.h0, 0) AS h0,
        COALESCE(f.h1, 0) AS h1,
        COALESCE(f.h2, 0) AS h2,
        COALESCE(f.h3, 0) AS h3,
        COALESCE(f.h4, 0) AS h4,
        COALESCE(f.h5, 0) AS h5,
        COALESCE(f.h6, 0) AS h6,
        COALESCE(f.h7, 0) AS h7,
        COALESCE(f.h8, 0) AS h8,
        COALESCE(f.h9, 0) AS h9,
        COALESCE(f.h10, 0) AS h10,
        COALESCE(f.h11, 0) AS h11,
        CASE WHEN v.customer_id IS NULL THEN 0 ELSE 1 END AS converted
    FROM all_customers AS a
    LEFT JOIN customer_flags AS f ON f.customer_id = a.customer_id
    LEFT JOIN converters AS v ON v.customer_id = a.customer_id
),
combinations AS (
    SELECT
        h0,
        h1,
        h2,
        h3,
        h4,
        h5,
        h6,
        h7,
        h8,
        h9,
        h10,
        h11,
        COUNT(*) AS customers,
        SUM(converted) AS converters
    FROM per_customer
    GROUP BY h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11
),
labelled AS (
    SELECT
        SUBSTR(''
            || CASE WHEN h0 = 1 THEN '+' || n.c0 ELSE '' END
            || CASE WHEN h1 = 1 THEN '+' || n.c1 ELSE '' END
            || CASE WHEN h2 = 1 THEN '+' || n.c2 ELSE '' END
            || CASE WHEN h3 = 1 THEN '+' || n.c3 ELSE '' END
            || CASE WHEN h4 = 1 THEN '+' || n.c4 ELSE '' END
            || CASE WHEN h5 = 1 THEN '+' || n.c5 ELSE '' END
            || CASE WHEN h6 = 1 THEN '+' || n.c6 ELSE '' END
            || CASE WHEN h7 = 1 THEN '+' || n.c7 ELSE '' END
            || CASE WHEN h8 = 1 THEN '+' || n.c8 ELSE '' END
            || CASE WHEN h9 = 1 THEN '+' || n.c9 ELSE '' END
            || CASE WHEN h10 = 1 THEN '+' || n.c10 ELSE '' END
            || CASE WHEN h11 = 1 THEN '+' || n.c11 ELSE '' END, 2) AS label,
        h0 + h1 + h2 + h3 + h4 + h5 + h6 + h7 + h8 + h9 + h10 + h11 AS channels,
        customers,
        converters
    FROM combinations
    CROSS JOIN set_names AS n
)
SELECT
    CASE WHEN channels = 0 THEN '(none)' ELSE label END AS channel_set,
    CAST(channels AS INT64) AS channels,
    CAST(customers AS INT64) AS customers,
    CAST(converters AS INT64) AS converters,
    CAST(converters AS FLOAT64) / customers AS conversion_rate
FROM labelled;

