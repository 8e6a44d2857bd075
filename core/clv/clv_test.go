package clv

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/stat/distuv"
)

// ---- CDNOW -----------------------------------------------------------------

// cdnowCustomer is one CDNOW sample customer's calibration-period history,
// computed here from the raw transactions.
type cdnowCustomer struct {
	id         int
	x          int     // distinct purchase days − 1
	tx, T      float64 // weeks
	meanRepeat float64 // mean daily total of the repeat purchase days
	holdout    int     // distinct purchase days in the holdout period
}

var (
	calStart = date(1997, 1, 1)
	calEnd   = date(1997, 9, 30) // last day of calibration, inclusive
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func weeks(from, to time.Time) float64 { return to.Sub(from).Hours() / 24 / 7 }

// loadCDNOW reads testdata/CDNOW_sample.txt and builds each customer's
// summary: several purchases on one day are one transaction whose value
// is the day's total; x, t_x and T are measured in weeks from the
// customer's first purchase day, T to end (the last calibration day).
func loadCDNOW(t testing.TB, end time.Time) []cdnowCustomer {
	t.Helper()
	f, err := os.Open("testdata/CDNOW_sample.txt")
	require.NoError(t, err)
	defer f.Close()
	type day struct {
		date  time.Time
		total float64
	}
	days := map[int]map[time.Time]float64{}
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		require.Len(t, fields, 5, "line %q", sc.Text())
		lines++
		id, err := strconv.Atoi(fields[1])
		require.NoError(t, err)
		d, err := time.Parse("20060102", fields[2])
		require.NoError(t, err)
		v, err := strconv.ParseFloat(fields[4], 64)
		require.NoError(t, err)
		if days[id] == nil {
			days[id] = map[time.Time]float64{}
		}
		days[id][d] += v
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 6919, lines)

	var out []cdnowCustomer
	for id, m := range days {
		var cal []day
		c := cdnowCustomer{id: id}
		for d, v := range m {
			switch {
			case d.Before(calStart):
				t.Fatalf("customer %d: purchase %v before the calibration period", id, d)
			case !d.After(calEnd):
				cal = append(cal, day{d, v})
			default:
				c.holdout++
			}
		}
		require.NotEmpty(t, cal, "customer %d has no calibration purchase", id)
		sort.Slice(cal, func(i, j int) bool { return cal[i].date.Before(cal[j].date) })
		first, last := cal[0].date, cal[len(cal)-1].date
		c.x = len(cal) - 1
		c.tx = weeks(first, last)
		c.T = weeks(first, end)
		if c.x > 0 {
			var s float64
			for _, d := range cal[1:] {
				s += d.total
			}
			c.meanRepeat = s / float64(c.x)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// publishedSummary reads testdata/cdnow_customers_summary.csv (lifetimes).
func publishedSummary(t testing.TB) map[int][3]float64 {
	t.Helper()
	f, err := os.Open("testdata/cdnow_customers_summary.csv")
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"ID", "frequency", "recency", "T"}, recs[0])
	out := map[int][3]float64{}
	for _, r := range recs[1:] {
		id, err := strconv.Atoi(r[0])
		require.NoError(t, err)
		var v [3]float64
		for i := range 3 {
			v[i], err = strconv.ParseFloat(r[i+1], 64)
			require.NoError(t, err)
		}
		out[id] = v
	}
	return out
}

// group turns customers into unique Summary rows.
func groupBG(cs []cdnowCustomer) []Summary {
	idx := map[Summary]int{}
	var rows []Summary
	for _, c := range cs {
		k := Summary{X: c.x, Tx: c.tx, T: c.T}
		i, ok := idx[k]
		if !ok {
			i = len(rows)
			idx[k] = i
			rows = append(rows, k)
		}
		rows[i].Count++
	}
	return rows
}

func requireNear(t testing.TB, name string, want, got, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) < tol) {
		t.Fatalf("%s = %.6g, want %.6g ± %g (diff %.3g)", name, got, want, tol, got-want)
	}
}

// TestCDNOWSummariesMatchPublished checks the summaries computed here
// from the raw transactions against lifetimes' cdnow_customers_summary.csv
// for every customer, and settles the end-of-calibration convention:
// T is measured to 1997-09-30 (the last calibration day), not to
// 1997-10-01.
func TestCDNOWSummariesMatchPublished(t *testing.T) {
	pub := publishedSummary(t)
	require.Len(t, pub, 2357)
	mismatches := func(end time.Time) (n int) {
		cs := loadCDNOW(t, end)
		require.Len(t, cs, 2357)
		for _, c := range cs {
			p, ok := pub[c.id]
			require.True(t, ok, "customer %d not in the published summary", c.id)
			// The CSV rounds t_x and T to two decimals.
			if float64(c.x) != p[0] || math.Abs(c.tx-p[1]) > 0.005+1e-9 || math.Abs(c.T-p[2]) > 0.005+1e-9 {
				n++
			}
		}
		return n
	}
	require.Zero(t, mismatches(calEnd), "T measured to 1997-09-30")
	require.Equal(t, 2357, mismatches(calEnd.AddDate(0, 0, 1)), "T measured to 1997-10-01 shifts every T by 1/7 week")

	var repeaters int
	for _, c := range loadCDNOW(t, calEnd) {
		if c.x > 0 {
			repeaters++
			require.Greater(t, c.meanRepeat, 0.0)
		}
	}
	require.Equal(t, 946, repeaters)
}

func cdnowBGNBD(t testing.TB) (BGNBD, []cdnowCustomer) {
	t.Helper()
	cs := loadCDNOW(t, calEnd)
	m, err := FitBGNBD(context.Background(), groupBG(cs))
	require.NoError(t, err)
	return m, cs
}

