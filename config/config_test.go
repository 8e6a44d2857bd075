package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// minimal is the smallest valid config; tests append sections to it.
const minimal = `version: 1
warehouse:
  plugin: duckdb
sources:
  customers:
    table: shop.customers
  orders:
    table: shop.orders
`

func TestLoadValid(t *testing.T) {
	t.Parallel()
	c, err := Load("testdata/valid.yaml")
	require.NoError(t, err)

	require.Equal(t, "testdata/valid.yaml", c.File())
	require.Equal(t, 1, c.Version)
	require.Equal(t, "acme-retail", c.Project)
	require.Equal(t, "Europe/Paris", c.Timezone)
	require.Equal(t, "duckdb", c.Warehouse.Plugin)
	require.Equal(t, "segflow_prod", c.Warehouse.OutputSchema)

	require.Equal(t, "shop.customers", c.Sources.Customers.Table)
	require.Equal(t, "email_address", c.Sources.Customers.Column("email"))
	require.Equal(t, "country", c.Sources.Customers.Column("country"), "unmapped columns keep their name")
	require.Equal(t, "SELECT * FROM shop.orders WHERE status <> 'test'\n", c.Sources.Orders.SQL)
	require.Equal(t, "total_amount", c.Sources.Table("orders").Column("revenue"))
	require.Nil(t, c.Sources.Table("nope"))

	require.Equal(t, "2024-06-30", c.Models.AsOf)
	require.Equal(t, 24, c.Models.RFM.WindowMonths)
	require.Equal(t, []SegmentRule{{"Best", "4-5", "4-5"}, {"Rest", "1-5", "1-5"}}, c.Models.RFM.SegmentMap)

	require.Len(t, c.Segments, 2)
	vip := c.Segment("best_customers")
	require.NotNil(t, vip)
	require.Equal(t, []string{"email", "recency_days", "monetary"}, vip.Attributes)
	require.Equal(t, []string{"exports", "crm"}, vip.Destinations)
	require.Nil(t, c.Segment("nope"))

	require.Equal(t, "file", c.Destination("exports").Plugin)
	require.Equal(t, KindDestination, c.Plugin(c.Destination("crm").Plugin).Kind)
	require.Nil(t, c.Plugin("duckdb"), "built-ins have no plugins entry")

	require.Equal(t, 30*time.Minute, c.Job("nightly").Timeout)
	require.Equal(t, "0 3 * * *", c.Job("nightly").Schedule)
	require.Equal(t, DefaultJobTimeout, c.Job("refresh").Timeout, "default timeout")
	require.Nil(t, c.Job("nope"))

	// Positions: lines counted in testdata/valid.yaml.
	require.Equal(t, Position{Line: 7, Column: 3}, c.Pos("warehouse.plugin"))
	require.Equal(t, Position{Line: 29, Column: 7}, c.Pos("sources.orders.columns.revenue"))
	require.Equal(t, 54, c.Pos("segments[1].where").Line)
	require.Equal(t, Position{Line: 60, Column: 7}, c.Pos("destinations[0].config.dir"))
	require.Equal(t, 57, c.Pos("destinations[0]").Line)
	require.Equal(t, Position{}, c.Pos("jobs[1].timeout"), "defaulted fields are not in the file")

	// Paths resolve against the config's directory.
	dir, err := filepath.Abs("testdata")
	require.NoError(t, err)
	require.Equal(t, dir, c.Dir)
	require.Equal(t, filepath.Join(dir, "plugins", "segflow-acme-crm"), c.Resolve(c.Plugins[0].Path))
	require.Equal(t, "/opt/x", c.Resolve("/opt/x"))
	require.Equal(t, "", c.Resolve(""))

	// Plugin config reaches the plugin as JSON.
	wh, err := c.Warehouse.ConfigJSON()
	require.NoError(t, err)
	require.JSONEq(t, `{"path": "./warehouse.duckdb", "threads": 4}`, string(wh))
	dest, err := c.PluginConfigJSON(c.Destination("exports").Config)
	require.NoError(t, err)
	require.JSONEq(t, `{"dir": "./out", "format": "csv"}`, string(dest))
	dest, err = c.Destination("crm").ConfigJSON()
	require.NoError(t, err)
	require.JSONEq(t, `{"api_key": "not-a-real-key"}`, string(dest))

	// Errorf places later checks at the field's line, or its parent's.
	err = c.Errorf("sources.orders.columns.revenue", "column %q not found", "total_amount")
	require.EqualError(t, err, `testdata/valid.yaml:29:7: sources.orders.columns.revenue: column "total_amount" not found`)
	err = c.Errorf("sources.orders.columns.status", "missing")
	require.EqualError(t, err, `testdata/valid.yaml:28:5: sources.orders.columns.status: missing`)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(minimal+"jobs:\n  - name: j\n    models: [rfm]\n"), "segflow.yaml")
	require.NoError(t, err)
	require.Equal(t, "UTC", c.Timezone)
	require.Equal(t, "segflow", c.Warehouse.OutputSchema)
	require.Equal(t, 12, c.Models.RFM.WindowMonths)
	require.Equal(t, time.Hour, c.Jobs[0].Timeout)
	require.Equal(t, DefaultSegmentMap, c.Models.RFM.SegmentMap)
	c.Models.RFM.SegmentMap[0].Name = "changed"
	require.Equal(t, "Champions", DefaultSegmentMap[0].Name, "the default map is copied, not shared")

	js, err := c.Warehouse.ConfigJSON()
	require.NoError(t, err)
	require.Equal(t, "{}", string(js))
}

