//go:build duckdb_arrow

package sampledata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	day  = int64(24 * time.Hour / time.Second)
	week = 7 * day
)

// acquisitionGrowthPerYear is how much the number of new customers grows
// from one year to the next.
const acquisitionGrowthPerYear = 1.4

// generator holds everything the simulation reads and nobody writes:
// the options, per-day lookup tables and the samplers of the catalogue.
// Times inside the simulation are seconds since the start of the history.
type generator struct {
	n       int
	seed    uint64
	start   int64 // Unix seconds of the history's start
	h       int64 // length of the history in seconds
	growth  float64
	endDays int32 // End as days since the Unix epoch

	dayAccept    []float64 // season multiplier / its maximum, per day
	dayMonth     []time.Month
	daySeason    []int     // index into campaigns[channel]
	campaigns    [][]int16 // [channel][season index] -> campaignDict index
	campaignDict *dict
	welcome      int16 // campaignDict index of WelcomeCampaign

	touchRate []float64 // touches per second, per channel
	costLo    []int64   // cost per touch in 1/10000, per channel
	costSpan  []int64

	productAlias *alias
	toAlias      *alias
	toProducts   []int
	toCat        int
	fromCat      int
	anchorOf     []int // product index -> planted pair index, or -1
	pairB        []int // planted pair index -> product index of B

	countryAlias *alias
	femaleSlugs  []string
	maleSlugs    []string
	lastSlugs    []string
}

var seasonNames = []string{"winter", "spring", "summer", "autumn", "holiday"}

// seasonOf maps a month to an index into seasonNames.
func seasonOf(m time.Month) int {
	switch m {
	case time.January, time.February:
		return 0
	case time.March, time.April, time.May:
		return 1
	case time.June, time.July, time.August:
		return 2
	case time.September, time.October:
		return 3
	default:
		return 4
	}
}

func newGenerator(opt Options) *generator {
	startT, endT := opt.History()
	g := &generator{
		n:       opt.Customers,
		seed:    splitmix64(uint64(opt.Seed)),
		start:   startT.Unix(),
		h:       endT.Unix() - startT.Unix(),
		growth:  math.Log(acquisitionGrowthPerYear) * float64(opt.Years),
		endDays: int32(opt.End.Unix() / day),
	}

	maxMult := slices.Max(SeasonMultiplier[:])
	days := int(g.h / day)
	firstYear := startT.Year()
	nSeasons := (endT.Year() - firstYear + 1) * len(seasonNames)
	for d := range days {
		t := startT.AddDate(0, 0, d)
		g.dayAccept = append(g.dayAccept, SeasonMultiplier[t.Month()-1]/maxMult)
		g.dayMonth = append(g.dayMonth, t.Month())
		g.daySeason = append(g.daySeason, (t.Year()-firstYear)*len(seasonNames)+seasonOf(t.Month()))
	}
	costs := map[string][2]int64{ // cost per touch in 1/10000 of a currency unit
		"email":       {10, 20},
		"paid_search": {4000, 16000},
		"display":     {40, 120},
		"social":      {200, 1000},
		"affiliate":   {3000, 10000},
		"direct_mail": {5500, 7500},
	}
	names := []string{WelcomeCampaign}
	for ci, ch := range Channels {
		g.campaigns = append(g.campaigns, make([]int16, nSeasons))
		for i := range nSeasons {
			g.campaigns[ci][i] = int16(len(names))
			names = append(names, fmt.Sprintf("%s_%s_%d", ch, seasonNames[i%len(seasonNames)], firstYear+i/len(seasonNames)))
		}
		g.touchRate = append(g.touchRate, 1/(WeeksBetweenTouches[ch]*float64(week)))
		g.costLo = append(g.costLo, costs[ch][0])
		g.costSpan = append(g.costSpan, costs[ch][1]-costs[ch][0])
	}
	g.campaignDict = newDict(names) // WelcomeCampaign is index 0

	// Popularity: a Zipf-like weight over a fixed scatter of the products,
	// damped by price so that cheap items sell more often; each planted
	// anchor gets AnchorShare of its category.
	g.anchorOf = make([]int, len(products))
	for i := range g.anchorOf {
		g.anchorOf[i] = -1
	}
	for k, p := range PlantedPairs {
		g.anchorOf[p.A-1] = k
		g.pairB = append(g.pairB, int(p.B-1))
	}
	weights := make([]float64, len(products))
	for i, p := range products {
		rank := float64((i*113)%len(products) + 1)
		weights[i] = math.Pow(rank, -0.7) * math.Pow(float64(p.PriceCents)/3000, -0.5)
	}
	for _, p := range PlantedPairs {
		a := int(p.A - 1)
		var rest float64
		for i := range products {
			if i != a && categoryOf[i] == categoryOf[a] {
				rest += weights[i]
			}
		}
		weights[a] = rest * AnchorShare / (1 - AnchorShare)
	}
	g.productAlias = newAlias(weights)
	g.fromCat = slices.Index(categories, PlantedNext.From)
	g.toCat = slices.Index(categories, PlantedNext.To)
	var toW []float64
	for i := range products {
		if categoryOf[i] == g.toCat {
			g.toProducts = append(g.toProducts, i)
			toW = append(toW, weights[i])
		}
	}
	g.toAlias = newAlias(toW)

	var cw []float64
	for _, c := range countries {
		cw = append(cw, c.share)
	}
	g.countryAlias = newAlias(cw)
	for _, n := range femaleNames {
		g.femaleSlugs = append(g.femaleSlugs, slug(n))
	}
	for _, n := range maleNames {
		g.maleSlugs = append(g.maleSlugs, slug(n))
	}
	for _, n := range lastNames {
		g.lastSlugs = append(g.lastSlugs, slug(n))
	}
	return g
}

