-- cohort: orders_clean
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

-- cohort: data_quality
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

-- cohort: cohort_retention
CREATE OR REPLACE TABLE "segflow"."cohort_retention" AS
WITH
purchases AS (
    SELECT
        customer_id,
        order_id,
        MIN(ordered_at) AS ordered_at,
        MIN(order_date) AS order_date
    FROM "segflow"."orders_clean"
    WHERE NOT is_refund
    GROUP BY customer_id, order_id
),
firsts AS (
    -- Each customer's first purchase; its month is the customer's cohort.
    SELECT
        customer_id,
        DATE_TRUNC('MONTH', order_date) AS cohort_month
    FROM purchases
    WHERE TRUE
    QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) = 1
),
cohorts AS (
    SELECT cohort_month, COUNT(*) AS cohort_size
    FROM firsts
    WHERE cohort_month >= DATE '2023-03-01'
    GROUP BY cohort_month
),
cohort_rows AS (
    -- The orders_clean rows of cohort customers, refunds included, in the
    -- month of their own order_date.
    SELECT
        f.cohort_month,
        DATEDIFF(month, f.cohort_month, DATE_TRUNC('MONTH', o.order_date)) AS month_offset,
        o.customer_id,
        o.order_id,
        o.revenue,
        o.is_refund
    FROM "segflow"."orders_clean" AS o
    JOIN firsts AS f ON f.customer_id = o.customer_id
    WHERE f.cohort_month >= DATE '2023-03-01'
),
activity AS (
    SELECT
        cohort_month,
        month_offset,
        COUNT(DISTINCT CASE WHEN NOT is_refund THEN customer_id END) AS active_customers,
        COUNT(DISTINCT CASE WHEN NOT is_refund THEN order_id END) AS orders,
        SUM(revenue) AS revenue,
        SUM(CASE WHEN NOT is_refund THEN revenue END) AS order_revenue
    FROM cohort_rows
    GROUP BY cohort_month, month_offset
),
offsets AS (
    SELECT 0 AS month_offset
    UNION ALL SELECT 1 AS month_offset
    UNION ALL SELECT 2 AS month_offset
    UNION ALL SELECT 3 AS month_offset
    UNION ALL SELECT 4 AS month_offset
    UNION ALL SELECT 5 AS month_offset
    UNION ALL SELECT 6 AS month_offset
    UNION ALL SELECT 7 AS month_offset
    UNION ALL SELECT 8 AS month_offset
    UNION ALL SELECT 9 AS month_offset
    UNION ALL SELECT 10 AS month_offset
    UNION ALL SELECT 11 AS month_offset
    UNION ALL SELECT 12 AS month_offset
    UNION ALL SELECT 13 AS month_offset
    UNION ALL SELECT 14 AS month_offset
    UNION ALL SELECT 15 AS month_offset
),
grid AS (
    -- Every offset from the cohort month up to as_of's month.
    SELECT c.cohort_month, c.cohort_size, f.month_offset
    FROM cohorts AS c
    CROSS JOIN offsets AS f
    WHERE f.month_offset <= DATEDIFF(month, c.cohort_month, DATE '2024-06-01')
),
measured AS (
    SELECT
        g.cohort_month,
        g.month_offset,
        g.cohort_size,
        COALESCE(a.active_customers, 0) AS active_customers,
        COALESCE(a.orders, 0) AS orders,
        COALESCE(a.revenue, 0) AS revenue,
        CAST(COALESCE(a.active_customers, 0) AS FLOAT) AS active_f,
        CAST(g.cohort_size AS FLOAT) AS size_f,
        CAST(a.order_revenue AS FLOAT) AS order_revenue_f,
        CAST(a.orders AS FLOAT) AS orders_f
    FROM grid AS g
    LEFT JOIN activity AS a ON a.cohort_month = g.cohort_month AND a.month_offset = g.month_offset
)
SELECT
    cohort_month,
    CAST(month_offset AS NUMBER) AS month_offset,
    DATEADD(month, month_offset, cohort_month) AS activity_month,
    cohort_size,
    active_customers,
    (active_f) / NULLIF(size_f, 0) AS retention_rate,
    orders,
    revenue,
    (order_revenue_f) / NULLIF(orders_f, 0) AS avg_order_value
FROM measured;

