package clv

import (
	"errors"
	"fmt"
	"math"
)

// Summary is one group of customers with identical (x, t_x, T): Count
// customers. It is the BG/NBD input, as aggregated by the warehouse.
//
//	X     number of repeat transactions (transactions after the first), ≥ 0
//	Tx    recency: time of the last transaction, measured from the first; 0 when X = 0
//	T     age: time from the first transaction to the end of the calibration period
//	Count number of customers in the group (rows with Count 0 are ignored)
//
// Tx and T are in any time unit (weeks for CDNOW) as long as every row,
// and every later prediction, uses the same one.
type Summary struct {
	X     int
	Tx, T float64
	Count int64
}

// SpendSummary is one group of customers for the Gamma-Gamma spend model:
// Count customers with X ≥ 1 repeat transactions whose repeat transactions
// have mean value MeanValue (> 0). The first transaction is not included.
type SpendSummary struct {
	X         int
	MeanValue float64
	Count     int64
}

// BGNBD is a fitted BG/NBD model (Fader, Hardie & Lee 2005).
//
// Transaction rates λ ~ Gamma(shape R, rate Alpha) (Alpha in the time unit
// of the input); dropout probabilities p ~ Beta(A, B). LogLik is the
// maximised log-likelihood summed over customers, StdErr the asymptotic
// standard errors of R, Alpha, A, B (NaN when the Hessian cannot be
// inverted), N the number of customers fitted.
type BGNBD struct {
	R, Alpha, A, B float64
	LogLik         float64
	StdErr         [4]float64 // r, alpha, a, b
	N              int64
}

// GammaGamma is a fitted Gamma-Gamma spend model (Fader, Hardie & Lee
// 2005 JMR; Fader & Hardie 2013): transaction values z ~ Gamma(shape P,
// rate ν) with ν ~ Gamma(shape Q, rate Gamma) across customers. StdErr
// holds the standard errors of P, Q, Gamma; N the number of customers.
type GammaGamma struct {
	P, Q, Gamma float64
	LogLik      float64
	StdErr      [3]float64 // p, q, gamma
	N           int64
}

// ErrInvalidInput wraps every rejection of a fit's input rows.
var ErrInvalidInput = errors.New("clv: invalid input")

// ErrNotConverged is returned (wrapped) when the optimiser does not reach
// a maximum of the likelihood.
var ErrNotConverged = errors.New("clv: maximum likelihood did not converge")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

func validSummary(s Summary) error {
	switch {
	case s.Count < 0:
		return invalidf("negative Count %d", s.Count)
	case s.X < 0:
		return invalidf("negative X %d", s.X)
	case !finiteNonNeg(s.Tx) || !finiteNonNeg(s.T):
		return invalidf("Tx %g and T %g must be finite and ≥ 0", s.Tx, s.T)
	case s.Tx > s.T:
		return invalidf("Tx %g exceeds T %g", s.Tx, s.T)
	case s.X == 0 && s.Tx != 0:
		return invalidf("Tx %g must be 0 when X = 0", s.Tx)
	}
	return nil
}

func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// ExpectedValue is the conditional expectation of a customer's average
// transaction value given x repeat transactions with mean value meanValue
// (Fader, Hardie & Lee 2005 JMR; Fader & Hardie 2013):
//
//	E[M | p,q,γ,x,z̄] = (γ + x z̄) p / (p x + q − 1)
//	                 = w·(pγ/(q−1)) + (1−w)·z̄,   w = (q−1)/(p x + q − 1)
//
// a weighted average of the population mean pγ/(q−1) and the customer's own
// mean. For x = 0 it is the population mean (meanValue is ignored). The
// population mean exists only for q > 1; otherwise the result is +Inf for
// x = 0 (and for x ≥ 1 whenever p x + q ≤ 1). NaN for x < 0 or a negative
// meanValue.
func (m GammaGamma) ExpectedValue(x int, meanValue float64) float64 {
	if x < 0 || (x > 0 && !(meanValue >= 0)) {
		return math.NaN()
	}
	if x == 0 {
		meanValue = 0
	}
	den := m.P*float64(x) + m.Q - 1
	if den <= 0 {
		return math.Inf(1)
	}
	return (m.Gamma + float64(x)*meanValue) * m.P / den
}

// CLV returns a customer's expected discounted value over the next horizon
// time units (same unit as the BG/NBD fit):
//
//	CLV = E[M | x, z̄] · Σ_{k=1..K} (E[Y(t_k)] − E[Y(t_{k−1})]) / (1+d)^{t_k}
//
// with t_k = min(k, horizon), K = ⌈horizon⌉, E[Y(t)] the conditional
// expected number of purchases in the next t time units
// (BGNBD.ExpectedPurchases) and E[M] the conditional expected transaction
// value (GammaGamma.ExpectedValue). Purchases expected during a period
// are discounted as if made at its end, at the per-period rate d =
// discountRate (for weekly data and an annual rate R, d = (1+R)^(1/52) − 1).
// With discountRate 0 this is E[M]·E[Y(horizon)]. Spend and purchase
// counts are assumed independent, as the Gamma-Gamma model requires.
// meanValue is ignored when x = 0. NaN for invalid inputs.
func CLV(bg BGNBD, gg GammaGamma, x int, tx, T, meanValue, horizon, discountRate float64) float64 {
	if !(horizon >= 0) || math.IsInf(horizon, 1) || !(discountRate > -1) {
		return math.NaN()
	}
	value := gg.ExpectedValue(x, meanValue)
	if horizon == 0 {
		return 0
	}
	if discountRate == 0 {
		return value * bg.ExpectedPurchases(horizon, x, tx, T)
	}
	k := int(math.Ceil(horizon))
	var sum, prev float64
	for i := 1; i <= k; i++ {
		t := math.Min(float64(i), horizon)
		e := bg.ExpectedPurchases(t, x, tx, T)
		sum += (e - prev) / math.Pow(1+discountRate, t)
		prev = e
	}
	return value * sum
}
