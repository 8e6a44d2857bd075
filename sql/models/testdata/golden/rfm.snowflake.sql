-- rfm: orders_clean
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

-- rfm: data_quality
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
    CAST(null_order_id AS NUMBER) AS rows_affected,
    CAST(null_order_id AS NUMBER) AS rows_excluded,
    'order rows with no order_id are excluded: they cannot be counted or deduplicated' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_customer_id' AS rule,
    'excluded' AS action,
    CAST(null_customer_id AS NUMBER) AS rows_affected,
    CAST(null_customer_id AS NUMBER) AS rows_excluded,
    'order rows with no customer_id are excluded: they belong to no customer' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_ordered_at' AS rule,
    'excluded' AS action,
    CAST(null_ordered_at AS NUMBER) AS rows_affected,
    CAST(null_ordered_at AS NUMBER) AS rows_excluded,
    'order rows with no ordered_at are excluded: they fall in no time window' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'cancelled' AS rule,
    'excluded' AS action,
    CAST(cancelled AS NUMBER) AS rows_affected,
    CAST(cancelled AS NUMBER) AS rows_excluded,
    'order rows whose status is \'cancelled\' or \'canceled\' (any case) are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'future_timestamp' AS rule,
    'excluded' AS action,
    CAST(future_timestamp AS NUMBER) AS rows_affected,
    CAST(future_timestamp AS NUMBER) AS rows_excluded,
    'order rows dated after the as_of date (ordered_at later than the end of that day) are excluded' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'duplicate' AS rule,
    'excluded' AS action,
    CAST(duplicate AS NUMBER) AS rows_affected,
    CAST(duplicate AS NUMBER) AS rows_excluded,
    'order rows identical in every column to an earlier row are excluded; one copy is kept' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'null_revenue' AS rule,
    'kept' AS action,
    CAST(null_revenue AS NUMBER) AS rows_affected,
    CAST(0 AS NUMBER) AS rows_excluded,
    'order rows with NULL revenue are kept with revenue 0' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'refund' AS rule,
    'kept' AS action,
    CAST(refund AS NUMBER) AS rows_affected,
    CAST(0 AS NUMBER) AS rows_excluded,
    'refund rows (revenue < 0 or status \'refunded\') are kept with revenue -|revenue|: they reduce monetary but count as no order for recency, frequency or loyalty' AS description
FROM rule_counts
UNION ALL
SELECT
    'orders' AS source,
    'orphan_customer' AS rule,
    'kept' AS action,
    CAST(orphan_customer AS NUMBER) AS rows_affected,
    CAST(0 AS NUMBER) AS rows_excluded,
    'order rows whose customer_id has no customers row are kept; such customers have a NULL email in segments' AS description
FROM rule_counts;

