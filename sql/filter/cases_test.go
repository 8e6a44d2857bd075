package filter

import (
	"strings"
	"time"
)

// tri is a value of SQL's three-valued logic.
type tri int8

const (
	F tri = iota // false
	T            // true
	U            // unknown (NULL)
)

func b2t(b bool) tri {
	if b {
		return T
	}
	return F
}

func and(ts ...tri) tri {
	out := T
	for _, t := range ts {
		switch {
		case t == F:
			return F
		case t == U:
			out = U
		}
	}
	return out
}

func or(ts ...tri) tri {
	out := F
	for _, t := range ts {
		switch {
		case t == T:
			return T
		case t == U:
			out = U
		}
	}
	return out
}

func not(t tri) tri {
	switch t {
	case T:
		return F
	case F:
		return T
	}
	return U
}

// is applies f to *p, or is unknown if p is nil (NULL).
func is[V any](p *V, f func(V) bool) tri {
	if p == nil {
		return U
	}
	return b2t(f(*p))
}

// is2 applies f to *p and *q, or is unknown if either is NULL.
func is2[V, W any](p *V, q *W, f func(V, W) bool) tri {
	if p == nil || q == nil {
		return U
	}
	return b2t(f(*p, *q))
}

// row is a row of the test table; nil is NULL.
type row struct {
	id                     int
	customerID, seg, email *string
	recency, frequency     *int64
	monetary               *float64
	loyal                  *bool
	firstOrder             *string // a date, YYYY-MM-DD
	lastOrderAt            *time.Time
}

func s(v string) *string   { return &v }
func i(v int64) *int64     { return &v }
func f(v float64) *float64 { return &v }
func bl(v bool) *bool      { return &v }
func ts(v string) *time.Time {
	t, err := time.Parse("2006-01-02T15:04:05", v)
	if err != nil {
		panic(err)
	}
	return &t
}

// testRows are the rows of the test table: every type, NULLs in every
// column, a row of NULLs, zero, negative and empty values, values holding
// LIKE's wildcards and quotes, non-ASCII text, and timestamps on both
// sides of 2025-01-01T08:00:00Z.
var testRows = []row{
	{1, s("c01"), s("Champions"), s("a@example.com"), i(5), i(10), f(500), bl(true), s("2024-01-15"), ts("2025-01-01T07:59:59")},
	{2, s("c02"), s("Loyal"), s("b@example.com"), i(20), i(6), f(250.5), bl(true), s("2024-06-30"), ts("2025-01-01T08:00:00")},
	{3, s("c03"), s("Lost"), s("c@other.org"), i(400), i(1), f(20), bl(false), s("2023-02-01"), ts("2024-01-01T00:00:00")},
	{4, s("c04"), nil, s("d@example.com"), i(30), i(2), f(100), bl(false), s("2025-01-01"), ts("2025-01-01T08:00:01")},
	{5, s("c05"), s("Champions"), nil, i(1), i(25), f(1000), nil, s("2024-12-31"), nil},
	{6, s("c06"), s("x"), s("x@example.com"), i(100), i(3), f(0), bl(true), nil, ts("2025-03-01T12:00:00")},
	{7, s("c%_7"), s("Potential Loyalist"), s("e@example.com"), i(45), i(2), f(75.25), nil, s("2024-03-03"), ts("2024-12-31T23:59:59")},
	{8, s("c08"), s("Hibernating"), s("f@EXAMPLE.com"), nil, i(1), f(15), bl(false), s("2022-07-07"), ts("2023-05-05T05:05:05")},
	{9, s("c09"), s("At Risk"), s("g@example.com"), i(200), nil, f(300), bl(true), s("2023-11-11"), ts("2024-06-01T00:00:00")},
	{10, s("c10"), s("Ünïcödé"), s("h@example.com"), i(10), i(4), nil, bl(false), s("2024-08-08"), ts("2025-02-02T02:02:02")},
	{11, s("c11"), s("Loyal"), s("i@example.co"), i(60), i(0), f(0), bl(true), s("2024-02-29"), ts("2025-01-01T00:00:00")},
	{12, s("c12"), s(""), s(""), i(0), i(1), f(1.5), bl(false), s("2025-01-02"), ts("2025-01-02T00:00:00")},
	{13, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	{14, s("c14"), s("Champions"), s("j@example.com"), i(29), i(5), f(99.99), bl(true), s("2025-06-30"), ts("2025-06-30T10:00:00")},
	{15, s("c15"), s("Lost"), s("k@example.com"), i(365), i(1), f(10), nil, s("2021-01-01"), ts("2021-01-01T00:00:00")},
	{16, s("c16"), s("Need Attention"), s("l@example.com"), i(90), i(3), f(150), bl(false), s("2024-09-09"), ts("2024-09-09T09:09:09")},
	{17, s("c17"), s("Champions"), s("m%@example.com"), i(2), i(50), f(5000), bl(true), s("2023-01-01"), ts("2025-06-01T00:00:00")},
	{18, s("c18"), s("Loyal"), s("n_@example.com"), i(15), i(8), nil, bl(true), nil, ts("2025-05-05T05:05:05")},
	{19, s("c19"), s("Can't Lose"), s("o@example.com"), i(120), i(12), f(2000), bl(false), s("2022-02-02"), nil},
	{20, s("c20"), s("Champions"), s("p@example.com"), i(-1), i(-3), f(-5.5), bl(true), s("2025-01-01"), ts("2025-01-01T08:00:00")},
}

func eq[V comparable](v V) func(V) bool { return func(x V) bool { return x == v } }

func oneOf[V comparable](vs ...V) func(V) bool {
	return func(x V) bool {
		for _, v := range vs {
			if x == v {
				return true
			}
		}
		return false
	}
}

var t8 = time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)

