package models

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
)

// TestSourceMapping runs rfm and a segment over sources whose names
// differ from the logical ones: orders in a table with other column
// names, quotes and spaces in its schema and table names, and missing
// optional columns; customers given as SQL; an output schema that needs
// quoting.
func TestSourceMapping(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	exec(t, db,
		`CREATE SCHEMA "my shop"`,
		`CREATE SCHEMA "seg ""out"""`,
		`CREATE TABLE "my shop"."sales ""eu""" (id INTEGER, cust VARCHAR, ts TIMESTAMP, amount DOUBLE)`,
		`INSERT INTO "my shop"."sales ""eu""" VALUES
			(1, 'A', '2024-06-01 10:00:00', 10.5),
			(2, 'A', '2024-06-10 10:00:00', 20.0),
			(3, 'B', '2024-01-01 10:00:00', 5.0),
			(4, 'C', '2024-06-29 10:00:00', -3.0)`,
		`CREATE TABLE raw.crm_clients (client_no VARCHAR, mail VARCHAR, active BOOLEAN)`,
		`INSERT INTO raw.crm_clients VALUES ('A', 'a@example.com', true), ('B', 'b@example.com', true), ('C', 'c@example.com', false)`,
	)
	o := Options{
		Dialect:      dialect.DuckDB{},
		OutputSchema: `seg "out"`,
		AsOf:         asOf,
		Sources: map[string]Source{
			"orders": {
				Table:   `my shop.sales "eu"`,
				Columns: map[string]string{"order_id": "id", "customer_id": "cust", "ordered_at": "ts", "revenue": "amount"},
				Missing: []string{"sales_channel", "store_id", "status"},
			},
			"customers": {
				// A trailing comment and semicolon, as people paste them.
				SQL:     "SELECT client_no AS cid, mail FROM raw.crm_clients\nWHERE active -- only live accounts\n;\n",
				Columns: map[string]string{"customer_id": "cid", "email": "mail"},
			},
		},
	}
	stmts, err := Render("rfm", o)
	require.NoError(t, err)
	execStatements(t, db, stmts)

	got := readRFM(t, db, `"seg ""out"""."rfm"`)
	// A: last order 2024-06-10 -> 20 days, 2 orders, 30.5. B: 2024-01-01 ->
	// 181 days, 1 order, 5. C's only row is a refund: not in the population.
	require.Len(t, got, 2)
	require.Equal(t, [3]float64{20, 2, 30.5}, [3]float64{float64(got["A"].Recency), float64(got["A"].Frequency), got["A"].Monetary})
	require.Equal(t, [3]float64{181, 1, 5}, [3]float64{float64(got["B"].Recency), float64(got["B"].Frequency), got["B"].Monetary})

	// Missing columns are NULL, and C (inactive, so filtered out by the
	// customers SQL) is an orphan.
	var nonNull, orphans int
	require.NoError(t, db.QueryRow(`SELECT COUNT(sales_channel) + COUNT(store_id) FROM "seg ""out"""."orders_clean"`).Scan(&nonNull))
	require.Zero(t, nonNull)
	require.NoError(t, db.QueryRow(`SELECT rows_affected FROM "seg ""out"""."data_quality" WHERE rule = 'orphan_customer'`).Scan(&orphans))
	require.Equal(t, 1, orphans)

	// The table has exactly the columns OutputColumns promises, which is
	// what segment attributes are checked against.
	cols, err := OutputColumns("rfm")
	require.NoError(t, err)
	rows, err := db.Query(`SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'seg "out"' AND table_name = 'rfm' ORDER BY ordinal_position`)
	require.NoError(t, err)
	var actual []string
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		actual = append(actual, c)
	}
	require.NoError(t, rows.Close())
	require.Equal(t, cols, actual)

	seg, err := RenderSegment(SegmentSpec{Name: "big spenders", Model: "rfm", Where: "monetary > 10", Attributes: []string{"frequency"}}, o)
	require.NoError(t, err)
	exec(t, db, seg.SQL)
	var id, email string
	var freq int
	require.NoError(t, db.QueryRow(`SELECT customer_id, email, frequency FROM "seg ""out"""."segment_big spenders"`).Scan(&id, &email, &freq))
	require.Equal(t, []any{"A", "a@example.com", 2}, []any{id, email, freq})
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	valid := func() Options { return duckdbOptions() }
	cases := []struct {
		name   string
		modify func(*Options)
		model  string
		want   string
	}{
		{"unknown model", nil, "ltv", `unknown model "ltv" (known: `},
		{"no dialect", func(o *Options) { o.Dialect = nil }, "rfm", "Dialect is required"},
		{"no as_of", func(o *Options) { o.AsOf = time.Time{} }, "rfm", "AsOf is required"},
		{"no orders", func(o *Options) { delete(o.Sources, "orders") }, "rfm", "source orders is required"},
		{"table and sql", func(o *Options) { o.Sources["orders"] = Source{Table: "a", SQL: "SELECT 1"} }, "rfm", "exactly one of Table and SQL"},
		{"neither table nor sql", func(o *Options) { o.Sources["orders"] = Source{} }, "rfm", "exactly one of Table and SQL"},
		{"empty name part", func(o *Options) { o.Sources["orders"] = Source{Table: "shop..orders"} }, "rfm", "empty name part"},
		{"unknown source", func(o *Options) { o.Sources["sessions"] = Source{Table: "s"} }, "rfm", `"sessions" is not a logical table`},
		{"unknown column", func(o *Options) {
			o.Sources["orders"] = Source{Table: "o", Columns: map[string]string{"revenu": "amount"}}
		}, "rfm", `"revenu" is not a column`},
		{"required column missing", func(o *Options) {
			o.Sources["orders"] = Source{Table: "o", Missing: []string{"revenue"}}
		}, "rfm", "required column revenue is missing"},
		{"window", func(o *Options) { o.RFM.WindowMonths = -1 }, "rfm", "WindowMonths must be between 1 and 1200"},
		{"bad range", func(o *Options) {
			o.RFM.SegmentMap = []SegmentRule{{Name: "all", RLo: 0, RHi: 5, FLo: 1, FHi: 5}}
		}, "rfm", "1 <= lo <= hi <= 5"},
		{"map does not cover", func(o *Options) {
			o.RFM.SegmentMap = DefaultSegmentMap()[1:] // without Champions
		}, "rfm", "does not cover R5 F4, R5 F5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := valid()
			if c.modify != nil {
				c.modify(&o)
			}
			_, err := Render(c.model, o)
			require.ErrorContains(t, err, c.want)
		})
	}

	segCases := []struct {
		spec SegmentSpec
		want string
	}{
		{SegmentSpec{Name: "x", Model: "ltv"}, `unknown model "ltv"`},
		{SegmentSpec{Name: "x", Model: "cohort"}, "model cohort has no per-customer table"},
		{SegmentSpec{Model: "rfm"}, "name is required"},
		{SegmentSpec{Name: "x", Model: "rfm", Attributes: []string{"segment", "phone"}}, `"phone" is not a column of model rfm`},
	}
	for _, c := range segCases {
		_, err := RenderSegment(c.spec, valid())
		require.ErrorContains(t, err, c.want)
	}
}

