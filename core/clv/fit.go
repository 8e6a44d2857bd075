package clv

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// Optimiser settings shared by both models. The objective handed to the
// optimiser is the negative log-likelihood divided by the number of
// customers, as a function of the log-parameters, so its scale (and the
// gradient thresholds below) do not depend on the size of the data.
const (
	gradThreshold = 1e-9 // BFGS stops with success below this ∞-norm of the gradient
	gradAccept    = 1e-6 // a final ∞-norm above this is reported as ErrNotConverged (after a retry)
	maxIterations = 2000
	hessStep      = 1e-5 // relative step of the finite-difference Hessian
)

// firstPassIterations limits the first BFGS run; tests lower it to
// exercise the fallback.
var firstPassIterations = maxIterations

// nllFunc returns the total negative log-likelihood at params (original,
// positive parameterisation) and, when grad is non-nil, stores its
// gradient with respect to params in grad.
type nllFunc func(params, grad []float64) float64

// fitResult is the outcome of maximise; stdErr entries are NaN when the
// Hessian could not be inverted.
type fitResult struct {
	params []float64
	logLik float64
	stdErr []float64
}

// maximise finds the maximum-likelihood parameters by minimising nll/n
// over θ = log(params) with BFGS and the analytic gradient, falling back
// to Nelder-Mead (then BFGS again) if BFGS stops early. It then computes
// standard errors from the finite-difference Hessian (see covariance) and
// checks that a Newton step from the answer would be negligible.
func maximise(ctx context.Context, model string, nll nllFunc, n float64, start []float64) (fitResult, error) {
	dim := len(start)
	// Cache the last evaluation: gonum asks for Func and Grad separately,
	// usually at the same point, and one pass computes both.
	var (
		lastTheta = make([]float64, dim)
		lastF     = math.NaN()
		lastG     = make([]float64, dim)
		p         = make([]float64, dim)
		gp        = make([]float64, dim)
		haveLast  bool
	)
	eval := func(theta []float64) {
		if haveLast && equal(theta, lastTheta) {
			return
		}
		for i, t := range theta {
			p[i] = math.Exp(t)
		}
		f := nll(p, gp)
		copy(lastTheta, theta)
		lastF = f / n
		for i := range gp {
			lastG[i] = gp[i] * p[i] / n // chain rule: ∂/∂θ = p ∂/∂p
		}
		if math.IsNaN(lastF) || math.IsInf(lastF, 0) {
			lastF = math.Inf(1) // steer line searches away
		}
		haveLast = true
	}
	problem := optimize.Problem{
		Func: func(theta []float64) float64 { eval(theta); return lastF },
		Grad: func(g, theta []float64) { eval(theta); copy(g, lastG) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := func() *optimize.Settings {
		return &optimize.Settings{
			GradientThreshold: gradThreshold,
			MajorIterations:   maxIterations,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		}
	}

	theta := make([]float64, dim)
	for i, s := range start {
		theta[i] = math.Log(s)
	}
	first := settings()
	first.MajorIterations = firstPassIterations
	best, err := runMethod(problem, theta, first, &optimize.BFGS{})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fitResult{}, ctxErr
	}
	// BFGS usually ends with its line search failing once the gradient
	// is down at the level of roundoff in the likelihood (≈1e-9 here);
	// that is convergence. Only a stop well above it is not.
	if !(gradNorm(problem, best) <= gradAccept) {
		// From a poor start BFGS can stall in a flat region. Nelder-Mead
		// is slow but needs no gradient; polish its answer with BFGS.
		from := theta
		if best != nil {
			from = best
		}
		nmSettings := settings()
		nmSettings.GradientThreshold = 0
		nmSettings.Converger = &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 200}
		nm, nmErr := runMethod(problem, from, nmSettings, &optimize.NelderMead{})
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fitResult{}, ctxErr
		}
		if nm != nil {
			best, err = runMethod(problem, nm, settings(), &optimize.BFGS{})
		} else {
			err = nmErr
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fitResult{}, ctxErr
		}
	}
	if best == nil {
		return fitResult{}, fmt.Errorf("%w: %s: %v", ErrNotConverged, model, err)
	}
	params := expAll(best)
	if g := gradNorm(problem, best); !(g <= gradAccept) {
		return fitResult{}, fmt.Errorf("%w: %s: gradient norm %.3g at %v (%v)", ErrNotConverged, model, g, params, err)
	}
	for _, v := range params {
		if !(v > 0) || math.IsInf(v, 1) {
			return fitResult{}, fmt.Errorf("%w: %s: parameter estimate at the boundary %v", ErrNotConverged, model, params)
		}
	}
	res := fitResult{params: params, logLik: -nll(params, nil), stdErr: make([]float64, dim)}
	cov := covariance(nll, params)
	for i := range dim {
		res.stdErr[i] = math.NaN()
		if cov != nil {
			if v := cov.At(i, i); v > 0 {
				res.stdErr[i] = params[i] * math.Sqrt(v)
			}
		}
	}
	// The remaining distance to the optimum, estimated by a Newton step
	// H⁻¹g, must be small against the sampling error (a hundredth of a
	// standard error): a flat likelihood can stop the search early
	// even with a small gradient.
	if cov != nil {
		g := make([]float64, dim)
		problem.Grad(g, best)
		for i := range dim {
			var step float64
			for j := range dim {
				step += cov.At(i, j) * g[j] * n
			}
			if sd := math.Sqrt(cov.At(i, i)); sd > 0 && math.Abs(step) > 0.01*sd {
				return fitResult{}, fmt.Errorf("%w: %s: estimate %v is %.3g standard errors from the optimum", ErrNotConverged, model, params, math.Abs(step)/sd)
			}
		}
	}
	return res, nil
}

