package report_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
	"github.com/segflow/segflow/sql/zetasql"
)

// recorder is a warehouse that answers every query with no rows and
// keeps the SQL it was asked.
type recorder struct {
	core.Warehouse
	queries []string
}

func (r *recorder) Query(_ context.Context, sql string, _ ...any) (array.RecordReader, error) {
	r.queries = append(r.queries, sql)
	return array.NewRecordReader(arrow.NewSchema(nil, nil), nil)
}

var zetaKinds = map[dialect.Type]string{
	dialect.String: "STRING", dialect.Int64: "INT64", dialect.Float64: "DOUBLE",
	dialect.Bool: "BOOL", dialect.Date: "DATE", dialect.Timestamp: "TIMESTAMP",
}

// TestReportsAnalyze analyses the report queries as BigQuery and
// Snowflake would compile them, after the statements that create the
// model tables they read.
func TestReportsAnalyze(t *testing.T) {
	reports := map[string]func(context.Context, core.Warehouse, dialect.Dialect, string) ([]*report.Table, error){
		"rfm":       report.RFM,
		"lifecycle": report.Lifecycle,
		"cohort":    report.Cohort,
		"holdout":   report.Holdout,
	}
	for _, f := range []zetasql.Flavor{zetasql.BigQuery, zetasql.Snowflake} {
		t.Run(f.String(), func(t *testing.T) {
			a, d, o, tables := analyzerFor(t, f)
			for model, rep := range reports {
				t.Run(model, func(t *testing.T) {
					var stmts []models.Statement
					var err error
					if model == "holdout" {
						stmts, err = holdoutStatements(o)
					} else {
						stmts, err = models.Render(model, o)
					}
					require.NoError(t, err)
					rec := &recorder{}
					_, err = rep(context.Background(), rec, d, o.OutputSchema)
					require.NoError(t, err)
					require.NotEmpty(t, rec.queries)
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
				})
			}
		})
	}
}

// analyzerFor starts the analyzer of flavor f and returns it with the
// dialect, model options over shop.* source tables, and those tables as
// the analyzer's catalog.
func analyzerFor(t *testing.T, f zetasql.Flavor) (*zetasql.Analyzer, dialect.Dialect, models.Options, []zetasql.Table) {
	a := zetasql.StartForTest(t, f)
	d, err := dialect.Get(f.String())
	require.NoError(t, err)
	o := models.Options{
		Dialect:      d,
		OutputSchema: "proj.segflow",
		AsOf:         time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		Sources:      map[string]models.Source{},
	}
	var tables []zetasql.Table
	for _, name := range []string{"customers", "orders", "order_lines", "products"} {
		o.Sources[name] = models.Source{Table: "shop." + name}
		tbl := zetasql.Table{Name: "shop." + name}
		for _, c := range models.LogicalColumns(name) {
			tbl.Columns = append(tbl.Columns, zetasql.Column{Name: c.Name, Type: zetaKinds[c.Type]})
		}
		tables = append(tables, tbl)
	}
	return a, d, o, tables
}

// holdoutStatements builds what holdout_results reads (orders_clean, a
// segment and its membership history) and holdout_results itself.
func holdoutStatements(o models.Options) ([]models.Statement, error) {
	stmts, err := models.Render("rfm", o)
	if err != nil {
		return nil, err
	}
	seg, err := models.RenderSegment(models.SegmentSpec{Name: "vip", Model: "rfm", Holdout: 0.1}, o)
	if err != nil {
		return nil, err
	}
	s, err := models.NewSync(o.Dialect, o.OutputSchema, "vip", "", nil, "r", o.AsOf)
	if err != nil {
		return nil, err
	}
	setup, err := s.Setup()
	if err != nil {
		return nil, err
	}
	holdout, err := models.RenderHoldoutResults(o)
	if err != nil {
		return nil, err
	}
	stmts = append(stmts, seg, models.Statement{SQL: setup[0]}, holdout)
	return stmts, nil
}
