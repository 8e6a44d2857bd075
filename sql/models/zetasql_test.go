package models

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/zetasql"
)

// analyzerFlavors are the dialects ZetaSQL can check.
var analyzerFlavors = map[string]zetasql.Flavor{"bigquery": zetasql.BigQuery, "snowflake": zetasql.Snowflake}

// warehouseOptions maps every logical table onto warehouse tables named
// the way each warehouse qualifies them, with renamed and missing
// columns, and an output schema qualified by its project or database.
func warehouseOptions(t *testing.T, dialectName string) Options {
	t.Helper()
	d, err := dialect.Get(dialectName)
	require.NoError(t, err)
	prefix, out := "proj.", "proj.segflow"
	if dialectName == "snowflake" {
		prefix, out = "SHOP_DB.", "ANALYTICS.SEGFLOW"
	}
	return Options{
		Dialect:      d,
		OutputSchema: out,
		AsOf:         asOf,
		Sources: map[string]Source{
			"customers":   {Table: prefix + "crm.customers", Columns: map[string]string{"customer_id": "id", "email": "email_address"}},
			"orders":      {Table: prefix + "shop.orders", Columns: map[string]string{"revenue": "total_amount"}, Missing: []string{"store_id"}},
			"order_lines": {Table: prefix + "shop.order_lines", Columns: map[string]string{"revenue": "line_total"}, Missing: []string{"quantity"}},
			"products":    {Table: prefix + "shop.products", Missing: []string{"brand", "name"}},
			"touchpoints": {Table: prefix + "mkt.touchpoints"},
		},
	}
}

// zetaKinds names the logical types as the analyzer's catalog does.
var zetaKinds = map[dialect.Type]string{
	dialect.String: "STRING", dialect.Int64: "INT64", dialect.Float64: "DOUBLE",
	dialect.Bool: "BOOL", dialect.Date: "DATE", dialect.Timestamp: "TIMESTAMP",
}

// sourceCatalog registers each source table under the name the options
// give it, with its physical columns typed by the logical model.
func sourceCatalog(o Options) []zetasql.Table {
	var tables []zetasql.Table
	for _, name := range LogicalTables() {
		src, ok := o.Sources[name]
		if !ok {
			continue
		}
		tbl := zetasql.Table{Name: src.Table}
		for _, c := range LogicalColumns(name) {
			if slicesContains(src.Missing, c.Name) {
				continue
			}
			phys := c.Name
			if p := src.Columns[c.Name]; p != "" {
				phys = p
			}
			tbl.Columns = append(tbl.Columns, zetasql.Column{Name: phys, Type: zetaKinds[c.Type]})
		}
		tables = append(tables, tbl)
	}
	return tables
}

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// analyzedSegments are segments over each model with a per-customer
// table; they run after the model's statements.
var analyzedSegments = map[string]SegmentSpec{
	"rfm": {Name: "vip", Model: "rfm", Where: "segment IN ('Champions', 'Loyal') AND monetary > 100",
		Attributes: []string{"segment", "monetary", "loyalty"}},
	"lifecycle": {Name: "winback", Model: "lifecycle", Where: "stage IN ('defecting', 'inactive') AND orders >= 2",
		Attributes: []string{"stage", "last_order_at", "revenue", "days_since_last_order"}},
}

// lifecycleVariants render the template's threshold branches: derived,
// configured, and one of each.
var lifecycleVariants = map[string]LifecycleOptions{
	"derived":             {},
	"configured":          {ActiveDays: 60, InactiveDays: 180, PeriodDays: 7},
	"active configured":   {ActiveDays: 60},
	"inactive configured": {InactiveDays: 200},
}

// TestZetaSQLAnalysis analyses every statement of every model, and a
// segment over each model that has a per-customer table, as BigQuery and
// Snowflake would compile them: in order, each model's tables visible to
// the statements after them.
func TestZetaSQLAnalysis(t *testing.T) {
	for dn, flavor := range analyzerFlavors {
		t.Run(dn, func(t *testing.T) {
			a := zetasql.StartForTest(t, flavor)
			for _, model := range Models() {
				variants := map[string]LifecycleOptions{"": {}}
				if model == "lifecycle" {
					variants = lifecycleVariants
				}
				for variant, lo := range variants {
					t.Run(strings.TrimSpace(model+" "+variant), func(t *testing.T) {
						o := warehouseOptions(t, dn)
						o.Lifecycle = lo
						stmts, err := Render(model, o)
						require.NoError(t, err)
						if spec, ok := analyzedSegments[model]; ok {
							seg, err := RenderSegment(spec, o)
							require.NoError(t, err)
							stmts = append(stmts, seg)
						}
						analyzeAll(t, a, stmts, sourceCatalog(o))
					})
				}
			}
		})
	}
}

// analyzeAll runs the statements through the analyzer and fails with
// the statement it rejected and the analyzer's message.
func analyzeAll(t *testing.T, a *zetasql.Analyzer, stmts []Statement, tables []zetasql.Table) {
	t.Helper()
	sqls := make([]string, len(stmts))
	for i, s := range stmts {
		sqls[i] = s.SQL
	}
	err := a.AnalyzeAll(context.Background(), sqls, tables)
	var ae *zetasql.AnalysisError
	if errors.As(err, &ae) {
		t.Fatalf("%s\n\nat line %d of:\n%s", ae, ae.Line, numberLines(ae.SQL))
	}
	require.NoError(t, err)
}

func numberLines(sql string) string {
	lines := strings.Split(sql, "\n")
	for i, l := range lines {
		lines[i] = strings.Repeat(" ", 4-len(itoa(i+1))) + itoa(i+1) + "  " + l
	}
	return strings.Join(lines, "\n")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestZetaSQLCatchesBrokenSQL makes sure the analysis above can fail: a
// rendered BigQuery statement with a misspelt function, one with an
// argument of the wrong type and one reading a column that does not
// exist are rejected with the analyzer's message.
func TestZetaSQLCatchesBrokenSQL(t *testing.T) {
	a := zetasql.StartForTest(t, zetasql.BigQuery)
	o := warehouseOptions(t, "bigquery")
	stmts, err := Render("lifecycle", o)
	require.NoError(t, err)
	tables := sourceCatalog(o)
	analyzeAll(t, a, stmts, tables) // the unbroken statements pass

	for _, c := range []struct {
		table, old, new, want string
	}{
		{"lifecycle", "DATE_DIFF(", "DATE_DIFFERENCE(", "Function not found: DATE_DIFFERENCE"},
		{"lifecycle_summary", "SAFE_DIVIDE(customers_f, contacts_f)", "SAFE_DIVIDE(stage, contacts_f)", "No matching signature for function SAFE_DIVIDE"},
		{"lifecycle_transitions", "l.inactive_days", "l.inactive_dayz", "inactive_dayz"},
	} {
		t.Run(c.table, func(t *testing.T) {
			broken := make([]string, len(stmts))
			replaced := false
			for i, s := range stmts {
				broken[i] = s.SQL
				if s.Name == c.table {
					require.Contains(t, s.SQL, c.old)
					broken[i] = strings.Replace(s.SQL, c.old, c.new, 1)
					replaced = true
				}
			}
			require.True(t, replaced)
			err := a.AnalyzeAll(context.Background(), broken, tables)
			var ae *zetasql.AnalysisError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Message, c.want)
			require.Contains(t, ae.SQL, c.new, "the error names the broken statement")
			require.Positive(t, ae.Line)
		})
	}
}