// TestCDNOWBGNBD reproduces Fader, Hardie & Lee (2005), Table 1 / §5:
// r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
func TestCDNOWBGNBD(t *testing.T) {
	m, cs := cdnowBGNBD(t)
	t.Logf("BG/NBD on CDNOW: r=%.4f (se %.4f) alpha=%.4f (%.4f) a=%.4f (%.4f) b=%.4f (%.4f) LL=%.3f",
		m.R, m.StdErr[0], m.Alpha, m.StdErr[1], m.A, m.StdErr[2], m.B, m.StdErr[3], m.LogLik)
	requireNear(t, "r", 0.243, m.R, 0.0005)
	requireNear(t, "alpha", 4.414, m.Alpha, 0.0005)
	requireNear(t, "a", 0.793, m.A, 0.0005)
	requireNear(t, "b", 2.426, m.B, 0.0005)
	requireNear(t, "log-likelihood", -9582.4, m.LogLik, 0.05)
	require.EqualValues(t, 2357, m.N)
	for i, se := range m.StdErr {
		require.True(t, se > 0 && !math.IsInf(se, 0), "stderr %d = %v", i, se)
	}

	// One row per customer (Count 1) is the same likelihood as the
	// grouped rows.
	var single []Summary
	for _, c := range cs {
		single = append(single, Summary{X: c.x, Tx: c.tx, T: c.T, Count: 1})
	}
	m1, err := FitBGNBD(context.Background(), single)
	require.NoError(t, err)
	requireNear(t, "ungrouped r", m.R, m1.R, 1e-6)
	requireNear(t, "ungrouped alpha", m.Alpha, m1.Alpha, 1e-5)
	requireNear(t, "ungrouped a", m.A, m1.A, 1e-5)
	requireNear(t, "ungrouped b", m.B, m1.B, 1e-5)
	requireNear(t, "ungrouped LL", m.LogLik, m1.LogLik, 1e-7)
}

// TestCDNOWGammaGamma reproduces the Gamma-Gamma fit of Fader, Hardie &
// Lee (2005 JMR) / Fader & Hardie (2013): p = 6.25, q = 3.74, γ = 15.44
// on the 946 customers with repeat purchases, using the mean of their
// repeat purchase days' totals. (lifetimes prints γ as 15.45; the
// maximum found here, 15.4435, rounds to the published 15.44.)
func TestCDNOWGammaGamma(t *testing.T) {
	var rows []SpendSummary
	for _, c := range loadCDNOW(t, calEnd) {
		if c.x > 0 {
			rows = append(rows, SpendSummary{X: c.x, MeanValue: c.meanRepeat, Count: 1})
		}
	}
	g, err := FitGammaGamma(context.Background(), rows)
	require.NoError(t, err)
	t.Logf("Gamma-Gamma on CDNOW: p=%.4f (se %.4f) q=%.4f (%.4f) gamma=%.4f (%.4f) LL=%.3f",
		g.P, g.StdErr[0], g.Q, g.StdErr[1], g.Gamma, g.StdErr[2], g.LogLik)
	requireNear(t, "p", 6.25, g.P, 0.005)
	requireNear(t, "q", 3.74, g.Q, 0.005)
	requireNear(t, "gamma", 15.44, g.Gamma, 0.005)
	require.EqualValues(t, 946, g.N)
	for i, se := range g.StdErr {
		require.True(t, se > 0 && !math.IsInf(se, 0), "stderr %d = %v", i, se)
	}
}

// ---- independent references for the closed forms ---------------------------

// tanhSinh integrates f over (0, 1) by double-exponential quadrature;
// f receives x and 1−x (both accurate near either end), so integrable
// endpoint singularities such as Beta densities are handled.
func tanhSinh(f func(x, omx float64) float64) float64 {
	const h = 1.0 / 128
	var s float64
	for k := -800; k <= 800; k++ {
		u := float64(k) * h
		v := math.Pi * math.Sinh(u)
		x := 1 / (1 + math.Exp(-v))
		omx := 1 / (1 + math.Exp(v))
		w := math.Pi * math.Cosh(u) * x * omx
		if w == 0 || x == 0 || omx == 0 {
			continue
		}
		s += w * f(x, omx)
	}
	return s * h
}

func logBeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

func betaDensity(x, omx, a, b float64) float64 {
	return math.Exp((a-1)*math.Log(x) + (b-1)*math.Log(omx) - logBeta(a, b))
}

// refPAlive is P(alive) from the two terms of the BG/NBD likelihood
// (FHL 2005 eq. 6): the "still alive" term over the total.
func refPAlive(m BGNBD, x int, tx, T float64) float64 {
	xf := float64(x)
	if x == 0 {
		return 1
	}
	// Common factor Γ(r+x) α^r / (Γ(r) B(a,b)) cancels.
	alive := logBeta(m.A, m.B+xf) - (m.R+xf)*math.Log(m.Alpha+T)
	dead := logBeta(m.A+1, m.B+xf-1) - (m.R+xf)*math.Log(m.Alpha+tx)
	return 1 / (1 + math.Exp(dead-alive))
}

// refExpected is E[Y(t) | x, t_x, T] by numerical integration: given
// alive at T the posterior is λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x), and
// E[Y(t) | λ, p, alive] = (1 − e^{−λpt})/p, whose λ-expectation is
// (1 − ((α+T)/(α+T+pt))^{r+x})/p; integrate that over the Beta.
func refExpected(m BGNBD, t float64, x int, tx, T float64) float64 {
	xf := float64(x)
	i := tanhSinh(func(p, omp float64) float64 {
		h := -math.Expm1(-(m.R+xf)*math.Log1p(p*t/(m.Alpha+T))) / p
		return h * betaDensity(p, omp, m.A, m.B+xf)
	})
	return refPAlive(m, x, tx, T) * i
}

func TestQuadratureSanity(t *testing.T) {
	for _, ab := range [][2]float64{{0.3, 2}, {0.793, 2.426}, {1, 1}, {5, 0.4}} {
		requireNear(t, "∫ Beta density", 1, tanhSinh(func(x, omx float64) float64 { return betaDensity(x, omx, ab[0], ab[1]) }), 1e-12)
	}
	// E[p] of a Beta(2, 3) is 2/5.
	requireNear(t, "E[p]", 0.4, tanhSinh(func(x, omx float64) float64 { return x * betaDensity(x, omx, 2, 3) }), 1e-13)
}

