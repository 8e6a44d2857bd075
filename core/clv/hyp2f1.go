package clv

import "math"

// Gaussian hypergeometric function 2F1(a, b; c; z) for real arguments.
//
// Definition (power series, DLMF 15.2.1):
//
//	2F1(a,b;c;z) = Σ_{n≥0} (a)_n (b)_n / ((c)_n n!) zⁿ
//
// with (q)_n the rising factorial. The series converges absolutely for
// |z| < 1, and at z = 1 only when c−a−b > 0 (where it equals Gauss's
// Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b))). It is undefined when c is a non-positive
// integer (unless the series terminates first) and, for real z > 1, lies
// on the branch cut; this implementation returns NaN there.
//
// Evaluation strategy, chosen so that the series that is actually summed
// always has a ratio well inside the unit disc:
//
//   - z < 0: Pfaff's transformation (DLMF 15.8.1)
//     2F1(a,b;c;z) = (1−z)^(−a) 2F1(a, c−b; c; z/(z−1)) maps z onto [0, 1).
//   - 0 ≤ z ≤ hypSeriesMax (0.9): the series itself.
//   - hypSeriesMax < z < 1: the linear transformation z → 1−z
//     (Abramowitz & Stegun 15.3.6, DLMF 15.8.4), whose two series run in
//     1−z < 0.1 and converge fast:
//     2F1(a,b;c;z) = Γ(c)Γ(m)/(Γ(c−a)Γ(c−b)) 2F1(a,b;1−m;1−z)
//     + (1−z)^m Γ(c)Γ(−m)/(Γ(a)Γ(b)) 2F1(c−a,c−b;m+1;1−z),  m = c−a−b.
//     The two terms can cancel: when they lose more than three digits
//     (and always when m is close to an integer, where the Gamma
//     coefficients blow up with opposite signs) and z ≤ hypSeriesLimit
//     (0.999, at most some 10⁴–10⁵ terms), the plain series is summed
//     instead. Beyond that, for m within δ = hypIntTol/max(1, |ln(1−z)|)
//     of an integer k, the function (analytic in c) is evaluated by 15.3.6
//     at the four values of c that put m at k±δ and k±2δ and interpolated
//     by a cubic: truncation O((δ ln(1−z))⁴) ≈ 1e-13, cancellation
//     O(ε|ln(1−z)|/δ) ≈ 1e-10 at z = 1−10⁻⁹.
//   - z = 1: Gauss's sum when c−a−b > 0, +Inf otherwise.
//
// The callers in this package use the Euler-transformed form
// (1−z)^(c−a−b) 2F1(c−a, c−b; c; z) for the BG/NBD expectation, as
// lifetimes does, which keeps the arguments small even for customers with
// many transactions.

const (
	hypSeriesMax   = 0.9    // largest z always summed directly
	hypSeriesLimit = 0.999  // largest z summed directly when the transformation is inaccurate
	hypIntTol      = 1e-3   // see hyp2f1w: distance of c−a−b from an integer below which we interpolate
	hypCancel      = 1e3    // |t1|+|t2| > hypCancel·|t1+t2|: the transformation lost too many digits
	hypEps         = 1e-16  // relative tolerance of the series tail
	hypMaxTerms    = 500000 // series length after which we give up (NaN)
)

// hyp2f1 returns 2F1(a, b; c; z), or NaN where it is undefined or the
// series did not converge.
func hyp2f1(a, b, c, z float64) float64 {
	return hyp2f1w(a, b, c, z, 1-z)
}

// hyp2f1w is hyp2f1 with w = 1−z supplied by the caller, who can often
// compute it without the cancellation of 1−z when z is close to 1.
func hyp2f1w(a, b, c, z, w float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(c) || math.IsNaN(z) || math.IsNaN(w):
		return math.NaN()
	case z == 0 || a == 0 || b == 0:
		return 1
	case isNonPosInt(c) && !terminatesBefore(a, b, c):
		return math.NaN() // pole
	case z < 0:
		// Pfaff: (1−z)^(−a) 2F1(a, c−b; c; z/(z−1)), with 1 − z/(z−1) = 1/(1−z).
		if isNonPosInt(b) && !isNonPosInt(a) {
			a, b = b, a // keep a terminating parameter in the series
		}
		return math.Exp(-a*math.Log(w)) * hyp2f1w(a, c-b, c, -z/w, 1/w)
	case w < 0 || z > 1:
		return math.NaN() // branch cut
	case w == 0:
		m := c - a - b
		if m <= 0 {
			return math.Inf(1)
		}
		return gammaRatio([]float64{c, m}, []float64{c - a, c - b})
	case z <= hypSeriesMax || terminates(a) || terminates(b):
		return hypSeries(a, b, c, z)
	}
	// 0.9 < z < 1. Near an integer m the interpolation nodes must come
	// closer as |ln(1−z)| grows (c-derivatives of 2F1 grow like its powers).
	m := c - a - b
	k := math.Round(m)
	delta := hypIntTol / math.Max(1, -math.Log(w))
	if math.Abs(m-k) >= delta {
		v, mag := hypOneMinusZ(a, b, c, w)
		if mag <= hypCancel*math.Abs(v) || z > hypSeriesLimit {
			return v
		}
		// The two terms cancelled: the plain series is slower here but
		// accurate.
		if s := hypSeries(a, b, c, z); !math.IsNaN(s) {
			return s
		}
		return v
	}
	if z <= hypSeriesLimit {
		if s := hypSeries(a, b, c, z); !math.IsNaN(s) {
			return s
		}
	}
	// m is (nearly) an integer: interpolate in c.
	var xs, ys [4]float64
	for i, j := range [4]float64{-2, -1, 1, 2} {
		xs[i] = c - (m - k) + j*delta
		ys[i], _ = hypOneMinusZ(a, b, xs[i], w)
	}
	return lagrange4(xs, ys, c)
}

