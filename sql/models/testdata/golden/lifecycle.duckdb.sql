-- lifecycle: orders_clean
CREATE OR REPLACE TABLE "segflow"."orders_clean" AS
WITH
staged_orders AS (
    SELECT
        "order_id" AS order_id,
        "customer_id" AS customer_id,
        "ordered_at" AS ordered_at,
        "total_amount" AS revenue,
        "sales_channel" AS sales_channel,
        CAST(NULL AS VARCHAR) AS store_id,
        "status" AS status
    FROM "shop"."orders"
),
numbered_orders AS (
    -- Copies of a row that is equal in every column share a partition;
    -- all but the first are duplicates. Revenue is compared as text since
    -- some warehouses cannot partition by a float. The copies are equal,
    -- so the ORDER BY (which Snowflake requires) picks none in particular.
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY order_id, customer_id, ordered_at, CAST(revenue AS VARCHAR), sales_channel, store_id, status
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

-- lifecycle: data_quality
CREATE OR REPLACE TABLE "segflow"."data_quality" AS
WITH
staged_orders AS (
    SELECT
        "order_id" AS order_id,
        "customer_id" AS customer_id,
        "ordered_at" AS ordered_at,
        "total_amount" AS revenue,
        "sales_channel" AS sales_channel,
        CAST(NULL AS VARCHAR) AS store_id,
        "status" AS status
    FROM "shop"."orders"
),
numbered_orders AS (
    -- Copies of a row that is equal in every column share a partition;
    -- all but the first are duplicates. Revenue is compared as text since
    -- some warehouses cannot partition by a float. The copies are equal,
    -- so the ORDER BY (which Snowflake requires) picks none in particular.
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY order_id, customer_id, ordered_at, CAST(revenue AS VARCHAR), sales_channel, store_id, status
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
        "cid" AS customer_id
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
    CAST(null_order_id AS BIGINT) AS rows_affected,
    CAST(null_order_id AS BIGINT) AS rows_excluded,
    'order rows with no order_id are excluded: they cannot be counted or deduplicated' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_customer_id' AS rule,
    'excluded' AS action,
    CAST(null_customer_id AS BIGINT) AS rows_affected,
    CAST(null_customer_id AS BIGINT) AS rows_excluded,
    'order rows with no customer_id are excluded: they belong to no customer' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_ordered_at' AS rule,
    'excluded' AS action,
    CAST(null_ordered_at AS BIGINT) AS rows_affected,
    CAST(null_ordered_at AS BIGINT) AS rows_excluded,
    'order rows with no ordered_at are excluded: they fall in no time window' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'cancelled' AS rule,
    'excluded' AS action,
    CAST(cancelled AS BIGINT) AS rows_affected,
    CAST(cancelled AS BIGINT) AS rows_excluded,
    'order rows whose status is ''cancelled'' or ''canceled'' (any case) are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'future_timestamp' AS rule,
    'excluded' AS action,
    CAST(future_timestamp AS BIGINT) AS rows_affected,
    CAST(future_timestamp AS BIGINT) AS rows_excluded,
    'order rows dated after the as_of date (ordered_at later than the end of that day) are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'duplicate' AS rule,
    'excluded' AS action,
    CAST(duplicate AS BIGINT) AS rows_affected,
    CAST(duplicate AS BIGINT) AS rows_excluded,
    'order rows identical in every column to an earlier row are excluded; one copy is kept' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_revenue' AS rule,
    'kept' AS action,
    CAST(null_revenue AS BIGINT) AS rows_affected,
    CAST(0 AS BIGINT) AS rows_excluded,
    'order rows with NULL revenue are kept with revenue 0' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'refund' AS rule,
    'kept' AS action,
    CAST(refund AS BIGINT) AS rows_affected,
    CAST(0 AS BIGINT) AS rows_excluded,
    'refund rows (revenue < 0 or status ''refunded'') are kept with revenue -|revenue|: they reduce monetary but count as no order for recency, frequency or loyalty' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'orphan_customer' AS rule,
    'kept' AS action,
    CAST(orphan_customer AS BIGINT) AS rows_affected,
    CAST(0 AS BIGINT) AS rows_excluded,
    'order rows whose customer_id has no customers row are kept; such customers have a NULL email in segments' AS description
FROM rule_counts;

-- lifecycle: lifecycle
CREATE OR REPLACE TABLE "segflow"."lifecycle" AS
WITH staged_customers AS (
    SELECT
        "cid" AS customer_id
    FROM (
SELECT id AS cid, email_address FROM crm.contacts WHERE NOT deleted
    ) AS src
),
history AS (
    -- orders_clean holds all history up to as_of and nothing later.
    SELECT customer_id, order_id, ordered_at, order_date, revenue, is_refund
    FROM "segflow"."orders_clean"
),
contacts AS (
    -- Every customer, plus the customers with a purchase but no customers row.
    SELECT customer_id
    FROM (
        SELECT customer_id FROM staged_customers
        UNION ALL
        SELECT customer_id FROM history WHERE NOT is_refund
    ) AS c
    WHERE customer_id IS NOT NULL
    GROUP BY customer_id
),
purchase_days AS (
    SELECT DISTINCT customer_id, order_date
    FROM history
    WHERE NOT is_refund
),
gaps AS (
    -- The days between consecutive purchase days of each repeat buyer.
    SELECT DATE_DIFF('day', previous_date, order_date) AS gap_days
    FROM (
        SELECT
            order_date,
            LAG(order_date) OVER (PARTITION BY customer_id ORDER BY order_date) AS previous_date
        FROM purchase_days
    ) AS p
    WHERE previous_date IS NOT NULL
),
ranked_gaps AS (
    -- PERCENTILE_CONT(q) written out, the same in every dialect: the gaps
    -- in order, and the 1-based position h = 1 + q * (n - 1) of quantile q.
    SELECT
        gap_days,
        ROW_NUMBER() OVER (ORDER BY gap_days) AS gap_rank,
        1 + 0.75 * (COUNT(*) OVER () - 1) AS h75,
        1 + 0.95 * (COUNT(*) OVER () - 1) AS h95
    FROM gaps
),
gap_quantiles AS (
    -- Linear interpolation between the gaps ranked FLOOR(h) and CEIL(h).
    -- Without any gap both are NULL.
    SELECT
        MAX(CASE WHEN gap_rank = FLOOR(h75) THEN gap_days END)
            + (MAX(h75) - FLOOR(MAX(h75)))
            * (MAX(CASE WHEN gap_rank = CEIL(h75) THEN gap_days END) - MAX(CASE WHEN gap_rank = FLOOR(h75) THEN gap_days END)) AS p75,
        MAX(CASE WHEN gap_rank = FLOOR(h95) THEN gap_days END)
            + (MAX(h95) - FLOOR(MAX(h95)))
            * (MAX(CASE WHEN gap_rank = CEIL(h95) THEN gap_days END) - MAX(CASE WHEN gap_rank = FLOOR(h95) THEN gap_days END)) AS p95
    FROM ranked_gaps
),
derived AS (
    -- Rounded up to whole days. The exact percentiles have at most two
    -- decimals; rounding to six first keeps floating-point noise (BigQuery
    -- computes in FLOAT64) from adding a day.
    SELECT
        CAST(CEIL(ROUND(p75, 6)) AS BIGINT) AS derived_active,
        CAST(CEIL(ROUND(p95, 6)) AS BIGINT) AS derived_inactive
    FROM gap_quantiles
),
active_threshold AS (
    SELECT
        COALESCE(derived_active, 90) AS active_days,
        derived_inactive
    FROM derived
),
thresholds AS (
    SELECT
        CAST(active_days AS BIGINT) AS active_days,
        -- Derived, and always beyond the active threshold.
        CAST(GREATEST(COALESCE(derived_inactive, 2 * active_days), active_days + 1) AS BIGINT) AS inactive_days
    FROM active_threshold
),
stats AS (
    -- Refunds count toward revenue only.
    SELECT
        customer_id,
        COUNT(DISTINCT CASE WHEN NOT is_refund THEN order_id END) AS orders,
        MAX(CASE WHEN NOT is_refund THEN ordered_at END) AS last_order_at,
        MAX(CASE WHEN NOT is_refund THEN order_date END) AS last_order_date,
        SUM(revenue) AS revenue
    FROM history
    GROUP BY customer_id
),
measured AS (
    SELECT
        c.customer_id,
        s.last_order_at,
        COALESCE(s.orders, 0) AS orders,
        COALESCE(s.revenue, 0) AS revenue,
        DATE_DIFF('day', s.last_order_date, DATE '2024-06-30') AS days_since_last_order,
        t.active_days,
        t.inactive_days
    FROM contacts AS c
    LEFT JOIN stats AS s ON s.customer_id = c.customer_id
    CROSS JOIN thresholds AS t
),
staged AS (
    SELECT
        *,
        CASE
            WHEN orders = 0 THEN 'lead'
            WHEN days_since_last_order <= active_days AND orders = 1 THEN 'first_time_buyer'
            WHEN days_since_last_order <= active_days THEN 'active'
            WHEN days_since_last_order <= inactive_days THEN 'defecting'
            ELSE 'inactive'
        END AS stage
    FROM measured
)
SELECT
    customer_id,
    stage,
    last_order_at,
    orders,
    revenue,
    days_since_last_order,
    active_days,
    inactive_days,
    DATE '2024-06-30' AS as_of
FROM staged;

-- lifecycle: lifecycle_summary
CREATE OR REPLACE TABLE "segflow"."lifecycle_summary" AS
WITH stages AS (
    SELECT 1 AS stage_order, 'lead' AS stage
    UNION ALL SELECT 2 AS stage_order, 'first_time_buyer' AS stage
    UNION ALL SELECT 3 AS stage_order, 'active' AS stage
    UNION ALL SELECT 4 AS stage_order, 'defecting' AS stage
    UNION ALL SELECT 5 AS stage_order, 'inactive' AS stage
),
per_stage AS (
    SELECT stage, COUNT(*) AS customers, SUM(revenue) AS revenue
    FROM "segflow"."lifecycle"
    GROUP BY stage
),
totals AS (
    SELECT COUNT(*) AS contacts
    FROM "segflow"."lifecycle"
),
measured AS (
    SELECT
        s.stage_order,
        s.stage,
        COALESCE(p.customers, 0) AS customers,
        COALESCE(p.revenue, 0) AS revenue,
        CAST(COALESCE(p.customers, 0) AS DOUBLE) AS customers_f,
        CAST(t.contacts AS DOUBLE) AS contacts_f,
        CAST(p.revenue AS DOUBLE) AS revenue_f
    FROM stages AS s
    LEFT JOIN per_stage AS p ON p.stage = s.stage
    CROSS JOIN totals AS t
)
SELECT
    CAST(stage_order AS BIGINT) AS stage_order,
    stage,
    customers,
    (customers_f) / NULLIF(contacts_f, 0) AS share,
    revenue,
    (revenue_f) / NULLIF(customers_f, 0) AS avg_revenue
FROM measured;

-- lifecycle: lifecycle_transitions
CREATE OR REPLACE TABLE "segflow"."lifecycle_transitions" AS
WITH earlier_stats AS (
    -- The purchases up to the earlier date only.
    SELECT
        customer_id,
        COUNT(DISTINCT order_id) AS orders,
        MAX(order_date) AS last_order_date
    FROM "segflow"."orders_clean"
    WHERE NOT is_refund AND order_date <= DATE '2024-05-31'
    GROUP BY customer_id
),
earlier AS (
    -- The contacts of the lifecycle table, with its thresholds.
    SELECT
        l.stage AS to_stage,
        COALESCE(e.orders, 0) AS orders,
        DATE_DIFF('day', e.last_order_date, DATE '2024-05-31') AS days_since_last_order,
        l.active_days,
        l.inactive_days
    FROM "segflow"."lifecycle" AS l
    LEFT JOIN earlier_stats AS e ON e.customer_id = l.customer_id
),
staged AS (
    SELECT
        CASE
            WHEN orders = 0 THEN 'lead'
            WHEN days_since_last_order <= active_days AND orders = 1 THEN 'first_time_buyer'
            WHEN days_since_last_order <= active_days THEN 'active'
            WHEN days_since_last_order <= inactive_days THEN 'defecting'
            ELSE 'inactive'
        END AS from_stage,
        to_stage
    FROM earlier
)
SELECT
    from_stage,
    to_stage,
    COUNT(*) AS customers,
    DATE '2024-05-31' AS from_as_of,
    DATE '2024-06-30' AS to_as_of
FROM staged
GROUP BY from_stage, to_stage;

