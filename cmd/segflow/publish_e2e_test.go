//go:build duckdb_arrow

package main

import (
	"bufio"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/plugins/pluginstest/memdest"
	"github.com/segflow/segflow/sql/dialect"
)

// journalProject lays out a project that publishes one rfm segment to the
// example journal-destination plugin, built here as an external plugin
// binary. The destination is slow (a sleep per 20-record batch) so that
// a test can kill segflow in the middle of a publish.
type journalProject struct {
	dir, plugin, sum, journal string
	asOf                      string // the models' as_of date
}

func newJournalProject(t *testing.T) *journalProject {
	dir := t.TempDir()
	r := segflow(t, dir, "sample-data", "--out", "out/retail.duckdb", "--customers", "3000", "--seed", "11")
	require.Equal(t, 0, r.code, r.stderr)
	p := &journalProject{asOf: "2025-12-31", dir: dir, plugin: filepath.Join(dir, "journal-destination"), journal: filepath.Join(dir, "out", "journal.jsonl")}
	build := exec.Command("go", "build", "-o", p.plugin, "../../examples/journal-destination")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	b, err := os.ReadFile(p.plugin)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	p.sum = hex.EncodeToString(sum[:])
	return p
}

// configure writes the config with the segment's where clause; extra is
// added to the destination's config.
func (p *journalProject) configure(t *testing.T, where string, extra ...string) {
	cfg := fmt.Sprintf(`version: 1
project: crash
warehouse:
  plugin: duckdb
  config: {path: out/retail.duckdb}
  output_schema: segflow
plugins:
  - name: journal
    kind: destination
    path: ./journal-destination
    sha256: %s
sources:
  customers: {table: customers}
  orders: {table: orders}
models:
  as_of: %q
segments:
  - name: members
    model: rfm
    where: %q
    holdout: 0.1
    attributes: [segment, frequency]
    destinations: [crm]
destinations:
  - name: crm
    plugin: journal
    config: {journal: out/journal.jsonl, max_batch_records: 20, supports_remove: true, ack_delay_ms: 25%s}
jobs:
  - name: sync
    models: [rfm]
    segments: [members]
  - name: models
    models: [rfm]
`, p.sum, p.asOf, where, strings.Join(append([]string{""}, extra...), ", "))
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "segflow.yaml"), []byte(cfg), 0o644))
}

// journalLines counts the operations the destination durably applied.
func (p *journalProject) journalLines(t *testing.T) int {
	keys, err := memdest.ReadKeys(p.journal)
	require.NoError(t, err)
	return len(keys)
}

