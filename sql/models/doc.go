// Package models renders segflow's customer models as SQL that runs
// inside the warehouse.
//
// [Render] turns a model name and [Options] (dialect, output schema,
// source mapping, as-of date, model settings) into the statements that
// materialise the model's tables, each a CREATE OR REPLACE TABLE in the
// output schema, to be executed in order. [RenderSegment] renders the
// table of one segment. Nothing is executed here; the runner sends the
// statements through a warehouse plugin.
//
// The API is pre-1.0 and may change between minor versions.
//
// # Templates
//
// The SQL lives in embedded text/template files:
//
//	templates/ansi/orders/classified.sql.tmpl   staged orders tagged by the data-quality rules (shared CTEs)
//	templates/ansi/orders/orders_clean.sql.tmpl table orders_clean
//	templates/ansi/orders/data_quality.sql.tmpl table data_quality
//	templates/ansi/rfm/rfm.sql.tmpl             table rfm
//	templates/ansi/segment/segment.sql.tmpl     table segment_<name>
//
// Templates are written once, in ANSI-style SQL; whatever is spelled
// differently per warehouse goes through the [dialect.Dialect] as a
// template function: out (a table in the output schema), source (the
// staging SELECT of a logical table), ident, str, date, type and
// days_between. A file under templates/<dialect>/ with the same path
// replaces the ANSI one for that dialect only, for the rare statement that
// must be shaped differently; none is needed yet.
//
// Names and values from users reach SQL only through the dialect:
// physical table and column names and the output schema are quoted with
// QuoteIdent, strings written with StringLiteral, dates with DateLiteral.
// Names segflow chooses itself (logical columns, CTEs, output columns)
// are plain lower-case identifiers written bare, which keeps the
// templates readable and lets Snowflake fold them to its usual upper
// case consistently. A segment's Where is the one exception: it is raw
// SQL from the config author and is pasted as written, in parentheses.
//
// # Staging
//
// Each source becomes a SELECT that reads the physical columns under
// their logical names (SELECT "cust" AS customer_id, ...), from the
// quoted table or from the source's SQL as a subquery. An optional
// column the source lacks (listed in [Source.Missing]) is read as a
// typed NULL, for example CAST(NULL AS VARCHAR) AS status. Model SQL
// therefore only ever speaks logical names.
//
// # Dirty data: orders_clean and data_quality
//
// Models read orders through orders_clean, built from the orders source
// by these rules. The exclusion rules are tried in this order and a row
// is counted under the first one it matches; the rules that keep rows
// count only rows that survived the exclusions.
//
//	rule              action    what happens
//	null_order_id     excluded  rows with no order_id
//	null_customer_id  excluded  rows with no customer_id
//	null_ordered_at   excluded  rows with no ordered_at
//	cancelled         excluded  status 'cancelled' or 'canceled', any case
//	future_timestamp  excluded  ordered_at after the end of the as_of day
//	                            (compared as dates: the whole as_of day is kept)
//	duplicate         excluded  rows identical in every column to another row;
//	                            one copy is kept, the extra copies are counted
//	null_revenue      kept      revenue NULL is taken as 0
//	refund            kept      revenue < 0 or status 'refunded' (any case);
//	                            revenue becomes -|revenue|, so a refund always
//	                            reduces monetary, even one recorded as positive;
//	                            refunds never count as orders for recency,
//	                            frequency or loyalty
//	orphan_customer   kept      customer_id has no customers row; the customer
//	                            is modelled as usual and has a NULL email
//
// Rows sharing an order_id but differing in some column (a refund that
// reuses its order's id, say) are not duplicates; frequency counts
// distinct order_ids, so such rows still make one order.
//
// orders_clean columns: order_id, customer_id, ordered_at, order_date
// (DATE of ordered_at), revenue (after the rules above), sales_channel,
// store_id, is_refund (BOOLEAN). It holds all history up to as_of, not
// just a model's window.
//
// data_quality has one row per rule, shared by every model that reads
// orders: source ('orders'), rule, action ('excluded' or
// 'kept'), rows_affected (rows the rule applied to), rows_excluded
// (rows_affected for excluding rules, 0 for the others) and description.
//
// # rfm
//
// One row per customer with at least one non-refund order in the window
// [as_of − window_months, as_of] (both ends included; months are
// subtracted with the day clamped to the month's end, so 2024-03-31
// minus one month is 2024-02-29). Default window: 12 months.
//
//	customer_id     the logical customer id
//	recency_days    as_of − order_date of the last non-refund order in the window
//	frequency       distinct order_ids of non-refund orders in the window
//	monetary        SUM(revenue) of orders_clean rows in the window, refunds included (net revenue)
//	r_score         1 + FLOOR(5 * (RANK() OVER (ORDER BY -recency_days) - 1) / COUNT(*) OVER ())
//	f_score         1 + FLOOR(5 * (RANK() OVER (ORDER BY frequency) - 1) / COUNT(*) OVER ())
//	m_score         1 + FLOOR(5 * (RANK() OVER (ORDER BY monetary) - 1) / COUNT(*) OVER ())
//	rfm_cell        r_score || f_score || m_score as text, e.g. '545'
//	rfm_score       r_score + f_score + m_score, 3 to 15
//	segment         name of the first segment-map rule whose R and F ranges contain (r_score, f_score)
//	count_decile    NTILE(10) OVER (ORDER BY monetary DESC, customer_id): equal-count deciles, 1 = highest
//	revenue_decile  LEAST(10, GREATEST(1, 1 + FLOOR(10 * revenue_before / total_positive_revenue)))
//	rfm_decile      NTILE(10) OVER (ORDER BY rfm_score DESC, monetary DESC, customer_id)
//	loyalty         non-refund orders in [as_of − 13 months, as_of]: 1 'first_time',
//	                2 'second_time', 3 or more 'repeat' (NULL when none, possible
//	                only with a window longer than 13 months)
//	as_of           the as_of DATE
//
// Scores: RANK gives equal values the same rank, so customers with equal
// recency, frequency or monetary get equal scores; the best value (most
// recent, most orders, most revenue) scores 5. With many ties a score
// can be skipped: if most customers have one order they all score F 1.
//
// Revenue deciles: customers are ordered by monetary DESC, customer_id;
// revenue_before is the SUM of monetary of the customers before this one
// and total_positive_revenue the SUM of the positive monetary values.
// Each decile thus holds about a tenth of revenue (it can differ from a
// tenth by at most the largest single customer's monetary); a customer
// who alone holds more than a tenth leaves the next deciles empty.
// Customers with zero or negative monetary fall in decile 10. If no
// customer has positive monetary, every customer is in decile 1.
//
// The default segment map ([DefaultSegmentMap]), first match wins:
//
//	Champions           R 5     F 4-5
//	Loyal               R 3-4   F 4-5
//	Potential loyalist  R 4-5   F 2-3
//	New                 R 5     F 1
//	Promising           R 4     F 1
//	Need attention      R 3     F 3
//	About to sleep      R 3     F 1-2
//	Can't lose them     R 1-2   F 5
//	At risk             R 1-2   F 3-4
//	Lost                R 1     F 1
//	Hibernating         R 1-2   F 1-2
//
// A configured map must cover all 25 (R, F) cells, so every customer is
// in exactly one segment.
//
// The rfm model materialises, in order: orders_clean, data_quality, rfm.
//
// # Segments
//
// segment_<name> holds customer_id, email (from the customers source,
// NULL for customers without a customers row; one row per customer even
// if customers repeats one) and the segment's attributes, for the rows
// of the model table that satisfy the segment's Where. Where may use any
// column of the model table and email.
package models
