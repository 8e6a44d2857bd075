package clv

import (
	"context"
	"math"
	"slices"
)

// bgData is the BG/NBD input in the shape the likelihood loop wants:
// terms that depend on x only are computed once per distinct x, and
// log(α+t) once per distinct time value (warehouse summaries use a
// day or week grain, so there are few of those). Rows are processed in
// fixed chunks (in parallel when there are several) whose partial sums
// are added in chunk order, so results do not depend on GOMAXPROCS.
type bgData struct {
	xs    []float64 // distinct x
	xN    []float64 // customers per distinct x
	times []float64 // distinct values of T and t_x
	rows  []bgRow   // sorted by x, then T
	n     float64   // customers
	rate  float64   // Σx / ΣT, the mean observed repeat rate

	// scratch, per evaluation
	logAT, invAT []float64 // log(α+t), 1/(α+t) per distinct time
	rx, c4       []float64 // r+x and ln a − ln(b+x−1) per distinct x
	partials     []bgPartial
}

type bgRow struct {
	xi, ti, txi int32 // txi < 0 for x = 0
	w           float64
}

// bgPartial holds one chunk's sums.
type bgPartial struct {
	ll, gr, gal float64
	sw4         []float64 // Σ count·w4 per distinct x
}

func newBGData(rows []Summary) (*bgData, error) {
	d := &bgData{rows: make([]bgRow, 0, len(rows))}
	xIndex := map[int]int32{}
	tIndex := map[float64]int32{}
	timeIdx := func(v float64) int32 {
		if i, ok := tIndex[v]; ok {
			return i
		}
		i := int32(len(d.times))
		tIndex[v] = i
		d.times = append(d.times, v)
		return i
	}
	var repeat, sumT, sumX float64
	for _, r := range rows {
		if err := validSummary(r); err != nil {
			return nil, err
		}
		if r.Count == 0 {
			continue
		}
		xi, ok := xIndex[r.X]
		if !ok {
			xi = int32(len(d.xs))
			xIndex[r.X] = xi
			d.xs = append(d.xs, float64(r.X))
			d.xN = append(d.xN, 0)
		}
		w := float64(r.Count)
		d.xN[xi] += w
		d.n += w
		row := bgRow{xi: xi, ti: timeIdx(r.T), txi: -1, w: w}
		if r.X > 0 {
			repeat += w
			row.txi = timeIdx(r.Tx)
		}
		sumT += w * r.T
		sumX += w * float64(r.X)
		d.rows = append(d.rows, row)
	}
	switch {
	case d.n == 0:
		return nil, invalidf("no customers")
	case repeat == 0:
		return nil, invalidf("no customer has a repeat transaction: the BG/NBD parameters are not identified")
	case sumT == 0:
		return nil, invalidf("every customer has T = 0")
	}
	// Sorted rows make the loop's memory access regular.
	slices.SortFunc(d.rows, func(a, b bgRow) int {
		if a.xi != b.xi {
			return int(a.xi - b.xi)
		}
		return int(a.ti - b.ti)
	})
	d.rate = sumX / sumT
	d.logAT = make([]float64, len(d.times))
	d.invAT = make([]float64, len(d.times))
	d.rx = make([]float64, len(d.xs))
	d.c4 = make([]float64, len(d.xs))
	d.partials = make([]bgPartial, numChunks(len(d.rows)))
	for k := range d.partials {
		d.partials[k].sw4 = make([]float64, len(d.xs))
	}
	return d, nil
}

