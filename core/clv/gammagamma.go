package clv

import (
	"context"
	"math"
)

// ggData is the Gamma-Gamma input with the parameter-free parts of the
// likelihood precomputed; rows are summed in chunks as for bgData.
type ggData struct {
	xs   []float64 // distinct x
	xN   []float64 // customers per distinct x
	rows []ggRow
	n    float64
	// Σ w ln z̄ and Σ w x ln z̄ over rows; mean z̄.
	sumLnZ, sumXLnZ float64
	meanZ           float64

	partials []ggPartial
	p, q, g  float64 // parameters of the current evaluation
}

type ggRow struct {
	x  float64 // x
	xz float64 // x·z̄, the customer's total repeat spend
	w  float64 // Count
}

// ggPartial holds one chunk's sums Σ w(px+q)L, Σ w x L, Σ w L and
// Σ w(px+q)/(γ+xz̄), with L = ln(γ+xz̄).
type ggPartial struct{ pql, xl, l, pqInv float64 }

func newGGData(rows []SpendSummary) (*ggData, error) {
	d := &ggData{rows: make([]ggRow, 0, len(rows))}
	xIndex := map[int]int32{}
	var sumZ float64
	for _, r := range rows {
		switch {
		case r.Count < 0:
			return nil, invalidf("negative Count %d", r.Count)
		case r.X < 1:
			return nil, invalidf("Gamma-Gamma needs X ≥ 1 repeat transactions, got %d", r.X)
		case !(r.MeanValue > 0) || math.IsInf(r.MeanValue, 1):
			return nil, invalidf("MeanValue %g must be finite and > 0", r.MeanValue)
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
		w, x := float64(r.Count), float64(r.X)
		d.xN[xi] += w
		d.n += w
		lz := math.Log(r.MeanValue)
		d.sumLnZ += w * lz
		d.sumXLnZ += w * x * lz
		sumZ += w * r.MeanValue
		d.rows = append(d.rows, ggRow{x: x, xz: x * r.MeanValue, w: w})
	}
	if d.n == 0 {
		return nil, invalidf("no customers")
	}
	d.meanZ = sumZ / d.n
	d.partials = make([]ggPartial, numChunks(len(d.rows)))
	return d, nil
}

// nll is the Gamma-Gamma negative log-likelihood summed over rows
// weighted by Count. The density of a customer's mean repeat-transaction
// value z̄ over x transactions (Fader & Hardie 2013) is
//
//	f(z̄ | p,q,γ,x) = Γ(px+q)/(Γ(px)Γ(q)) · γ^q z̄^{px−1} x^{px} / (γ + x z̄)^{px+q}
//
// so ln f = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln z̄ + px ln x
// − (px+q) ln(γ + x z̄). grad receives the gradient in (p, q, γ).
func (d *ggData) nll(params, grad []float64) float64 {
	p, q, g := params[0], params[1], params[2]
	lnG := math.Log(g)
	lgQ, _ := math.Lgamma(q)
	// Row terms: Σ w (px+q) ln(γ+x z̄) and the pieces of its gradient.
	d.p, d.q, d.g = p, q, g
	forChunks(len(d.partials), d.chunk)
	var sPQL, sXL, sL, sPQInv float64
	for _, c := range d.partials {
		sPQL += c.pql
		sXL += c.xl
		sL += c.l
		sPQInv += c.pqInv
	}
	ll := -sPQL + p*d.sumXLnZ - d.sumLnZ + d.n*(q*lnG-lgQ)
	var gp, gq float64
	psiQ := 0.0
	if grad != nil {
		psiQ = digamma(q)
	}
	for i, x := range d.xs {
		n := d.xN[i]
		lgPQ, _ := math.Lgamma(p*x + q)
		lgP, _ := math.Lgamma(p * x)
		lnX := math.Log(x)
		ll += n * (lgPQ - lgP + p*x*lnX)
		if grad == nil {
			continue
		}
		psiPQ := digamma(p*x + q)
		gp += n * x * (psiPQ - digamma(p*x) + lnX)
		gq += n * psiPQ
	}
	if grad != nil {
		gp += d.sumXLnZ - sXL
		gq += d.n*(lnG-psiQ) - sL
		gg := d.n*q/g - sPQInv
		grad[0], grad[1], grad[2] = -gp, -gq, -gg
	}
	return -ll
}

func (d *ggData) chunk(k int) {
	lo := k * chunkRows
	hi := min(lo+chunkRows, len(d.rows))
	var c ggPartial
	for _, r := range d.rows[lo:hi] {
		s := d.g + r.xz
		l := math.Log(s)
		pq := d.p*r.x + d.q
		c.pql += r.w * pq * l
		c.xl += r.w * r.x * l
		c.l += r.w * l
		c.pqInv += r.w * pq / s
	}
	d.partials[k] = c
}

// FitGammaGamma fits the Gamma-Gamma spend model by maximum likelihood to
// spend summaries of customers with at least one repeat transaction (see
// SpendSummary). Errors are as for FitBGNBD.
func FitGammaGamma(ctx context.Context, rows []SpendSummary) (GammaGamma, error) {
	if err := ctx.Err(); err != nil {
		return GammaGamma{}, err
	}
	d, err := newGGData(rows)
	if err != nil {
		return GammaGamma{}, err
	}
	// Start: p = 2, q = 3 and γ matching the observed mean spend,
	// E[z] = pγ/(q−1).
	start := []float64{2, 3, d.meanZ * (3 - 1) / 2}
	res, err := maximise(ctx, "Gamma-Gamma", d.nll, d.n, start)
	if err != nil {
		return GammaGamma{}, err
	}
	m := GammaGamma{
		P: res.params[0], Q: res.params[1], Gamma: res.params[2],
		LogLik: res.logLik,
		N:      int64(d.n),
	}
	copy(m.StdErr[:], res.stdErr)
	return m, nil
}
