package dialect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/zetasql"
)

// flavors are the analyzers of the dialects ZetaSQL knows.
var flavors = map[string]zetasql.Flavor{"bigquery": zetasql.BigQuery, "snowflake": zetasql.Snowflake}

// TestAnalyzerReadsQuotedNames checks QuoteIdent and Table against the
// analyzers' parsers: a table registered under an awkward name must be
// found by the quoted name, and not by a near miss.
func TestAnalyzerReadsQuotedNames(t *testing.T) {
	names := []string{"orders", "Order Lines", "select", "a'b", "ünï cödé", "a-b", "x$1", "1st"}
	// Names the analyzers read as the warehouses do only in BigQuery:
	// the Snowflake fork lexes "..." with GoogleSQL's string escapes,
	// where Snowflake itself doubles a quote and keeps a backslash.
	bigQueryOnly := []string{"a`b", `a\b`, "a\nb", "\t", `a"b`, "a\x01b", "``"}
	for dn, f := range flavors {
		t.Run(dn, func(t *testing.T) {
			a := zetasql.StartForTest(t, f)
			d, err := Get(dn)
			require.NoError(t, err)
			all := names
			if dn == "bigquery" {
				all = append(all, bigQueryOnly...)
			}
			ctx := context.Background()
			for _, name := range all {
				tables := []zetasql.Table{{Name: name, Columns: []zetasql.Column{{Name: "c", Type: "INT64"}}}}
				require.NoError(t, a.Analyze(ctx, "SELECT c FROM "+d.QuoteIdent(name), tables), "name %q", name)
				err := a.Analyze(ctx, "SELECT c FROM "+d.QuoteIdent(name+"x"), tables)
				require.ErrorContains(t, err, "Table not found", "name %q", name)
			}

			tables := []zetasql.Table{{Name: "proj.shop.orders", Columns: []zetasql.Column{{Name: "c", Type: "INT64"}}}}
			require.Equal(t, map[string]string{
				"bigquery":  "`proj`.`shop`.`orders`",
				"snowflake": `"proj"."shop"."orders"`,
			}[dn], d.Table("proj.shop", "orders"))
			require.NoError(t, a.Analyze(ctx, "SELECT c FROM "+d.Table("proj.shop", "orders"), tables))
			require.NoError(t, a.AnalyzeAll(ctx, []string{
				d.CreateTableAs(d.Table("proj.out", "t"), "SELECT c FROM "+d.Table("proj.shop", "orders")),
				"SELECT c FROM " + d.Table("proj.out", "t"),
			}, tables))
		})
	}
}

// TestAnalyzerAcceptsDialectSQL analyses every expression a dialect
// renders, with the argument types the templates give them.
func TestAnalyzerAcceptsDialectSQL(t *testing.T) {
	orders := zetasql.Table{Name: "shop.orders", Columns: []zetasql.Column{
		{Name: "d", Type: "DATE"}, {Name: "ts", Type: "TIMESTAMP"}, {Name: "n", Type: "INT64"},
		{Name: "x", Type: "DOUBLE"}, {Name: "s", Type: "STRING"}, {Name: "b", Type: "BOOL"},
	}}
	for dn, f := range flavors {
		t.Run(dn, func(t *testing.T) {
			a := zetasql.StartForTest(t, f)
			d, err := Get(dn)
			require.NoError(t, err)
			lit := d.DateLiteral(time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC))
			var casts []string
			for _, typ := range []Type{String, Int64, Float64, Bool, Date, Timestamp} {
				casts = append(casts, "CAST(NULL AS "+d.TypeName(typ)+") AS null_"+typ.String())
			}
			exprs := []string{
				d.DaysBetween("d", lit),                                                       // ea
				d.DaysBetween("CAST(ts AS DATE)", "d"),                                        // eb
				d.AddDays("d", "n"),                                                           // ec
				d.AddDays(lit, "-30"),                                                         // ed
				d.AddMonths("d", "-n"),                                                        // ee
				d.AddMonths(d.TruncMonth(lit), "n - 15"),                                      // ef
				d.TruncMonth("d"),                                                             // eg
				d.TruncMonth("CAST(ts AS DATE)"),                                              // eh
				d.MonthsBetween(d.TruncMonth("d"), d.TruncMonth(lit)),                         // ei
				d.SafeDivide("x", "n"),                                                        // ej
				d.SafeDivide("CAST(n AS "+d.TypeName(Float64)+")", "2"),                       // ek
				d.StringLiteral("it's a \\ \n 'test'") + " || s",                              // el
				"CAST(n AS " + d.TypeName(Int64) + ") + 1",                                    // em
				d.AddDays("d", "CAST(x AS "+d.TypeName(Int64)+")"),                            // en
				d.MD5Hex("s"),                                                                 // eo
				d.HashBucket("s || CAST(n AS "+d.TypeName(String)+")", 10000) + " + n",        // ep
				d.TimestampLiteral(time.Date(2024, 6, 30, 1, 2, 3, 4000, time.UTC)) + " < ts", // eq
			}
			for i := range exprs {
				exprs[i] += " AS e" + string(rune('a'+i))
			}
			sql := "SELECT " + strings.Join(append(exprs, casts...), ",\n  ") + "\nFROM shop.orders AS o\nWHERE TRUE\n" +
				d.Qualify("ROW_NUMBER() OVER (PARTITION BY s ORDER BY d DESC) = 1")
			// The created table's columns have the types the templates rely
			// on: AddDays, AddMonths and TruncMonth give DATEs, which
			// DaysBetween takes and DATE literals compare with, and
			// DaysBetween and MonthsBetween give integers that add up.
			stmts := []string{
				d.CreateTableAs(d.Table("out", "t"), sql),
				"SELECT " + d.DaysBetween("ec", "ef") + " + " + d.DaysBetween("eg", "eh") + " + ei + ea AS k FROM " +
					d.Table("out", "t") + " WHERE ec > " + lit + " AND ee < " + lit,
			}
			require.NoError(t, a.AnalyzeAll(context.Background(), stmts, []zetasql.Table{orders}))
		})
	}
}
