package report_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
	"github.com/segflow/segflow/sql/zetasql"
)

// boundRecorder keeps the SQL it is asked with each ? replaced by its
// parameter as a literal, since the analyzer takes no parameters.
type boundRecorder struct {
	core.Warehouse
	d       dialect.Dialect
	queries []string
}

func (r *boundRecorder) Query(_ context.Context, sql string, params ...any) (array.RecordReader, error) {
	for _, p := range params {
		lit := fmt.Sprint(p)
		if s, ok := p.(string); ok {
			lit = r.d.StringLiteral(s)
		}
		sql = strings.Replace(sql, dialect.Placeholder, lit, 1)
	}
	r.queries = append(r.queries, sql)
	return array.NewRecordReader(arrow.NewSchema(nil, nil), nil)
}

// TestUIReadsAnalyze analyses the web UI's reads as BigQuery and
// Snowflake would compile them, after the statements that create the
// rfm and affinity tables.
func TestUIReadsAnalyze(t *testing.T) {
	for _, f := range []zetasql.Flavor{zetasql.BigQuery, zetasql.Snowflake} {
		t.Run(f.String(), func(t *testing.T) {
			a, d, o, tables := analyzerFor(t, f)
			stmts, err := models.RenderModels([]string{"rfm", "affinity"}, o)
			require.NoError(t, err)
			var sqls []string
			for _, s := range stmts {
				sqls = append(sqls, s.SQL)
			}

			ctx := context.Background()
			rec := &boundRecorder{d: d}
			schema := o.OutputSchema
			_, err = report.RFMMatrix(ctx, rec, d, schema)
			require.NoError(t, err)
			_, _, err = report.RFMCustomers(ctx, rec, d, schema, report.RFMFilter{R: 5, F: 4, Segment: "Can't lose them"}, 200)
			require.NoError(t, err)
			for _, k := range report.DecileKinds {
				_, err = report.DecileView(ctx, rec, d, schema, k)
				require.NoError(t, err)
			}
			_, err = report.LoyaltyClasses(ctx, rec, d, schema)
			require.NoError(t, err)
			for _, s := range report.AffinitySorts {
				_, err = report.AffinityRules(ctx, rec, d, schema, report.AffinityQuery{Level: "brand", SegmentType: "season", SegmentValue: "Q4", Sort: s, Asc: true})
				require.NoError(t, err)
			}
			_, _, err = report.AffinityFacets(ctx, rec, d, schema)
			require.NoError(t, err)
			_, err = report.NextCategories(ctx, rec, d, schema, 25)
			require.NoError(t, err)

			err = a.AnalyzeAll(ctx, append(sqls, rec.queries...), tables)
			var ae *zetasql.AnalysisError
			if errors.As(err, &ae) {
				t.Fatalf("%v in\n%s", ae, ae.SQL)
			}
			require.NoError(t, err)
		})
	}
}