-- rfm: rfm
CREATE OR REPLACE TABLE "segflow"."rfm" AS
WITH window_orders AS (
    -- The 12-month window, both ends included; refunds are in it.
    SELECT customer_id, order_id, order_date, revenue, is_refund
    FROM "segflow"."orders_clean"
    WHERE order_date BETWEEN DATE '2023-06-30' AND DATE '2024-06-30'
),
rfm_values AS (
    SELECT
        customer_id,
        DATEDIFF(day, MAX(CASE WHEN NOT is_refund THEN order_date END), DATE '2024-06-30') AS recency_days,
        COUNT(DISTINCT CASE WHEN NOT is_refund THEN order_id END) AS frequency,
        SUM(revenue) AS monetary
    FROM window_orders
    GROUP BY customer_id
    -- A customer whose only rows in the window are refunds bought nothing in it.
    HAVING COUNT(CASE WHEN NOT is_refund THEN 1 END) > 0
),
scored AS (
    -- score = 1 + FLOOR(5 * (RANK() OVER (ORDER BY x) - 1) / COUNT(*) OVER ()):
    -- equal values share a rank and so a score. The division is done in
    -- floating point, where a quotient of integers that is itself a whole
    -- number is exact.
    SELECT
        *,
        CAST(1 + FLOOR(5 * (RANK() OVER (ORDER BY -recency_days) - 1) / CAST(COUNT(*) OVER () AS FLOAT)) AS NUMBER) AS r_score,
        CAST(1 + FLOOR(5 * (RANK() OVER (ORDER BY frequency) - 1) / CAST(COUNT(*) OVER () AS FLOAT)) AS NUMBER) AS f_score,
        CAST(1 + FLOOR(5 * (RANK() OVER (ORDER BY monetary) - 1) / CAST(COUNT(*) OVER () AS FLOAT)) AS NUMBER) AS m_score
    FROM rfm_values
),
ranked AS (
    SELECT
        *,
        CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR) AS rfm_cell,
        r_score + f_score + m_score AS rfm_score,
        -- The segment map: the first rule containing (r_score, f_score) wins.
        CASE
            WHEN r_score BETWEEN 5 AND 5 AND f_score BETWEEN 4 AND 5 THEN 'Champions'
            WHEN r_score BETWEEN 3 AND 4 AND f_score BETWEEN 4 AND 5 THEN 'Loyal'
            WHEN r_score BETWEEN 4 AND 5 AND f_score BETWEEN 2 AND 3 THEN 'Potential loyalist'
            WHEN r_score BETWEEN 5 AND 5 AND f_score BETWEEN 1 AND 1 THEN 'New'
            WHEN r_score BETWEEN 4 AND 4 AND f_score BETWEEN 1 AND 1 THEN 'Promising'
            WHEN r_score BETWEEN 3 AND 3 AND f_score BETWEEN 3 AND 3 THEN 'Need attention'
            WHEN r_score BETWEEN 3 AND 3 AND f_score BETWEEN 1 AND 2 THEN 'About to sleep'
            WHEN r_score BETWEEN 1 AND 2 AND f_score BETWEEN 5 AND 5 THEN 'Can\'t lose them'
            WHEN r_score BETWEEN 1 AND 2 AND f_score BETWEEN 3 AND 4 THEN 'At risk'
            WHEN r_score BETWEEN 1 AND 1 AND f_score BETWEEN 1 AND 1 THEN 'Lost'
            WHEN r_score BETWEEN 1 AND 2 AND f_score BETWEEN 1 AND 2 THEN 'Hibernating'
        END AS segment,
        NTILE(10) OVER (ORDER BY monetary DESC, customer_id) AS count_decile,
        -- Monetary of the customers ranked above this one.
        COALESCE(SUM(monetary) OVER (
            ORDER BY monetary DESC, customer_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) AS revenue_before,
        SUM(CASE WHEN monetary > 0 THEN monetary ELSE 0 END) OVER () AS total_positive_revenue
    FROM scored
),
loyalty_orders AS (
    -- Purchases in the 13 months up to as_of, both ends included.
    SELECT customer_id, COUNT(DISTINCT order_id) AS orders_13m
    FROM "segflow"."orders_clean"
    WHERE NOT is_refund AND order_date BETWEEN DATE '2023-05-30' AND DATE '2024-06-30'
    GROUP BY customer_id
)
SELECT
    r.customer_id,
    r.recency_days,
    r.frequency,
    r.monetary,
    r.r_score,
    r.f_score,
    r.m_score,
    r.rfm_cell,
    r.rfm_score,
    r.segment,
    r.count_decile,
    -- Equal-revenue deciles; with no positive revenue at all every
    -- customer is in decile 1 (and no division by zero happens).
    CASE
        WHEN r.total_positive_revenue <= 0 THEN 1
        ELSE CAST(LEAST(10, GREATEST(1, 1 + FLOOR(
            10 * CAST(r.revenue_before AS FLOAT) / CAST(r.total_positive_revenue AS FLOAT)
        ))) AS NUMBER)
    END AS revenue_decile,
    NTILE(10) OVER (ORDER BY r.rfm_score DESC, r.monetary DESC, r.customer_id) AS rfm_decile,
    CASE
        WHEN l.orders_13m >= 3 THEN 'repeat'
        WHEN l.orders_13m = 2 THEN 'second_time'
        WHEN l.orders_13m = 1 THEN 'first_time'
    END AS loyalty,
    DATE '2024-06-30' AS as_of
FROM ranked AS r
LEFT JOIN loyalty_orders AS l ON l.customer_id = r.customer_id;