// hypOneMinusZ is A&S 15.3.6, valid for non-integer m = c−a−b. It also
// returns |t1|+|t2|, the magnitude of the two terms before they are
// added, to detect cancellation.
func hypOneMinusZ(a, b, c, w float64) (v, mag float64) {
	m := c - a - b
	var t1, t2 float64
	if g := gammaRatio([]float64{c, m}, []float64{c - a, c - b}); g != 0 {
		t1 = g * hypSeries(a, b, 1-m, w)
	}
	sg, lg := lgammaRatio([]float64{c, -m}, []float64{a, b})
	if sg != 0 {
		t2 = sg * math.Exp(lg+m*math.Log(w)) * hypSeries(c-a, c-b, m+1, w)
	}
	return t1 + t2, math.Abs(t1) + math.Abs(t2)
}

// hypSeries sums the power series. It stops when the bound on the
// remaining tail, |tₙ|·ρ/(1−ρ) with ρ the larger of the current term
// ratio and |z| (the limit of the ratio), falls below hypEps·|sum| on
// two consecutive terms, once every Pochhammer factor is positive (from
// there the ratio is monotone up to O(1/n²)).
func hypSeries(a, b, c, z float64) float64 {
	sum, term := 1.0, 1.0
	// n0: index from which a+n, b+n, c+n > 0.
	n0 := math.Max(0, math.Ceil(-math.Min(a, math.Min(b, c)))) + 1
	az := math.Abs(z)
	hits := 0
	for n := 0.0; n < hypMaxTerms; n++ {
		ratio := (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		term *= ratio
		if term == 0 {
			return sum // terminating series (a or b a non-positive integer)
		}
		sum += term
		if math.IsInf(sum, 0) || math.IsNaN(sum) {
			return sum
		}
		if n+1 < n0 {
			continue
		}
		rho := math.Max(math.Abs(ratio), az)
		if rho >= 1 {
			hits = 0
			continue
		}
		if math.Abs(term)*rho/(1-rho) <= hypEps*math.Abs(sum) {
			hits++
			if hits >= 2 {
				return sum
			}
		} else {
			hits = 0
		}
	}
	return math.NaN()
}

// gammaRatio returns Π Γ(num) / Π Γ(den), 0 if a denominator argument
// is a pole of Γ (1/Γ = 0 there).
func gammaRatio(num, den []float64) float64 {
	s, l := lgammaRatio(num, den)
	if s == 0 {
		return 0
	}
	return s * math.Exp(l)
}

// lgammaRatio returns the sign and log-magnitude of Π Γ(num) / Π Γ(den).
// The sign is 0 if a denominator argument is a pole of Γ.
func lgammaRatio(num, den []float64) (sign, logAbs float64) {
	sign = 1
	for _, x := range den {
		if isNonPosInt(x) {
			return 0, math.Inf(-1)
		}
		l, s := math.Lgamma(x)
		logAbs -= l
		sign *= float64(s)
	}
	for _, x := range num {
		l, s := math.Lgamma(x)
		logAbs += l
		sign *= float64(s)
	}
	return sign, logAbs
}

func isNonPosInt(x float64) bool { return x <= 0 && x == math.Trunc(x) }

// terminates reports whether the series in which a appears as a
// numerator parameter is a polynomial.
func terminates(a float64) bool { return isNonPosInt(a) }

// terminatesBefore reports whether a numerator parameter ends the series
// before the non-positive integer c makes a term divide by zero.
func terminatesBefore(a, b, c float64) bool {
	return (isNonPosInt(a) && a > c) || (isNonPosInt(b) && b > c)
}

// lagrange4 evaluates at x the cubic through (xs[i], ys[i]).
func lagrange4(xs, ys [4]float64, x float64) float64 {
	var s float64
	for i := range 4 {
		l := 1.0
		for j := range 4 {
			if j != i {
				l *= (x - xs[j]) / (xs[i] - xs[j])
			}
		}
		s += l * ys[i]
	}
	return s
}
