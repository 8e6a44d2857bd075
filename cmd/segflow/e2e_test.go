//go:build duckdb_arrow

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/examples"
)

// segflowBin is the CLI built once for these tests: they run it as a user
// would, including its plugin subprocesses.
var segflowBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "segflow-e2e")
	if err != nil {
		panic(err)
	}
	segflowBin = filepath.Join(dir, "segflow")
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", segflowBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build segflow: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func segflow(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(segflowBin, args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

// quickstart lays out the quickstart project with a small sample warehouse.
func quickstart(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), examples.Quickstart, 0o644))
	r := segflow(t, dir, "sample-data", "--out", "out/retail.duckdb", "--customers", "3000", "--seed", "7")
	require.Equal(t, 0, r.code, r.stderr)
	return dir
}

func TestQuickstartRunWritesSegmentFiles(t *testing.T) {
	dir := quickstart(t)
	r := segflow(t, dir, "run")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "data quality")

	f, err := os.Open(filepath.Join(dir, "out", "segments", "champions.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(rows), 1, "the champions segment has members")
	require.Equal(t, []string{"customer_id", "email", "recency_days", "frequency", "monetary", "rfm_cell", "segment"}, rows[0])
	for _, row := range rows[1:] {
		require.Equal(t, "Champions", row[6])
	}
	_, err = os.Stat(filepath.Join(dir, "out", "segments", "at_risk.parquet"))
	require.NoError(t, err)

	// The run is in the history with its steps.
	runs := segflow(t, dir, "runs", "list", "--format", "json")
	require.Equal(t, 0, runs.code, runs.stderr)
	var listed []struct{ ID, Job, Status string }
	require.NoError(t, json.Unmarshal([]byte(runs.stdout), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, "succeeded", listed[0].Status)
	show := segflow(t, dir, "runs", "show", listed[0].ID)
	require.Equal(t, 0, show.code, show.stderr)
	require.Regexp(t, `publish\s+champions -> files\s+`+strconv.Itoa(len(rows)-1)+`\s`, show.stdout)

	rep := segflow(t, dir, "report", "rfm", "--format", "json")
	require.Equal(t, 0, rep.code, rep.stderr)
	var tables []struct {
		Title string           `json:"title"`
		Rows  []map[string]any `json:"rows"`
	}
	require.NoError(t, json.Unmarshal([]byte(rep.stdout), &tables))
	var champions float64
	for _, row := range tables[0].Rows {
		if row["segment"] == "Champions" {
			champions = row["customers"].(float64)
		}
	}
	require.Equal(t, float64(len(rows)-1), champions, "the report counts the same champions the file holds")
}

func TestDryRunPrintsSQLAndWritesNothing(t *testing.T) {
	dir := quickstart(t)
	r := segflow(t, dir, "run", "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "CREATE OR REPLACE TABLE")
	require.Contains(t, r.stdout, "would publish champions -> files")
	require.Contains(t, r.stdout, filepath.Join(dir, "out", "segments", "champions.csv"))
	_, err := os.Stat(filepath.Join(dir, "out", "segments"))
	require.True(t, errors.Is(err, os.ErrNotExist), "a dry run writes nothing")
}

func TestCompilePrintsDuckDBSQL(t *testing.T) {
	dir := quickstart(t)
	r := segflow(t, dir, "compile", "--model", "rfm")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, `"segflow"."rfm"`)

	js := segflow(t, dir, "compile", "--format", "json", "--dialect", "duckdb")
	require.Equal(t, 0, js.code, js.stderr)
	var stmts []struct{ Model, Name, SQL string }
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &stmts))
	names := map[string]bool{}
	for _, s := range stmts {
		require.NotEmpty(t, s.SQL)
		names[s.Model+"."+s.Name] = true
	}
	require.True(t, names["rfm.rfm"], "got %v", names)
	require.True(t, names["segment.segment_champions"], "got %v", names)
}

func TestMisspelledKeyExitsTwoNamingKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.Replace(string(examples.Quickstart), "segments:\n", "segmnts:\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	line := 1 + strings.Count(cfg[:strings.Index(cfg, "segmnts:")], "\n")

	r := segflow(t, dir, "validate")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "segmnts")
	require.Contains(t, r.stderr, "segflow.yaml:"+strconv.Itoa(line)+":")
}

func TestMissingWarehouseFileAndUnmappedColumnExitTwo(t *testing.T) {
	dir := quickstart(t)
	// A mapped column that the table does not have.
	cfg := strings.Replace(string(examples.Quickstart), "orders:      { table: orders }",
		"orders:      { table: orders, columns: { revenue: amount } }", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	r := segflow(t, dir, "validate", "--connect")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "sources.orders.columns.revenue")
	require.Contains(t, r.stderr, `"amount"`)

	// A warehouse file that does not exist.
	cfg = strings.Replace(string(examples.Quickstart), "path: out/retail.duckdb", "path: out/retial.duckdb", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	r = segflow(t, dir, "validate", "--connect")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "warehouse.config.path")
	require.Contains(t, r.stderr, "retial.duckdb does not exist")
}

func TestPluginsListShowsBuiltins(t *testing.T) {
	r := segflow(t, t.TempDir(), "plugins", "list")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `duckdb\s+warehouse\s+\S+\s+duckdb\s+built-in\s+ok`, r.stdout)
	require.Contains(t, r.stdout, "file")
}

func TestBadSegmentFilterExitsTwoNamingSegmentAndPosition(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.Replace(string(examples.Quickstart), "filter: segment == 'Champions'", "filter: segmnt == 'Champions'", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	r := segflow(t, dir, "validate")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "segments[0].filter: segment champions: filter:1:1: undeclared reference to \"segmnt\"")
	require.Contains(t, r.stderr, `did you mean "segment"`)
}