// slug turns a name into the ASCII form used in e-mail addresses.
func slug(s string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "é", "e", "è", "e", "á", "a", "í", "i",
		"ó", "o", "ñ", "n", "ś", "s", "ł", "l", " ", "", "'", "")
	return r.Replace(strings.ToLower(s))
}

// line is one order line while a basket is assembled.
type line struct {
	prod  int // index into products
	qty   int32
	cents int64
}

// buyer is the per-customer state of the purchase simulation.
type buyer struct {
	id       int64
	created  int64
	orphan   bool
	spend    float64
	online   float64
	home     int64 // home store id, 0 if none
	prevFrom bool  // the last completed order held a PlantedNext.From product
}

// chunk is the output of simulating a range of customers. Order ids in
// orders and lines are local to the chunk, from 0.
type chunk struct {
	customers, orders, lines, touches arrow.RecordBatch
	orderIDs                          int64
	dirty                             [numRules]int64
}

// simulator simulates customers into Arrow builders. One per worker.
type simulator struct {
	g   *generator
	pcg *rand.PCG
	r   *rand.Rand

	nextOrder int64
	dirty     [numRules]int64
	emails    []int64 // this customer's email touch times
	basket    []line
	protected []bool // basket lines placed by a plant: not to be replaced
	refund    []line

	c customerCols
	o orderCols
	l lineCols
	t touchCols
}

func newSimulator(g *generator) *simulator {
	pcg := rand.NewPCG(0, 0)
	return &simulator{g: g, pcg: pcg, r: rand.New(pcg),
		c: newCustomerCols(), o: newOrderCols(), l: newLineCols(), t: newTouchCols(g.campaignDict)}
}

// chunk simulates customers lo..hi-1 (0-based indexes; customer_id is
// index+1).
func (s *simulator) chunk(lo, hi int) *chunk {
	s.nextOrder = 0
	s.dirty = [numRules]int64{}
	for idx := lo; idx < hi; idx++ {
		s.customer(idx)
	}
	return &chunk{
		customers: s.c.t.record(),
		orders:    s.o.t.record(),
		lines:     s.l.t.record(),
		touches:   s.t.t.record(),
		orderIDs:  s.nextOrder,
		dirty:     s.dirty,
	}
}