// runKilled starts `segflow run` and kills it with SIGKILL once the
// destination has applied more than after operations in all.
func (p *journalProject) runKilled(t *testing.T, after int) {
	cmd := exec.Command(segflowBin, "run", "--job", "sync")
	cmd.Dir = p.dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for p.journalLines(t) <= after {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the destination never got past %d operations; output:\n%s", after, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := cmd.Wait()
	require.Error(t, err, "segflow was killed, not finished:\n%s", out.String())
}

// run runs the job to the end; the plugins of a killed segflow may hold
// the warehouse file for a moment after it died.
func (p *journalProject) run(t *testing.T) result {
	var r result
	for try := 0; try < 40; try++ {
		r = segflow(t, p.dir, "run", "--job", "sync")
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "lock") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	return r
}

// members reads the segment from the warehouse: the ids sent (holdout
// excluded) with their segment attribute, and the held-out ids.
func (p *journalProject) members(t *testing.T) (sent map[string]string, held []string) {
	db, err := sql.Open("duckdb", filepath.Join(p.dir, "out", "retail.duckdb")+"?access_mode=read_only")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT CAST(customer_id AS VARCHAR), segment, holdout FROM segflow.segment_members`)
	require.NoError(t, err)
	defer rows.Close()
	sent = map[string]string{}
	for rows.Next() {
		var id, seg string
		var h bool
		require.NoError(t, rows.Scan(&id, &seg, &h))
		if h {
			held = append(held, id)
		} else {
			sent[id] = seg
		}
	}
	require.NoError(t, rows.Err())
	return sent, held
}

// requireDestinationEqualsSegment checks that the destination holds
// exactly the segment's members, with their current attributes.
func (p *journalProject) requireDestinationEqualsSegment(t *testing.T) {
	sent, held := p.members(t)
	require.NotEmpty(t, held, "a tenth of the segment is held out")
	records, err := memdest.Read(p.journal)
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range records {
		got[r["customer_id"]] = r["segment"]
	}
	require.Equal(t, sent, got, "the destination holds exactly the segment, holdout excluded")
}

// journalOps replays the journal: per key, the operations in order.
func (p *journalProject) journalOps(t *testing.T) map[string][]string {
	f, err := os.Open(p.journal)
	require.NoError(t, err)
	defer f.Close()
	ops := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var e struct{ Op, Key string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		ops[e.Key] = append(ops[e.Key], e.Op)
	}
	require.NoError(t, sc.Err())
	return ops
}

// TestKilledPublishResumesExactly kills `segflow run` with SIGKILL in the
// middle of a publish, twice (while adding, while removing), and checks
// that each rerun leaves the destination exactly equal to the segment:
// nothing missing, nobody added twice over what the crash made
// uncertain, removes only for members segflow had sent.
func TestKilledPublishResumesExactly(t *testing.T) {
	p := newJournalProject(t)

	// Everyone with an order: about 2,700 members, 2,400 sent.
	p.configure(t, "frequency >= 1")
	p.runKilled(t, 1200)
	before := p.journalLines(t)
	r := p.run(t)
	p.requireDestinationEqualsSegment(t)
	ops := p.journalOps(t)
	twice := 0
	for key, o := range ops {
		require.LessOrEqual(t, len(o), 2, "key %s: %v", key, o)
		if len(o) == 2 {
			twice++
		}
	}
	// Only records whose acknowledgement the crash left unrecorded are
	// sent again: fewer than the destination had taken.
	t.Logf("killed after %d operations; the rerun sent %d of them again", before, twice)
	require.Less(t, twice, before, "the rerun did not start over")
	require.Contains(t, r.stdout, "publish  members -> crm")

	// Most members leave: the rerun after a kill mid-removal removes the
	// rest, and only members segflow had sent.
	sentBefore, _ := p.members(t)
	p.configure(t, "frequency >= 3")
	dry := segflow(t, p.dir, "run", "--job", "sync", "--dry-run")
	require.Equal(t, 0, dry.code, dry.stderr)
	var adds, updates, removes, held, calls int
	var eta string
	plan := regexp.MustCompile(`--   (\d+) adds, (\d+) updates, (\d+) removes \((\d+) held out\); (\d+) API calls, about (\S+) under`).FindStringSubmatch(dry.stdout)
	require.NotNil(t, plan, dry.stdout)
	fmt.Sscan(strings.Join(plan[1:6], " "), &adds, &updates, &removes, &held, &calls)
	eta = plan[6]
	removing := p.journalLines(t)
	p.runKilled(t, removing+200)
	p.run(t)
	p.requireDestinationEqualsSegment(t)
	after, _ := p.members(t)
	left := 0
	for id := range sentBefore {
		if _, ok := after[id]; !ok {
			left++
		}
	}
	// The plan counted what the runs then sent: the members who left,
	// in batches of 20 (max_batch_records), at the destination's
	// declared 100 requests/s after a burst of 10.
	require.Equal(t, []int{0, 0, left}, []int{adds, updates, removes})
	require.Equal(t, (left+19)/20, calls)
	wantETA := time.Duration(float64(calls-10) / 100 * float64(time.Second)).Round(time.Second)
	require.Equal(t, wantETA.String(), eta)
	for key, o := range p.journalOps(t) {
		for i, op := range o {
			if op == "remove" {
				require.Contains(t, o[:i], "upsert", "key %s was removed before segflow sent it: %v", key, o)
			}
		}
	}

	// Nothing changed: nothing is sent.
	lines := p.journalLines(t)
	r = p.run(t)
	require.Regexp(t, `\+0 ~0 -0 held out \d+; acknowledged 0`, r.stdout)
	require.Equal(t, lines, p.journalLines(t))
}

// sentIDs returns n customer ids of rfm (after building it) that the
// segment's holdout does not keep back (worked out here from the hash
// the SQL uses).
func (p *journalProject) sentIDs(t *testing.T, n int) []string {
	r := segflow(t, p.dir, "run", "--job", "models")
	require.Equal(t, 0, r.code, r.stderr)
	db, err := sql.Open("duckdb", filepath.Join(p.dir, "out", "retail.duckdb")+"?access_mode=read_only")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT CAST(customer_id AS VARCHAR) FROM segflow.rfm WHERE frequency >= 1 ORDER BY 1 LIMIT 100`)
	require.NoError(t, err)
	defer rows.Close()
	var ids []string
	for rows.Next() && len(ids) < n {
		var id string
		require.NoError(t, rows.Scan(&id))
		if dialect.Bucket("members:"+id, 10000) >= 1000 {
			ids = append(ids, id)
		}
	}
	require.Len(t, ids, n)
	return ids
}

