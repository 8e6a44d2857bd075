package dialect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGet(t *testing.T) {
	t.Parallel()
	d, err := Get("duckdb")
	require.NoError(t, err)
	require.Equal(t, "duckdb", d.Name())

	for _, name := range []string{"bigquery", "snowflake"} {
		_, err := Get(name)
		require.ErrorIs(t, err, ErrNotYetSupported)
		require.ErrorContains(t, err, name)
	}

	_, err = Get("oracle")
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrNotYetSupported), "an unknown name is not a pending one")
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

func FuzzQuoteIdent(f *testing.F) {
	for _, s := range []string{"", "orders", `a"b`, `"`, `""`, `" OR 1=1 --`, "x.y", "ünï cödé", "\x00", `\"`} {
		f.Add(s)
	}
	d := DuckDB{}
	f.Fuzz(func(t *testing.T, name string) {
		q := d.QuoteIdent(name)
		got, ok := unquoteIdent(q)
		if !ok {
			t.Fatalf("QuoteIdent(%q) = %s is not a well-formed quoted identifier", name, q)
		}
		if got != name {
			t.Fatalf("QuoteIdent(%q) = %s reads back as %q", name, q, got)
		}
		// Doubling is the only change: one extra byte per quote plus the
		// two delimiters.
		if want := len(name) + strings.Count(name, `"`) + 2; len(q) != want {
			t.Fatalf("QuoteIdent(%q) = %s has length %d, want %d", name, q, len(q), want)
		}
	})
}