func TestDefaultSegmentMap(t *testing.T) {
	t.Parallel()
	require.NoError(t, validateSegmentMap(DefaultSegmentMap()))
	names := map[string]bool{}
	for _, r := range DefaultSegmentMap() {
		names[r.Name] = true
	}
	// The eleven segments of DESIGN.md section 5; each is reachable.
	for _, n := range []string{"Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention",
		"About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost"} {
		require.True(t, names[n], n)
		reachable := false
		for r := 1; r <= 5; r++ {
			for f := 1; f <= 5; f++ {
				for _, rule := range DefaultSegmentMap() {
					if rule.Matches(r, f) {
						reachable = reachable || rule.Name == n
						break
					}
				}
			}
		}
		require.True(t, reachable, "%s is shadowed by earlier rules", n)
	}
}

func TestMonthsBefore(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{d(2024, 6, 30), 12, d(2023, 6, 30)},
		{d(2024, 6, 30), 13, d(2023, 5, 30)},
		{d(2024, 3, 31), 1, d(2024, 2, 29)}, // clamped to the leap day
		{d(2023, 3, 31), 1, d(2023, 2, 28)},
		{d(2024, 1, 15), 13, d(2022, 12, 15)},
		{d(2024, 2, 29), 12, d(2023, 2, 28)},
	} {
		require.Equal(t, c.want, monthsBefore(c.from, c.n), "%s minus %d months", c.from.Format(time.DateOnly), c.n)
	}
}

// TestDialectTemplateOverride checks that a dialect's own file replaces
// the ANSI file of the same path, also when included by another.
func TestDialectTemplateOverride(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"t/ansi/x/outer.sql.tmpl":   {Data: []byte(`outer {{template "x/inner.sql.tmpl" .}}`)},
		"t/ansi/x/inner.sql.tmpl":   {Data: []byte(`ansi inner`)},
		"t/duckdb/x/inner.sql.tmpl": {Data: []byte(`duckdb inner`)},
	}
	for dialectName, want := range map[string]string{"duckdb": "outer duckdb inner", "snowflake": "outer ansi inner"} {
		tmpl, err := loadTemplates(fsys, "t", dialectName, template.FuncMap{})
		require.NoError(t, err)
		var b strings.Builder
		require.NoError(t, tmpl.ExecuteTemplate(&b, "x/outer.sql.tmpl", nil))
		require.Equal(t, want, b.String())
	}
}

// TestFixedNamesArePlain guards the rule that names segflow chooses
// itself are written bare in templates: they must be plain lower-case
// identifiers that mean the same quoted or not, in every dialect.
func TestFixedNamesArePlain(t *testing.T) {
	t.Parallel()
	plain := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var names []string
	for _, table := range LogicalTables() {
		for _, c := range LogicalColumns(table) {
			names = append(names, c.Name)
		}
	}
	for _, m := range Models() {
		cols, err := OutputColumns(m)
		require.NoError(t, err)
		names = append(names, cols...)
	}
	for _, r := range DataQualityRules() {
		names = append(names, r.Name)
	}
	for _, n := range names {
		require.Regexp(t, plain, n)
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	require.Subset(t, Models(), []string{"rfm", "clv"})
}