// ts converts simulation seconds to an Arrow microsecond timestamp.
func (s *simulator) ts(t int64) arrow.Timestamp {
	return arrow.Timestamp((s.g.start + t) * 1e6)
}

// acquisition maps a uniform x in [0,1) to a time in the history whose
// density grows exponentially (acquisitionGrowthPerYear).
func (g *generator) acquisition(x float64) int64 {
	return int64(math.Log1p(x*math.Expm1(g.growth)) / g.growth * float64(g.h))
}

// customer simulates one customer: attributes, touchpoints, orders. Every
// customer draws from its own random stream, seeded from the options' seed
// and its index, so chunking and scheduling cannot change the output.
func (s *simulator) customer(idx int) {
	g, r := s.g, s.r
	s.pcg.Seed(g.seed, splitmix64(g.seed^uint64(idx)))
	id := int64(idx + 1)

	// Customer ids follow created_at: the customer's time lies in the
	// idx-th of n equal-probability slices of the acquisition density.
	created := g.acquisition((float64(idx) + r.Float64()) / float64(g.n))

	var first, firstSlug, gender string
	switch gv := r.Float64(); {
	case gv < 0.49:
		gender = "F"
	case gv < 0.96:
		gender = "M"
	}
	female := gender == "F" || (gender == "" && r.IntN(2) == 0)
	if female {
		k := r.IntN(len(femaleNames))
		first, firstSlug = femaleNames[k], g.femaleSlugs[k]
	} else {
		k := r.IntN(len(maleNames))
		first, firstSlug = maleNames[k], g.maleSlugs[k]
	}
	lk := r.IntN(len(lastNames))
	ctry := &countries[g.countryAlias.draw(r)]
	var phone []byte
	if r.Float64() < 0.8 {
		phone = append(phone, ctry.cc...)
		phone = append(phone, ctry.prefix...)
		for range ctry.digits {
			phone = append(phone, byte('0'+r.IntN(10)))
		}
	}
	birth, hasBirth := int32(0), r.Float64() < 0.88
	if hasBirth {
		age := 18 + 62*betaRand(r, 2, 3.5)
		birth = g.endDays - int32(age*365.25)
	}
	domain := [...]string{"@example.com", "@example.org", "@example.net"}[r.IntN(3)]
	lead := r.Float64() < LeadShare
	optIn := r.Float64() < EmailOptInShare
	orphan := !lead && r.Float64() < OrphanShare

	if !orphan {
		c := &s.c
		c.id.Append(id)
		c.email.Append(firstSlug + "." + g.lastSlugs[lk] + strconv.FormatInt(id, 10) + domain)
		c.first.AppendString(first)
		c.last.AppendString(lastNames[lk])
		if phone != nil {
			c.phone.BinaryBuilder.Append(phone)
		} else {
			c.phone.AppendNull()
		}
		c.created.Append(s.ts(created))
		if hasBirth {
			c.birth.Append(arrow.Date32(birth))
		} else {
			c.birth.AppendNull()
		}
		if gender != "" {
			c.gender.AppendString(gender)
		} else {
			c.gender.AppendNull()
		}
		c.country.AppendString(ctry.code)
	}

	welcome := s.touchpoints(id, created, optIn)
	if r.Float64() < GuestOrderShare {
		s.guestOrder()
	}
	if !lead {
		s.purchases(id, created, welcome, ctry, orphan)
	}
}