// execCase is a filter and the same predicate in Go, with SQL's NULL
// semantics: the row is in the segment when pred is T.
type execCase struct {
	expr string
	pred func(r row) tri
}

var execCases = []execCase{
	{`segment == 'Champions'`, func(r row) tri { return is(r.seg, eq("Champions")) }},
	{`segment != 'Lost'`, func(r row) tri { return not(is(r.seg, eq("Lost"))) }},
	{`!(segment == 'Lost')`, func(r row) tri { return not(is(r.seg, eq("Lost"))) }},
	{`segment == null || segment != 'Lost'`, func(r row) tri { return or(b2t(r.seg == nil), not(is(r.seg, eq("Lost")))) }},
	{`segment in ['Champions', 'Loyal'] && recency_days < 30`, func(r row) tri {
		return and(is(r.seg, oneOf("Champions", "Loyal")), is(r.recency, func(x int64) bool { return x < 30 }))
	}},
	{`recency_days <= 30 || frequency >= 10`, func(r row) tri {
		return or(is(r.recency, func(x int64) bool { return x <= 30 }), is(r.frequency, func(x int64) bool { return x >= 10 }))
	}},
	{`monetary > 100.5 || loyal`, func(r row) tri {
		return or(is(r.monetary, func(x float64) bool { return x > 100.5 }), is(r.loyal, eq(true)))
	}},
	{`!loyal`, func(r row) tri { return not(is(r.loyal, eq(true))) }},
	{`loyal == true`, func(r row) tri { return is(r.loyal, eq(true)) }},
	{`loyal != false`, func(r row) tri { return is(r.loyal, eq(true)) }},
	{`email == null`, func(r row) tri { return b2t(r.email == nil) }},
	{`email != null && email.endsWith('@example.com')`, func(r row) tri {
		return and(b2t(r.email != nil), is(r.email, func(x string) bool { return strings.HasSuffix(x, "@example.com") }))
	}},
	{`segment.startsWith('C')`, func(r row) tri { return is(r.seg, func(x string) bool { return strings.HasPrefix(x, "C") }) }},
	{`customer_id.contains('%_')`, func(r row) tri { return is(r.customerID, func(x string) bool { return strings.Contains(x, "%_") }) }},
	{`email.contains('%')`, func(r row) tri { return is(r.email, func(x string) bool { return strings.Contains(x, "%") }) }},
	{`email.startsWith('n_')`, func(r row) tri { return is(r.email, func(x string) bool { return strings.HasPrefix(x, "n_") }) }},
	{`segment.endsWith("'t Lose")`, func(r row) tri { return is(r.seg, func(x string) bool { return strings.HasSuffix(x, "'t Lose") }) }},
	{`segment.contains('')`, func(r row) tri { return is(r.seg, func(string) bool { return true }) }},
	{`size(segment) == 7`, func(r row) tri { return is(r.seg, func(x string) bool { return len([]rune(x)) == 7 }) }},
	{`segment.size() < 2`, func(r row) tri { return is(r.seg, func(x string) bool { return len([]rune(x)) < 2 }) }},
	{`recency_days + frequency * 2 - 3 > 20`, func(r row) tri {
		return is2(r.recency, r.frequency, func(a, b int64) bool { return a+b*2-3 > 20 })
	}},
	{`-recency_days < -100`, func(r row) tri { return is(r.recency, func(x int64) bool { return -x < -100 }) }},
	{`recency_days - -frequency > 50`, func(r row) tri {
		return is2(r.recency, r.frequency, func(a, b int64) bool { return a+b > 50 })
	}},
	{`monetary / double(frequency) > 50.0`, func(r row) tri {
		if r.frequency != nil && *r.frequency == 0 {
			return U // x / 0 is NULL
		}
		return is2(r.monetary, r.frequency, func(m float64, n int64) bool { return m/float64(n) > 50 })
	}},
	{`monetary * 2.0 - 1.0 >= 199.0`, func(r row) tri { return is(r.monetary, func(x float64) bool { return x*2-1 >= 199 }) }},
	{`recency_days < 30.5`, func(r row) tri { return is(r.recency, func(x int64) bool { return float64(x) < 30.5 }) }},
	{`monetary >= 100`, func(r row) tri { return is(r.monetary, func(x float64) bool { return x >= 100 }) }},
	{`segment + '!' == 'Lost!'`, func(r row) tri { return is(r.seg, eq("Lost")) }},
	{`segment < 'D'`, func(r row) tri { return is(r.seg, func(x string) bool { return x < "D" }) }},
	{`email == segment + '@example.com'`, func(r row) tri {
		return is2(r.email, r.seg, func(e, s string) bool { return e == s+"@example.com" })
	}},
	{`loyal ? monetary > 200.0 : recency_days < 50`, func(r row) tri {
		switch is(r.loyal, eq(true)) {
		case T:
			return is(r.monetary, func(x float64) bool { return x > 200 })
		case F:
			return is(r.recency, func(x int64) bool { return x < 50 })
		}
		return U
	}},
	{`(recency_days < 10 ? 'recent' : segment) == 'recent'`, func(r row) tri {
		switch is(r.recency, func(x int64) bool { return x < 10 }) {
		case T:
			return T
		case F:
			return is(r.seg, eq("recent"))
		}
		return U
	}},
	{`first_order_date >= date('2025-01-01')`, func(r row) tri { return is(r.firstOrder, func(x string) bool { return x >= "2025-01-01" }) }},
	{`first_order_date in [date('2024-02-29'), date('2025-01-01')]`, func(r row) tri {
		return is(r.firstOrder, oneOf("2024-02-29", "2025-01-01"))
	}},
	{`first_order_date != date('2025-01-01')`, func(r row) tri { return not(is(r.firstOrder, eq("2025-01-01"))) }},
	{`last_order_at < timestamp('2025-01-01T10:00:00+02:00')`, func(r row) tri {
		return is(r.lastOrderAt, func(x time.Time) bool { return x.Before(t8) })
	}},
	{`last_order_at == timestamp('2025-01-01T08:00:00Z')`, func(r row) tri { return is(r.lastOrderAt, func(x time.Time) bool { return x.Equal(t8) }) }},
	{`last_order_at >= timestamp('2025-01-01T08:00:00.000001Z')`, func(r row) tri {
		return is(r.lastOrderAt, func(x time.Time) bool { return x.After(t8) })
	}},
	{`last_order_at == null && first_order_date != null`, func(r row) tri { return b2t(r.lastOrderAt == nil && r.firstOrder != nil) }},
	{`segment in []`, func(row) tri { return F }},
	{`!(segment in [])`, func(row) tri { return T }},
	{`segment in [email, 'Lost']`, func(r row) tri {
		return or(is2(r.seg, r.email, func(s, e string) bool { return s == e }), is(r.seg, eq("Lost")))
	}},
	// Filters of literals only: DuckDB must infer the parameters' types.
	{`'a' == 'a'`, func(row) tri { return T }},
	{`size('abc') == 3`, func(row) tri { return T }},
	{`1 + 2 == 3`, func(row) tri { return T }},
	{`'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b')`, func(row) tri { return T }},
	{`2.0 / 0.0 > 1.0`, func(row) tri { return U }},
	{`true ? false : true`, func(row) tri { return F }},
	{`true`, func(row) tri { return T }},
	{`false`, func(row) tri { return F }},
	{`date('2025-01-01') < date('2025-01-02')`, func(row) tri { return T }},
	{`timestamp('2025-01-01T00:00:00Z') == timestamp('2025-01-01T01:00:00+01:00')`, func(row) tri { return T }},
	// Injection attempts select nothing: each is one string value.
	{`segment == "x' OR 1=1 --"`, func(row) tri { return F }},
	{`segment == 'x\' OR \'1\'=\'1'`, func(row) tri { return F }},
	{`segment == "x\" OR 1=1 --"`, func(row) tri { return F }},
	{`segment == 'x\\' || segment == "' OR 1=1 --"`, func(row) tri { return F }},
}