// runMethod runs one optimiser from x0 and returns its best point, which
// is nil only if no finite point was found.
func runMethod(problem optimize.Problem, x0 []float64, settings *optimize.Settings, method optimize.Method) ([]float64, error) {
	res, err := optimize.Minimize(problem, x0, settings, method)
	if res == nil || res.X == nil || math.IsInf(res.F, 0) || math.IsNaN(res.F) {
		if err == nil {
			err = fmt.Errorf("no finite likelihood found")
		}
		return nil, err
	}
	if err == nil && res.Status == optimize.Failure {
		err = fmt.Errorf("optimiser status %v", res.Status)
	}
	return append([]float64(nil), res.X...), err
}

// gradNorm is the ∞-norm of the scaled gradient at theta.
func gradNorm(problem optimize.Problem, theta []float64) float64 {
	if theta == nil {
		return math.Inf(1)
	}
	g := make([]float64, len(theta))
	problem.Grad(g, theta)
	var m float64
	for _, v := range g {
		if math.IsNaN(v) {
			return math.NaN()
		}
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// covariance returns the asymptotic covariance of the relative
// parameter perturbations u (params·(1+u)), H_u⁻¹, where H_u is the
// Hessian of the negative log-likelihood with respect to u, computed
// numerically (gonum/diff/fd) as the central-difference Jacobian of the
// analytic gradient, symmetrised. With D = diag(params), the Hessian in
// the original parameterisation is H = D⁻¹ H_u D⁻¹ exactly (a linear
// change of variables), so Cov(params) = D H_u⁻¹ D and the standard error
// of params[i] is params[i]·√(H_u⁻¹)ᵢᵢ. The relative step keeps the
// differences well scaled whatever the parameters' magnitudes, and
// differencing the exact gradient (2·dim evaluations) is both cheaper
// and more accurate than second differences of the likelihood. It
// returns nil when H_u is not finite or not invertible.
func covariance(nll nllFunc, params []float64) *mat.Dense {
	dim := len(params)
	q := make([]float64, dim)
	gq := make([]float64, dim)
	// ∂nll/∂u_i = params_i · ∂nll/∂params_i at params·(1+u).
	grad := func(y, u []float64) {
		for i := range u {
			q[i] = params[i] * (1 + u[i])
		}
		nll(q, gq)
		for i := range y {
			y[i] = params[i] * gq[i]
		}
	}
	jac := mat.NewDense(dim, dim, nil)
	fd.Jacobian(jac, grad, make([]float64, dim), &fd.JacobianSettings{Formula: fd.Central, Step: hessStep})
	h := mat.NewSymDense(dim, nil)
	for i := range dim {
		for j := i; j < dim; j++ {
			v := (jac.At(i, j) + jac.At(j, i)) / 2
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil
			}
			h.SetSym(i, j, v)
		}
	}
	var inv mat.Dense
	if err := inv.Inverse(h); err != nil {
		// Singular, or so badly conditioned (mat.Condition) that the
		// inverse means nothing.
		return nil
	}
	return &inv
}

func expAll(theta []float64) []float64 {
	out := make([]float64, len(theta))
	for i, t := range theta {
		out[i] = math.Exp(t)
	}
	return out
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// digamma is ψ(x) = d/dx ln Γ(x) for x > 0, accurate to a few ulp:
// the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then the asymptotic
// series ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ) to k = 7 (remainder < 1e-16).
// (gonum's mathext.Digamma, used for x ≤ 0, is good to about 5e-11.)
func digamma(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 1) {
		return mathext.Digamma(x)
	}
	var res float64
	for ; x < 10; x++ {
		res -= 1 / x
	}
	x2 := 1 / (x * x)
	series := x2 * (1.0/12 - x2*(1.0/120-x2*(1.0/252-x2*(1.0/240-x2*(1.0/132-x2*(691.0/32760-x2*(1.0/12)))))))
	return res + math.Log(x) - 0.5/x - series
}

// chunkRows is the number of rows a likelihood evaluation sums in one
// piece of work.
const chunkRows = 1 << 14

func numChunks(rows int) int { return max(1, (rows+chunkRows-1)/chunkRows) }

// forChunks calls f(k) for k = 0..n−1, on up to GOMAXPROCS goroutines
// when n > 1. The chunks write disjoint partial sums that the caller adds
// in order, so the result does not depend on the number of goroutines.
func forChunks(n int, f func(k int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for k := range n {
			f(k)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				f(k)
			}
		})
	}
	wg.Wait()
}
