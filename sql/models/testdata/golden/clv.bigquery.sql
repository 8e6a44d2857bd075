-- clv: orders_clean
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

-- clv: data_quality
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

-- clv: clv_summary
CREATE OR REPLACE TABLE `segflow`.`clv_summary` AS
WITH purchase_days AS (
    -- Several orders on one day are one transaction worth the day's total.
    SELECT customer_id, order_date, SUM(revenue) AS day_value
    FROM `segflow`.`orders_clean`
    WHERE NOT is_refund
    GROUP BY customer_id, order_date
),
spans AS (
    SELECT customer_id, MIN(order_date) AS first_day, MAX(order_date) AS last_day, COUNT(*) AS purchase_days
    FROM purchase_days
    GROUP BY customer_id
)
SELECT
    s.customer_id,
    -- x: repeat transactions.
    CAST(s.purchase_days - 1 AS INT64) AS frequency,
    -- t_x and T in days; divide by unit_days for the model's time unit.
    CAST(DATE_DIFF(s.last_day, s.first_day, DAY) AS INT64) AS recency_days,
    CAST(DATE_DIFF(DATE '2024-06-30', s.first_day, DAY) AS INT64) AS t_days,
    7 AS unit_days,
    -- The mean value of the repeat transactions: every purchase day but the first.
    CASE WHEN s.purchase_days > 1 THEN
        (SUM(p.day_value) - SUM(CASE WHEN p.order_date = s.first_day THEN p.day_value ELSE 0 END))
            / CAST(s.purchase_days - 1 AS FLOAT64)
    END AS monetary_value
FROM spans AS s
JOIN purchase_days AS p ON p.customer_id = s.customer_id
GROUP BY s.customer_id, s.purchase_days, s.first_day, s.last_day;