// nll is the BG/NBD negative log-likelihood (FHL 2005 eq. 6) summed over
// rows weighted by Count, in the numerically careful form
//
//	ln L = A₁ + A₂ + ln(e^{A₃} + δ_{x>0} e^{A₄})
//	A₁ = lnΓ(r+x) − lnΓ(r) + r ln α
//	A₂ = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	A₃ = −(r+x) ln(α+T)
//	A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)
//
// with the last term a log-sum-exp. A₁ and A₂ depend on x only and are
// summed per distinct x. grad, when non-nil, receives the gradient with
// respect to (r, α, a, b).
func (d *bgData) nll(params, grad []float64) float64 {
	r, alpha, a, b := params[0], params[1], params[2], params[3]
	for i, t := range d.times {
		d.logAT[i] = math.Log(alpha + t)
		d.invAT[i] = 1 / (alpha + t)
	}
	lnA := math.Log(a)
	for i, x := range d.xs {
		d.rx[i] = r + x
		if x > 0 {
			d.c4[i] = lnA - math.Log(b+x-1)
		}
	}
	forChunks(len(d.partials), d.chunk)
	var ll, gr, gal float64
	sw4 := d.partials[0].sw4 // summed into chunk 0's
	for k := range d.partials {
		p := &d.partials[k]
		ll += p.ll
		gr += p.gr
		gal += p.gal
		if k > 0 {
			for i, v := range p.sw4 {
				sw4[i] += v
			}
		}
	}
	// Terms that depend on x only.
	lgR, _ := math.Lgamma(r)
	lgAB, _ := math.Lgamma(a + b)
	lgB, _ := math.Lgamma(b)
	var psiR, psiAB, psiB float64
	if grad != nil {
		psiR, psiAB, psiB = digamma(r), digamma(a+b), digamma(b)
	}
	lnAlpha := math.Log(alpha)
	var ga, gb float64
	for i, x := range d.xs {
		n := d.xN[i]
		lgRX, _ := math.Lgamma(r + x)
		lgBX, _ := math.Lgamma(b + x)
		lgABX, _ := math.Lgamma(a + b + x)
		ll += n * (lgRX - lgR + r*lnAlpha + lgAB + lgBX - lgB - lgABX)
		if grad == nil {
			continue
		}
		psiABX := digamma(a + b + x)
		gr += n * (digamma(r+x) - psiR + lnAlpha)
		gal += n * r / alpha
		ga += n * (psiAB - psiABX)
		gb += n * (psiAB + digamma(b+x) - psiB - psiABX)
		if x > 0 {
			ga += sw4[i] / a
			gb -= sw4[i] / (b + x - 1)
		}
	}
	if grad != nil {
		grad[0], grad[1], grad[2], grad[3] = -gr, -gal, -ga, -gb
	}
	return -ll
}

// chunk sums the row terms A₃, A₄ of chunk k and their derivatives.
func (d *bgData) chunk(k int) {
	p := &d.partials[k]
	clear(p.sw4)
	lo := k * chunkRows
	hi := min(lo+chunkRows, len(d.rows))
	var ll, gr, gal float64
	for _, row := range d.rows[lo:hi] {
		rx := d.rx[row.xi]
		lT := d.logAT[row.ti]
		l3 := -rx * lT
		if row.txi < 0 { // x = 0: A₃ alone
			ll += row.w * l3
			gr -= row.w * lT
			gal -= row.w * rx * d.invAT[row.ti]
			continue
		}
		lTx := d.logAT[row.txi]
		l4 := d.c4[row.xi] - rx*lTx
		// log-sum-exp and the softmax weights w3, w4 (w3 + w4 = 1). With
		// e ≤ 1, log(1+e) has an absolute error of an ulp, all that
		// matters in a sum; it is much cheaper than Log1p.
		diff := l4 - l3
		e := math.Exp(-math.Abs(diff))
		s := 1 + e
		var lse, w4 float64
		if diff > 0 {
			lse = l4 + math.Log(s)
			w4 = 1 / s
		} else {
			lse = l3 + math.Log(s)
			w4 = e / s
		}
		w3 := 1 - w4
		ll += row.w * lse
		gr -= row.w * (w3*lT + w4*lTx)
		gal -= row.w * rx * (w3*d.invAT[row.ti] + w4*d.invAT[row.txi])
		p.sw4[row.xi] += row.w * w4
	}
	p.ll, p.gr, p.gal = ll, gr, gal
}

// FitBGNBD fits the BG/NBD model by maximum likelihood to customer
// summaries grouped into rows (see Summary). It returns ErrInvalidInput
// (wrapped) for invalid rows or data that cannot identify the model (no
// repeat transactions), ErrNotConverged when the optimiser fails, and the
// context's error when ctx ends first.
func FitBGNBD(ctx context.Context, rows []Summary) (BGNBD, error) {
	if err := ctx.Err(); err != nil {
		return BGNBD{}, err
	}
	d, err := newBGData(rows)
	if err != nil {
		return BGNBD{}, err
	}
	// Start: r = 1 and α matching the mean observed repeat rate
	// (E[λ] = r/α), a = 1, b = 3 (mean dropout probability 1/4).
	start := []float64{1, 1 / d.rate, 1, 3}
	res, err := maximise(ctx, "BG/NBD", d.nll, d.n, start)
	if err != nil {
		return BGNBD{}, err
	}
	m := BGNBD{
		R: res.params[0], Alpha: res.params[1], A: res.params[2], B: res.params[3],
		LogLik: res.logLik,
		N:      int64(d.n),
	}
	copy(m.StdErr[:], res.stdErr)
	return m, nil
}

