//go:build duckdb_arrow

package sampledata

import "time"

// The generative model's parameters. doc.go explains how they are used;
// tests of models can rely on them.

// Purchase process (BG/NBD with Gamma-Gamma spend).
const (
	// LeadShare is the share of customers who never buy (leads).
	LeadShare = 0.10

	// PurchaseShape and PurchaseRate are the shape r and rate alpha (in
	// weeks) of the Gamma distribution of a customer's purchase-opportunity
	// rate λ (opportunities per week).
	PurchaseShape = 0.6
	PurchaseRate  = 4.0

	// DropoutA and DropoutB are the Beta distribution of a customer's
	// dropout probability p after each repeat purchase.
	DropoutA = 0.8
	DropoutB = 2.5

	// ChurnDropoutA and ChurnDropoutB replace DropoutA/DropoutB for
	// customers whose first order falls in one of ChurnCohortMonths: the
	// planted churn pattern (holiday bargain hunters who rarely stay).
	ChurnDropoutA = 2.0
	ChurnDropoutB = 1.5

	// SpendShape is the shape (and inverse scale) of the Gamma
	// distribution of a customer's spend level (mean 1), which scales the
	// number of lines and the quantities in that customer's orders.
	SpendShape = 3.0

	// MaxLines is the largest number of lines in an order.
	MaxLines = 5
)

// ChurnCohortMonths are the acquisition months (month of the first order,
// any year) whose customers drop out faster.
var ChurnCohortMonths = []time.Month{time.November, time.December}

// SeasonMultiplier scales the purchase hazard by calendar month
// (index 0 = January): a Christmas peak and a summer dip.
var SeasonMultiplier = [12]float64{0.85, 0.8, 0.95, 1, 1, 0.95, 0.9, 0.9, 1, 1.05, 1.35, 1.5}

// Baskets.
const (
	// PairProbability is the probability that B is added to an order that
	// holds A, for every planted pair.
	PairProbability = 0.6
	// NextCategoryProbability is the probability that an order following
	// an order with a PlantedNext.From product holds a PlantedNext.To
	// product because of the plant (it may also hold one by chance).
	NextCategoryProbability = 0.5
	// AnchorShare is the share of its category's sales that each planted
	// pair's A product gets (by popularity), so that the pair dominates its
	// category and subcategory too.
	AnchorShare = 0.5
)

// PlantedPairs are the planted co-purchase pairs, set up from the fixed
// catalogue at init:
//
//	A (anchor)                                 B
//	211 Optika Mirrorless Camera Classic 670   241 CardVault Memory Card Classic 880
//	    Electronics/Cameras/Mirrorless Cameras     Electronics/Computing/Memory Cards
//	256 Swiftfoot Running Shoe Max 535         71 Solewarm Socks Classic 890
//	    Sports/Running/Running Shoes               Clothing/Accessories/Socks
//	81  Crema Coffee Machine Classic 360       126 Kalkfrei Descaler Max 225
//	    Home/Kitchen/Coffee Machines               Home/Cleaning/Descalers
//
// The two products of a pair lie in different categories and
// subcategories and carry specialty brands of their own, so each pair is
// planted at product, subcategory, category and brand level alike; the
// categories of different pairs are disjoint.
var PlantedPairs []Pair

// PlantedNext is the planted next-category pattern.
var PlantedNext = NextCategory{From: "Skincare", To: "Makeup"}

// Marketing touchpoints.
const (
	// PlantedChannel is the one channel that changes behaviour: a
	// purchase opportunity within PlantedWindow after a touch of this
	// channel always converts, any other converts with probability
	// BaseConversion. And a welcome email precedes the first order of
	// every opted-in buyer by about WelcomeDelay.
	PlantedChannel = "email"
	PlantedWindow  = 30 * 24 * time.Hour
	BaseConversion = 0.15
	WelcomeDelay   = 3 * 24 * time.Hour
	// WelcomeCampaign is the campaign of the welcome email, sent 1 to 10
	// minutes after created_at. Other campaigns are named
	// <channel>_<season>_<year>.
	WelcomeCampaign = "email_welcome"

	// EmailOptInShare is the share of customers who receive emails.
	EmailOptInShare = 0.75

	// PreSignupWindow is how long before created_at a customer's
	// non-email touchpoints may start (ad exposure stitched to the
	// customer afterwards). Emails start at created_at.
	PreSignupWindow = 30 * 24 * time.Hour
)

// Channels lists the touchpoint channels.
var Channels = []string{"email", "paid_search", "display", "social", "affiliate", "direct_mail"}

// WeeksBetweenTouches is the mean time between two touchpoints of a
// channel for one customer (a Poisson process per customer and channel).
var WeeksBetweenTouches = map[string]float64{
	"email":       10,
	"paid_search": 30,
	"display":     20,
	"social":      26,
	"affiliate":   52,
	"direct_mail": 39,
}

// Sales channels.
const (
	// OnlineA and OnlineB are the Beta distribution of a customer's
	// probability to order online (mean 0.7). Customers in a country
	// without a store (BE) always order online.
	OnlineA = 1.4
	OnlineB = 0.6
	// HomeStoreShare is the share of a customer's offline orders placed in
	// their home store (a store in their country); the rest go to any
	// store.
	HomeStoreShare = 0.85
)

// Dirty-row rules: the keys of Stats.Dirty.
const (
	DirtyNullCustomer    = "null_customer_id"
	DirtyNegativeRevenue = "negative_revenue"
	DirtyCancelled       = "cancelled"
	DirtyDuplicate       = "duplicate_order"
	DirtyFuture          = "future_timestamp"
	DirtyOrphan          = "orphan_customer"
)

// DirtyRules lists the dirty-row rules in a fixed order.
var DirtyRules = []string{DirtyNullCustomer, DirtyNegativeRevenue, DirtyCancelled, DirtyDuplicate, DirtyFuture, DirtyOrphan}

const (
	ruleNull = iota
	ruleRefund
	ruleCancelled
	ruleDuplicate
	ruleFuture
	ruleOrphan
	numRules
)

// Rates of the dirty rows.
const (
	// GuestOrderShare: each simulated customer adds a guest order (NULL
	// customer_id) with this probability.
	GuestOrderShare = 0.03
	// RefundShare: each regular order is followed by a refund with this
	// probability.
	RefundShare = 0.015
	// CancelledShare: each regular order is preceded by a cancelled order
	// with this probability.
	CancelledShare = 0.015
	// DuplicateShare: each regular order's row is written twice with this
	// probability.
	DuplicateShare = 0.005
	// FutureShare: each buyer gets an extra order after the end of the
	// history with this probability.
	FutureShare = 0.004
	// OrphanShare: each buyer is left out of the customers table with this
	// probability.
	OrphanShare = 0.005
)
