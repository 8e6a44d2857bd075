// Package clv fits customer-lifetime-value models — the BG/NBD model of
// repeat purchasing and the Gamma-Gamma model of spend — by maximum
// likelihood, and scores customers with them.
//
// The warehouse does the heavy lifting: it reduces the transactions to one
// summary per customer and groups identical summaries (Summary,
// SpendSummary, each with a Count). This package only sees those groups,
// so a fit costs time in the number of distinct rows, not customers or
// transactions.
//
// # Data and units
//
// A customer's history in the calibration period is (x, t_x, T):
//
//	x    number of repeat transactions: transactions after the first one
//	     (several purchases on one day usually count as one transaction)
//	t_x  recency: time from the first to the last transaction (0 if x = 0)
//	T    age: time from the first transaction to the end of the period
//
// t_x and T may be in any time unit — weeks in Fader, Hardie & Lee's CDNOW
// analysis — as long as fits and predictions use the same one. Changing
// the unit by a factor k multiplies α by k, leaves r, a, b unchanged and
// shifts the log-likelihood by −Σx·ln k. Horizons t passed to predictions
// and the discount period of CLV are in the same unit.
//
// The spend input is, per customer with x ≥ 1, the mean value z̄ of the x
// repeat transactions (the first transaction is excluded, as in Fader,
// Hardie & Lee 2005 JMR), in any currency unit; Gamma is in that unit.
//
// # BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way")
//
// While active, a customer buys as a Poisson process with rate λ; after
// each repeat transaction they become inactive with probability p.
// Across customers λ ~ Gamma(shape r, rate α) and p ~ Beta(a, b). The
// likelihood of one customer (eq. 6) is
//
//	L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^{r+x})
//	  + δ_{x>0} B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^{r+x})
//
// evaluated as ln L = A₁ + A₂ + ln(e^{A₃} + δ_{x>0} e^{A₄}) with
//
//	A₁ = lnΓ(r+x) − lnΓ(r) + r ln α
//	A₂ = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	A₃ = −(r+x) ln(α+T)
//	A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)
//
// (log-gamma via math.Lgamma, the last term as a log-sum-exp), and the
// total is Σ Count·ln L over the rows. Predictions for a customer with
// history (x, t_x, T):
//
//	P(alive) = 1 / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x})
//
//	E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1)
//	    · [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
//	    · P(alive)                                               (eq. 10)
//
// A customer with no repeat transaction is alive with probability 1 —
// dropout can only follow a repeat purchase. E[Y(t)] with x = t_x = T = 0
// is E[X(t)], a new customer's expected repeat transactions in their
// first t time units (the paper's E[X(t)]). The Gaussian hypergeometric ₂F₁ is summed
// as its power series (convergent for |z| < 1; here 0 ≤ z < 1), with
// Euler's, Pfaff's and the z → 1−z transformations used where the series
// would converge slowly or lose accuracy; see hyp2f1.go.
//
// # Gamma-Gamma (Fader, Hardie & Lee 2005 JMR; Fader & Hardie 2013)
//
// Each transaction value z ~ Gamma(shape p, rate ν), with ν ~ Gamma(shape
// q, rate γ) across customers; spend is assumed independent of the
// purchase process. The mean z̄ of x transactions has density
//
//	f(z̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q z̄^{px−1} x^{px} / (γ + x z̄)^{px+q}
//
// and the log-likelihood is Σ Count·ln f. The expected average
// transaction value of a customer is
//
//	E[M | x, z̄] = (γ + x z̄) p / (px + q − 1)
//
// a weighted average of the population mean pγ/(q−1) (returned for x = 0)
// and the customer's own z̄.
//
// # CLV
//
// CLV multiplies E[M] by the expected purchases in each of the ⌈horizon⌉
// periods ahead, each discounted at a per-period rate d from the end of
// its period: E[M] · Σₖ (E[Y(tₖ)] − E[Y(tₖ₋₁)]) / (1+d)^{tₖ}.
//
// # Estimation
//
// All parameters are positive; the optimiser works on their logarithms.
// FitBGNBD and FitGammaGamma minimise the negative log-likelihood per
// customer with gonum's BFGS and analytic gradients (Nelder-Mead then
// BFGS again if BFGS stalls), and report ErrNotConverged unless the
// final gradient is below 1e-6 per customer and a Newton step from the
// answer is under a hundredth of a standard error. Standard errors are
// the square roots of the diagonal of the inverse Hessian of the negative
// log-likelihood in the original parameterisation (r, α, a, b and p, q,
// γ), the Hessian taken by central finite differences of the analytic
// gradient; they are NaN when the Hessian cannot be inverted. On the CDNOW
// sample (2,357 customers, calibration 1997-01-01..1997-09-30, weeks) the
// fits reproduce the published r = 0.243, α = 4.414, a = 0.793, b = 2.426,
// LL = −9582.4 and p = 6.25, q = 3.74, γ = 15.44.
package clv
