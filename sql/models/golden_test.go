package models

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenOptions is a realistic configuration: renamed columns, a
// qualified table, a source given as SQL and a missing optional column.
func goldenOptions(d dialect.Dialect) Options {
	return Options{
		Dialect:      d,
		OutputSchema: "segflow",
		AsOf:         time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		Sources: map[string]Source{
			"customers": {
				SQL:     "SELECT id AS cid, email_address FROM crm.contacts WHERE NOT deleted",
				Columns: map[string]string{"customer_id": "cid", "email": "email_address"},
			},
			"orders": {
				Table:   "shop.orders",
				Columns: map[string]string{"revenue": "total_amount"},
				Missing: []string{"store_id"},
			},
			"order_lines": {Table: "shop.order_lines", Columns: map[string]string{"revenue": "line_total"}},
			"products":    {Table: "catalog.products", Missing: []string{"brand"}},
			"touchpoints": {Table: "mkt.touchpoints", Columns: map[string]string{"occurred_at": "touched_at"}, Missing: []string{"campaign"}},
		},
	}
}

func goldenOptionsFor(t *testing.T, dialectName string) Options {
	t.Helper()
	d, err := dialect.Get(dialectName)
	require.NoError(t, err)
	return goldenOptions(d)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), got, "rendered SQL differs from %s; review and run go test -update", path)
}

func joinStatements(stmts ...Statement) string {
	var b strings.Builder
	for _, s := range stmts {
		b.WriteString("-- " + s.Model + ": " + s.Name + "\n")
		b.WriteString(s.SQL + ";\n\n")
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, name := range dialect.Names() {
		d, err := dialect.Get(name)
		require.NoError(t, err)
		o := goldenOptions(d)
		for _, model := range Models() {
			stmts, err := Render(model, o)
			require.NoError(t, err)
			checkGolden(t, model+"."+name+".sql", joinStatements(stmts...))
		}
		seg, err := RenderSegment(SegmentSpec{
			Name:       "vip",
			Model:      "rfm",
			Where:      "segment IN ('Champions', 'Loyal') AND monetary > 100",
			Attributes: []string{"segment", "monetary", "loyalty"},
		}, o)
		require.NoError(t, err)
		checkGolden(t, "segment.rfm."+name+".sql", joinStatements(seg))
	}
}