// PAlive is the probability that a customer with x repeat transactions,
// the last at t_x, is still active at age T (FHL 2005; Fader, Hardie &
// Lee 2008 note "Computing P(alive) using the BG/NBD model"):
//
//	P(alive | x, t_x, T) = 1 / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x})
//
// In the BG/NBD a customer can drop out only right after a repeat
// transaction, so a customer with x = 0 is alive with probability 1.
// NaN for invalid arguments (x < 0, t_x < 0, t_x > T).
func (m BGNBD) PAlive(x int, tx, T float64) float64 {
	if x < 0 || !(tx >= 0) || !(T >= tx) {
		return math.NaN()
	}
	if x == 0 {
		return 1
	}
	xf := float64(x)
	logOdds := math.Log(m.A) - math.Log(m.B+xf-1) + (m.R+xf)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	return 1 / (1 + math.Exp(logOdds))
}

// ExpectedPurchases is the expected number of transactions in the next t
// time units of a customer with history (x, t_x, T) (FHL 2005 eq. 10):
//
//	E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) ·
//	    [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//	    / (1 + δ_{x>0} a/(b+x−1) ((α+T)/(α+t_x))^{r+x})
//
// The denominator is 1/P(alive). The hypergeometric term is evaluated in
// Euler's transformed form (DLMF 15.8.1), as lifetimes does,
//
//	((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; c; z)
//	  = (1−z)^{a−1} ₂F₁(a+b−1−r, a−1; c; z),  c = a+b+x−1, z = t/(α+T+t)
//
// whose parameters stay small for large x. At a = 1 the formula is 0/0
// (and at c = 0 ₂F₁ has a pole that the factor c cancels): within
// δ = 1e-3/max(1, |ln(1−z)|) of a = 1 the value, analytic in a, is
// interpolated by a cubic through a = 1±δ, 1±2δ (likewise around c = 0).
// Cost: one ₂F₁, typically under a microsecond; up to some 100 µs in the
// rare cases where the z → 1−z transformation cancels and the plain
// series is summed close to z = 1.
// With x = 0, t_x = 0, T = 0 it is E[X(t)], the expected number of
// repeat transactions of a new customer in their first t time units
// (FHL 2005's E[X(t)]). Returns 0 for t = 0 and NaN for invalid arguments.
func (m BGNBD) ExpectedPurchases(t float64, x int, tx, T float64) float64 {
	if !(t >= 0) || math.IsInf(t, 1) {
		return math.NaN()
	}
	pAlive := m.PAlive(x, tx, T)
	if math.IsNaN(pAlive) {
		return pAlive
	}
	if t == 0 {
		return 0
	}
	// The formula is singular at a = 1 (0/0) and at c = a+b+x−1 = 0
	// (₂F₁ has a pole there that the factor c cancels); near either
	// point, interpolate in a around it. The a-derivatives grow like
	// powers of ln(1−z), so the nodes close in as the horizon grows.
	delta := 1e-3 / math.Max(1, math.Log(m.Alpha+T+t)-math.Log(m.Alpha+T))
	c := m.A + m.B + float64(x) - 1
	var centre float64
	switch {
	case math.Abs(m.A-1) < delta:
		centre = 1
	case math.Abs(c) < 1e-12:
		centre = m.A - c
	default:
		return pAlive * m.expectedAlive(m.A, t, x, T)
	}
	var xs, ys [4]float64
	for i, j := range [4]float64{-2, -1, 1, 2} {
		xs[i] = centre + j*delta
		ys[i] = m.expectedAlive(xs[i], t, x, T)
	}
	return pAlive * lagrange4(xs, ys, m.A)
}

// expectedAlive is E[Y(t)] for a customer known to be alive at T, with
// the model's a replaced by a.
func (m BGNBD) expectedAlive(a, t float64, x int, T float64) float64 {
	xf := float64(x)
	c := a + m.B + xf - 1
	z := t / (m.Alpha + T + t)
	// 1−z and its log without cancellation when t ≫ α+T.
	logW := math.Log(m.Alpha+T) - math.Log(m.Alpha+T+t)
	w := (m.Alpha + T) / (m.Alpha + T + t)
	g := math.Exp((a-1)*logW) * hyp2f1w(a+m.B-1-m.R, a-1, c, z, w)
	return c / (a - 1) * (1 - g)
}
