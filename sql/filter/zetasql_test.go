package filter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/zetasql"
)

// zetaTable is the catalog table the filters are analysed against.
var zetaTable = zetasql.Table{Name: "shop.t", Columns: []zetasql.Column{
	{Name: "customer_id", Type: "STRING"}, {Name: "segment", Type: "STRING"}, {Name: "email", Type: "STRING"},
	{Name: "recency_days", Type: "INT64"}, {Name: "frequency", Type: "INT64"}, {Name: "monetary", Type: "DOUBLE"},
	{Name: "loyal", Type: "BOOL"}, {Name: "first_order_date", Type: "DATE"}, {Name: "last_order_at", Type: "TIMESTAMP"},
}}

// bindLiterals replaces each ? in c.SQL by a literal of its parameter's
// value and type, as the warehouse clients type bound values (string,
// integer, float, bool, timestamp). The analyzer harness has no query
// parameters, so this stands in for binding, for analysis only.
func bindLiterals(c Compiled, d dialect.Dialect) (string, error) {
	parts := strings.Split(c.SQL, dialect.Placeholder)
	if len(parts) != len(c.Params)+1 {
		return "", fmt.Errorf("%d placeholders, %d params", len(parts)-1, len(c.Params))
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for i, p := range c.Params {
		var lit string
		switch v := p.(type) {
		case string:
			lit = "CAST(" + d.StringLiteral(v) + " AS " + d.TypeName(dialect.String) + ")"
		case int64:
			lit = "CAST(" + strconv.FormatInt(v, 10) + " AS " + d.TypeName(dialect.Int64) + ")"
		case float64:
			lit = "CAST(" + strconv.FormatFloat(v, 'e', -1, 64) + " AS " + d.TypeName(dialect.Float64) + ")"
		case bool:
			lit = strings.ToUpper(strconv.FormatBool(v))
		case time.Time:
			lit = "CAST(" + d.StringLiteral(v.UTC().Format("2006-01-02 15:04:05.999999")) + " AS " + d.TypeName(dialect.Timestamp) + ")"
		default:
			return "", fmt.Errorf("param %d: type %T", i, p)
		}
		b.WriteString(lit)
		b.WriteString(parts[i+1])
	}
	return b.String(), nil
}

// TestZetaSQLAnalyzes analyses SELECT * FROM t WHERE <filter> for every
// filter under test with the BigQuery and Snowflake analyzers.
func TestZetaSQLAnalyzes(t *testing.T) {
	var exprs []string
	for _, c := range compileCases {
		exprs = append(exprs, c.expr)
	}
	for _, c := range execCases {
		exprs = append(exprs, c.expr)
	}
	for name, f := range map[string]zetasql.Flavor{"bigquery": zetasql.BigQuery, "snowflake": zetasql.Snowflake} {
		t.Run(name, func(t *testing.T) {
			a := zetasql.StartForTest(t, f)
			d, err := dialect.Get(name)
			require.NoError(t, err)
			for _, expr := range exprs {
				c, err := Compile(expr, testColumns, d)
				require.NoError(t, err, expr)
				where, err := bindLiterals(c, d)
				require.NoError(t, err, expr)
				if name == "snowflake" {
					// Fivetran's Snowflake fork lacks Snowflake's STARTSWITH
					// (it has ENDSWITH and CONTAINS); it knows GoogleSQL's
					// STARTS_WITH, which takes the same arguments.
					where = strings.ReplaceAll(where, "STARTSWITH(", "STARTS_WITH(")
				}
				stmt := "SELECT * FROM " + d.Table("shop", "t") + " WHERE " + where
				require.NoError(t, a.Analyze(context.Background(), stmt, []zetasql.Table{zetaTable}), "%s\n%s", expr, stmt)
			}
			// The check has teeth: a filter that is not boolean SQL, or
			// names an unknown column, is rejected.
			for _, bad := range []string{
				"SELECT * FROM " + d.Table("shop", "t") + " WHERE " + d.QuoteIdent("segmnt") + " = 'a'",
				"SELECT * FROM " + d.Table("shop", "t") + " WHERE " + d.QuoteIdent("recency_days") + " + 1",
			} {
				require.Error(t, a.Analyze(context.Background(), bad, []zetasql.Table{zetaTable}), bad)
			}
		})
	}
}