// TestCDNOWConditionalExpectation: the usual worked example — a CDNOW
// customer with x = 2, t_x = 30.43, T = 38.86 — checked against numerical
// integration rather than a remembered number. Under the fitted model it
// comes to 1.226 purchases over the next 39 weeks (0.76 would be the
// expectation over about 22.5 weeks), with P(alive) = 0.727.
func TestCDNOWConditionalExpectation(t *testing.T) {
	m, _ := cdnowBGNBD(t)
	got := m.ExpectedPurchases(39, 2, 30.43, 38.86)
	want := refExpected(m, 39, 2, 30.43, 38.86)
	t.Logf("E[Y(39) | x=2, tx=30.43, T=38.86] = %.6f (quadrature %.6f), P(alive) = %.4f", got, want, m.PAlive(2, 30.43, 38.86))
	requireNear(t, "E[Y(39)]", want, got, 1e-9*want)
	requireNear(t, "P(alive)", refPAlive(m, 2, 30.43, 38.86), m.PAlive(2, 30.43, 38.86), 1e-13)

	// A spread of histories and horizons, both sides of the z = 0.9
	// switch of the hypergeometric evaluation, and new customers
	// (x = t_x = T = 0: E[X(t)]).
	for _, h := range []struct {
		x     int
		tx, T float64
	}{{0, 0, 0}, {0, 0, 38.86}, {1, 1.71, 38.86}, {7, 29.43, 37.5}, {25, 38, 38.5}, {200, 300, 301}, {3, 0.5, 2}} {
		for _, horizon := range []float64{0.5, 39, 100, 500, 5000, 1e5} {
			got := m.ExpectedPurchases(horizon, h.x, h.tx, h.T)
			want := refExpected(m, horizon, h.x, h.tx, h.T)
			if !(math.Abs(got-want) <= 1e-8*want) {
				t.Errorf("E[Y(%g) | %d, %g, %g] = %.12g, quadrature %.12g", horizon, h.x, h.tx, h.T, got, want)
			}
		}
	}
}

// TestExpectedPurchasesSingularParameters: the closed form divides by
// a−1 and 2F1 has a pole at c = a+b+x−1 = 0; both are removable.
func TestExpectedPurchasesSingularParameters(t *testing.T) {
	for _, m := range []BGNBD{
		{R: 0.3, Alpha: 4, A: 1, B: 2.5},              // a = 1
		{R: 0.3, Alpha: 4, A: 1 + 3e-4, B: 2.5},       // near a = 1
		{R: 0.3, Alpha: 4, A: 0.4, B: 0.6},            // c = 0 for x = 0
		{R: 2, Alpha: 10, A: 3, B: 5},                 // a > 1
		{R: 0.24, Alpha: 4.4, A: 1.24 + 1e-7, B: 2.4}, // c−a−b of the transformed 2F1 ≈ 0 for x = 0
	} {
		for _, x := range []int{0, 1, 4} {
			for _, horizon := range []float64{1, 39, 800, 1e5} {
				tx, T := 0.0, 20.0
				if x > 0 {
					tx = 12
				}
				got := m.ExpectedPurchases(horizon, x, tx, T)
				want := refExpected(m, horizon, x, tx, T)
				if !(math.Abs(got-want) <= 1e-8*want) {
					t.Errorf("%+v: E[Y(%g) | %d, %g, %g] = %.12g, quadrature %.12g", m, horizon, x, tx, T, got, want)
				}
			}
		}
	}
}

func TestPAliveAndExpectedPurchasesInvariants(t *testing.T) {
	m, _ := cdnowBGNBD(t)
	// In the BG/NBD dropout happens only right after a repeat purchase:
	// a customer without one is alive for sure (FHL 2005, §3).
	for _, T := range []float64{0, 1, 38.86, 1000} {
		require.Equal(t, 1.0, m.PAlive(0, 0, T))
	}
	for x := 1; x <= 30; x++ {
		for tx := 0.0; tx <= 40; tx += 2.5 {
			prev := math.Inf(1)
			for T := tx; T <= 200; T += 1.25 {
				p := m.PAlive(x, tx, T)
				require.True(t, p >= 0 && p <= 1, "P(alive) = %v", p)
				require.LessOrEqual(t, p, prev, "P(alive) must not increase with T (x=%d tx=%g T=%g)", x, tx, T)
				prev = p
				requireNear(t, "P(alive) vs likelihood terms", refPAlive(m, x, tx, T), p, 1e-12)
			}
		}
		// Bought at the very end of the period: a/(b+x−1) odds of having
		// just dropped out.
		requireNear(t, "P(alive) at tx = T", 1/(1+m.A/(m.B+float64(x)-1)), m.PAlive(x, 30, 30), 1e-15)
	}
	for _, bad := range [][3]float64{{-1, 0, 1}, {1, -1, 1}, {1, 5, 4}} {
		require.True(t, math.IsNaN(m.PAlive(int(bad[0]), bad[1], bad[2])))
		require.True(t, math.IsNaN(m.ExpectedPurchases(1, int(bad[0]), bad[1], bad[2])))
	}
	require.True(t, math.IsNaN(m.ExpectedPurchases(-1, 1, 1, 2)))
	require.Zero(t, m.ExpectedPurchases(0, 2, 30.43, 38.86))

	// Increasing in t, including across the z = 0.9 switch of 2F1
	// (t = 9(α+T)), where it must also be continuous.
	for _, h := range [][3]float64{{0, 0, 38.86}, {2, 30.43, 38.86}, {12, 10, 11}, {1, 0.14, 0.14}} {
		x, tx, T := int(h[0]), h[1], h[2]
		prev := 0.0
		for horizon := 0.25; horizon < 3000; horizon *= 1.1 {
			e := m.ExpectedPurchases(horizon, x, tx, T)
			require.Greater(t, e, prev, "E[Y(t)] must increase with t (%v, t=%g)", h, horizon)
			prev = e
		}
		edge := 9 * (m.Alpha + T)
		lo, hi := m.ExpectedPurchases(edge*(1-1e-12), x, tx, T), m.ExpectedPurchases(edge*(1+1e-12), x, tx, T)
		requireNear(t, "continuity at z = 0.9", lo, hi, 1e-9*lo)
	}
}

// ---- special functions -------------------------------------------------------

func TestDigamma(t *testing.T) {
	const eulerGamma = 0.57721566490153286061
	harmonic := func(n int) (h float64) {
		for k := n; k >= 1; k-- {
			h += 1 / float64(k)
		}
		return h
	}
	for _, n := range []int{1, 2, 7, 10, 11, 50, 1000} {
		requireNear(t, "ψ(n)", harmonic(n-1)-eulerGamma, digamma(float64(n)), 4e-15*math.Max(1, math.Log(float64(n))))
	}
	// ψ(1/2) = −γ − 2 ln 2, ψ(1/4) = −γ − π/2 − 3 ln 2.
	requireNear(t, "ψ(1/2)", -eulerGamma-2*math.Ln2, digamma(0.5), 4e-15)
	requireNear(t, "ψ(1/4)", -eulerGamma-math.Pi/2-3*math.Ln2, digamma(0.25), 8e-15)
	// ψ(x+1) = ψ(x) + 1/x across the switch to the asymptotic series.
	for _, x := range []float64{1e-3, 0.7, 9.5, 9.9999, 10, 123.4} {
		requireNear(t, "recurrence", digamma(x)+1/x, digamma(x+1), 1e-14*math.Max(1, math.Abs(1/x)))
	}
}

