package report_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/attribution"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
	"github.com/segflow/segflow/sql/zetasql"
)

// modelLister answers the attribution report's query for the models
// present with every model, and every other query with no rows; it
// keeps the SQL it was asked.
type modelLister struct {
	core.Warehouse
	queries []string
}

func (r *modelLister) Query(_ context.Context, sql string, _ ...any) (array.RecordReader, error) {
	r.queries = append(r.queries, sql)
	if !strings.HasPrefix(sql, "SELECT DISTINCT model") {
		return array.NewRecordReader(arrow.NewSchema(nil, nil), nil)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "model", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for _, m := range []string{"shapley", "linear", "first_touch", "markov", "last_touch", "time_decay", "position_based", "custom_position"} {
		b.Field(0).(*array.StringBuilder).Append(m)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewRecordReader(schema, []arrow.RecordBatch{rec})
}

// TestAttributionAffinityReportsAnalyze analyses the attribution and
// affinity report queries as BigQuery and Snowflake would compile them,
// after the statements that create the tables they read.
func TestAttributionAffinityReportsAnalyze(t *testing.T) {
	for _, f := range []zetasql.Flavor{zetasql.BigQuery, zetasql.Snowflake} {
		t.Run(f.String(), func(t *testing.T) {
			a := zetasql.StartForTest(t, f)
			d, err := dialect.Get(f.String())
			require.NoError(t, err)
			o := models.Options{
				Dialect:      d,
				OutputSchema: "proj.segflow",
				AsOf:         time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
				Sources:      map[string]models.Source{},
				Attribution:  models.AttributionOptions{PositionWeights: &models.PositionWeights{First: 1, Middle: 1, Last: 1}},
			}
			var tables []zetasql.Table
			for _, name := range models.LogicalTables() {
				o.Sources[name] = models.Source{Table: "shop." + name}
				tbl := zetasql.Table{Name: "shop." + name}
				for _, c := range models.LogicalColumns(name) {
					tbl.Columns = append(tbl.Columns, zetasql.Column{Name: c.Name, Type: zetaKinds[c.Type]})
				}
				tables = append(tables, tbl)
			}
			for model, rep := range map[string]func(context.Context, core.Warehouse, dialect.Dialect, string) ([]*report.Table, error){
				"attribution": report.Attribution,
				"affinity":    report.Affinity,
			} {
				t.Run(model, func(t *testing.T) {
					stmts, err := models.Render(model, o)
					require.NoError(t, err)
					if model == "attribution" {
						res, err := models.RenderAttributionResults(o,
							attribution.Result{Model: "markov", Shares: map[string]float64{"email": 1}},
							attribution.Result{Model: "shapley", Shares: map[string]float64{"email": 1}})
						require.NoError(t, err)
						stmts = append(stmts, res...)
					}
					rec := &modelLister{}
					_, err = rep(context.Background(), rec, d, o.OutputSchema)
					require.NoError(t, err)
					var sqls []string
					for _, s := range stmts {
						sqls = append(sqls, s.SQL)
					}
					err = a.AnalyzeAll(context.Background(), append(sqls, rec.queries...), tables)
					var ae *zetasql.AnalysisError
					if errors.As(err, &ae) {
						t.Fatalf("%v in\n%s", ae, ae.SQL)
					}
					require.NoError(t, err)
					if model == "attribution" {
						require.Contains(t, rec.queries[1], "AS "+d.QuoteIdent("custom_position"))
					}
				})
			}
		})
	}
}