// touchpoints writes the customer's touchpoints: a welcome email to
// opted-in customers, then one Poisson process per channel, independent
// of everything else. Only their effect differs: the email times are
// kept, because emails raise the purchase hazard. It returns the time of
// the welcome email, or -1.
func (s *simulator) touchpoints(id, created int64, optIn bool) (welcome int64) {
	g, r := s.g, s.r
	s.emails = s.emails[:0]
	welcome = -1
	h := float64(g.h)
	for ch, name := range Channels {
		from := created - int64(PreSignupWindow/time.Second)
		if name == PlantedChannel {
			if !optIn {
				continue
			}
			from = created
			if w := created + 60 + r.Int64N(540); w < g.h {
				welcome = w
				s.touch(id, w, ch, g.welcome)
			}
		}
		from = max(from, 0)
		rate := g.touchRate[ch]
		for t := float64(from) + r.ExpFloat64()/rate; t < h; t += r.ExpFloat64() / rate {
			ti := int64(t)
			s.touch(id, ti, ch, g.campaigns[ch][g.daySeason[ti/day]])
		}
	}
	return welcome
}

func (s *simulator) touch(id, t int64, ch int, campaign int16) {
	g := s.g
	s.t.customer.Append(id)
	s.t.at.Append(s.ts(t))
	s.t.channel.Append(int16(ch))
	s.t.campaign.Append(campaign)
	s.t.cost.Append(decimal128.FromI64(g.costLo[ch] + s.r.Int64N(g.costSpan[ch]+1)))
	if Channels[ch] == PlantedChannel {
		s.emails = append(s.emails, t)
	}
}

// purchases runs the BG/NBD-style purchase process of a buyer: a first
// order shortly after sign-up, then purchase opportunities at rate λ
// (thinned by season and by the email effect), and after each repeat
// order a dropout with probability p.
func (s *simulator) purchases(id, created, welcome int64, ctry *country, orphan bool) {
	g, r := s.g, s.r
	b := buyer{id: id, created: created, orphan: orphan, online: 1}
	b.spend = gammaRand(r, SpendShape, 1/SpendShape)
	if len(ctry.stores) > 0 {
		b.online = betaRand(r, OnlineA, OnlineB)
		b.home = ctry.stores[r.IntN(len(ctry.stores))]
	}
	lambda := gammaRand(r, PurchaseShape, 1/PurchaseRate) / float64(week)
	// Opted-in buyers order after their welcome email (and its voucher);
	// most others created their account at their first checkout.
	var first int64
	if welcome >= 0 {
		first = welcome + int64(r.ExpFloat64()*WelcomeDelay.Seconds())
	} else {
		first = created + r.Int64N(1800)
		if r.Float64() < 0.4 {
			first = created + int64(r.ExpFloat64()*14*float64(day))
		}
	}
	if first >= g.h {
		return // signed up too late to buy: a lead after all
	}
	da, db := DropoutA, DropoutB
	if slices.Contains(ChurnCohortMonths, g.dayMonth[first/day]) {
		da, db = ChurnDropoutA, ChurnDropoutB
	}
	p := betaRand(r, da, db)
	future := !orphan && r.Float64() < FutureShare

	s.order(&b, first)
	window := int64(PlantedWindow / time.Second)
	rate := lambda * slices.Max(SeasonMultiplier[:])
	ei := 0
	for t := float64(first); ; {
		t += r.ExpFloat64() / rate
		if t >= float64(g.h) {
			break
		}
		ti := int64(t)
		for ei < len(s.emails) && s.emails[ei] <= ti {
			ei++
		}
		accept := g.dayAccept[ti/day]
		if ei == 0 || ti-s.emails[ei-1] > window {
			accept *= BaseConversion
		}
		if r.Float64() >= accept {
			continue
		}
		s.order(&b, ti)
		if r.Float64() < p {
			break
		}
	}
	if future {
		t := g.h + day + r.Int64N(364*day)
		s.order(&b, t)
		s.dirty[ruleFuture]++
	}
}