func TestHyp2F1(t *testing.T) {
	rel := func(name string, want, got, tol float64) {
		t.Helper()
		if !(math.Abs(got-want) <= tol*math.Abs(want)) {
			t.Errorf("%s = %.16g, want %.16g (rel %.2g)", name, got, want, math.Abs(got-want)/math.Abs(want))
		}
	}
	// 2F1(1,1;2;z) = −ln(1−z)/z: c−a−b = 0 is the integer case of the
	// z → 1−z transformation.
	for _, z := range []float64{-50, -3, -0.5, 1e-3, 0.3, 0.5, 0.89, 0.91, 0.95, 0.999} {
		rel("2F1(1,1;2;z)", -math.Log1p(-z)/z, hyp2f1(1, 1, 2, z), 1e-12)
	}
	// Past z = 0.999 the integer case is interpolated (documented ~1e-10).
	for _, z := range []float64{0.9995, 1 - 1e-6, 1 - 1e-9} {
		rel("2F1(1,1;2;z), z → 1", -math.Log1p(-z)/z, hyp2f1(1, 1, 2, z), 2e-10)
	}
	rel("2F1(1,1;2+1e-6;0.9999)", hypSeries(1, 1, 2+1e-6, 0.9999), hyp2f1(1, 1, 2+1e-6, 0.9999), 2e-10)
	// 2F1(a,b;b;z) = (1−z)^−a (the first 15.3.6 coefficient is 1/Γ(0) = 0).
	for _, z := range []float64{-7, 0.2, 0.85, 0.93, 0.9999} {
		rel("2F1(0.7,2.3;2.3;z)", math.Pow(1-z, -0.7), hyp2f1(0.7, 2.3, 2.3, z), 1e-12)
	}
	// 2F1(1/2,1/2;3/2;z²) = arcsin(z)/z, 2F1(1/2,1;3/2;−z²) = arctan(z)/z.
	for _, s := range []float64{0.1, 0.7, 0.96, 0.999} {
		rel("arcsin", math.Asin(s)/s, hyp2f1(0.5, 0.5, 1.5, s*s), 1e-12)
	}
	for _, s := range []float64{0.5, 3, 40} {
		rel("arctan", math.Atan(s)/s, hyp2f1(0.5, 1, 1.5, -s*s), 1e-12)
	}
	// 2F1(a,b;2b;z) closed form for a = 1, b = 1/2... use
	// 2F1(a, a+1/2; 3/2; z²) = ((1+z)^(1−2a) − (1−z)^(1−2a)) / (2z(1−2a)).
	for _, s := range []float64{0.2, 0.95, 0.9995} {
		a := 0.3
		want := (math.Pow(1+s, 1-2*a) - math.Pow(1-s, 1-2*a)) / (2 * s * (1 - 2*a))
		rel("2F1(a,a+1/2;3/2;z²)", want, hyp2f1(a, a+0.5, 1.5, s*s), 1e-12)
	}
	// Terminating series: a = −2.
	b, c, z := 1.7, 0.6, 0.97
	rel("polynomial", 1-2*b*z/c+b*(b+1)*z*z/(c*(c+1)), hyp2f1(-2, b, c, z), 1e-13)
	// Gauss's sum at z = 1 and the limit approaching it.
	gauss := math.Gamma(2.5) * math.Gamma(2.5-0.3-0.8) / (math.Gamma(2.5-0.3) * math.Gamma(2.5-0.8))
	rel("Gauss", gauss, hyp2f1(0.3, 0.8, 2.5, 1), 1e-13)
	rel("near 1", gauss, hyp2f1(0.3, 0.8, 2.5, 1-1e-13), 1e-9)
	require.True(t, math.IsInf(hyp2f1(1, 1, 2, 1), 1))
	require.True(t, math.IsNaN(hyp2f1(1, 1, 2, 1.5)))
	require.True(t, math.IsNaN(hyp2f1(1, 1, -2, 0.5)))
	// Both sides of the transformation agree with the plain series (summed
	// far past z = 0.9 here as an independent route), including c−a−b
	// within hypIntTol of an integer.
	for _, p := range [][3]float64{{0.24, 2.4, 1.9}, {1.3, 0.2, 2.5 + 2e-4}, {2, 3, 5}, {0.5, 1.5, 3 - 1e-5}, {-0.2, 0.7, 0.9}, {30, 2.4, 32.7}} {
		for _, z := range []float64{0.91, 0.97, 0.995} {
			rel("transformation vs series", hypSeries(p[0], p[1], p[2], z), hyp2f1(p[0], p[1], p[2], z), 1e-10)
		}
	}
}

// ---- simulation ----------------------------------------------------------------

// simCustomer is a customer drawn from the BG/NBD generative story.
type simCustomer struct {
	x         int
	tx, T     float64
	alive     bool // still active at T
	lambda, p float64
}

// simulateBGNBD draws n customers: λ ~ Gamma(r, rate α), p ~ Beta(a, b);
// purchases arrive as a Poisson process with rate λ from the first
// purchase at time 0, and after each repeat purchase the customer drops
// out with probability p (FHL 2005, assumptions i–v). age draws T.
func simulateBGNBD(rng *rand.Rand, n int, r, alpha, a, b float64, age func() float64) []simCustomer {
	lam := distuv.Gamma{Alpha: r, Beta: alpha, Src: rng}
	drop := distuv.Beta{Alpha: a, Beta: b, Src: rng}
	out := make([]simCustomer, n)
	for i := range out {
		c := simCustomer{lambda: lam.Rand(), p: drop.Rand(), T: age(), alive: true}
		for now := 0.0; ; {
			now += rng.ExpFloat64() / c.lambda
			if now > c.T {
				break
			}
			c.x++
			c.tx = now
			if rng.Float64() < c.p {
				c.alive = false
				break
			}
		}
		out[i] = c
	}
	return out
}

// futurePurchases draws the number of purchases in (T, T+t].
func futurePurchases(rng *rand.Rand, c simCustomer, t float64) int {
	if !c.alive {
		return 0
	}
	n := 0
	for now := 0.0; ; {
		now += rng.ExpFloat64() / c.lambda
		if now > t {
			return n
		}
		n++
		if rng.Float64() < c.p {
			return n
		}
	}
}

func groupSim(cs []simCustomer) []Summary {
	idx := map[Summary]int{}
	var rows []Summary
	for _, c := range cs {
		k := Summary{X: c.x, Tx: c.tx, T: c.T}
		i, ok := idx[k]
		if !ok {
			i = len(rows)
			idx[k] = i
			rows = append(rows, k)
		}
		rows[i].Count++
	}
	return rows
}

