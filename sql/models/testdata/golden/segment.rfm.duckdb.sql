-- rfm: segment_vip
CREATE OR REPLACE TABLE "segflow"."segment_vip" AS
WITH staged_customers AS (
    SELECT
        "cid" AS customer_id,
        "email_address" AS email
    FROM (
SELECT id AS cid, email_address FROM crm.contacts WHERE NOT deleted
    ) AS src
),
customer_emails AS (
    -- One row per customer even when the customers table repeats one.
    SELECT customer_id, MIN(email) AS email
    FROM staged_customers
    GROUP BY customer_id
),
members AS (
    -- Customers with orders but no customers row keep a NULL email.
    SELECT m.*, c.email
    FROM "segflow"."rfm" AS m
    LEFT JOIN customer_emails AS c ON c.customer_id = m.customer_id
)
SELECT
    customer_id,
    email,
    segment,
    monetary,
    loyalty,
    -- The control group: kept out of every destination.
    FALSE AS holdout,
    -- Changes when any attribute sent changes: the publish diff
    -- compares it with what each destination last acknowledged.
    md5(COALESCE(CAST(LENGTH(CAST(email AS VARCHAR)) AS VARCHAR) || ':' || CAST(email AS VARCHAR), 'N')
        || '|' || COALESCE(CAST(LENGTH(CAST(segment AS VARCHAR)) AS VARCHAR) || ':' || CAST(segment AS VARCHAR), 'N')
        || '|' || COALESCE(CAST(LENGTH(CAST(monetary AS VARCHAR)) AS VARCHAR) || ':' || CAST(monetary AS VARCHAR), 'N')
        || '|' || COALESCE(CAST(LENGTH(CAST(loyalty AS VARCHAR)) AS VARCHAR) || ':' || CAST(loyalty AS VARCHAR), 'N')) AS row_hash
FROM members
-- The config's where is its author's own SQL, pasted as written; a
-- typed filter arrives compiled, its values bound as parameters.
WHERE (
segment IN ('Champions', 'Loyal') AND monetary > 100
);