// TestInvalid loads each testdata/invalid_*.yaml and checks the single
// error it yields: its line (counted by hand in the fixture), its field
// path and its message.
func TestInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		line int
		path string
		msg  string
	}{
		{"invalid_unknown_top_key.yaml", 9, "", `unknown field "segmnts" (did you mean "segments"?)`},
		{"invalid_unknown_nested_key.yaml", 9, "sources.orders", `unknown field "colums" (did you mean "columns"?)`},
		{"invalid_wrong_type.yaml", 12, "segments[0].attributes", `expected a list, got the string "email"`},
		{"invalid_bad_duration.yaml", 12, "jobs[0].timeout", `invalid duration "2 hours"`},
		{"invalid_logical_column.yaml", 11, "sources.orders.columns.revnue", `unknown column "revnue" of logical table orders (did you mean "revenue"?)`},
		{"invalid_missing_source.yaml", 4, "sources.orders", "required"},
		{"invalid_unset_env.yaml", 6, "warehouse.config.credentials_file", "environment variable SEGFLOW_TEST_SURELY_UNSET is not set"},
		{"invalid_segment_destination.yaml", 12, "segments[0].destinations[1]", `unknown destination "mailchimp" (defined: exports)`},
		{"invalid_segment_map.yaml", 11, "models.rfm.segment_map", "not covered: r=3,f=1 r=3,f=2 r=3,f=4 r=3,f=5 r=4,f=1 r=4,f=2 r=5,f=1 r=5,f=2"},
		{"invalid_sha256.yaml", 8, "plugins[0].sha256", `want the 64 hex digits`},
		{"invalid_source_table_and_sql.yaml", 7, "sources.orders", "set only one of table and sql"},
		{"invalid_version.yaml", 1, "version", "unsupported version 2"},
		{"invalid_job_unknown_segment.yaml", 14, "jobs[0].segments[1]", `unknown segment "vips" (did you mean "vip"?)`},
		{"invalid_warehouse_plugin.yaml", 3, "warehouse.plugin", `unknown warehouse plugin "duckbd" (did you mean "duckdb"?)`},
	}
	files, err := filepath.Glob("testdata/invalid_*.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(cases), "every invalid fixture has a case")

	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tc.file)
			c, err := Load(path)
			require.Error(t, err)
			require.Nil(t, c)

			errs := unjoin(err)
			require.Len(t, errs, 1, "want exactly one problem, got:\n%v", err)
			var fe *FieldError
			require.True(t, errors.As(errs[0], &fe), "%T is not a *FieldError", errs[0])
			require.Equal(t, path, fe.File)
			require.Equal(t, tc.line, fe.Line, "line of %v", err)
			require.Equal(t, tc.path, fe.Path)
			require.Contains(t, fe.Msg, tc.msg)

			prefix := path + ":" + strconv.Itoa(tc.line) + ":"
			require.True(t, strings.HasPrefix(err.Error(), prefix), "%q does not start with %q", err, prefix)
			require.Contains(t, err.Error(), tc.path)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	y := `version: 1
timezone: Mars/Olympus
warehouse:
  plugin: ext
plugins:
  - name: ext
    kind: destination
    path: ""
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  - name: ext
    kind: source
    path: ./x
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
sources:
  customers: {}
  orders: {table: o}
models:
  as_of: 30/06/2024
  rfm:
    window_months: 0
segments:
  - name: VIP
    model: ltv
    attributes: ["e-mail", email, email]
  - name: VIP
    holdout: 1.5
destinations:
  - name: out
    plugin: ext
jobs:
  - name: j
    timeout: -5m
    schedule: every day
  - name: j
    models: [rmf]
`
	_, err := Parse([]byte(y), "segflow.yaml")
	require.Error(t, err)
	want := []string{
		"segflow.yaml:2:1: timezone: unknown time zone",
		"segflow.yaml:8:5: plugins[0].path: required",
		"segflow.yaml:10:5: plugins[1].name: duplicate name \"ext\"",
		"segflow.yaml:11:5: plugins[1].kind: unknown kind \"source\"",
		"segflow.yaml:4:3: warehouse.plugin: plugin \"ext\" is a destination plugin, not a warehouse plugin",
		"segflow.yaml:15:3: sources.customers: set table or sql",
		"segflow.yaml:18:3: models.as_of: want a date as YYYY-MM-DD",
		"segflow.yaml:20:5: models.rfm.window_months: must be between 1 and 120, got 0",
		"segflow.yaml:22:5: segments[0].name: \"VIP\" is not a valid name",
		"segflow.yaml:23:5: segments[0].model: model \"ltv\" (did you mean \"clv\"?) has no row per customer to filter",
		"segflow.yaml:24:18: segments[0].attributes[0]: \"e-mail\" is not a column name",
		"segflow.yaml:24:35: segments[0].attributes[2]: duplicate attribute \"email\"",
		"segflow.yaml:25:5: segments[1].name: duplicate name \"VIP\"",
		"segflow.yaml:25:5: segments[1].model: required",
		"segflow.yaml:26:5: segments[1].holdout: 1.5 is not a share",
		"segflow.yaml:31:5: jobs[0]: a job needs at least one entry under models or segments",
		"segflow.yaml:32:5: jobs[0].timeout: must be positive, got -5m0s",
		"segflow.yaml:33:5: jobs[0].schedule: \"every day\" is not a cron expression",
		"segflow.yaml:34:5: jobs[1].name: duplicate name \"j\"",
		"segflow.yaml:35:14: jobs[1].models[0]: unknown model \"rmf\" (did you mean \"rfm\"?)",
	}
	for _, w := range want {
		require.Contains(t, err.Error(), w)
	}
	require.Len(t, unjoin(err), len(want), "unexpected extra problems:\n%v", err)
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/does-not-exist.yaml")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), "config file testdata/does-not-exist.yaml not found")
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, yaml, want string }{
		{"syntax", "version: [1\n", "x.yaml:1:10:"},
		{"not a mapping", "- a\n- b\n", "x.yaml:1:1: expected a mapping, got a list"},
		{"two documents", "version: 1\n---\nversion: 1\n", "x.yaml:3:1: more than one YAML document"},
		{"duplicate key", minimal + "version: 1\n", "x.yaml:9:1:"},
		{"string for mapping", minimal + "models: rfm\n", "x.yaml:9:9: models: expected a mapping, got the string \"rfm\""},
		{"mapping for string", minimal + "project: {a: b}\n", "x.yaml:9:10: project: expected a string, got a mapping"},
		{"string for integer", minimal + "models:\n  rfm:\n    window_months: twelve\n", "x.yaml:11:20: models.rfm.window_months: expected an integer, got \"twelve\""},
		{"number for duration", minimal + "jobs:\n  - name: j\n    models: [rfm]\n    timeout: 60\n", "x.yaml:12:14: jobs[0].timeout: expected a duration such as 90s, 30m or 2h, got the number 60"},
		{"explicit zero timeout", minimal + "jobs:\n  - name: j\n    models: [rfm]\n    timeout: 0s\n", "x.yaml:12:5: jobs[0].timeout: must be positive, got 0s"},
		{"empty segment map", minimal + "models:\n  rfm:\n    segment_map: []\n", "x.yaml:11:5: models.rfm.segment_map: rules must cover all 25 (R, F) cells"},
		{"merge after override", minimal + "  products: &p {table: p}\n  touchpoints:\n    table: t\n    <<: *p\n",
			`sources.touchpoints: key "table" comes before the << merge that sets it; put << first`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), "x.yaml")
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	y := minimal + `  products: &src
    table: shop.products
    columns: {name: title}
  order_lines:
    table: shop.lines
destinations:
  - name: a
    plugin: file
    config: &files
      dir: ./out
      format: csv
  - name: b
    plugin: file
    config:
      <<: *files
      format: json
`
	c, err := Parse([]byte(y), "x.yaml")
	require.NoError(t, err)
	require.Equal(t, "title", c.Sources.Products.Column("name"))
	js, err := c.Destination("b").ConfigJSON()
	require.NoError(t, err)
	require.JSONEq(t, `{"dir": "./out", "format": "json"}`, string(js))
}

func TestAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(minimal + "destinations:\n  - name: d\n    plugin: file\n    config:\n")
	b.WriteString("      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), ", "))
	}
	_, err := Parse([]byte(b.String()), "x.yaml")
	require.ErrorContains(t, err, "aliases followed")
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("SEGFLOW_TEST_TOKEN", "s3cr3t-t0ken")
	t.Setenv("SEGFLOW_TEST_EMPTY", "")
	t.Setenv("SEGFLOW_TEST_MONTHS", "6")
	t.Setenv("SEGFLOW_TEST_KEY", "expanded-key")
	y := minimal + `project: "${SEGFLOW_TEST_UNSET_PROJECT:-demo}"
models:
  rfm:
    window_months: ${SEGFLOW_TEST_MONTHS}
destinations:
  - name: hook
    plugin: file
    config:
      token: Bearer ${SEGFLOW_TEST_TOKEN}
      dir: ${SEGFLOW_TEST_EMPTY:-./out}
      empty: "${SEGFLOW_TEST_EMPTY}"
      price: $$5 and $HOME and $${SEGFLOW_TEST_TOKEN}
      "${SEGFLOW_TEST_KEY}": keys are never expanded
      nested: [{v: "${SEGFLOW_TEST_TOKEN}"}]
`
	c, err := Parse([]byte(y), "x.yaml")
	require.NoError(t, err)
	require.Equal(t, "demo", c.Project)
	require.Equal(t, 6, c.Models.RFM.WindowMonths)

	cfg := c.Destination("hook").Config
	require.Equal(t, "Bearer s3cr3t-t0ken", cfg["token"])
	require.Equal(t, "./out", cfg["dir"], ":- applies to empty variables too")
	require.Equal(t, "", cfg["empty"])
	require.Equal(t, "$5 and $HOME and ${SEGFLOW_TEST_TOKEN}", cfg["price"])
	require.Equal(t, "keys are never expanded", cfg["${SEGFLOW_TEST_KEY}"])
	require.NotContains(t, cfg, "expanded-key")
	require.Equal(t, []any{map[string]any{"v": "s3cr3t-t0ken"}}, cfg["nested"])

	js, err := c.PluginConfigJSON(c.Destination("hook").Config)
	require.NoError(t, err)
	require.Contains(t, string(js), `"token":"Bearer s3cr3t-t0ken"`, "plugins get the real value")

	require.Equal(t, "auth failed for Bearer ***", c.Redact("auth failed for Bearer s3cr3t-t0ken"))
	require.Equal(t, "window 6", c.Redact("window 6"), "values shorter than 4 bytes are not redacted")
	require.Equal(t, "key expanded-key", c.Redact("key expanded-key"), "unexpanded keys are not secrets")
	require.Equal(t, "x", (*Config)(nil).Redact("x"))
	require.EqualError(t, c.Errorf("destinations[0].config.token", "plugin said: bad token %s", "s3cr3t-t0ken"),
		"x.yaml:17:7: destinations[0].config.token: plugin said: bad token ***")

	// A secret never appears in an error message either.
	t.Setenv("SEGFLOW_TEST_PLUGIN", "warehouse-secret")
	_, err = Parse([]byte(strings.Replace(minimal, "duckdb", "${SEGFLOW_TEST_PLUGIN}", 1)), "x.yaml")
	require.ErrorContains(t, err, `unknown warehouse plugin "***"`)
	t.Setenv("SEGFLOW_TEST_MONTHS", "sekret-months")
	_, err = Parse([]byte(y), "x.yaml")
	require.ErrorContains(t, err, `models.rfm.window_months: expected an integer, got "***"`)
}

func TestExpandEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"A": "alpha", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct{ in, out, err string }{
		{in: "plain", out: "plain"},
		{in: "${A}", out: "alpha"},
		{in: "x${A}y${A}", out: "xalphayalpha"},
		{in: "${MISSING:-dflt}", out: "dflt"},
		{in: "${MISSING:-}", out: ""},
		{in: "${EMPTY}", out: ""},
		{in: "${EMPTY:-d}", out: "d"},
		{in: "$$", out: "$"},
		{in: "$${A}", out: "${A}"},
		{in: "$$$${A}", out: "$${A}"},
		{in: "$A $1 trailing$", out: "$A $1 trailing$"},
		{in: "${MISSING}", err: "environment variable MISSING is not set"},
		{in: "${A", err: `unterminated "${"`},
		{in: "${}", err: `invalid variable name ""`},
		{in: "${1A}", err: `invalid variable name "1A"`},
		{in: "${A B}", err: `invalid variable name "A B"`},
	}
	for _, tc := range cases {
		out, _, err := expandEnv(tc.in, lookup)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.out, out, tc.in)
	}
	_, secrets, err := expandEnv("${A}-${MISSING:-d}", lookup)
	require.NoError(t, err)
	require.Equal(t, []string{"alpha"}, secrets, "defaults are not secrets")
}

