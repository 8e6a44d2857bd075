CREATE OR REPLACE TABLE "segflow"."holdout_results" AS
WITH cohorts AS (
    SELECT segment, customer_id, holdout, joined_as_of AS publish_date
    FROM "segflow"."segment_membership_history"
    WHERE joined_as_of IS NOT NULL
),
outcomes AS (
    SELECT
        c.segment,
        c.publish_date,
        c.customer_id,
        c.holdout,
        -- Refunds count against revenue but are no conversion.
        MAX(CASE WHEN o.revenue > 0 THEN 1 ELSE 0 END) AS converted,
        COALESCE(SUM(o.revenue), 0) AS revenue
    FROM cohorts AS c
    LEFT JOIN "segflow"."orders_clean" AS o
        ON o.customer_id = c.customer_id
        AND o.order_date > c.publish_date
        AND o.order_date <= CAST((c.publish_date) + CAST((30) AS INTEGER) AS DATE)
    GROUP BY c.segment, c.publish_date, c.customer_id, c.holdout
),
arms AS (
    SELECT
        segment,
        publish_date,
        holdout,
        COUNT(*) AS customers,
        CAST(SUM(converted) AS DOUBLE) / COUNT(*) AS conversion,
        CAST(AVG(revenue) AS DOUBLE) AS revenue_per_customer,
        COALESCE(CAST(VAR_SAMP(revenue) AS DOUBLE), 0) AS revenue_variance
    FROM outcomes
    GROUP BY segment, publish_date, holdout
),
lifts AS (
    SELECT
        t.segment,
        t.publish_date,
        t.customers AS treated_customers,
        c.customers AS control_customers,
        t.conversion AS treated_conversion,
        c.conversion AS control_conversion,
        t.conversion - c.conversion AS conversion_lift,
        SQRT(t.conversion * (1 - t.conversion) / t.customers + c.conversion * (1 - c.conversion) / c.customers) AS conversion_se,
        t.revenue_per_customer AS treated_revenue_per_customer,
        c.revenue_per_customer AS control_revenue_per_customer,
        t.revenue_per_customer - c.revenue_per_customer AS revenue_lift,
        SQRT(t.revenue_variance / t.customers + c.revenue_variance / c.customers) AS revenue_se
    FROM arms AS t
    JOIN arms AS c
        ON c.segment = t.segment AND c.publish_date = t.publish_date
    WHERE NOT t.holdout AND c.holdout
)
SELECT
    segment,
    publish_date,
    30 AS window_days,
    -- The window has not ended by as_of: its figures are still growing.
    CAST((publish_date) + CAST((30) AS INTEGER) AS DATE) <= DATE '2024-06-30' AS window_complete,
    treated_customers,
    control_customers,
    treated_conversion,
    control_conversion,
    conversion_lift,
    (conversion_lift) / NULLIF(control_conversion, 0) AS conversion_lift_relative,
    conversion_lift - 1.96 * conversion_se AS conversion_lift_ci_low,
    conversion_lift + 1.96 * conversion_se AS conversion_lift_ci_high,
    treated_revenue_per_customer,
    control_revenue_per_customer,
    revenue_lift,
    (revenue_lift) / NULLIF(control_revenue_per_customer, 0) AS revenue_lift_relative,
    revenue_lift - 1.96 * revenue_se AS revenue_lift_ci_low,
    revenue_lift + 1.96 * revenue_se AS revenue_lift_ci_high
FROM lifts;
