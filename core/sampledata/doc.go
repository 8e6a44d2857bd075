//go:build duckdb_arrow

// Package sampledata generates a deterministic, realistic retail data set
// in a DuckDB file, with known structure planted in it, so that segflow's
// models can be tested against answers fixed in advance: co-purchased
// pairs for affinity, a churn pattern for lifecycle and cohorts, a channel
// effect for attribution, a BG/NBD purchase process for CLV, and dirty
// rows for every exclusion rule.
//
// Generate writes six tables into schema main of a DuckDB file. Their
// column names are those of segflow's logical model, so a config maps them
// one to one:
//
//	customers(customer_id BIGINT, email VARCHAR, first_name VARCHAR, last_name VARCHAR,
//	          phone VARCHAR, created_at TIMESTAMP, birth_date DATE, gender VARCHAR, country VARCHAR)
//	products(product_id BIGINT, name VARCHAR, department VARCHAR, category VARCHAR,
//	         subcategory VARCHAR, brand VARCHAR, price DECIMAL(10,2))
//	stores(store_id BIGINT, name VARCHAR, city VARCHAR, country VARCHAR)
//	orders(order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP, revenue DECIMAL(12,2),
//	       sales_channel VARCHAR, store_id BIGINT, status VARCHAR)
//	order_lines(order_id BIGINT, product_id BIGINT, quantity INTEGER, revenue DECIMAL(12,2))
//	touchpoints(customer_id BIGINT, occurred_at TIMESTAMP, channel VARCHAR, campaign VARCHAR,
//	            cost DECIMAL(10,4))
//
// All timestamps are UTC wall-clock times (TIMESTAMP without time zone).
//
// # Time
//
// Options.End is the last day of the history (default 2025-12-31) and
// Options.Years its length (default 3). Options.History returns the
// half-open range [start, end) of all regular timestamps; for the
// defaults [2023-01-01 00:00, 2026-01-01 00:00). Only the planted
// "future_timestamp" orders lie at or after end.
//
// # Catalogue and stores
//
// The catalogue is fixed (it does not depend on the seed): 5 departments
// (Clothing, Home, Beauty, Electronics, Sports), 21 categories, 63
// subcategories, 5 products per subcategory, 315 products with ids 1..315
// and 36 brands: 6 per department plus 6 specialty brands of the planted
// products. Category and subcategory names are unique across the
// catalogue. Products returns it. The 20 stores (ids 1..20) lie in DE, GB,
// FR, NL, ES, IT, SE, PL and AT; Stores returns them.
//
// # Customers
//
// Options.Customers customers are simulated, with ids 1..N in the order of
// created_at. Sign-ups spread over the whole history with a density that
// grows by 40% a year. Attributes: gender 'F' (49%), 'M' (47%) or NULL
// (4%), a first name that fits it, a last name, a country (DE 28%, GB 20%,
// FR 14%, NL, ES, IT 8% each, SE, PL, AT 4% each, BE 2%), an E.164 mobile
// phone number of that country (NULL for 20%), a birth date for ages 18 to
// 80 (NULL for 12%), and a unique e-mail address under example.com,
// example.org or example.net.
//
// LeadShare (10%) of the customers are leads and never buy. A few more
// (about 0.5%) sign up so close to the end that their first order would
// fall after it; they are leads too.
//
// # Purchase process (BG/NBD and Gamma-Gamma)
//
// Every buyer draws
//   - a purchase-opportunity rate λ ~ Gamma(shape r = PurchaseShape = 0.6,
//     rate α = PurchaseRate = 4 weeks) per week,
//   - a dropout probability p ~ Beta(DropoutA = 0.8, DropoutB = 2.5), or
//     Beta(ChurnDropoutA = 2, ChurnDropoutB = 1.5) for the churn cohort
//     (below),
//   - a spend level s ~ Gamma(shape SpendShape = 3, scale 1/3) (mean 1),
//   - an online propensity ~ Beta(OnlineA, OnlineB) (mean 0.7; 1 in BE,
//     which has no store), and a home store in their country.
//
// The first order comes after sign-up: customers who opted in to email
// (EmailOptInShare, 75%) get a welcome email 1–10 minutes after created_at
// and order an exponentially distributed time (mean WelcomeDelay, 3 days)
// after it; the others order within 30 minutes (60%) or an exponentially
// distributed time with mean 14 days (40%) after created_at.
//
// After the first order, purchase opportunities arrive as a Poisson
// process with rate λ. An opportunity at time t becomes an order with
// probability SeasonMultiplier[month(t)] / 1.5 × c, where c is 1 if the
// customer received a touch of PlantedChannel in the PlantedWindow (30
// days) before t and BaseConversion (0.15) otherwise. After each repeat
// order the customer drops out for good with probability p (dropout only
// follows repeat orders, as in BG/NBD). So recency, frequency, churn and
// value mean something: with the defaults about 37% of buyers order once,
// a buyer places 3 orders on average (median 2) and a few percent place
// 10 or more. (λ is the opportunity rate: the realised rate of repeat
// orders is λ × SeasonMultiplier/1.5 × c, so between about 0.08·λ and λ.)
//
// Order value (Gamma-Gamma style, through the spend level s): an order has
// 1 + Poisson(0.6·s) distinct products (at most MaxLines = 5) drawn by
// popularity (a fixed Zipf-like weight damped by price); items under 100
// come in quantity 2 with probability min(0.5, 0.1·s), and 3 in 30% of
// those cases; 12% of orders carry a 10% discount and 5% a 20% discount.
// Line revenue = price × quantity × (1 − discount), rounded down to the
// cent; order revenue = the sum of its lines. The average order value is
// about 100.
//
// Sales channel: each order is online with the customer's online
// propensity (about 70% of orders overall), else offline in the home store
// (HomeStoreShare, 85%) or any store. Offline orders are moved forward
// into opening hours, 09:00–20:00. Online orders have store_id NULL.
//
// # Planted churn pattern
//
// Buyers whose first order falls in ChurnCohortMonths (November or
// December, any year) are holiday bargain hunters: their dropout
// probability comes from Beta(ChurnDropoutA, ChurnDropoutB) (mean 0.57)
// instead of Beta(DropoutA, DropoutB) (mean 0.24). Their first repeat
// order is as likely as anyone's, so the retention curves separate from
// month 2 on: with the defaults about 6% of the Nov/Dec cohorts order in
// month 3 after their first order against 12–13% of the other cohorts, and
// 4% against 7% in month 12. All cohorts' retention declines with the
// months since the first order.
//
// # Planted co-purchase pairs
//
// PlantedPairs lists three (anchor A, partner B) product pairs. When an
// order holds A and not B, B is added with probability PairProbability
// (0.6), so the confidence P(B | A) is about 0.6. Each anchor gets
// AnchorShare (50%) of its category's popularity, and the two products
// carry specialty brands, lie in different subcategories and categories,
// and the categories of different pairs are disjoint. So at product,
// subcategory, category and brand level the three planted pairs have the
// highest lift among pairs seen in at least 20 orders (with 20,000
// customers: product lift ≈ 19–36, subcategory ≈ 9–16, category ≈ 2.2–5,
// brand ≈ 14–31, against at most 1.5 for any other pair). There is no
// other basket structure: products are otherwise drawn independently.
//
// PlantedNext is the planted "next category" pattern: if a customer's
// previous completed order held a product of category PlantedNext.From
// (Skincare), the next one holds a PlantedNext.To (Makeup) product with
// probability at least NextCategoryProbability (0.5; about 0.54 measured)
// against about 0.08 otherwise.
//
// A planted product is appended to the basket, or, in a full basket of 5
// lines, replaces the last line that no plant placed.
//
// # Touchpoints and the planted channel
//
// Channels are exactly email, paid_search, display, social, affiliate and
// direct_mail. Every customer, leads included, gets a Poisson process of
// touches per channel with mean gaps WeeksBetweenTouches (email every 10
// weeks, and only for the 75% who opted in; paid_search 30, display 20,
// social 26, affiliate 52, direct_mail 39 weeks). Non-email touches start
// PreSignupWindow (30 days) before created_at, emails at created_at with
// the welcome email (campaign WelcomeCampaign, "email_welcome"). Other
// campaigns are named <channel>_<season>_<year> after the touch's date,
// with seasons winter (Jan–Feb), spring (Mar–May), summer (Jun–Aug),
// autumn (Sep–Oct) and holiday (Nov–Dec): e.g. "email_spring_2024". Cost
// per touch: email 0.001–0.002, paid_search 0.40–1.60, display
// 0.004–0.012, social 0.02–0.10, affiliate 0.30–1.00, direct_mail
// 0.55–0.75.
//
// Only the planted channel changes behaviour (see the purchase process:
// it multiplies the purchase hazard by 1/BaseConversion for 30 days, and
// the welcome email precedes an opted-in buyer's first order); the other
// channels' touches are independent of orders and appear on converting
// and non-converting paths alike. With 20,000 customers, a touch of email
// is followed by an order within 30 days about 26% of the time against
// 13% for every other channel. Over 30-day paths (a customer's touches in
// the 30 days before each order; the customer's other touches as one
// non-converting path) a first-order Markov removal effect ranks email
// first (0.87 against at most 0.57) and so does a Shapley split of
// conversions over channel sets (about 4 times the next channel).
//
// # Dirty rows
//
// A few percent of the rows in orders (about 5%) are dirty. Each dirty row
// falls under exactly one rule; Stats.Dirty counts them by rule, and each
// count equals the query given:
//
//	null_customer_id  customer_id IS NULL. Guest orders: each simulated
//	                  customer adds one with probability GuestOrderShare;
//	                  status completed, 60% offline, with lines.
//	negative_revenue  status = 'refunded' (revenue < 0). After a regular
//	                  order, with probability RefundShare, 3–30 days later
//	                  (if before end): a full refund (60%) or the return of
//	                  one line; its lines repeat the returned lines with
//	                  negative quantity and revenue. The original order stays
//	                  completed, so net revenue = completed + refunded.
//	cancelled         status = 'cancelled'. Before a regular order, with
//	                  probability CancelledShare, 0–2 days earlier (not
//	                  before created_at): an online order with its own basket
//	                  and lines, positive revenue.
//	duplicate_order   count(*) - count(DISTINCT order_id): a regular order's
//	                  row written twice (exact copy), with probability
//	                  DuplicateShare; its lines are not duplicated.
//	future_timestamp  ordered_at >= end. A buyer gets, with probability
//	                  FutureShare, one completed order 1 to 365 days after the
//	                  end, with lines.
//	orphan_customer   customer_id NOT NULL and not in customers. A buyer is,
//	                  with probability OrphanShare, left out of the customers
//	                  table; all their orders (completed, with lines) are
//	                  orphans, their touchpoints stay.
//
// Orphan buyers get no cancelled, refunded, duplicated or future orders,
// which keeps the rules disjoint. The clean orders are therefore exactly
//
//	SELECT DISTINCT * FROM orders
//	WHERE status = 'completed' AND ordered_at < end
//	  AND customer_id IN (SELECT customer_id FROM customers)
//
// and count(orders) - count(clean) = the sum of Stats.Dirty. Every
// distinct order id has lines, and its revenue equals the sum of its
// lines' revenue (dirty orders included).
//
// # Determinism and speed
//
// The same Options give the same tables, row for row in the same order:
// every customer draws from its own PCG stream seeded from Options.Seed
// and its index, workers simulate chunks of customers concurrently, and
// one writer inserts the chunks in index order, giving order ids (1, 2, …
// in that order) when the preceding chunks' counts are known. Rows travel
// to DuckDB as Arrow record batches through a registered Arrow view, in one
// transaction: if Generate fails, the previous tables stay. Memory stays
// bounded by a few chunks of 16,384 customers.
//
// One million customers give about 1.0M customer rows, 2.7M orders, 4.5M
// order lines and 17M touchpoints in 15–25 seconds on two cores.
package sampledata