func TestDefaultSegmentMap(t *testing.T) {
	t.Parallel()
	v := &validator{c: &Config{}}
	v.segmentMap(DefaultSegmentMap)
	require.Empty(t, v.errs, "the default map covers all 25 cells and every rule matches")

	first := func(r, f int) string {
		for _, rule := range DefaultSegmentMap {
			if rule.Matches(r, f) {
				return rule.Name
			}
		}
		return ""
	}
	require.Equal(t, "Champions", first(5, 5))
	require.Equal(t, "Loyal", first(3, 4))
	require.Equal(t, "Potential loyalist", first(4, 2))
	require.Equal(t, "New", first(5, 1))
	require.Equal(t, "Promising", first(4, 1))
	require.Equal(t, "Need attention", first(3, 3))
	require.Equal(t, "About to sleep", first(3, 1))
	require.Equal(t, "Can't lose them", first(1, 5))
	require.Equal(t, "At risk", first(2, 3))
	require.Equal(t, "Lost", first(1, 1))
	require.Equal(t, "Hibernating", first(2, 1))
	require.Equal(t, "Hibernating", first(1, 2))
}

func TestSegmentRuleRanges(t *testing.T) {
	t.Parallel()
	rLo, rHi, fLo, fHi, err := SegmentRule{R: "2-4", F: " 5 "}.Ranges()
	require.NoError(t, err)
	require.Equal(t, []int{2, 4, 5, 5}, []int{rLo, rHi, fLo, fHi})
	for _, bad := range []string{"", "0", "6", "4-2", "1-6", "a", "1-", "-1", "1-2-3"} {
		_, _, _, _, err := SegmentRule{R: bad, F: "1"}.Ranges()
		require.ErrorContains(t, err, "r: invalid score range", "%q", bad)
		_, _, _, _, err = SegmentRule{R: "1", F: bad}.Ranges()
		require.ErrorContains(t, err, "f: invalid score range", "%q", bad)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a.yaml:3:5: x.y: bad", (&FieldError{File: "a.yaml", Line: 3, Column: 5, Path: "x.y", Msg: "bad"}).Error())
	require.Equal(t, "a.yaml: x.y: bad", (&FieldError{File: "a.yaml", Path: "x.y", Msg: "bad"}).Error())
	require.Equal(t, "a.yaml:1:1: bad", (&FieldError{File: "a.yaml", Line: 1, Column: 1, Msg: "bad"}).Error())
	require.Equal(t, "x: bad", (&FieldError{Path: "x", Msg: "bad"}).Error())
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	names := []string{"segments", "sources", "version", "r", "f"}
	require.Equal(t, ` (did you mean "segments"?)`, didYouMean("segmnts", names))
	require.Equal(t, ` (did you mean "version"?)`, didYouMean("Version", names))
	require.Equal(t, "", didYouMean("x", names), "a one-letter key is not a typo of another")
	require.Equal(t, "", didYouMean("warehouses_config", names))
	require.Equal(t, "", didYouMean("a", nil))
}

// TestSchemaMatchesTypes walks the Config types and the JSON Schema
// together: every YAML key must be a schema property and vice versa, and
// every object must forbid additional properties, so the two cannot drift.
func TestSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	var schema map[string]any
	require.NoError(t, json.Unmarshal(Schema, &schema))
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", schema["$schema"])
	defs := schema["$defs"].(map[string]any)

	resolve := func(node map[string]any) map[string]any {
		for ref, ok := node["$ref"].(string); ok; ref, ok = node["$ref"].(string) {
			name, found := strings.CutPrefix(ref, "#/$defs/")
			require.True(t, found, "only local $defs refs: %s", ref)
			node = defs[name].(map[string]any)
		}
		return node
	}
	var walk func(path string, typ reflect.Type, node map[string]any)
	walk = func(path string, typ reflect.Type, node map[string]any) {
		node = resolve(node)
		switch typ.Kind() {
		case reflect.Pointer:
			walk(path, typ.Elem(), node)
		case reflect.Slice:
			items, ok := node["items"].(map[string]any)
			require.True(t, ok, "%s: schema has no items", path)
			walk(path+"[]", typ.Elem(), items)
		case reflect.Struct:
			if typ == reflect.TypeFor[time.Duration]() {
				return
			}
			require.Equal(t, false, node["additionalProperties"], "%s: additionalProperties must be false", path)
			props, _ := node["properties"].(map[string]any)
			var keys []string
			for f := range yamlFields(typ) {
				keys = append(keys, f.Name)
				prop, ok := props[f.Name].(map[string]any)
				require.True(t, ok, "%s: YAML key %q is missing from the schema", path, f.Name)
				walk(joinPath(path, f.Name), f.Type, prop)
			}
			for k := range props {
				require.Contains(t, keys, k, "%s: schema property %q is not a YAML key", path, k)
			}
		}
	}
	walk("", reflect.TypeFor[Config](), schema)
}

