-- attribution: attribution_touch_quality
CREATE OR REPLACE TABLE "segflow"."attribution_touch_quality" AS
WITH staged_touches AS (
    SELECT
        "customer_id" AS customer_id,
        "touched_at" AS occurred_at,
        "channel" AS channel,
        CAST(NULL AS VARCHAR) AS campaign
    FROM "mkt"."touchpoints"
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
    CAST(null_customer_id AS BIGINT) AS rows_affected,
    CAST(null_customer_id AS BIGINT) AS rows_excluded,
    'touchpoint rows with no customer_id are excluded: they belong to no customer' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'null_occurred_at' AS rule,
    'excluded' AS action,
    CAST(null_occurred_at AS BIGINT) AS rows_affected,
    CAST(null_occurred_at AS BIGINT) AS rows_excluded,
    'touchpoint rows with no occurred_at are excluded: they fall in no lookback window' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'future_timestamp' AS rule,
    'excluded' AS action,
    CAST(future_timestamp AS BIGINT) AS rows_affected,
    CAST(future_timestamp AS BIGINT) AS rows_excluded,
    'touchpoint rows dated after the as_of date are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'duplicate' AS rule,
    'excluded' AS action,
    CAST(duplicate AS BIGINT) AS rows_affected,
    CAST(duplicate AS BIGINT) AS rows_excluded,
    'touchpoint rows identical in customer_id, occurred_at, channel and campaign to an earlier row are excluded; one copy is kept' AS description
FROM rule_counts
UNION ALL
SELECT
    'touchpoints' AS source,
    'null_channel' AS rule,
    'kept' AS action,
    CAST(null_channel AS BIGINT) AS rows_affected,
    CAST(0 AS BIGINT) AS rows_excluded,
    'touchpoint rows with no channel are kept under the channel (unknown)' AS description
FROM rule_counts;

-- attribution: attribution_conversions
CREATE OR REPLACE TABLE "segflow"."attribution_conversions" AS
WITH purchases AS (
    -- Rows of one order (same customer and order_id) make one
    -- conversion at the time of its first row, worth their revenue.
    SELECT
        customer_id,
        order_id,
        MIN(ordered_at) AS ordered_at,
        MIN(order_date) AS order_date,
        CAST(SUM(revenue) AS DOUBLE) AS revenue,
        MIN(sales_channel) AS sales_channel,
        MIN(store_id) AS store_id
    FROM "segflow"."orders_clean"
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
    CAST(conversion_number AS BIGINT) AS conversion_number,
    previous_ordered_at
FROM numbered
WHERE order_date >= DATE '2023-12-30';

-- attribution: attribution_touches
CREATE OR REPLACE TABLE "segflow"."attribution_touches" AS
WITH
staged_touches AS (
    SELECT
        "customer_id" AS customer_id,
        "touched_at" AS occurred_at,
        "channel" AS channel,
        CAST(NULL AS VARCHAR) AS campaign
    FROM "mkt"."touchpoints"
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
    FROM "segflow"."attribution_conversions"
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
        DATE_DIFF('day', CAST(t.occurred_at AS DATE), CAST(c.ordered_at AS DATE)) * 86400
            + (EXTRACT(HOUR FROM c.ordered_at) - EXTRACT(HOUR FROM t.occurred_at)) * 3600
            + (EXTRACT(MINUTE FROM c.ordered_at) - EXTRACT(MINUTE FROM t.occurred_at)) * 60
            + (EXTRACT(SECOND FROM c.ordered_at) - EXTRACT(SECOND FROM t.occurred_at)) AS age_seconds
    FROM conversions AS c
    JOIN touches AS t
      ON t.customer_id = c.customer_id
     AND t.occurred_at <= c.ordered_at
     -- A coarse bound by date, so the join stays small; age_seconds decides.
     AND CAST(t.occurred_at AS DATE) >= CAST((CAST(c.ordered_at AS DATE)) + CAST((-14) AS INTEGER) AS DATE)
),
eligible AS (
    SELECT customer_id, order_id, occurred_at, channel, campaign, age_seconds
    FROM candidates
    WHERE age_seconds < 1209600
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
        CAST(age_seconds AS DOUBLE) / 86400 AS age_days
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
      -- Within the window only: earlier touches serve as lookback.
      AND CAST(t.occurred_at AS DATE) >= DATE '2023-12-30'
)
SELECT
    customer_id,
    order_id,
    converted,
    CAST(ROW_NUMBER() OVER (PARTITION BY customer_id, order_id ORDER BY occurred_at, channel, campaign) AS BIGINT) AS touch_number,
    CAST(COUNT(*) OVER (PARTITION BY customer_id, order_id) AS BIGINT) AS touch_count,
    occurred_at,
    channel,
    campaign,
    age_days
FROM paths;

-- attribution: attribution_credits
CREATE OR REPLACE TABLE "segflow"."attribution_credits" AS
WITH conversions AS (
    SELECT customer_id, order_id, revenue
    FROM "segflow"."attribution_conversions"
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
    FROM "segflow"."attribution_touches"
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
        POWER(CAST(0.5 AS DOUBLE), relative_age / CAST(3.5 AS DOUBLE)) AS decay
    FROM touches
),
weighted AS (
    SELECT
        customer_id,
        order_id,
        channel,
        campaign,
        CAST(CASE WHEN k = 1 THEN 1 ELSE 0 END AS DOUBLE) AS first_touch,
        CAST(CASE WHEN k = n THEN 1 ELSE 0 END AS DOUBLE) AS last_touch,
        CAST(1 AS DOUBLE) / n AS linear,
        decay / SUM(decay) OVER (PARTITION BY customer_id, order_id) AS time_decay,
        -- 40/20/40; two touches 50/50; one touch 100%.
        CASE
            WHEN n = 1 THEN CAST(1 AS DOUBLE)
            WHEN n = 2 THEN CAST(0.5 AS DOUBLE)
            WHEN k = 1 OR k = n THEN CAST(0.4 AS DOUBLE)
            ELSE CAST(0.2 AS DOUBLE) / (n - 2)
        END AS position_based,
        CASE
            WHEN n = 1 THEN CAST(1 AS DOUBLE)
            WHEN n = 2 AND k = 1 THEN CAST(0.5 AS DOUBLE)
            WHEN n = 2 THEN 1 - CAST(0.5 AS DOUBLE)
            WHEN k = 1 THEN CAST(0.3 AS DOUBLE)
            WHEN k = n THEN CAST(0.3 AS DOUBLE)
            ELSE CAST(0.4 AS DOUBLE) / (n - 2)
        END AS custom_position
    FROM decayed
),
rule_models AS (
    SELECT 'first_touch' AS model
    UNION ALL SELECT 'last_touch' AS model
    UNION ALL SELECT 'linear' AS model
    UNION ALL SELECT 'time_decay' AS model
    UNION ALL SELECT 'position_based' AS model
    UNION ALL SELECT 'custom_position' AS model
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
            WHEN 'custom_position' THEN w.custom_position
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
    SELECT u.customer_id, u.order_id, m.model, '(none)' AS channel, '(none)' AS campaign, CAST(1 AS DOUBLE) AS credit
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
CREATE OR REPLACE TABLE "segflow"."attribution_summary" AS
SELECT
    model,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM "segflow"."attribution_credits"
GROUP BY model, channel;

-- attribution: attribution_breakdown
CREATE OR REPLACE TABLE "segflow"."attribution_breakdown" AS
WITH credits AS (
    SELECT
        cr.model,
        cr.channel,
        cr.campaign,
        COALESCE(c.sales_channel, '(unknown)') AS sales_channel,
        -- Online orders have no store.
        COALESCE(CAST(c.store_id AS VARCHAR), '(none)') AS store,
        -- The customer's segment in the rfm table (as of as_of, not of the order).
        COALESCE(r.segment, '(unknown)') AS rfm_segment,
        cr.credit,
        cr.revenue_credit
    FROM "segflow"."attribution_credits" AS cr
    JOIN "segflow"."attribution_conversions" AS c
      ON c.customer_id = cr.customer_id AND c.order_id = cr.order_id
    LEFT JOIN "segflow"."rfm" AS r ON r.customer_id = cr.customer_id
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
GROUP BY model, store, channel
UNION ALL
SELECT
    model,
    'rfm_segment' AS dimension,
    rfm_segment AS value,
    channel,
    SUM(credit) AS conversions,
    SUM(revenue_credit) AS revenue
FROM credits
GROUP BY model, rfm_segment, channel;

-- attribution: attribution_transitions
CREATE OR REPLACE TABLE "segflow"."attribution_transitions" AS
WITH steps AS (
    SELECT
        LAG(channel) OVER (PARTITION BY customer_id, order_id ORDER BY touch_number) AS from_channel,
        channel AS to_channel,
        converted
    FROM "segflow"."attribution_touches"
    UNION ALL
    SELECT
        channel AS from_channel,
        NULL AS to_channel,
        converted
    FROM "segflow"."attribution_touches"
    WHERE touch_number = touch_count
)
SELECT
    from_channel,
    to_channel,
    converted,
    CAST(COUNT(*) AS BIGINT) AS transitions
FROM steps
GROUP BY from_channel, to_channel, converted;

-- attribution: attribution_channel_sets
CREATE OR REPLACE TABLE "segflow"."attribution_channel_sets" AS
WITH
channel_touches AS (
    SELECT channel, COUNT(*) AS touches
    FROM "segflow"."attribution_touches"
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
    SELECT set_channel, CAST(ROW_NUMBER() OVER (ORDER BY set_channel) - 1 AS BIGINT) AS bit
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
    FROM "segflow"."attribution_touches" AS t
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
    CAST(s.h0 * 1 + s.h1 * 2 + s.h2 * 4 + s.h3 * 8 + s.h4 * 16 + s.h5 * 32 + s.h6 * 64 + s.h7 * 128 + s.h8 * 256 + s.h9 * 512 + s.h10 * 1024 + s.h11 * 2048 AS BIGINT) AS set_mask,
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
    CAST(s.conversions AS BIGINT) AS conversions,
    CAST(s.non_conversions AS BIGINT) AS non_conversions
FROM sets AS s
CROSS JOIN set_names AS n
JOIN set_bits AS b
  ON CASE b.bit WHEN 0 THEN s.h0 WHEN 1 THEN s.h1 WHEN 2 THEN s.h2 WHEN 3 THEN s.h3 WHEN 4 THEN s.h4 WHEN 5 THEN s.h5 WHEN 6 THEN s.h6 WHEN 7 THEN s.h7 WHEN 8 THEN s.h8 WHEN 9 THEN s.h9 WHEN 10 THEN s.h10 WHEN 11 THEN s.h11 END = 1;

-- attribution: channel_combinations
CREATE OR REPLACE TABLE "segflow"."channel_combinations" AS
WITH
channel_touches AS (
    SELECT channel, COUNT(*) AS touches
    FROM "segflow"."attribution_touches"
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
    SELECT set_channel, CAST(ROW_NUMBER() OVER (ORDER BY set_channel) - 1 AS BIGINT) AS bit
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
    FROM "segflow"."attribution_touches" AS t
    JOIN set_channel_map AS m ON m.channel = t.channel
    JOIN set_bits AS b ON b.set_channel = m.set_channel
    GROUP BY t.customer_id
),
converters AS (
    SELECT DISTINCT customer_id
    FROM "segflow"."attribution_conversions"
),
staged_customers AS (
    SELECT
        "cid" AS customer_id
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
    CAST(channels AS BIGINT) AS channels,
    CAST(customers AS BIGINT) AS customers,
    CAST(converters AS BIGINT) AS converters,
    CAST(converters AS DOUBLE) / customers AS conversion_rate
FROM labelled;

-- affinity: affinity_baskets
CREATE OR REPLACE TABLE "segflow"."affinity_baskets" AS
WITH purchases AS (
    SELECT
        customer_id,
        order_id,
        MIN(ordered_at) AS ordered_at,
        MIN(order_date) AS order_date
    FROM "segflow"."orders_clean"
    WHERE NOT is_refund
    GROUP BY customer_id, order_id
),
numbered AS (
    SELECT
        customer_id,
        order_id,
        ordered_at,
        order_date,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS order_number
    FROM purchases
)
SELECT
    customer_id,
    order_id,
    ordered_at,
    order_date,
    CAST(order_number AS BIGINT) AS order_number,
    -- The order's rank among the customer's orders.
    CASE
        WHEN order_number = 1 THEN 'first_time'
        WHEN order_number = 2 THEN 'second_time'
        ELSE 'repeat'
    END AS loyalty,
    'Q' || CAST(EXTRACT(QUARTER FROM order_date) AS VARCHAR) AS season
FROM numbered;

-- affinity: affinity_items
CREATE OR REPLACE TABLE "segflow"."affinity_items" AS
WITH staged_lines AS (
    SELECT
        "order_id" AS order_id,
        "product_id" AS product_id,
        "quantity" AS quantity,
        "line_total" AS revenue
    FROM "shop"."order_lines"
),
staged_products AS (
    SELECT
        "product_id" AS product_id,
        "category" AS category,
        "subcategory" AS subcategory,
        CAST(NULL AS VARCHAR) AS brand
    FROM "catalog"."products"
),
products AS (
    -- One row per product even if the products source repeats one.
    SELECT
        product_id,
        MIN(category) AS category,
        MIN(subcategory) AS subcategory,
        MIN(brand) AS brand
    FROM staged_products
    WHERE product_id IS NOT NULL
    GROUP BY product_id
),
lines AS (
    -- Returned lines (negative quantity or revenue) add nothing to a basket.
    SELECT
        b.customer_id,
        b.order_id,
        l.product_id,
        p.category,
        p.subcategory,
        p.brand
    FROM staged_lines AS l
    JOIN "segflow"."affinity_baskets" AS b ON b.order_id = l.order_id
    LEFT JOIN products AS p ON p.product_id = l.product_id
    WHERE l.product_id IS NOT NULL
      AND COALESCE(l.quantity, 1) > 0
      AND COALESCE(l.revenue, 0) >= 0
)
SELECT DISTINCT
    customer_id,
    order_id,
    'product' AS level,
    CAST(product_id AS VARCHAR) AS item
FROM lines
UNION ALL
SELECT DISTINCT
    customer_id,
    order_id,
    'category' AS level,
    category AS item
FROM lines
-- A product without this attribute is no item at this level.
WHERE category IS NOT NULL
UNION ALL
SELECT DISTINCT
    customer_id,
    order_id,
    'subcategory' AS level,
    subcategory AS item
FROM lines
-- A product without this attribute is no item at this level.
WHERE subcategory IS NOT NULL
UNION ALL
SELECT DISTINCT
    customer_id,
    order_id,
    'brand' AS level,
    brand AS item
FROM lines
-- A product without this attribute is no item at this level.
WHERE brand IS NOT NULL;

-- affinity: affinity_pairs
CREATE OR REPLACE TABLE "segflow"."affinity_pairs" AS
WITH baskets AS (
    SELECT customer_id, order_id, loyalty, season
    FROM "segflow"."affinity_baskets"
),
items AS (
    SELECT i.customer_id, i.order_id, i.level, i.item, b.loyalty, b.season
    FROM "segflow"."affinity_items" AS i
    JOIN baskets AS b ON b.customer_id = i.customer_id AND b.order_id = i.order_id
),
cell_baskets AS (
    -- The baskets with at least one item at the level.
    SELECT level, loyalty, season, COUNT(*) AS cell_count
    FROM (SELECT DISTINCT level, loyalty, season, customer_id, order_id FROM items) AS b
    GROUP BY level, loyalty, season
),
cell_items AS (
    -- Items are distinct within a basket, so this counts baskets.
    SELECT level, loyalty, season, item, COUNT(*) AS cell_count
    FROM items
    GROUP BY level, loyalty, season, item
),
cell_pairs AS (
    -- Each unordered pair once (a < b); the rules take both directions.
    SELECT a.level, a.loyalty, a.season, a.item AS item_a, b.item AS item_b, COUNT(*) AS cell_count
    FROM items AS a
    JOIN "segflow"."affinity_items" AS b
      ON b.customer_id = a.customer_id
     AND b.order_id = a.order_id
     AND b.level = a.level
     AND a.item < b.item
    GROUP BY a.level, a.loyalty, a.season, a.item, b.item
),
all_baskets AS (
    SELECT level, 'all' AS segment_type, 'all' AS segment_value, SUM(cell_count) AS baskets
    FROM cell_baskets
    GROUP BY level
),
all_items AS (
    SELECT level, 'all' AS segment_type, 'all' AS segment_value, item, SUM(cell_count) AS baskets
    FROM cell_items
    GROUP BY level, item
),
all_pairs AS (
    SELECT level, 'all' AS segment_type, 'all' AS segment_value, item_a, item_b, SUM(cell_count) AS pair_count
    FROM cell_pairs
    GROUP BY level, item_a, item_b
    HAVING SUM(cell_count) >= 20
),
loyalty_baskets AS (
    SELECT level, 'loyalty' AS segment_type, loyalty AS segment_value, SUM(cell_count) AS baskets
    FROM cell_baskets
    GROUP BY level, loyalty
),
loyalty_items AS (
    SELECT level, 'loyalty' AS segment_type, loyalty AS segment_value, item, SUM(cell_count) AS baskets
    FROM cell_items
    GROUP BY level, loyalty, item
),
loyalty_pairs AS (
    SELECT level, 'loyalty' AS segment_type, loyalty AS segment_value, item_a, item_b, SUM(cell_count) AS pair_count
    FROM cell_pairs
    GROUP BY level, loyalty, item_a, item_b
    HAVING SUM(cell_count) >= 20
),
season_baskets AS (
    SELECT level, 'season' AS segment_type, season AS segment_value, SUM(cell_count) AS baskets
    FROM cell_baskets
    GROUP BY level, season
),
season_items AS (
    SELECT level, 'season' AS segment_type, season AS segment_value, item, SUM(cell_count) AS baskets
    FROM cell_items
    GROUP BY level, season, item
),
season_pairs AS (
    SELECT level, 'season' AS segment_type, season AS segment_value, item_a, item_b, SUM(cell_count) AS pair_count
    FROM cell_pairs
    GROUP BY level, season, item_a, item_b
    HAVING SUM(cell_count) >= 20
),
segment_baskets AS (
    SELECT level, segment_type, segment_value, baskets FROM all_baskets
    UNION ALL
    SELECT level, segment_type, segment_value, baskets FROM loyalty_baskets
    UNION ALL
    SELECT level, segment_type, segment_value, baskets FROM season_baskets
),
segment_items AS (
    SELECT level, segment_type, segment_value, item, baskets FROM all_items
    UNION ALL
    SELECT level, segment_type, segment_value, item, baskets FROM loyalty_items
    UNION ALL
    SELECT level, segment_type, segment_value, item, baskets FROM season_items
),
segment_pairs AS (
    SELECT level, segment_type, segment_value, item_a, item_b, pair_count FROM all_pairs
    UNION ALL
    SELECT level, segment_type, segment_value, item_a, item_b, pair_count FROM loyalty_pairs
    UNION ALL
    SELECT level, segment_type, segment_value, item_a, item_b, pair_count FROM season_pairs
),
rules AS (
    SELECT level, segment_type, segment_value, item_a AS antecedent, item_b AS consequent, pair_count
    FROM segment_pairs
    UNION ALL
    SELECT level, segment_type, segment_value, item_b AS antecedent, item_a AS consequent, pair_count
    FROM segment_pairs
),
measured AS (
    SELECT
        r.level,
        r.segment_type,
        r.segment_value,
        r.antecedent,
        r.consequent,
        r.pair_count,
        a.baskets AS antecedent_count,
        c.baskets AS consequent_count,
        n.baskets,
        CAST(r.pair_count AS DOUBLE) AS n_ab,
        CAST(a.baskets AS DOUBLE) AS n_a,
        CAST(c.baskets AS DOUBLE) AS n_b,
        CAST(n.baskets AS DOUBLE) AS n_all
    FROM rules AS r
    JOIN segment_items AS a
      ON a.level = r.level AND a.segment_type = r.segment_type AND a.segment_value = r.segment_value AND a.item = r.antecedent
    JOIN segment_items AS c
      ON c.level = r.level AND c.segment_type = r.segment_type AND c.segment_value = r.segment_value AND c.item = r.consequent
    JOIN segment_baskets AS n
      ON n.level = r.level AND n.segment_type = r.segment_type AND n.segment_value = r.segment_value
)
SELECT
    level,
    segment_type,
    segment_value,
    antecedent,
    consequent,
    CAST(pair_count AS BIGINT) AS pair_count,
    CAST(antecedent_count AS BIGINT) AS antecedent_count,
    CAST(consequent_count AS BIGINT) AS consequent_count,
    CAST(baskets AS BIGINT) AS baskets,
    n_ab / n_all AS support,
    n_a / n_all AS antecedent_support,
    n_b / n_all AS consequent_support,
    n_ab / n_a AS confidence,
    n_ab * n_all / (n_a * n_b) AS lift,
    -- (1 - support(B)) / (1 - confidence(A → B)); NULL (infinite) when the confidence is 1.
    ((n_all - n_b) * n_a) / NULLIF(n_all * (n_a - n_ab), 0) AS conviction
FROM measured
WHERE TRUE
  AND n_ab / n_all >= 0.001
QUALIFY ROW_NUMBER() OVER (PARTITION BY level, segment_type, segment_value, antecedent ORDER BY n_ab * n_all / (n_a * n_b) DESC, pair_count DESC, consequent) <= 10;

-- affinity: next_category
CREATE OR REPLACE TABLE "segflow"."next_category" AS
WITH categories AS (
    SELECT customer_id, order_id, item AS category
    FROM "segflow"."affinity_items"
    WHERE level = 'category'
),
consecutive AS (
    SELECT o.customer_id, o.order_id, n.order_id AS next_order_id
    FROM "segflow"."affinity_baskets" AS o
    JOIN "segflow"."affinity_baskets" AS n
      ON n.customer_id = o.customer_id AND n.order_number = o.order_number + 1
),
from_counts AS (
    -- Orders holding A that have a next order.
    SELECT a.category AS from_category, COUNT(*) AS from_orders
    FROM consecutive AS o
    JOIN categories AS a ON a.customer_id = o.customer_id AND a.order_id = o.order_id
    GROUP BY a.category
),
transitions AS (
    SELECT a.category AS from_category, b.category AS to_category, COUNT(*) AS transitions
    FROM consecutive AS o
    JOIN categories AS a ON a.customer_id = o.customer_id AND a.order_id = o.order_id
    JOIN categories AS b ON b.customer_id = o.customer_id AND b.order_id = o.next_order_id
    GROUP BY a.category, b.category
)
SELECT
    t.from_category,
    t.to_category,
    CAST(t.transitions AS BIGINT) AS transitions,
    CAST(f.from_orders AS BIGINT) AS from_orders,
    CAST(t.transitions AS DOUBLE) / f.from_orders AS probability
FROM transitions AS t
JOIN from_counts AS f ON f.from_category = t.from_category;

-- affinity: recommendations
CREATE OR REPLACE TABLE "segflow"."recommendations" AS
WITH last_orders AS (
    SELECT customer_id, order_id
    FROM "segflow"."affinity_baskets"
    WHERE TRUE
    QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_number DESC) = 1
),
last_categories AS (
    SELECT l.customer_id, c.item AS category
    FROM last_orders AS l
    JOIN "segflow"."affinity_items" AS c
      ON c.customer_id = l.customer_id AND c.order_id = l.order_id AND c.level = 'category'
),
bought AS (
    SELECT DISTINCT customer_id, item AS category
    FROM "segflow"."affinity_items"
    WHERE level = 'category'
),
scores AS (
    SELECT l.customer_id, n.to_category AS category, SUM(n.probability) AS score
    FROM last_categories AS l
    JOIN "segflow"."next_category" AS n ON n.from_category = l.category
    GROUP BY l.customer_id, n.to_category
),
candidates AS (
    SELECT s.customer_id, s.category, s.score
    FROM scores AS s
    LEFT JOIN bought AS b ON b.customer_id = s.customer_id AND b.category = s.category
    WHERE b.customer_id IS NULL
),
ranked AS (
    SELECT
        customer_id,
        category,
        score,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY score DESC, category) AS category_rank
    FROM candidates
)
SELECT
    customer_id,
    CAST(category_rank AS BIGINT) AS rank,
    category,
    score
FROM ranked
WHERE category_rank <= 3;