// order writes one completed order of a buyer at time t, with the dirty
// companions it may get: a cancelled attempt before it, a duplicate row,
// a refund after it. Orphans get no companions so that every dirty row
// falls under exactly one rule.
func (s *simulator) order(b *buyer, t int64) {
	r := s.r
	online := r.Float64() < b.online
	var store int64
	if !online {
		store = b.home
		if r.Float64() >= HomeStoreShare {
			store = stores[r.IntN(len(stores))].ID
		}
		t = s.storeHours(t)
	}
	companions := !b.orphan && t < s.g.h
	if companions && r.Float64() < CancelledShare {
		ct := max(t-r.Int64N(2*day), b.created)
		s.emitOrder(b.id, ct, true, 0, "cancelled", s.makeBasket(b.spend, false))
		s.dirty[ruleCancelled]++
	}
	lines := s.makeBasket(b.spend, b.prevFrom)
	b.prevFrom = slices.ContainsFunc(lines, func(l line) bool { return categoryOf[l.prod] == s.g.fromCat })
	oid, cents := s.emitOrder(b.id, t, online, store, "completed", lines)
	if b.orphan {
		s.dirty[ruleOrphan]++
	}
	if companions && r.Float64() < DuplicateShare {
		s.orderRow(oid, b.id, t, cents, online, store, "completed")
		s.dirty[ruleDuplicate]++
	}
	if companions && r.Float64() < RefundShare {
		rt := t + 3*day + r.Int64N(27*day)
		if !online {
			rt = s.storeHours(rt)
		}
		if rt < s.g.h {
			// A full refund, or the return of one line.
			s.refund = s.refund[:0]
			if r.Float64() < 0.6 {
				s.refund = append(s.refund, lines...)
			} else {
				s.refund = append(s.refund, lines[r.IntN(len(lines))])
			}
			for i := range s.refund {
				s.refund[i].qty, s.refund[i].cents = -s.refund[i].qty, -s.refund[i].cents
			}
			s.emitOrder(b.id, rt, online, store, "refunded", s.refund)
			s.dirty[ruleRefund]++
		}
	}
}

// guestOrder writes an order without a customer: a guest checkout online
// or a purchase without loyalty card in a store.
func (s *simulator) guestOrder() {
	r := s.r
	t := s.g.acquisition(r.Float64())
	online := r.Float64() < 0.4
	var store int64
	if !online {
		store = stores[r.IntN(len(stores))].ID
		t = s.storeHours(t)
	}
	s.emitOrder(0, t, online, store, "completed", s.makeBasket(1, false))
	s.dirty[ruleNull]++
}

// storeHours moves t forward into opening hours (09:00–20:00 UTC), unless
// that would push it out of the history.
func (s *simulator) storeHours(t int64) int64 {
	const open, closing = 9 * 3600, 20 * 3600
	dayStart, tod := t-t%day, t%day
	var nt int64
	switch {
	case tod < open:
		nt = dayStart + open + tod*(closing-open)/open
	case tod >= closing:
		nt = dayStart + day + open + (tod-closing)*(closing-open)/(day-closing)
	default:
		return t
	}
	if t < s.g.h && nt >= s.g.h {
		return t
	}
	return nt
}

// makeBasket draws the lines of an order: 1 + Poisson(0.6·spend) distinct
// products by popularity (at most MaxLines), then the plants: a
// PlantedNext.To product if the previous order held PlantedNext.From, and
// each planted anchor's partner. A planted product is appended, or, in a
// full basket, replaces the last line no plant placed.
func (s *simulator) makeBasket(spend float64, prevFrom bool) []line {
	g, r := s.g, s.r
	s.basket, s.protected = s.basket[:0], s.protected[:0]
	n := min(1+poissonRand(r, 0.6*spend), MaxLines)
	for len(s.basket) < n {
		p := g.productAlias.draw(r)
		if !s.inBasket(p) {
			s.basket = append(s.basket, line{prod: p})
			s.protected = append(s.protected, g.anchorOf[p] >= 0)
		}
	}
	if prevFrom && r.Float64() < NextCategoryProbability &&
		!slices.ContainsFunc(s.basket, func(l line) bool { return categoryOf[l.prod] == g.toCat }) {
		s.put(g.toProducts[g.toAlias.draw(r)])
	}
	for i := 0; i < len(s.basket); i++ {
		if k := g.anchorOf[s.basket[i].prod]; k >= 0 && r.Float64() < PairProbability && !s.inBasket(g.pairB[k]) {
			s.put(g.pairB[k])
		}
	}

	// Quantities: cheap items sometimes come in twos or threes, more often
	// for big spenders. Some orders carry a discount.
	disc := int64(0)
	if u := r.Float64(); u < 0.05 {
		disc = 20
	} else if u < 0.17 {
		disc = 10
	}
	pMulti := min(0.5, 0.1*spend)
	for i := range s.basket {
		l := &s.basket[i]
		l.qty = 1
		pc := products[l.prod].PriceCents
		if pc < 10000 && r.Float64() < pMulti {
			l.qty = 2
			if r.Float64() < 0.3 {
				l.qty = 3
			}
		}
		l.cents = pc * int64(l.qty) * (100 - disc) / 100
	}
	return s.basket
}

