package dialect

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGet(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		d, err := Get(name)
		require.NoError(t, err)
		require.Equal(t, name, d.Name())
	}

	_, err := Get("oracle")
	require.Error(t, err)
	require.ErrorContains(t, err, `unknown dialect "oracle"`)
}

func TestDuckDBQuoting(t *testing.T) {
	t.Parallel()
	d := DuckDB{}
	for in, want := range map[string]string{
		"orders":        `"orders"`,
		"Order Lines":   `"Order Lines"`,
		`a"b`:           `"a""b"`,
		`"`:             `""""`,
		`x.y`:           `"x.y"`,
		`drop table x;`: `"drop table x;"`,
	} {
		require.Equal(t, want, d.QuoteIdent(in), "QuoteIdent(%q)", in)
	}
	require.Equal(t, `"shop"."orders"`, d.Table("shop", "orders"))
	require.Equal(t, `"orders"`, d.Table("", "orders"))

	require.Equal(t, `'it''s'`, d.StringLiteral("it's"))
	require.Equal(t, `'a\b'`, d.StringLiteral(`a\b`), "a backslash is not an escape in DuckDB")
}

func TestDuckDBDateLiteral(t *testing.T) {
	t.Parallel()
	d := DuckDB{}
	// The calendar date is taken in t's own location: 23:30 on the 1st in
	// New York is already the 2nd in UTC, but the literal says the 1st.
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	require.Equal(t, "DATE '2024-03-01'", d.DateLiteral(time.Date(2024, 3, 1, 23, 30, 0, 0, ny)))
	require.Equal(t, "DATE '0999-12-31'", d.DateLiteral(time.Date(999, 12, 31, 0, 0, 0, 0, time.UTC)))
}

// unquoteIdent parses a double-quoted identifier strictly: it must start
// and end with a quote and every quote inside must be doubled.
func unquoteIdent(q string) (string, bool) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return "", false
	}
	inner := q[1 : len(q)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		if inner[i] == '"' {
			if i+1 >= len(inner) || inner[i+1] != '"' {
				return "", false // a lone quote would end the identifier early
			}
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String(), true
}

// identReaders read a quoted identifier back by each dialect's own
// lexical rules, written independently of QuoteIdent.
var identReaders = map[string]func(string) (string, bool){
	"duckdb":    unquoteIdent,
	"snowflake": unquoteIdent,
	"bigquery":  func(q string) (string, bool) { return unquoteGoogleSQL(q, '`') },
}

func FuzzQuoteIdent(f *testing.F) {
	for _, s := range []string{"", "orders", `a"b`, `"`, `""`, `" OR 1=1 --`, "x.y", "ünï cödé", "\x00", `\"`,
		"a`b", "`", "\\`", `\`, "a\nb", "\r\n", "\t", "\x7f", "\xff\xfe", "`; DROP TABLE x; --", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, dn := range Names() {
			d, err := Get(dn)
			if err != nil {
				t.Fatal(err)
			}
			q := d.QuoteIdent(name)
			got, ok := identReaders[dn](q)
			if !ok {
				t.Fatalf("%s: QuoteIdent(%q) = %s is not a well-formed quoted identifier", dn, name, q)
			}
			if got != name {
				t.Fatalf("%s: QuoteIdent(%q) = %s reads back as %q", dn, name, q, got)
			}
			if dn == "bigquery" && strings.ContainsAny(q, "\n\r") {
				t.Fatalf("%s: QuoteIdent(%q) = %q spans lines", dn, name, q)
			}
		}
		// Doubling is the only change for the double-quote dialects: one
		// extra byte per quote plus the two delimiters.
		if q, want := (DuckDB{}).QuoteIdent(name), len(name)+strings.Count(name, `"`)+2; len(q) != want {
			t.Fatalf("QuoteIdent(%q) = %s has length %d, want %d", name, q, len(q), want)
		}
	})
}

// stringReaders read a string literal back by each dialect's rules.
var stringReaders = map[string]func(string) (string, bool){
	"duckdb":    unquoteDoubled('\''),
	"snowflake": func(q string) (string, bool) { return unquoteGoogleSQL(q, '\'') },
	"bigquery":  func(q string) (string, bool) { return unquoteGoogleSQL(q, '\'') },
}

func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{"", "it's", `back\slash`, "''", "line\nbreak", "ünï", "'; DROP TABLE x; --", `\'`, "\x00", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, dn := range Names() {
			d, _ := Get(dn)
			q := d.StringLiteral(s)
			got, ok := stringReaders[dn](q)
			if !ok || got != s {
				t.Fatalf("%s: StringLiteral(%q) = %s reads back as %q (well-formed: %v)", dn, s, q, got, ok)
			}
		}
	})
}

// unquoteDoubled parses a literal delimited by quote in which the
// delimiter is escaped by doubling and nothing else is special.
func unquoteDoubled(quote byte) func(string) (string, bool) {
	return func(q string) (string, bool) {
		if len(q) < 2 || q[0] != quote || q[len(q)-1] != quote {
			return "", false
		}
		inner := q[1 : len(q)-1]
		var b strings.Builder
		for i := 0; i < len(inner); i++ {
			if inner[i] == quote {
				if i+1 >= len(inner) || inner[i+1] != quote {
					return "", false
				}
				i++
			}
			b.WriteByte(inner[i])
		}
		return b.String(), true
	}
}