func TestSchemaLogicalColumns(t *testing.T) {
	t.Parallel()
	var schema struct {
		Defs map[string]struct {
			Properties struct {
				Columns struct {
					Properties map[string]any `json:"properties"`
				} `json:"columns"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(Schema, &schema))
	require.Len(t, LogicalTables, len(LogicalTableNames))
	for _, name := range LogicalTableNames {
		def, ok := schema.Defs["source_"+name]
		require.True(t, ok, "schema has no source_%s", name)
		var got []string
		for col := range def.Properties.Columns.Properties {
			got = append(got, col)
		}
		want := LogicalTables[name].Columns()
		slices.Sort(got)
		slices.Sort(want)
		require.Equal(t, want, got, "columns of %s", name)
	}
}

// TestSchemaBuiltinPlugins keeps the schema's lists of built-in plugins
// (offered for completion) equal to the ones the validator accepts.
func TestSchemaBuiltinPlugins(t *testing.T) {
	t.Parallel()
	var schema struct {
		Defs map[string]struct {
			Properties struct {
				Plugin struct {
					Description string `json:"description"`
					AnyOf       []struct {
						Enum []string `json:"enum"`
					} `json:"anyOf"`
				} `json:"plugin"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(Schema, &schema))
	for def, want := range map[string][]string{"warehouse": BuiltinWarehouses, "destination": BuiltinDestinations} {
		plugin := schema.Defs[def].Properties.Plugin
		require.NotEmpty(t, plugin.AnyOf, "%s.plugin has no anyOf", def)
		require.Equal(t, want, plugin.AnyOf[0].Enum, "%s.plugin enum", def)
		require.Contains(t, plugin.Description, "("+strings.Join(want, ", ")+")", "%s.plugin description", def)
	}
}

// TestBuiltinDestinations: a config names a built-in destination without
// a plugins entry, and an external plugin may not take a built-in's name.
func TestBuiltinDestinations(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"file", "mailchimp", "klaviyo", "braze", "sendgrid", "hubspot", "customerio", "webhook"}, BuiltinDestinations)
	var y strings.Builder
	y.WriteString(minimal + "destinations:\n")
	for _, name := range BuiltinDestinations {
		y.WriteString("  - name: to_" + name + "\n    plugin: " + name + "\n")
	}
	c, err := Parse([]byte(y.String()), "segflow.yaml")
	require.NoError(t, err)
	require.Equal(t, "hubspot", c.Destination("to_hubspot").Plugin)
	require.Nil(t, c.Plugin("hubspot"), "built-ins have no plugins entry")

	_, err = Parse([]byte(minimal+`plugins:
  - name: klaviyo
    kind: destination
    path: ./my-klaviyo
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
`), "segflow.yaml")
	require.EqualError(t, err, `segflow.yaml:10:5: plugins[0].name: "klaviyo" is a built-in plugin; give the external one another name`)

	_, err = Parse([]byte(minimal+"destinations:\n  - name: mc\n    plugin: mailchimpp\n"), "segflow.yaml")
	require.ErrorContains(t, err, `segflow.yaml:11:5: destinations[0].plugin: unknown destination plugin "mailchimpp" (did you mean "mailchimp"?)`)
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	require.NoError(f, err)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(minimal + "x: &a [*a]\n"))
	f.Add([]byte("a: &a {<<: *a}\n"))
	f.Add([]byte(minimal + "project: ${SET_X}${UNSET:-d}$$\n"))
	lookup := func(name string) (string, bool) {
		if strings.HasPrefix(name, "SET") {
			return "value-of-" + name, true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, "fuzz.yaml", lookup)
		if err != nil {
			require.Nil(t, c)
			_ = err.Error()
			return
		}
		require.NoError(t, c.Validate(), "a loaded config stays valid")
		_ = c.Redact(string(data))
		_, _ = c.Warehouse.ConfigJSON()
	})
}

// unjoin flattens an errors.Join tree.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