func (s *simulator) inBasket(p int) bool {
	return slices.ContainsFunc(s.basket, func(l line) bool { return l.prod == p })
}

// put adds a planted product to the basket.
func (s *simulator) put(p int) {
	if len(s.basket) < MaxLines {
		s.basket = append(s.basket, line{prod: p})
		s.protected = append(s.protected, true)
		return
	}
	for j := len(s.basket) - 1; j >= 0; j-- {
		if !s.protected[j] {
			s.basket[j] = line{prod: p}
			s.protected[j] = true
			return
		}
	}
}

// emitOrder writes an order row and its lines; customer 0 means NULL and
// store 0 means NULL. It returns the local order id and the revenue.
func (s *simulator) emitOrder(customer, t int64, online bool, store int64, status string, lines []line) (int64, int64) {
	oid := s.nextOrder
	s.nextOrder++
	var cents int64
	for _, l := range lines {
		cents += l.cents
		s.l.order.Append(oid)
		s.l.product.Append(products[l.prod].ID)
		s.l.qty.Append(l.qty)
		s.l.revenue.Append(decimal128.FromI64(l.cents))
	}
	s.orderRow(oid, customer, t, cents, online, store, status)
	return oid, cents
}

func (s *simulator) orderRow(oid, customer, t, cents int64, online bool, store int64, status string) {
	o := &s.o
	o.id.Append(oid)
	if customer == 0 {
		o.customer.AppendNull()
	} else {
		o.customer.Append(customer)
	}
	o.at.Append(s.ts(t))
	o.revenue.Append(decimal128.FromI64(cents))
	if online {
		o.channel.AppendString("online")
		o.store.AppendNull()
	} else {
		o.channel.AppendString("offline")
		o.store.Append(store)
	}
	o.status.AppendString(status)
}

// productsRecord and storesRecord build the fixed tables.
func productsRecord() arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "product_id", Type: i64}, {Name: "name", Type: str}, {Name: "department", Type: str},
		{Name: "category", Type: str}, {Name: "subcategory", Type: str}, {Name: "brand", Type: str},
		{Name: "price", Type: price},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, p := range products {
		b.Field(0).(*array.Int64Builder).Append(p.ID)
		b.Field(1).(*array.StringBuilder).Append(p.Name)
		b.Field(2).(*array.StringBuilder).Append(p.Department)
		b.Field(3).(*array.StringBuilder).Append(p.Category)
		b.Field(4).(*array.StringBuilder).Append(p.Subcategory)
		b.Field(5).(*array.StringBuilder).Append(p.Brand)
		b.Field(6).(*array.Decimal128Builder).Append(decimal128.FromI64(p.PriceCents))
	}
	return b.NewRecordBatch()
}

func storesRecord() arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "store_id", Type: i64}, {Name: "name", Type: str}, {Name: "city", Type: str}, {Name: "country", Type: str},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, st := range stores {
		b.Field(0).(*array.Int64Builder).Append(st.ID)
		b.Field(1).(*array.StringBuilder).Append(st.Name)
		b.Field(2).(*array.StringBuilder).Append(st.City)
		b.Field(3).(*array.StringBuilder).Append(st.Country)
	}
	return b.NewRecordBatch()
}
