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
//	templates/ansi/lifecycle/lifecycle.sql.tmpl table lifecycle (and its
//	    lifecycle_summary, lifecycle_transitions and stage.sql.tmpl, the stage rule)
//	templates/ansi/cohort/*.sql.tmpl            tables cohort_retention, buyer_mix_monthly,
//	    category_spend_monthly (and purchases, offsets: shared CTEs)
//	templates/ansi/segment/segment.sql.tmpl     table segment_<name>
//
// Templates are written once, in ANSI-style SQL; whatever is spelled
// differently per warehouse goes through the [dialect.Dialect] as a
// template function: out (a table in the output schema), source (the
// staging SELECT of a logical table), ident, str, date, type,
// days_between, add_days, add_months, trunc_month, months_between,
// safe_divide and qualify. A file under templates/<dialect>/ with the
// same path replaces the ANSI one for that dialect only, for the rare
// statement that must be shaped differently; none is needed: every model
// renders for DuckDB, BigQuery and Snowflake from the ANSI files.
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
// # Dialects
//
// DuckDB, BigQuery and Snowflake differ in the templates only through
// the dialect functions (package sql/dialect documents each):
//
//   - Names: DuckDB and Snowflake quote with double quotes, BigQuery
//     with backticks. The output schema is a DuckDB schema, a BigQuery
//     dataset ("analytics" or "project.analytics") or a Snowflake schema
//     ("SEGFLOW" or "ANALYTICS.SEGFLOW"). In Snowflake, segflow's tables
//     are created and read under quoted lower-case names ("rfm") while
//     their columns, written bare, fold to upper case (CUSTOMER_ID); see
//     [dialect.Snowflake].
//   - QUALIFY: all three have it; BigQuery requires a WHERE, GROUP BY or
//     HAVING in the same SELECT, so templates write WHERE TRUE before it.
//   - Quantiles: no percentile function is portable (BigQuery's
//     PERCENTILE_CONT is analytic only, Snowflake's takes WITHIN GROUP),
//     so the lifecycle thresholds compute PERCENTILE_CONT by hand from
//     ROW_NUMBER and COUNT(*) OVER (), with the same linear
//     interpolation.
//   - Months: months_between counts month boundaries and is applied to
//     first days of months only, where DATE_DIFF (DuckDB, BigQuery) and
//     DATEDIFF (Snowflake) agree; add_months clamps the day to the end of
//     a shorter month everywhere. Dates that depend only on as_of (window
//     starts, the earlier lifecycle date, the first cohort month) are
//     computed in Go and written as DATE literals.
//   - Division: safe_divide is SAFE_DIVIDE in BigQuery and x / NULLIF(y,
//     0) elsewhere (Snowflake's DIV0 returns 0, not NULL). Rates are
//     divided as FLOAT64, since Snowflake divides integers as decimals.
//   - ROW_NUMBER always has an ORDER BY, which Snowflake requires.
//   - Types are written through type: FLOAT64 is DOUBLE, FLOAT64 and
//     FLOAT; INT64 is BIGINT, INT64 and NUMBER.
//   - Bound parameters are a positional ? in every dialect.
//
// # Running several models
//
// Models share staging tables: rfm, lifecycle, cohort and clv all build
// orders_clean and data_quality first. Those statements carry
// [Statement.Shared], and their SQL depends only on the Options, never
// on the model rendering them, so the copies are byte-identical.
// [RenderModels] renders a job's models in order and keeps the first
// copy of each; a caller rendering models one by one may equally skip a
// statement whose Name it has already run.
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
// # lifecycle
//
// Emarsys-style lifecycle stages for every contact at as_of. The
// contacts are the distinct non-NULL customer_ids of the customers
// source plus the customers with a purchase in orders_clean but no
// customers row (orphans). A purchase is a non-refund orders_clean row;
// orders counts distinct order_ids of purchases, over all history up to
// as_of (orders_clean holds nothing later). Let d be the days from the
// last purchase's order_date to as_of. Then, with the thresholds
// active_days < inactive_days:
//
//	lead              no purchase (also a customer whose only rows are refunds;
//	                  an orphan with only refunds is no contact)
//	first_time_buyer  exactly one order and d <= active_days
//	active            two or more orders and d <= active_days
//	defecting         active_days < d <= inactive_days (any number of orders)
//	inactive          d > inactive_days
//
// Every contact is in exactly one stage. A one-time buyer whose order is
// no longer recent is defecting or inactive, like anyone else.
//
// Thresholds come from [LifecycleOptions] or, when 0, from the data's
// own inter-purchase intervals: the gaps in days between consecutive
// purchase days (distinct order_dates) of each repeat buyer, over all
// history. active_days is CEIL of their 75th percentile: three in four
// repeat purchases come sooner. inactive_days is CEIL of their 95th
// percentile, and at least active_days + 1. The percentiles are
// PERCENTILE_CONT's (linear interpolation between order statistics at
// position 1 + q (n - 1)), computed in the warehouse and rounded to six
// decimals before they are rounded up. With no gap at all
// (no repeat buyer) the derived thresholds are 90 and 2 × active_days.
// When only one threshold is configured the derived other is kept on its
// side of it: a derived active_days is at most InactiveDays - 1, a
// derived inactive_days at least ActiveDays + 1.
//
// lifecycle, one row per contact:
//
//	customer_id            the logical customer id
//	stage                  lead, first_time_buyer, active, defecting or inactive
//	last_order_at          ordered_at of the last purchase; NULL for leads
//	orders                 distinct purchase order_ids, all history
//	revenue                net revenue: SUM of all the contact's orders_clean rows,
//	                       refunds included; 0 for a contact without rows
//	days_since_last_order  d; NULL for leads
//	active_days            the active threshold used (the same on every row)
//	inactive_days          the inactive threshold used
//	as_of                  the as_of DATE
//
// lifecycle_summary, one row per stage (all five, in funnel order):
//
//	stage_order   1 lead, 2 first_time_buyer, 3 active, 4 defecting, 5 inactive
//	stage         the stage
//	customers     contacts in the stage (0 if none)
//	share         customers / all contacts
//	revenue       SUM of the stage's revenue
//	avg_revenue   revenue / customers; NULL for an empty stage
//
// lifecycle_transitions, one row per (from_stage, to_stage) pair that
// occurs, over the contacts of the lifecycle table:
//
//	from_stage  the stage at from_as_of
//	to_stage    the stage at as_of (the lifecycle table's)
//	customers   contacts that moved so (customers sum to all contacts)
//	from_as_of  as_of minus PeriodDays (default 30)
//	to_as_of    as_of
//
// The earlier stage follows the same rules at from_as_of with only the
// purchases dated up to it, and the same thresholds as the lifecycle
// table, so a transition reflects what the contact did, not a change of
// thresholds. A contact with no purchase by then is a lead then, also if
// it only signed up later. Since purchases only accumulate, nobody
// returns to lead, and only a lead can become a first-time buyer.
//
// The lifecycle model materialises, in order: orders_clean, data_quality,
// lifecycle, lifecycle_summary, lifecycle_transitions.
//
// # cohort
//
// Acquisition-month cohorts: a customer's cohort_month is the month of
// their first purchase (non-refund orders_clean row; the earliest by
// ordered_at, then order_id), over all history. The cohorts shown are the
// [CohortMonths] (15) months before as_of's month and that month itself,
// 16 in all; customers acquired earlier are in none. Months are calendar
// months; as_of's month is partial.
//
// cohort_retention, one row per cohort and month_offset from 0 up to
// as_of's month (at most 15), zero-filled:
//
//	cohort_month      first day of the acquisition month
//	month_offset      calendar months from cohort_month, 0-15
//	activity_month    first day of cohort_month + month_offset
//	cohort_size       customers acquired in cohort_month
//	active_customers  cohort customers with a purchase in activity_month
//	retention_rate    active_customers / cohort_size (1.0 at offset 0)
//	orders            distinct purchase order_ids of cohort customers in activity_month
//	revenue           net revenue of their orders_clean rows dated in activity_month,
//	                  refunds included (a refund counts in the month it is dated)
//	avg_order_value   revenue of their purchases that month / orders (refunds
//	                  excluded); NULL when orders is 0
//
// buyer_mix_monthly, one row per month of the 16, zero-filled:
//
//	month        first day of the month
//	first_time   customers whose first purchase that month was their 1st ever
//	second_time  ... was their 2nd ever
//	repeat       ... was their 3rd or later
//	buyers       customers with a purchase that month (the sum of the three)
//
// Purchases are numbered per customer over all history, by ordered_at and
// then order_id, one number per distinct order_id. A customer with several
// purchases in a month counts once, by the number of the first: someone
// placing their 1st and 2nd order in one month is a first-time buyer
// that month (and a month's first_time equals its cohort's cohort_size).
//
// category_spend_monthly, one row per month, level and value with lines:
//
//	month      first day of the month
//	level      department, category, subcategory or brand
//	value      the product's department, ... or brand; '(unknown)' when the
//	           line's product has no products row or a NULL at that level
//	revenue    SUM of line revenue
//	customers  distinct customers with a purchase line at this value that month
//	orders     distinct purchase order_ids with a line at this value that month
//
// Lines are the order_lines rows whose order_id is an order_id of
// orders_clean (so lines of cancelled, future or customer-less orders
// are left out), dated by their order: the
// order_date of its first non-refund row, else of its first row, in the
// 16 months. A line of an order whose rows are all refunds counts
// -|revenue|, like the refund itself, and adds no customer or order; a
// line of any other order counts its revenue as recorded. A NULL line
// revenue counts 0. A refund recorded under its purchase's order_id
// cannot be told apart in order_lines: those lines count as the purchase.
// A product repeated in products counts once, with the smallest value of
// each level. Each line is in exactly one value per level, so each
// month's revenue is the same summed over any level.
//
// The cohort model reads customers, orders, order_lines and products and
// materialises, in order: orders_clean, data_quality, cohort_retention,
// buyer_mix_monthly, category_spend_monthly. It has no per-customer
// table, so segments cannot filter it.
//
// # attribution
//
// Conversions are the non-refund orders of orders_clean, one per
// (customer_id, order_id): at the time of its first row, worth the
// SUM of its non-refund rows' revenue (a later refund does not reduce
// it), with its sales_channel and store_id (the smallest if rows
// differ). Options ([AttributionOptions], zero value = default):
//
//	LookbackDays      30   a touch is eligible for an order when
//	                       ordered_at − LookbackDays < occurred_at ≤ ordered_at
//	                       (whole seconds; sub-second parts are ignored)
//	HalfLifeDays      7    time_decay half-life
//	ReuseTouches      false  false: only touches after the customer's
//	                       previous conversion are eligible, so each touch
//	                       is credited to one conversion at most (the one
//	                       right after it); true: a touch counts for every
//	                       conversion within its lookback
//	PositionWeights   nil  first/middle/last weights of custom_position;
//	                       nil leaves that model out
//	WindowMonths      0    conversions with order_date ≥ as_of − WindowMonths
//	                       months; 0 = all history. Earlier touches still
//	                       serve as lookback of the first conversions
//	SegmentBreakdown  false  add the rfm_segment breakdown, which reads the
//	                       rfm table: run the rfm model first (same job or
//	                       earlier; RenderModels([]string{"rfm", "attribution"}, o))
//
// Touchpoints: rows without customer_id or occurred_at and rows dated
// after the as_of day are excluded; rows equal in customer_id,
// occurred_at, channel and campaign count once; a NULL channel is
// '(unknown)' and a NULL campaign '(none)'. attribution_touch_quality
// reports these rules in the shape of data_quality (source
// 'touchpoints'). The channel names '(none)', '(other)', '(unknown)',
// '(start)', '(conversion)' and '(null)' are reserved.
//
// A conversion's path is its eligible touches in time order (ties by
// channel, then campaign). A customer's touches that no conversion was
// credited with (within the window, when there is one) form one
// non-converting path.
//
// Rule-based models, per conversion with n touches, touch k = 1..n:
//
//	first_touch      1 for k = 1
//	last_touch       1 for k = n
//	linear           1/n
//	time_decay       2^(−age_days/HalfLifeDays), scaled to sum to 1 (age in days before the order)
//	position_based   n = 1: 1; n = 2: 1/2 each; else 0.4 first, 0.4 last, 0.2/(n−2) each middle touch
//	custom_position  the same with PositionWeights scaled to sum to 1; n = 2
//	                 splits First:Last (equally if both are 0); n = 1: 1
//
// A conversion without eligible touches gives its whole credit to the
// channel '(none)' (campaign '(none)') in every model, so every model's
// credit of a conversion sums to 1 and its revenue_credit to the
// conversion's revenue.
//
// Data-driven models are computed in Go by package core/attribution on
// aggregates, never on touches: markov (first-order Markov chain with
// start, conversion and null states; removal effects normalised to the
// touched conversions) reads attribution_transitions; shapley (Shapley
// value with v(S) = the conversions of the paths whose channel set is a
// subset of S, Zhao et al. 2018) reads attribution_channel_sets. Each
// gives shares summing to 1 over the channels; a channel gets share ×
// the number and share × the revenue of the touched conversions, and the
// untouched ones stay under '(none)'. The runner's part:
//
//  1. run Render("attribution", o);
//  2. run the two queries of [AttributionInputs](o); read them with
//     attribution.ReadTransitions and attribution.ReadSetStats;
//  3. r1, err := attribution.MarkovModel(transitions) and
//     r2, err := attribution.ShapleyModel(sets);
//  4. run [RenderAttributionResults](o, r1, r2): it creates
//     attribution_data_driven and re-creates attribution_summary with
//     the data-driven rows added.
//
// Tables, in the order Render("attribution", o) materialises them after
// orders_clean and data_quality:
//
//	attribution_touch_quality  source, rule, action, rows_affected, rows_excluded, description
//	attribution_conversions    customer_id, order_id, ordered_at, order_date, revenue,
//	                           sales_channel, store_id, conversion_number (over all
//	                           history), previous_ordered_at
//	attribution_touches        customer_id, order_id (NULL on the non-converting path),
//	                           converted, touch_number, touch_count, occurred_at,
//	                           channel, campaign, age_days (NULL when not converting):
//	                           every touch on a path
//	attribution_credits        order_id, customer_id, model, channel, campaign, credit,
//	                           revenue_credit: rule-based models, one row per
//	                           conversion, model, channel and campaign with credit > 0
//	attribution_summary        model, channel, conversions, revenue: every model
//	                           (data-driven ones after RenderAttributionResults)
//	attribution_breakdown      model, dimension, value, channel, conversions, revenue:
//	                           rule-based models by dimension 'campaign',
//	                           'sales_channel' (NULL: '(unknown)'), 'store' (NULL,
//	                           e.g. online: '(none)') and, with SegmentBreakdown,
//	                           'rfm_segment' (the customer's rfm segment at as_of,
//	                           '(unknown)' without an rfm row)
//	attribution_transitions    from_channel (NULL: start), to_channel (NULL: end of
//	                           the path), converted, transitions
//	attribution_channel_sets   set_mask, channel_set, channel, conversions,
//	                           non_conversions: paths by their set of channels,
//	                           one row per member channel
//	channel_combinations       channel_set ('display+email', names sorted;
//	                           '(none)' for customers without touches on a path),
//	                           channels, customers, converters, conversion_rate:
//	                           every customer (customers rows, converters and
//	                           touched customers) once, converters = customers
//	                           with a conversion
//
// and after the Go stage attribution_data_driven (model, channel, share,
// weight, conversions, revenue; weight is the removal effect or the
// Shapley value; '(none)' rows have NULL share and weight).
//
// Channel sets draw from at most 12 channels (attribution.MaxSetChannels):
// with more, the 11 with the most touches keep their names and the rest
// are '(other)' in attribution_channel_sets, channel_combinations and so
// in shapley. markov and the rule-based models keep every channel.
//
// The templates are attribution/*.sql.tmpl; touch_ctes, set_channels and
// set_label are shared parts.
//
// # affinity
//
// Baskets (affinity_baskets) are the non-refund orders of orders_clean,
// one per (customer_id, order_id), numbered per customer over all
// history by ordered_at, then order_id: loyalty 'first_time' (1st),
// 'second_time' (2nd) or 'repeat' (3rd or later), and season 'Q1'..'Q4',
// the quarter of the order date.
//
// Items (affinity_items: customer_id, order_id, level, item) are the
// products of a basket's order_lines at four levels: 'product' (the
// product_id as text), 'category', 'subcategory' and 'brand' (from
// products; a product without a products row or with NULL at a level is
// no item at that level), each item once per basket. Lines with quantity
// ≤ 0 or revenue < 0 (returns) are left out; lines are matched to
// baskets by order_id.
//
// affinity_pairs has one row per rule A → B (A ≠ B, both directions of
// every pair) per level, segment_type and segment_value: 'all'/'all',
// 'loyalty'/<class>, 'season'/'Q1'..'Q4'. In a segment, N is the number
// of its baskets with at least one item at the level, n(X) the baskets
// holding X:
//
//	pair_count          n(A∧B)
//	antecedent_count    n(A); consequent_count n(B); baskets N
//	support             n(A∧B)/N; antecedent_support n(A)/N; consequent_support n(B)/N
//	confidence          n(A∧B)/n(A)
//	lift                n(A∧B)·N/(n(A)·n(B)), the same for A → B and B → A
//	conviction          (1 − support(B))/(1 − confidence): NULL when the
//	                    confidence is 1 (infinite conviction: B never misses A)
//
// Options ([AffinityOptions]): MinCount (default 5) and MinSupport
// (default none) drop pairs seen in fewer baskets or with a lower
// support, per segment; TopK (default 0 = all) keeps per level, segment
// and antecedent the TopK consequents by lift (then pair_count, then
// name); Recommendations (default 5) bounds recommendations.
//
// next_category (from_category, to_category, transitions, from_orders,
// probability): over consecutive baskets of a customer, from_orders is
// the number of baskets holding category A that have a next basket,
// transitions those whose next basket holds B, probability
// transitions/from_orders = P(next order holds B | this order held A).
// A = B is included.
//
// recommendations (customer_id, rank, category, score): per customer,
// the categories never bought (in any basket) scored by the sum, over
// the categories A of the customer's last basket, of P(next holds B |
// A); the top Recommendations by score (ties by name), ranked from 1.
//
// The affinity model reads customers, orders, order_lines and products
// and materialises, in order: orders_clean, data_quality,
// affinity_baskets, affinity_items, affinity_pairs, next_category,
// recommendations. Neither attribution nor affinity has a per-customer
// table, so segments cannot filter them.
//
// # Segments
//
// segment_<name> holds customer_id, email (from the customers source,
// NULL for customers without a customers row; one row per customer even
// if customers repeats one) and the segment's attributes, for the rows
// of the model table that satisfy the segment's Where. Where may use any
// column of the model table and email. The model table is the one named
// after the model (rfm, lifecycle, clv); a model without one (cohort)
// cannot be segmented.
package models