// ageDays draws T uniformly over 30..60 periods on a daily grid (a period
// being a week), as a warehouse with a date grain would report it.
func ageDays(rng *rand.Rand) func() float64 {
	return func() float64 { return float64(210+rng.IntN(211)) / 7 }
}

var bgTruth = BGNBD{R: 0.5, Alpha: 5, A: 0.8, B: 2.5}

func TestBGNBDParameterRecovery(t *testing.T) {
	rng := rand.New(rand.NewPCG(20050101, 1))
	cs := simulateBGNBD(rng, 20000, bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B, ageDays(rng))
	rows := groupSim(cs)
	m, err := FitBGNBD(context.Background(), rows)
	require.NoError(t, err)
	require.EqualValues(t, 20000, m.N)
	truth := [4]float64{bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B}
	got := [4]float64{m.R, m.Alpha, m.A, m.B}
	for i, name := range []string{"r", "alpha", "a", "b"} {
		se := m.StdErr[i]
		require.True(t, se > 0 && !math.IsInf(se, 0), "%s stderr %v", name, se)
		t.Logf("%-5s truth %.3f  fit %.4f  se %.4f  z %+.2f", name, truth[i], got[i], se, (got[i]-truth[i])/se)
		require.LessOrEqual(t, math.Abs(got[i]-truth[i]), 3*se, "%s = %v, truth %v, se %v", name, got[i], truth[i], se)
	}
	t.Logf("%d customers in %d rows, LL %.2f", len(cs), len(rows), m.LogLik)
}

// TestBGNBDOtherRegimes fits data simulated from quite different
// parameter values (heavy and light buyers, fast and slow dropout, a > 1)
// from the same default start.
func TestBGNBDOtherRegimes(t *testing.T) {
	for i, truth := range []BGNBD{
		{R: 2, Alpha: 1, A: 3, B: 10},
		{R: 0.1, Alpha: 20, A: 0.3, B: 0.5},
		{R: 5, Alpha: 50, A: 0.5, B: 20},
		{R: 0.5, Alpha: 0.05, A: 2, B: 1},
	} {
		rng := rand.New(rand.NewPCG(uint64(i), 5))
		m, err := FitBGNBD(context.Background(), groupSim(simulateBGNBD(rng, 20000, truth.R, truth.Alpha, truth.A, truth.B, ageDays(rng))))
		require.NoError(t, err, "%+v", truth)
		want := [4]float64{truth.R, truth.Alpha, truth.A, truth.B}
		for j, got := range [4]float64{m.R, m.Alpha, m.A, m.B} {
			require.LessOrEqual(t, math.Abs(got-want[j]), 3*m.StdErr[j], "truth %+v, fit %+v", truth, m)
		}
	}
}

// TestBGNBDTimeUnit: measuring time in days instead of weeks multiplies
// α by 7, leaves r, a, b alone, and shifts the log-likelihood by
// −Σx·ln 7 (each of the x purchase times is a density in time).
func TestBGNBDTimeUnit(t *testing.T) {
	cs := loadCDNOW(t, calEnd)
	weeksFit, err := FitBGNBD(context.Background(), groupBG(cs))
	require.NoError(t, err)
	var days []Summary
	var sumX float64
	for _, r := range groupBG(cs) {
		days = append(days, Summary{X: r.X, Tx: r.Tx * 7, T: r.T * 7, Count: r.Count})
		sumX += float64(r.X) * float64(r.Count)
	}
	daysFit, err := FitBGNBD(context.Background(), days)
	require.NoError(t, err)
	requireNear(t, "r", weeksFit.R, daysFit.R, 1e-5)
	requireNear(t, "alpha", 7*weeksFit.Alpha, daysFit.Alpha, 1e-3)
	requireNear(t, "a", weeksFit.A, daysFit.A, 1e-4)
	requireNear(t, "b", weeksFit.B, daysFit.B, 1e-4)
	requireNear(t, "LL", weeksFit.LogLik-sumX*math.Log(7), daysFit.LogLik, 1e-6)
	requireNear(t, "se(alpha)", 7*weeksFit.StdErr[1], daysFit.StdErr[1], 1e-3*daysFit.StdErr[1])
	// Predictions do not depend on the unit.
	requireNear(t, "E[Y]", weeksFit.ExpectedPurchases(39, 2, 30.43, 38.86), daysFit.ExpectedPurchases(39*7, 2, 30.43*7, 38.86*7), 1e-5)
}

// TestCovarianceDegenerate: a Hessian that cannot be inverted gives no
// standard errors rather than an error.
func TestCovarianceDegenerate(t *testing.T) {
	// Depends on p0 only: the Hessian is singular.
	flat := func(p, g []float64) float64 {
		if g != nil {
			g[0], g[1] = 2*(p[0]-1), 0
		}
		return (p[0] - 1) * (p[0] - 1)
	}
	require.Nil(t, covariance(flat, []float64{1, 2}))
	nan := func(p, g []float64) float64 {
		if g != nil {
			g[0], g[1] = math.NaN(), math.NaN()
		}
		return math.NaN()
	}
	require.Nil(t, covariance(nan, []float64{1, 2}))
	quad := func(p, g []float64) float64 {
		if g != nil {
			g[0], g[1] = 4*(p[0]-1), 2*(p[1]-2)
		}
		return 2*(p[0]-1)*(p[0]-1) + (p[1]-2)*(p[1]-2)
	}
	cov := covariance(quad, []float64{1, 2})
	require.NotNil(t, cov)
	// H = diag(4, 2) in p, so Cov(u) = D⁻¹ H⁻¹ D⁻¹ = diag(1/4, 1/8).
	requireNear(t, "var u0", 0.25, cov.At(0, 0), 1e-6)
	requireNear(t, "var u1", 0.125, cov.At(1, 1), 1e-6)
}