// unquoteGoogleSQL parses a GoogleSQL quoted identifier (quote `) or
// single-quoted string (quote ') by the language's escape rules: a raw
// delimiter, backslash or line break may not appear, and every escape of
// the reference (\a \b \f \n \r \t \v \\ \? \" \' \` \ooo \xhh
// \uhhhh \Uhhhhhhhh) is decoded. Snowflake strings read the same way
// for every escape segflow writes.
func unquoteGoogleSQL(q string, quote byte) (string, bool) {
	if len(q) < 2 || q[0] != quote || q[len(q)-1] != quote {
		return "", false
	}
	inner := q[1 : len(q)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case c == quote || c == '\n' || c == '\r':
			return "", false
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(inner) {
			return "", false
		}
		hex := func(n int) (uint64, bool) {
			if i+1+n > len(inner) {
				return 0, false
			}
			v, err := strconv.ParseUint(inner[i+1:i+1+n], 16, 32)
			return v, err == nil
		}
		switch e := inner[i]; e {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '\\', '?', '"', '\'', '`':
			b.WriteByte(e)
		case 'x', 'X':
			v, ok := hex(2)
			if !ok {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		case 'u', 'U':
			n := 4
			if e == 'U' {
				n = 8
			}
			v, ok := hex(n)
			if !ok {
				return "", false
			}
			b.WriteRune(rune(v))
			i += n
		case '0', '1', '2', '3':
			if i+3 > len(inner) {
				return "", false
			}
			v, err := strconv.ParseUint(inner[i:i+3], 8, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

func TestBigQueryQuoting(t *testing.T) {
	t.Parallel()
	d := BigQuery{}
	for in, want := range map[string]string{
		"orders":      "`orders`",
		"Order Lines": "`Order Lines`",
		"a`b":         "`a\\`b`",
		`a\b`:         "`a\\\\b`",
		"a\nb":        "`a\\nb`",
		"a\x00b":      "`a\\x00b`",
		`a"b'c`:       "`a\"b'c`",
		"x.y":         "`x.y`",
		"ünï":         "`ünï`",
	} {
		require.Equal(t, want, d.QuoteIdent(in), "QuoteIdent(%q)", in)
	}
	require.Equal(t, "`shop`.`orders`", d.Table("shop", "orders"))
	require.Equal(t, "`my-project`.`shop`.`orders`", d.Table("my-project.shop", "orders"))
	require.Equal(t, "`orders`", d.Table("", "orders"))

	require.Equal(t, `'it\'s'`, d.StringLiteral("it's"))
	require.Equal(t, `'a\\b'`, d.StringLiteral(`a\b`))
	require.Equal(t, `'a\nb'`, d.StringLiteral("a\nb"))
	require.Equal(t, "DATE '2024-03-01'", d.DateLiteral(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)))

	require.Equal(t, "DATE_DIFF(e, s, DAY)", d.DaysBetween("s", "e"))
	require.Equal(t, "DATE_DIFF(e, s, MONTH)", d.MonthsBetween("s", "e"))
	require.Equal(t, "DATE_ADD(d, INTERVAL (-3) MONTH)", d.AddMonths("d", "-3"))
	require.Equal(t, "SAFE_DIVIDE(a, b)", d.SafeDivide("a", "b"))
	require.Equal(t, "CREATE OR REPLACE TABLE `s`.`t` AS\nSELECT 1", d.CreateTableAs(d.Table("s", "t"), "SELECT 1"))
}

func TestSnowflakeQuoting(t *testing.T) {
	t.Parallel()
	d := Snowflake{}
	for in, want := range map[string]string{
		"orders":      `"orders"`,
		"ORDERS":      `"ORDERS"`,
		"Order Lines": `"Order Lines"`,
		`a"b`:         `"a""b"`,
		`a\b`:         `"a\b"`, // a backslash is ordinary in an identifier
		"x.y":         `"x.y"`,
	} {
		require.Equal(t, want, d.QuoteIdent(in), "QuoteIdent(%q)", in)
	}
	require.Equal(t, `"SEGFLOW"."rfm"`, d.Table("SEGFLOW", "rfm"))
	require.Equal(t, `"ANALYTICS"."SEGFLOW"."rfm"`, d.Table("ANALYTICS.SEGFLOW", "rfm"))

	require.Equal(t, `'it\'s'`, d.StringLiteral("it's"))
	require.Equal(t, `'a\\d'`, d.StringLiteral(`a\d`), "Snowflake would drop a lone backslash")

	require.Equal(t, "DATEDIFF(day, s, e)", d.DaysBetween("s", "e"))
	require.Equal(t, "DATEDIFF(month, s, e)", d.MonthsBetween("s", "e"))
	require.Equal(t, "DATEADD(month, -3, d)", d.AddMonths("d", "-3"))
	require.Equal(t, "(a) / NULLIF(b, 0)", d.SafeDivide("a", "b"))
	for typ, want := range map[Type]string{String: "VARCHAR", Int64: "NUMBER", Float64: "FLOAT", Bool: "BOOLEAN", Date: "DATE", Timestamp: "TIMESTAMP_NTZ"} {
		require.Equal(t, want, d.TypeName(typ))
	}
}

func TestSchemaMatchesTable(t *testing.T) {
	for _, c := range []struct{ dialect, schema, want string }{
		{"duckdb", "seg flow", `"seg flow"`},
		{"bigquery", "my-project.analytics", "`my-project`.`analytics`"},
		{"snowflake", "SHOP.SEGFLOW", `"SHOP"."SEGFLOW"`},
	} {
		d, err := Get(c.dialect)
		if err != nil {
			t.Fatal(err)
		}
		if got := Schema(d, c.schema); got != c.want {
			t.Errorf("%s: Schema(%q) = %s, want %s", c.dialect, c.schema, got, c.want)
		}
	}
}