-- cohort: buyer_mix_monthly
CREATE OR REPLACE TABLE "segflow"."buyer_mix_monthly" AS
WITH
purchases AS (
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
    -- Each purchase's number in the customer's whole history.
    SELECT
        customer_id,
        order_date,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS order_number
    FROM purchases
),
customer_months AS (
    -- A customer once per month, with the number of their first order in it.
    SELECT customer_id, month, MIN(order_number) AS first_number
    FROM (
        SELECT customer_id, DATE_TRUNC('MONTH', order_date) AS month, order_number
        FROM numbered
        WHERE order_date >= DATE '2023-03-01'
    ) AS n
    GROUP BY customer_id, month
),
mix AS (
    SELECT
        month,
        COUNT(*) AS buyers,
        COUNT(CASE WHEN first_number = 1 THEN 1 END) AS first_time,
        COUNT(CASE WHEN first_number = 2 THEN 1 END) AS second_time,
        COUNT(CASE WHEN first_number >= 3 THEN 1 END) AS repeat
    FROM customer_months
    GROUP BY month
),
offsets AS (
    SELECT 0 AS month_offset
    UNION ALL SELECT 1 AS month_offset
    UNION ALL SELECT 2 AS month_offset
    UNION ALL SELECT 3 AS month_offset
    UNION ALL SELECT 4 AS month_offset
    UNION ALL SELECT 5 AS month_offset
    UNION ALL SELECT 6 AS month_offset
    UNION ALL SELECT 7 AS month_offset
    UNION ALL SELECT 8 AS month_offset
    UNION ALL SELECT 9 AS month_offset
    UNION ALL SELECT 10 AS month_offset
    UNION ALL SELECT 11 AS month_offset
    UNION ALL SELECT 12 AS month_offset
    UNION ALL SELECT 13 AS month_offset
    UNION ALL SELECT 14 AS month_offset
    UNION ALL SELECT 15 AS month_offset
),
months AS (
    SELECT DATEADD(month, month_offset, DATE '2023-03-01') AS month
    FROM offsets
)
SELECT
    m.month,
    COALESCE(x.first_time, 0) AS first_time,
    COALESCE(x.second_time, 0) AS second_time,
    COALESCE(x.repeat, 0) AS repeat,
    COALESCE(x.buyers, 0) AS buyers
FROM months AS m
LEFT JOIN mix AS x ON x.month = m.month;

-- cohort: category_spend_monthly
CREATE OR REPLACE TABLE "segflow"."category_spend_monthly" AS
WITH staged_lines AS (
    SELECT
        "order_id" AS order_id,
        "product_id" AS product_id,
        "line_total" AS revenue
    FROM "shop"."order_lines"
),
staged_products AS (
    SELECT
        "product_id" AS product_id,
        "department" AS department,
        "category" AS category,
        "subcategory" AS subcategory,
        CAST(NULL AS VARCHAR) AS brand
    FROM "catalog"."products"
),
products AS (
    -- One row per product even if the products source repeats one.
    SELECT
        product_id,
        MIN(department) AS department,
        MIN(category) AS category,
        MIN(subcategory) AS subcategory,
        MIN(brand) AS brand
    FROM staged_products
    WHERE product_id IS NOT NULL
    GROUP BY product_id
),
clean_orders AS (
    -- One row per order_id of orders_clean: its customer, its date (that
    -- of its first non-refund row, else of its first row) and whether
    -- every row of it is a refund.
    SELECT
        order_id,
        MIN(customer_id) AS customer_id,
        COALESCE(MIN(CASE WHEN NOT is_refund THEN order_date END), MIN(order_date)) AS order_date,
        MIN(CASE WHEN is_refund THEN 1 ELSE 0 END) AS refund_only
    FROM "segflow"."orders_clean"
    GROUP BY order_id
),
lines AS (
    SELECT
        o.customer_id,
        o.order_id,
        o.refund_only,
        DATE_TRUNC('MONTH', o.order_date) AS month,
        CASE
            WHEN l.revenue IS NULL THEN 0
            -- The lines of a refund always reduce revenue, like the refund itself.
            WHEN o.refund_only = 1 THEN -ABS(l.revenue)
            ELSE l.revenue
        END AS revenue,
        COALESCE(p.department, '(unknown)') AS department,
        COALESCE(p.category, '(unknown)') AS category,
        COALESCE(p.subcategory, '(unknown)') AS subcategory,
        COALESCE(p.brand, '(unknown)') AS brand
    FROM staged_lines AS l
    JOIN clean_orders AS o ON o.order_id = l.order_id
    LEFT JOIN products AS p ON p.product_id = l.product_id
    WHERE o.order_date >= DATE '2023-03-01'
)
SELECT
    month,
    'department' AS level,
    department AS value,
    SUM(revenue) AS revenue,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN customer_id END) AS customers,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN order_id END) AS orders
FROM lines
GROUP BY month, department
UNION ALL
SELECT
    month,
    'category' AS level,
    category AS value,
    SUM(revenue) AS revenue,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN customer_id END) AS customers,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN order_id END) AS orders
FROM lines
GROUP BY month, category
UNION ALL
SELECT
    month,
    'subcategory' AS level,
    subcategory AS value,
    SUM(revenue) AS revenue,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN customer_id END) AS customers,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN order_id END) AS orders
FROM lines
GROUP BY month, subcategory
UNION ALL
SELECT
    month,
    'brand' AS level,
    brand AS value,
    SUM(revenue) AS revenue,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN customer_id END) AS customers,
    COUNT(DISTINCT CASE WHEN refund_only = 0 THEN order_id END) AS orders
FROM lines
GROUP BY month, brand;