// TestBGNBDPredictionsCalibrated compares the closed forms at the true
// parameters with what the simulated customers actually do: the expected
// number alive is Σ P(alive), and expected future purchases add up to the
// purchases simulated after T — over horizons that put z = t/(α+T+t) on
// both sides of the 2F1 transformation switch.
func TestBGNBDPredictionsCalibrated(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	cs := simulateBGNBD(rng, 50000, bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B, ageDays(rng))
	var alive, pSum, pVar float64
	for _, c := range cs {
		p := bgTruth.PAlive(c.x, c.tx, c.T)
		pSum += p
		pVar += p * (1 - p)
		if c.alive {
			alive++
		}
	}
	z := (alive - pSum) / math.Sqrt(pVar)
	t.Logf("alive at T: simulated %.0f, Σ P(alive) %.1f (z %+.2f)", alive, pSum, z)
	require.Less(t, math.Abs(z), 4.0)

	for _, horizon := range []float64{10, 52, 500, 2000} {
		var got, want, ss float64
		for _, c := range cs {
			y := float64(futurePurchases(rng, c, horizon))
			e := bgTruth.ExpectedPurchases(horizon, c.x, c.tx, c.T)
			got += y
			want += e
			ss += (y - e) * (y - e)
		}
		z := (got - want) / math.Sqrt(ss)
		t.Logf("t=%g: simulated %.0f purchases, expected %.1f (z %+.2f)", horizon, got, want, z)
		require.Less(t, math.Abs(z), 4.0, "t=%g", horizon)
	}

	// New customers: E[X(t)] (x = t_x = T = 0) at t = 1000, z = 0.995.
	fresh := simulateBGNBD(rng, 100000, bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B, func() float64 { return 0 })
	var got, ss float64
	want := bgTruth.ExpectedPurchases(1000, 0, 0, 0)
	for _, c := range fresh {
		y := float64(futurePurchases(rng, c, 1000))
		got += y
		ss += (y - want) * (y - want)
	}
	z = (got - want*float64(len(fresh))) / math.Sqrt(ss)
	t.Logf("E[X(1000)]: simulated mean %.4f, closed form %.4f (z %+.2f)", got/float64(len(fresh)), want, z)
	require.Less(t, math.Abs(z), 4.0)
}

// simulateSpend draws Gamma-Gamma spend: ν ~ Gamma(q, rate γ) per
// customer, each transaction z ~ Gamma(p, rate ν); x ≥ 1 repeat
// transactions per customer. It returns the summaries and each
// customer's true mean transaction value p/ν.
func simulateSpend(rng *rand.Rand, n int, p, q, gamma float64) ([]SpendSummary, []float64) {
	nu := distuv.Gamma{Alpha: q, Beta: gamma, Src: rng}
	rows := make([]SpendSummary, n)
	means := make([]float64, n)
	for i := range rows {
		v := nu.Rand()
		x := 1 + int(rng.ExpFloat64()*3)
		spend := distuv.Gamma{Alpha: p, Beta: v, Src: rng}
		var s float64
		for range x {
			s += spend.Rand()
		}
		rows[i] = SpendSummary{X: x, MeanValue: s / float64(x), Count: 1}
		means[i] = p / v
	}
	return rows, means
}

var ggTruth = GammaGamma{P: 6, Q: 4, Gamma: 15}

func TestGammaGammaParameterRecovery(t *testing.T) {
	rng := rand.New(rand.NewPCG(2013, 3))
	rows, means := simulateSpend(rng, 20000, ggTruth.P, ggTruth.Q, ggTruth.Gamma)
	g, err := FitGammaGamma(context.Background(), rows)
	require.NoError(t, err)
	truth := [3]float64{ggTruth.P, ggTruth.Q, ggTruth.Gamma}
	got := [3]float64{g.P, g.Q, g.Gamma}
	for i, name := range []string{"p", "q", "gamma"} {
		se := g.StdErr[i]
		require.True(t, se > 0 && !math.IsInf(se, 0), "%s stderr %v", name, se)
		t.Logf("%-5s truth %.3f  fit %.4f  se %.4f  z %+.2f", name, truth[i], got[i], se, (got[i]-truth[i])/se)
		require.LessOrEqual(t, math.Abs(got[i]-truth[i]), 3*se, "%s = %v, truth %v, se %v", name, got[i], truth[i], se)
	}

	// E[M | x, z̄] at the true parameters is the posterior mean of each
	// customer's p/ν: it must add up to the simulated customers' true means.
	var sumE, sumM, ss float64
	for i, r := range rows {
		e := ggTruth.ExpectedValue(r.X, r.MeanValue)
		sumE += e
		sumM += means[i]
		ss += (means[i] - e) * (means[i] - e)
	}
	z := (sumM - sumE) / math.Sqrt(ss)
	t.Logf("Σ true means %.1f, Σ E[M|x,z̄] %.1f (z %+.2f)", sumM, sumE, z)
	require.Less(t, math.Abs(z), 4.0)
}

// TestStandardErrorCoverage repeats small fits and checks that the
// ±1.96·se intervals cover the truth about 95% of the time, so the
// standard errors are neither too small nor too large.
func TestStandardErrorCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("repeated fits")
	}
	const reps = 40
	var bgCover [4]int
	var ggCover [3]int
	var bgWidth [4]float64
	for rep := range reps {
		rng := rand.New(rand.NewPCG(uint64(rep), 99))
		m, err := FitBGNBD(context.Background(), groupSim(simulateBGNBD(rng, 5000, bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B, ageDays(rng))))
		require.NoError(t, err)
		for i, v := range [4]float64{m.R - bgTruth.R, m.Alpha - bgTruth.Alpha, m.A - bgTruth.A, m.B - bgTruth.B} {
			if math.Abs(v) <= 1.96*m.StdErr[i] {
				bgCover[i]++
			}
			bgWidth[i] += m.StdErr[i] / reps
		}
		rows, _ := simulateSpend(rng, 2000, ggTruth.P, ggTruth.Q, ggTruth.Gamma)
		g, err := FitGammaGamma(context.Background(), rows)
		require.NoError(t, err)
		for i, v := range [3]float64{g.P - ggTruth.P, g.Q - ggTruth.Q, g.Gamma - ggTruth.Gamma} {
			if math.Abs(v) <= 1.96*g.StdErr[i] {
				ggCover[i]++
			}
		}
	}
	t.Logf("95%% interval coverage over %d fits: BG/NBD r,alpha,a,b %v (mean se %.3f), Gamma-Gamma p,q,gamma %v", reps, bgCover, bgWidth, ggCover)
	// Binomial(40, 0.95): P(fewer than 33) ≈ 1%.
	for i, c := range bgCover {
		require.GreaterOrEqual(t, c, 33, "BG/NBD parameter %d", i)
	}
	for i, c := range ggCover {
		require.GreaterOrEqual(t, c, 33, "Gamma-Gamma parameter %d", i)
	}
}

