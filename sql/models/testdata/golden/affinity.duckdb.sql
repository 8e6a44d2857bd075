-- affinity: orders_clean
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

-- affinity: data_quality
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
    HAVING SUM(cell_count) >= 5
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
    HAVING SUM(cell_count) >= 5
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
    HAVING SUM(cell_count) >= 5
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
WHERE TRUE;

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
WHERE category_rank <= 5;