func (p *journalProject) deadLetters(t *testing.T) int64 {
	r := segflow(t, p.dir, "segments", "show", "members", "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var s jobs.SegmentStatus
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	require.Len(t, s.Destinations, 1)
	return s.Destinations[0].DeadLetters
}

// TestRefusedRecordsDeadLetterAndRetry: a retryable refusal fails the
// run and the next run sends the record; records a destination refuses
// for good wait in the dead-letter table, are not sent again by later
// runs, and go out with segflow retry.
func TestRefusedRecordsDeadLetterAndRetry(t *testing.T) {
	p := newJournalProject(t)
	p.configure(t, "frequency >= 1")
	ids := p.sentIDs(t, 3)
	permanent := fmt.Sprintf(`"%s": {code: invalid_email, message: "no mailbox"}, "%s": {code: invalid_email, message: "no mailbox"}`, ids[0], ids[1])
	p.configure(t, "frequency >= 1", fmt.Sprintf(`fail: {%s, "%s": {code: timeout, message: "try later", retryable: true}}`, permanent, ids[2]))
	r := segflow(t, p.dir, "run", "--job", "sync")
	require.Equal(t, 1, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "failed 3 (dead letters 2)")
	require.Contains(t, r.stdout+r.stderr, "1 records failed with a retryable error")
	require.Equal(t, int64(2), p.deadLetters(t))
	// The run history keeps the publish's outcome.
	runs := segflow(t, p.dir, "runs", "list", "--job", "sync", "--format", "json")
	require.Equal(t, 0, runs.code, runs.stderr)
	var listed []struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(runs.stdout), &listed))
	show := segflow(t, p.dir, "runs", "show", listed[0].ID)
	require.Regexp(t, `publish\s+members -> crm\s+\d+\s+0\s+\S+\s+\+\d+ ~0 -0 held out \d+; acknowledged \d+, failed 3 \(dead letters 2\); `, show.stdout)
	held, err := memdest.Read(p.journal)
	require.NoError(t, err)
	for _, rec := range held {
		require.NotContains(t, ids, rec["customer_id"], "a refused record is not held")
	}

	// The next run sends the record that failed retryably, and not the
	// two waiting in the dead-letter table.
	p.configure(t, "frequency >= 1", "fail: {"+permanent+"}")
	lines := p.journalLines(t)
	r = p.run(t)
	require.Contains(t, r.stdout, "+1 ~0 -0")
	require.Equal(t, lines+1, p.journalLines(t))
	require.Equal(t, int64(2), p.deadLetters(t))

	// Fixed at the destination, retry sends exactly them.
	p.configure(t, "frequency >= 1")
	r = segflow(t, p.dir, "retry", "members")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "+2 ~0 -0")
	require.Equal(t, lines+3, p.journalLines(t))
	require.Equal(t, int64(0), p.deadLetters(t))
	p.requireDestinationEqualsSegment(t)
}

// TestHoldoutResults publishes a segment with a holdout as of mid-2025,
// then runs as of the year's end, and reads the true-added-value report:
// the treated and control groups are the members who joined then, split
// as the holdout hash says, and each lift lies inside its interval.
func TestHoldoutResults(t *testing.T) {
	p := newJournalProject(t)
	p.asOf = "2025-06-30"
	p.configure(t, "frequency >= 1")
	p.run(t)
	sent, held := p.members(t)
	p.asOf = "2025-12-31"
	p.configure(t, "frequency >= 1")
	p.run(t)

	r := segflow(t, p.dir, "report", "holdout", "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var tables []struct {
		Rows []map[string]any `json:"rows"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tables))
	var first map[string]any
	for _, row := range tables[0].Rows {
		if strings.HasPrefix(fmt.Sprint(row["publish_date"]), "2025-06-30") {
			first = row
		}
	}
	require.NotNil(t, first, "a row for the mid-year publish: %v", tables[0].Rows)
	require.Equal(t, float64(len(sent)), first["treated_customers"])
	require.Equal(t, float64(len(held)), first["control_customers"])
	require.Equal(t, true, first["window_complete"])
	for _, m := range []string{"conversion_lift_pts", "revenue_lift"} {
		lift := first[m].(float64)
		lo, hi := first[strings.TrimSuffix(m, "_pts")+"_ci_low"+suffix(m)].(float64), first[strings.TrimSuffix(m, "_pts")+"_ci_high"+suffix(m)].(float64)
		require.True(t, lo <= lift && lift <= hi, "%s %v outside [%v, %v]", m, lift, lo, hi)
	}
}

func suffix(metric string) string {
	if strings.HasSuffix(metric, "_pts") {
		return "_pts"
	}
	return ""
}