var central4 = fd.Formula{
	Stencil:    []fd.Point{{Loc: -2, Coeff: 1.0 / 12}, {Loc: -1, Coeff: -8.0 / 12}, {Loc: 1, Coeff: 8.0 / 12}, {Loc: 2, Coeff: -1.0 / 12}},
	Derivative: 1,
	Step:       1e-3,
}

// TestGradients checks the analytic gradients the optimiser uses against
// finite differences of the likelihoods.
func TestGradients(t *testing.T) {
	cs := loadCDNOW(t, calEnd)
	d, err := newBGData(groupBG(cs))
	require.NoError(t, err)
	var spend []SpendSummary
	for _, c := range cs {
		if c.x > 0 {
			spend = append(spend, SpendSummary{X: c.x, MeanValue: c.meanRepeat, Count: 2})
		}
	}
	gd, err := newGGData(spend)
	require.NoError(t, err)
	check := func(name string, nll nllFunc, at []float64) {
		t.Helper()
		grad := make([]float64, len(at))
		nll(at, grad)
		// Fourth-order central differences: the likelihood is a sum of
		// thousands of terms, so roundoff needs a step of 1e-3.
		num := fd.Gradient(nil, func(p []float64) float64 { return nll(p, nil) }, at, &fd.Settings{Formula: central4, Step: 1e-3})
		for i := range grad {
			if math.Abs(grad[i]-num[i]) > 1e-6*math.Max(1, math.Abs(num[i])) {
				t.Errorf("%s at %v: ∂/∂θ%d analytic %.10g, numeric %.10g", name, at, i, grad[i], num[i])
			}
		}
	}
	for _, p := range [][]float64{{0.243, 4.414, 0.793, 2.426}, {1, 10, 2, 0.7}, {0.05, 0.5, 0.2, 8}, {3, 2, 1.5, 1.1}} {
		check("BG/NBD", d.nll, p)
	}
	for _, p := range [][]float64{{6.25, 3.74, 15.44}, {1, 2, 30}, {20, 0.8, 3}} {
		check("Gamma-Gamma", gd.nll, p)
	}
}

// ---- CLV and spend ---------------------------------------------------------------

func TestExpectedValueAndCLV(t *testing.T) {
	g := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	pop := g.P * g.Gamma / (g.Q - 1)
	requireNear(t, "population mean", pop, g.ExpectedValue(0, 123), 1e-12)
	// Shrinkage towards the population mean, weight (q−1)/(px+q−1).
	for _, x := range []int{1, 2, 10, 100} {
		for _, z := range []float64{5, 35, 400} {
			w := (g.Q - 1) / (g.P*float64(x) + g.Q - 1)
			requireNear(t, "E[M]", w*pop+(1-w)*z, g.ExpectedValue(x, z), 1e-9)
		}
	}
	require.True(t, math.IsInf(GammaGamma{P: 1, Q: 0.5, Gamma: 1}.ExpectedValue(0, 0), 1))
	require.True(t, math.IsNaN(g.ExpectedValue(-1, 10)))

	m := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	x, tx, T, z := 2, 30.43, 38.86, 27.0
	em := g.ExpectedValue(x, z)
	requireNear(t, "undiscounted CLV", em*m.ExpectedPurchases(39, x, tx, T), CLV(m, g, x, tx, T, z, 39, 0), 1e-12)
	// Discounting by hand over a 2.5-period horizon: periods end at 1, 2, 2.5.
	d := 0.01
	e1, e2, e3 := m.ExpectedPurchases(1, x, tx, T), m.ExpectedPurchases(2, x, tx, T), m.ExpectedPurchases(2.5, x, tx, T)
	want := em * (e1/(1+d) + (e2-e1)/math.Pow(1+d, 2) + (e3-e2)/math.Pow(1+d, 2.5))
	requireNear(t, "discounted CLV", want, CLV(m, g, x, tx, T, z, 2.5, d), 1e-12)
	// More discounting, less value; a longer horizon, more value.
	prev := math.Inf(1)
	for _, rate := range []float64{0, 0.001, 0.01, 0.1} {
		v := CLV(m, g, x, tx, T, z, 52, rate)
		require.Less(t, v, prev)
		prev = v
	}
	require.Greater(t, CLV(m, g, x, tx, T, z, 104, 0.002), CLV(m, g, x, tx, T, z, 52, 0.002))
	require.Zero(t, CLV(m, g, x, tx, T, z, 0, 0.01))
	require.True(t, math.IsNaN(CLV(m, g, x, tx, T, z, -1, 0)))
	require.True(t, math.IsNaN(CLV(m, g, x, tx, T, z, 10, -1)))
}

// ---- input handling ----------------------------------------------------------------

func TestFitErrors(t *testing.T) {
	ctx := context.Background()
	for name, rows := range map[string][]Summary{
		"empty":          nil,
		"only zeros":     {{X: 0, T: 10, Count: 5}},
		"no repeaters":   {{X: 0, T: 10, Count: 5}, {X: 0, T: 3, Count: 1}},
		"negative count": {{X: 1, Tx: 1, T: 2, Count: -1}},
		"tx > T":         {{X: 1, Tx: 3, T: 2, Count: 1}},
		"negative x":     {{X: -1, T: 2, Count: 1}},
		"tx without x":   {{X: 0, Tx: 1, T: 2, Count: 1}},
		"NaN":            {{X: 1, Tx: math.NaN(), T: 2, Count: 1}},
		"Inf":            {{X: 1, Tx: 1, T: math.Inf(1), Count: 1}},
	} {
		_, err := FitBGNBD(ctx, rows)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}
	for name, rows := range map[string][]SpendSummary{
		"empty":      nil,
		"x = 0":      {{X: 0, MeanValue: 10, Count: 1}},
		"zero value": {{X: 1, MeanValue: 0, Count: 1}},
		"NaN":        {{X: 1, MeanValue: math.NaN(), Count: 1}},
		"negative":   {{X: 2, MeanValue: 3, Count: -2}},
	} {
		_, err := FitGammaGamma(ctx, rows)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	rows := groupBG(loadCDNOW(t, calEnd))
	_, err := FitBGNBD(cancelled, rows)
	require.ErrorIs(t, err, context.Canceled)
	_, err = FitGammaGamma(cancelled, []SpendSummary{{X: 1, MeanValue: 2, Count: 1}})
	require.ErrorIs(t, err, context.Canceled)

	// A context that ends during the fit stops it.
	expired, cancel2 := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel2()
	time.Sleep(time.Millisecond)
	_, err = FitBGNBD(expired, rows)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}

// TestParallelSumsDeterministic: with rows in several chunks, the fits
// are bit-for-bit the same whatever the number of goroutines.
func TestParallelSumsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	cs := simulateBGNBD(rng, 60000, bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B, func() float64 { return 30 + 30*rng.Float64() })
	rows := groupSim(cs)
	spend, _ := simulateSpend(rng, 60000, ggTruth.P, ggTruth.Q, ggTruth.Gamma)
	require.Greater(t, numChunks(len(rows)), 2)
	require.Greater(t, numChunks(len(spend)), 2)
	fit := func(procs int) (BGNBD, GammaGamma) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m, err := FitBGNBD(context.Background(), rows)
		require.NoError(t, err)
		g, err := FitGammaGamma(context.Background(), spend)
		require.NoError(t, err)
		return m, g
	}
	m1, g1 := fit(1)
	m4, g4 := fit(4)
	require.Equal(t, m1, m4)
	require.Equal(t, g1, g4)
	for i, v := range [4]float64{m1.R, m1.Alpha, m1.A, m1.B} {
		truth := [4]float64{bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B}[i]
		require.LessOrEqual(t, math.Abs(v-truth), 3*m1.StdErr[i])
	}
}

