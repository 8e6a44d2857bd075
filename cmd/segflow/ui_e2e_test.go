//go:build duckdb_arrow

package main

import (
	gosql "database/sql"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// The web UI in a real browser: `segflow serve` on the quickstart data,
// after a run of the daily job, each page loaded in headless Chromium
// (Debian's chromium). The figures the pages show are checked against
// the warehouse's model tables, read directly from the DuckDB file with
// SQL written here (not with core/report's), before serve opens it.
// Each page must log nothing to the browser console (the UI has no
// script, so any console line — a CSP refusal, a failed load, an error —
// is a fault) and answer in under 200 ms; a screenshot of each page is
// saved under testdata/screenshots/ (git-ignored).

// uiPageBudget is the most a page may take to answer (median of several
// requests), on the quickstart's materialised tables.
const uiPageBudget = 200 * time.Millisecond

// chromium finds Debian's chromium. Without it the test skips, except
// under CI (CI=true), where .ci/run installs it and it must run.
func chromium(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("SEGFLOW_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test of the web UI")
	return ""
}

// browser runs headless Chromium, each time with a profile of its own
// (so that pages load in parallel).
type browser struct {
	bin, shots string
}

func (b browser) run(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0", "--window-size=1280,1600"}
	cmd := exec.Command(b.bin, append(base, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "chromium %v:\n%s", args, errOut.String())
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("chromium %v did not finish within 90s:\n%s", args, errOut.String())
	}
	return out.String(), errOut.String()
}

// consoleLine matches what Chromium logs for a console message of the
// page (any level: log, error, an uncaught exception, a CSP refusal).
var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE(\(\d+\)|:\d+)\].*$|^.*Uncaught.*$`)

// load renders url in Chromium, checks the console stayed silent, saves
// a screenshot as name.png and returns the rendered DOM.
func (b browser) load(t *testing.T, name, url string) *html.Node {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := string(body)
		if doc, err := html.Parse(strings.NewReader(msg)); err == nil {
			if e := find(doc, tagged("p", "class", "error")); e != nil {
				msg = text(e)
			}
		}
		t.Fatalf("GET %s: %d: %s", url, resp.StatusCode, msg)
	}
	dom, logs := b.run(t, "--user-data-dir="+t.TempDir(), "--dump-dom", "--screenshot="+filepath.Join(b.shots, name+".png"), url)
	require.Empty(t, consoleLine.FindAllString(logs, -1), "console messages on %s", url)
	doc, err := html.Parse(strings.NewReader(dom))
	require.NoError(t, err)
	require.NotNil(t, find(doc, tagged("h1")), "%s rendered no page:\n%s", url, dom)
	return doc
}

// ---- DOM helpers ----

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if all := findAll(n, match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func tagged(tag string, kv ...string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if n.Data != tag {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "*" {
				if !hasAttr(n, kv[i]) {
					return false
				}
			} else if attr(n, kv[i]) != kv[i+1] {
				return false
			}
		}
		return true
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func byID(doc *html.Node, id string) *html.Node {
	return find(doc, func(n *html.Node) bool { return attr(n, "id") == id })
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err, s)
	return n
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, s)
	return f
}

// thousands writes n as the UI does: 12,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ---- the warehouse's figures ----

type rfmKey struct{ r, f int64 }

type warehouseFigures struct {
	rfmCells     map[rfmKey][2]float64 // customers, revenue
	rfmTotal     int64
	topOfCell55  string // the customer with the highest monetary in R5 F5
	deciles      map[string][10]int64
	stages       map[string]int64
	transitions  map[[2]string]int64
	cohortSizes  map[string]int64
	retention    map[string]map[int]float64 // cohort → offset → %
	attribution  map[string]map[string]float64
	rulesByLift  [][2]string // category, all baskets, the first 100 by lift
	rulesRepeat  [][2]string // brand, loyalty repeat, by confidence ascending
	nextCategory [][2]string
	segments     map[string]int64 // segment table → rows
	churnRisk    map[string]int64
	emails       map[string]string
}

// readWarehouse reads the figures from the DuckDB file, read-only; it
// closes it before serve opens it (DuckDB allows one writing process).
func readWarehouse(t *testing.T, path string) warehouseFigures {
	t.Helper()
	db, err := gosql.Open("duckdb", path+"?access_mode=read_only")
	require.NoError(t, err)
	defer db.Close()
	rows := func(q string, scan func(*gosql.Rows) error) {
		t.Helper()
		rs, err := db.Query(q)
		require.NoError(t, err, q)
		defer rs.Close()
		for rs.Next() {
			require.NoError(t, scan(rs), q)
		}
		require.NoError(t, rs.Err(), q)
	}
	w := warehouseFigures{rfmCells: map[rfmKey][2]float64{}, deciles: map[string][10]int64{}, stages: map[string]int64{},
		transitions: map[[2]string]int64{}, cohortSizes: map[string]int64{}, retention: map[string]map[int]float64{},
		attribution: map[string]map[string]float64{}, segments: map[string]int64{}, emails: map[string]string{},
		churnRisk: map[string]int64{}}
	rows(`SELECT r_score, f_score, COUNT(*), SUM(monetary)::DOUBLE FROM segflow.rfm GROUP BY ALL`, func(rs *gosql.Rows) error {
		var k rfmKey
		var n int64
		var rev float64
		err := rs.Scan(&k.r, &k.f, &n, &rev)
		w.rfmCells[k] = [2]float64{float64(n), rev}
		w.rfmTotal += n
		return err
	})
	rows(`SELECT customer_id::VARCHAR FROM segflow.rfm WHERE r_score = 5 AND f_score = 5 ORDER BY monetary DESC, customer_id LIMIT 1`,
		func(rs *gosql.Rows) error { return rs.Scan(&w.topOfCell55) })
	for _, kind := range []string{"count_decile", "revenue_decile", "rfm_decile"} {
		var d [10]int64
		rows(`SELECT `+kind+`, COUNT(*) FROM segflow.rfm GROUP BY 1`, func(rs *gosql.Rows) error {
			var k, n int64
			err := rs.Scan(&k, &n)
			d[k-1] = n
			return err
		})
		w.deciles[kind] = d
	}
	rows(`SELECT stage, COUNT(*) FROM segflow.lifecycle GROUP BY stage`, func(rs *gosql.Rows) error {
		var s string
		var n int64
		err := rs.Scan(&s, &n)
		w.stages[s] = n
		return err
	})
	rows(`SELECT from_stage, to_stage, customers FROM segflow.lifecycle_transitions`, func(rs *gosql.Rows) error {
		var a, b string
		var n int64
		err := rs.Scan(&a, &b, &n)
		w.transitions[[2]string{a, b}] = n
		return err
	})
	rows(`SELECT strftime(cohort_month, '%Y-%m'), month_offset, cohort_size, active_customers FROM segflow.cohort_retention`, func(rs *gosql.Rows) error {
		var c string
		var k int
		var size, active int64
		err := rs.Scan(&c, &k, &size, &active)
		w.cohortSizes[c] = size
		if w.retention[c] == nil {
			w.retention[c] = map[int]float64{}
		}
		w.retention[c][k] = 100 * float64(active) / float64(size)
		return err
	})
	rows(`SELECT model, channel, revenue::DOUBLE / SUM(revenue::DOUBLE) OVER (PARTITION BY model) FROM segflow.attribution_summary`, func(rs *gosql.Rows) error {
		var m, ch string
		var share float64
		err := rs.Scan(&m, &ch, &share)
		if w.attribution[ch] == nil {
			w.attribution[ch] = map[string]float64{}
		}
		w.attribution[ch][m] = 100 * share
		return err
	})
	rows(`SELECT churn_risk, COUNT(*) FROM segflow.clv GROUP BY 1`, func(rs *gosql.Rows) error {
		var risk string
		var n int64
		err := rs.Scan(&risk, &n)
		w.churnRisk[risk] = n
		return err
	})
	pairs := func(q string) [][2]string {
		var out [][2]string
		rows(q, func(rs *gosql.Rows) error {
			var p [2]string
			err := rs.Scan(&p[0], &p[1])
			out = append(out, p)
			return err
		})
		return out
	}
	w.rulesByLift = pairs(`SELECT antecedent, consequent FROM segflow.affinity_pairs
		WHERE level = 'category' AND segment_type = 'all' ORDER BY lift DESC, pair_count DESC, antecedent, consequent LIMIT 100`)
	w.rulesRepeat = pairs(`SELECT antecedent, consequent FROM segflow.affinity_pairs
		WHERE level = 'brand' AND segment_type = 'loyalty' AND segment_value = 'repeat'
		ORDER BY confidence ASC, pair_count DESC, antecedent, consequent LIMIT 100`)
	w.nextCategory = pairs(`SELECT from_category, to_category FROM segflow.next_category WHERE from_category <> to_category
		ORDER BY probability DESC, transitions DESC, from_category, to_category LIMIT 25`)
	rows(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'segflow' AND table_name LIKE 'segment\_%' ESCAPE '\'`, func(rs *gosql.Rows) error {
		var name string
		err := rs.Scan(&name)
		w.segments[name] = -1
		return err
	})
	for name := range w.segments {
		var n int64
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM segflow.`+name).Scan(&n))
		w.segments[name] = n
	}
	rows(`SELECT customer_id::VARCHAR, email FROM segflow.segment_champions WHERE email IS NOT NULL`, func(rs *gosql.Rows) error {
		var id, email string
		err := rs.Scan(&id, &email)
		w.emails[id] = email
		return err
	})
	return w
}

// pageTime is the median time of n GETs of a page.
func pageTime(t *testing.T, u string, n int) time.Duration {
	t.Helper()
	var ds []time.Duration
	for range n {
		start := time.Now()
		resp, err := http.Get(u)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func TestUIPagesInChromium(t *testing.T) {
	bin := chromium(t)
	dir := quickstart(t)
	r := segflow(t, dir, "run", "--job", "daily")
	require.Equal(t, 0, r.code, r.stderr)
	want := readWarehouse(t, filepath.Join(dir, "out", "retail.duckdb"))

	const token = "ui-e2e-7c1d"
	p := startServe(t, dir, []string{"SEGFLOW_API_TOKEN=" + token})
	p.waitReady(t)

	shots, err := filepath.Abs(filepath.Join("testdata", "screenshots"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(shots, 0o755))
	b := browser{bin: bin, shots: shots}

	var runs struct{ Runs []struct{ ID, Status string } }
	require.Equal(t, http.StatusOK, p.call(t, "GET", "/api/v1/runs", "", &runs))
	require.NotEmpty(t, runs.Runs)
	runID := runs.Runs[0].ID

	// Each page, timed one at a time before the browsers start; the
	// budget is for pages that read materialised tables.
	pages := []string{"/", "/runs/" + runID, "/segments", "/segments/champions", "/reports/rfm", "/reports/rfm/customers?r=5&f=5",
		"/reports/deciles", "/reports/lifecycle", "/reports/cohort", "/reports/attribution", "/reports/affinity",
		"/reports/affinity?level=brand&segment=loyalty:repeat&sort=confidence&dir=asc", "/reports/clv"}
	for _, pg := range pages {
		d := pageTime(t, p.url+pg, 5)
		t.Logf("GET %-70s %6.1f ms (median of 5)", pg, float64(d.Microseconds())/1000)
		require.Less(t, d, uiPageBudget, "%s is too slow", pg)
	}

	// The pages load in parallel: a browser start takes seconds.
	t.Run("pages", func(t *testing.T) {
		t.Run("overview", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "overview", p.url+"/")
			row := find(doc, tagged("tr", "data-job", "daily"))
			require.NotNil(t, row)
			require.Contains(t, text(row), "0 6 * * *")
			link := find(row, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/runs/") })
			require.NotNil(t, link, "the last run links to its page")
			require.Equal(t, "/runs/"+runID, attr(link, "href"))
			require.Contains(t, text(link), "succeeded")
			require.Regexp(t, `\d{4}-\d\d-\d\d 06:00:00 UTC`, text(find(row, func(n *html.Node) bool { return attr(n, "class") == "next-run" })))
			form := find(row, tagged("form", "action", "/jobs/daily/trigger"))
			require.NotNil(t, form, "a trigger form")
			require.NotNil(t, find(form, tagged("input", "name", "token")))
		})

		t.Run("run", func(t *testing.T) {
			t.Parallel()
			var api apiRunDetail
			require.Equal(t, http.StatusOK, p.call(t, "GET", "/api/v1/runs/"+runID, "", &api))
			doc := b.load(t, "run", p.url+"/runs/"+runID)
			require.Equal(t, "succeeded", text(byID(doc, "run-status")))
			steps := findAll(doc, tagged("tr", "class", "step"))
			require.Len(t, steps, len(api.Steps))
			for i, s := range api.Steps {
				require.Equal(t, s.Name, attr(steps[i], "data-name"))
				require.Equal(t, strconv.FormatInt(s.Rows, 10), attr(steps[i], "data-rows"), s.Name)
				require.Equal(t, strconv.FormatInt(s.DurationMs, 10), attr(steps[i], "data-duration-ms"), s.Name)
				if s.SQL != "" {
					details := find(steps[i], tagged("details"))
					require.NotNil(t, details, "%s shows its SQL", s.Name)
					require.Equal(t, strings.Join(strings.Fields(s.SQL), " "), text(find(details, tagged("code"))))
				}
			}
			// The rfm table's step reports as many rows as the table has.
			rfmStep := find(doc, tagged("tr", "data-name", "rfm.rfm"))
			require.NotNil(t, rfmStep)
			require.Equal(t, strconv.FormatInt(want.rfmTotal, 10), attr(rfmStep, "data-rows"))
		})

		t.Run("rfm", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "rfm-matrix", p.url+"/reports/rfm")
			cells := findAll(doc, tagged("g", "class", "cell"))
			require.Len(t, cells, 25, "a 5 × 5 matrix")
			for _, c := range cells {
				k := rfmKey{atoi(t, attr(c, "data-r")), atoi(t, attr(c, "data-f"))}
				w := want.rfmCells[k]
				require.Equal(t, int64(w[0]), atoi(t, attr(c, "data-customers")), "cell %v", k)
				require.InDelta(t, w[1], atof(t, attr(c, "data-revenue")), 0.006, "cell %v", k)
				// What the cell shows: customers, then revenue in whole units.
				texts := findAll(c, tagged("text"))
				require.GreaterOrEqual(t, len(texts), 2)
				require.Equal(t, thousands(int64(w[0])), text(texts[0]), "cell %v", k)
				require.Equal(t, thousands(int64(math.Round(w[1]))), text(texts[1]), "cell %v", k)
				a := c.Parent
				require.Equal(t, "a", a.Data)
				require.Equal(t, fmt.Sprintf("/reports/rfm/customers?r=%d&f=%d", k.r, k.f), attr(a, "href"))
			}
			require.Equal(t, strconv.FormatInt(want.rfmTotal, 10), attr(byID(doc, "rfm-customers"), "data-value"))
			require.Equal(t, thousands(want.rfmTotal), text(byID(doc, "rfm-customers")))
		})

		t.Run("rfm cell", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "rfm-cell", p.url+"/reports/rfm/customers?r=5&f=5")
			n := int64(want.rfmCells[rfmKey{5, 5}][0])
			require.Equal(t, strconv.FormatInt(n, 10), attr(byID(doc, "total"), "data-value"))
			rows := findAll(doc, tagged("tr", "data-customer", "*"))
			require.Len(t, rows, int(min(n, 200)))
			require.Equal(t, want.topOfCell55, attr(rows[0], "data-customer"), "highest monetary first")
		})

		t.Run("deciles", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "deciles", p.url+"/reports/deciles")
			for kind, counts := range want.deciles {
				sec := byID(doc, kind)
				require.NotNil(t, sec, kind)
				rows := findAll(sec, tagged("tr", "data-decile", "*"))
				require.Len(t, rows, 10, kind)
				for i, row := range rows {
					require.Equal(t, strconv.FormatInt(counts[i], 10), attr(row, "data-customers"), "%s decile %d", kind, i+1)
				}
			}
		})

		t.Run("lifecycle", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "lifecycle", p.url+"/reports/lifecycle")
			rows := findAll(doc, tagged("tr", "data-stage", "*"))
			require.Len(t, rows, 5)
			var got []string
			for _, row := range rows {
				s := attr(row, "data-stage")
				got = append(got, s)
				require.Equal(t, strconv.FormatInt(want.stages[s], 10), attr(row, "data-customers"), s)
				require.Contains(t, text(row), thousands(want.stages[s]))
			}
			require.Equal(t, []string{"lead", "first_time_buyer", "active", "defecting", "inactive"}, got, "funnel order")
			bars := findAll(doc, tagged("g", "class", "stage"))
			require.Len(t, bars, 5, "the funnel chart")
			for _, from := range findAll(byID(doc, "transitions"), tagged("tr", "data-from", "*")) {
				for _, cell := range findAll(from, tagged("td", "data-to", "*")) {
					k := [2]string{attr(from, "data-from"), attr(cell, "data-to")}
					require.Equal(t, strconv.FormatInt(want.transitions[k], 10), attr(cell, "data-value"), "%v", k)
				}
			}
		})

		t.Run("cohort", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "cohort-heatmap", p.url+"/reports/cohort")
			rows := findAll(byID(doc, "cohort"), tagged("tr", "data-cohort", "*"))
			require.Len(t, rows, len(want.cohortSizes))
			require.Len(t, rows, 16, "15 months before as_of's and its own")
			cells := 0
			for _, row := range rows {
				c := attr(row, "data-cohort")
				require.Equal(t, strconv.FormatInt(want.cohortSizes[c], 10), attr(row, "data-customers"), c)
				got := findAll(row, tagged("td", "data-offset", "*"))
				require.Len(t, got, len(want.retention[c]), c)
				for _, cell := range got {
					k := int(atoi(t, attr(cell, "data-offset")))
					require.InDelta(t, want.retention[c][k], atof(t, text(cell)), 0.0501, "%s m%d", c, k)
					cells++
				}
			}
			require.Equal(t, 16*17/2, cells, "a triangle of 136 months")
		})

		t.Run("attribution", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "attribution", p.url+"/reports/attribution")
			rows := findAll(byID(doc, "attribution"), tagged("tr", "data-channel", "*"))
			require.Len(t, rows, len(want.attribution))
			var models []string
			for _, row := range rows {
				ch := attr(row, "data-channel")
				for _, cell := range findAll(row, tagged("td", "data-model", "*")) {
					m := attr(cell, "data-model")
					if !slices.Contains(models, m) {
						models = append(models, m)
					}
					share, ok := want.attribution[ch][m]
					if !ok {
						require.Equal(t, "–", text(cell), "%s %s has no credit", ch, m)
						continue
					}
					require.InDelta(t, share, atof(t, text(cell)), 0.0501, "%s %s", ch, m)
				}
			}
			require.Subset(t, models, []string{"first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"})
			require.Len(t, findAll(doc, tagged("g", "class", "share")), len(rows)*len(models), "a bar per channel and model")
		})

		t.Run("affinity", func(t *testing.T) {
			t.Parallel()
			rules := func(doc *html.Node) [][2]string {
				var out [][2]string
				for _, row := range findAll(byID(doc, "rules"), tagged("tr", "data-antecedent", "*")) {
					out = append(out, [2]string{attr(row, "data-antecedent"), attr(row, "data-consequent")})
				}
				return out
			}
			doc := b.load(t, "affinity", p.url+"/reports/affinity")
			require.Equal(t, want.rulesByLift, rules(doc), "category rules, all baskets, by lift")
			lifts := findAll(byID(doc, "rules"), tagged("tr", "data-lift", "*"))
			require.True(t, sort.SliceIsSorted(lifts, func(i, j int) bool {
				return atof(t, attr(lifts[i], "data-lift")) > atof(t, attr(lifts[j], "data-lift"))
			}))
			var next [][2]string
			for _, row := range findAll(byID(doc, "next-category"), tagged("tr", "data-from", "*")) {
				next = append(next, [2]string{attr(row, "data-from"), attr(row, "data-to")})
			}
			require.Equal(t, want.nextCategory, next)

			// Server-side sort and filters, as the column links and the form ask.
			q := url.Values{"level": {"brand"}, "segment": {"loyalty:repeat"}, "sort": {"confidence"}, "dir": {"asc"}}
			doc = b.load(t, "affinity-filtered", p.url+"/reports/affinity?"+q.Encode())
			require.Equal(t, want.rulesRepeat, rules(doc))
			require.Equal(t, "confidence", attr(byID(doc, "rules"), "data-sort"))
			require.Equal(t, "asc", attr(byID(doc, "rules"), "data-dir"))
		})

		t.Run("clv", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "clv", p.url+"/reports/clv")
			var section *html.Node
			for _, sec := range findAll(doc, tagged("section")) {
				if h := find(sec, tagged("h2")); h != nil && text(h) == "customers by churn risk" {
					section = sec
				}
			}
			require.NotNil(t, section, "the churn-risk table")
			got := map[string]int64{}
			for _, tr := range findAll(section, tagged("tr")) {
				tds := findAll(tr, tagged("td"))
				if len(tds) > 1 {
					got[text(tds[0])] = atoi(t, strings.ReplaceAll(text(tds[1]), ",", ""))
				}
			}
			require.Equal(t, want.churnRisk, got)
		})

		t.Run("segments", func(t *testing.T) {
			t.Parallel()
			doc := b.load(t, "segments", p.url+"/segments")
			if strings.Contains(text(doc), "Segment status is not available") {
				t.Skip("segflow serve does not provide segment status yet (jobs.Runner.Segments); the page says so")
			}
			for _, name := range []string{"champions", "at_risk", "likely_to_churn"} {
				row := find(doc, tagged("tr", "data-segment", name))
				require.NotNil(t, row, name)
				require.Equal(t, strconv.FormatInt(want.segments["segment_"+name], 10), attr(row, "data-members"), name)
			}

			doc = b.load(t, "segment", p.url+"/segments/champions")
			require.Equal(t, strconv.FormatInt(want.segments["segment_champions"], 10), attr(byID(doc, "members"), "data-members"))
			require.NotNil(t, find(doc, tagged("svg", "class", "chart segment-history")))
			require.NotEmpty(t, findAll(doc, tagged("g", "class", "run")), "a point per run")
			dest := find(doc, tagged("tr", "data-destination", "files"))
			require.NotNil(t, dest)
			require.Equal(t, "0", attr(dest, "data-dead-letters"))
			emails := emailCells(doc)
			require.NotEmpty(t, emails)
			for _, e := range emails {
				require.Regexp(t, `^.\*\*\*@[^@*]+$`, e, "masked by default")
			}

			// Unmasking needs the token.
			resp, err := http.Get(p.url + "/segments/champions?unmask=1")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			resp, err = http.PostForm(p.url+"/segments/champions?unmask=1", url.Values{"token": {token}})
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			full, err := html.Parse(resp.Body)
			require.NoError(t, err)
			known := map[string]bool{}
			for _, e := range want.emails {
				known[e] = true
			}
			for _, e := range emailCells(full) {
				require.True(t, known[e], "%q is a champion's email in the warehouse", e)
			}
		})

	})

	// Last: a run triggered from the UI's form.
	t.Run("trigger", func(t *testing.T) {
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.PostForm(p.url+"/jobs/daily/trigger", url.Values{"token": {"wrong"}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		resp, err = noRedirect.PostForm(p.url+"/jobs/daily/trigger", url.Values{"token": {token}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		id, ok := strings.CutPrefix(resp.Header.Get("Location"), "/runs/")
		require.True(t, ok, resp.Header.Get("Location"))
		d := p.waitRun(t, id)
		require.Equal(t, "succeeded", d.Run.Status, d.Run.Error)
		require.Equal(t, "manual", d.Run.Trigger)
		require.NotContains(t, p.stderr.String(), token, "the token never reaches the logs")
	})
}

// emailCells are the values of the members table's email column.
func emailCells(doc *html.Node) []string {
	table := byID(doc, "members-table")
	if table == nil {
		return nil
	}
	col := -1
	for i, th := range findAll(table, tagged("th")) {
		if strings.Contains(text(th), "email") {
			col = i
		}
	}
	if col < 0 {
		return nil
	}
	var out []string
	for _, tr := range findAll(table, tagged("tr")) {
		tds := findAll(tr, tagged("td"))
		if col < len(tds) && text(tds[col]) != "" {
			out = append(out, text(tds[col]))
		}
	}
	return out
}