// countdownCtx reports cancellation after its Err method has been asked
// n times: a context that ends in the middle of a fit.
type countdownCtx struct {
	context.Context
	n int
}

func (c *countdownCtx) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

func TestFitCancelledMidway(t *testing.T) {
	rows := groupBG(loadCDNOW(t, calEnd))
	for _, n := range []int{1, 5, 20} {
		_, err := FitBGNBD(&countdownCtx{Context: context.Background(), n: n}, rows)
		require.ErrorIs(t, err, context.Canceled, "cancelled after %d checks", n)
	}
}

// TestFitFromPoorStarts: the optimiser reaches the same maximum from
// starting points far from it (which exercises the Nelder-Mead fallback
// when BFGS stalls).
func TestFitFromPoorStarts(t *testing.T) {
	cs := loadCDNOW(t, calEnd)
	d, err := newBGData(groupBG(cs))
	require.NoError(t, err)
	want, err := FitBGNBD(context.Background(), groupBG(cs))
	require.NoError(t, err)
	for _, start := range [][]float64{{1e-3, 1e3, 50, 1e-2}, {20, 0.01, 0.01, 100}, {1, 1, 1, 1}, {0.01, 0.01, 0.01, 0.01}} {
		res, err := maximise(context.Background(), "BG/NBD", d.nll, d.n, start)
		require.NoError(t, err, "start %v", start)
		requireNear(t, "r", want.R, res.params[0], 1e-5)
		requireNear(t, "alpha", want.Alpha, res.params[1], 1e-4)
		requireNear(t, "a", want.A, res.params[2], 1e-4)
		requireNear(t, "b", want.B, res.params[3], 1e-3)
		requireNear(t, "LL", want.LogLik, res.logLik, 1e-7)
	}
	var spend []SpendSummary
	for _, c := range cs {
		if c.x > 0 {
			spend = append(spend, SpendSummary{X: c.x, MeanValue: c.meanRepeat, Count: 1})
		}
	}
	gd, err := newGGData(spend)
	require.NoError(t, err)
	for _, start := range [][]float64{{0.1, 50, 1}, {100, 1.01, 1000}, {1, 1, 1}} {
		res, err := maximise(context.Background(), "Gamma-Gamma", gd.nll, gd.n, start)
		require.NoError(t, err, "start %v", start)
		requireNear(t, "p", 6.2496, res.params[0], 1e-3)
		requireNear(t, "q", 3.7442, res.params[1], 1e-3)
		requireNear(t, "gamma", 15.4435, res.params[2], 1e-2)
	}

	// A first BFGS run cut short far from the optimum: the Nelder-Mead
	// fallback and a second BFGS run finish the job.
	defer func(n int) { firstPassIterations = n }(firstPassIterations)
	firstPassIterations = 2
	res, err := maximise(context.Background(), "BG/NBD", d.nll, d.n, []float64{1e-3, 1e3, 50, 1e-2})
	require.NoError(t, err)
	requireNear(t, "r after fallback", want.R, res.params[0], 1e-5)
	requireNear(t, "b after fallback", want.B, res.params[3], 1e-3)
	requireNear(t, "LL after fallback", want.LogLik, res.logLik, 1e-7)
}

// ---- benchmark ------------------------------------------------------------------------

// BenchmarkFit1M fits both models to 1M simulated customers. Times are on
// a daily grid (T of 30..60 weeks, t_x rounded to the day) and spend in
// cents, as warehouse aggregates would be; the rows are grouped before
// the timer starts, since grouping is the warehouse's job.
func BenchmarkFit1M(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1000000))
	cs := simulateBGNBD(rng, 1_000_000, bgTruth.R, bgTruth.Alpha, bgTruth.A, bgTruth.B, ageDays(rng))
	for i := range cs {
		cs[i].tx = math.Floor(cs[i].tx*7) / 7
	}
	rows := groupSim(cs)
	var spend []SpendSummary
	{
		nu := distuv.Gamma{Alpha: ggTruth.Q, Beta: ggTruth.Gamma, Src: rng}
		idx := map[SpendSummary]int{}
		for _, c := range cs {
			if c.x == 0 {
				continue
			}
			v := nu.Rand()
			z := distuv.Gamma{Alpha: ggTruth.P * float64(c.x), Beta: v * float64(c.x), Src: rng}.Rand() // mean of x Gamma(p, v)
			k := SpendSummary{X: c.x, MeanValue: math.Max(0.01, math.Round(z*100)/100)}
			i, ok := idx[k]
			if !ok {
				i = len(spend)
				idx[k] = i
				spend = append(spend, k)
			}
			spend[i].Count++
		}
	}
	ctx := context.Background()
	b.Run("BGNBD", func(b *testing.B) {
		b.ReportAllocs()
		var m BGNBD
		for b.Loop() {
			var err error
			if m, err = FitBGNBD(ctx, rows); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(rows)), "rows")
		b.Logf("%d customers in %d rows: r=%.4f alpha=%.4f a=%.4f b=%.4f", m.N, len(rows), m.R, m.Alpha, m.A, m.B)
	})
	b.Run("GammaGamma", func(b *testing.B) {
		b.ReportAllocs()
		var g GammaGamma
		for b.Loop() {
			var err error
			if g, err = FitGammaGamma(ctx, spend); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(spend)), "rows")
		b.Logf("%d customers in %d rows: p=%.4f q=%.4f gamma=%.4f", g.N, len(spend), g.P, g.Q, g.Gamma)
	})
}
