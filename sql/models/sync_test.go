package models

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/zetasql"
)

// syncFor returns the sync renderer of segment vip with destination
// crm at run, with one attribute, tier.
func syncFor(t *testing.T, d dialect.Dialect, schema, run string, day int) *Sync {
	t.Helper()
	s, err := NewSync(d, schema, "vip", "crm", []string{"tier"}, run, time.Date(2026, 1, day, 6, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	s.AsOf = time.Date(2026, 1, day, 0, 0, 0, 0, time.UTC)
	return s
}

// member is a row of segment_vip as the test writes it: the hash stands
// for the attributes, so a changed tier comes with a changed hash.
type syncMember struct {
	id, email, tier string
	holdout         bool
}

func setSegment(t *testing.T, db *sql.DB, members ...syncMember) {
	t.Helper()
	exec(t, db, `CREATE OR REPLACE TABLE segflow.segment_vip (customer_id VARCHAR, email VARCHAR, tier VARCHAR, holdout BOOLEAN, row_hash VARCHAR)`)
	for _, m := range members {
		exec(t, db, `INSERT INTO segflow.segment_vip VALUES ('`+m.id+`', '`+m.email+`', '`+m.tier+`', `+map[bool]string{true: "TRUE", false: "FALSE"}[m.holdout]+`, 'h-`+m.tier+`')`)
	}
}

func column(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err, query)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

// TestSyncOnDuckDB walks one segment and one destination through four
// runs, with every expected diff and state worked out by hand.
func TestSyncOnDuckDB(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	d := dialect.DuckDB{}
	run := func(s *Sync, f func(*Sync) ([]string, error)) {
		t.Helper()
		stmts, err := f(s)
		require.NoError(t, err)
		exec(t, db, stmts...)
	}
	upserts := func(s *Sync) []string {
		return column(t, db, "SELECT customer_id || ':' || change FROM segflow."+s.UpsertsTable())
	}
	removes := func(s *Sync) []string { return column(t, db, "SELECT customer_id FROM segflow."+s.RemovesTable()) }
	state := func() []string {
		return column(t, db, "SELECT customer_id || ':' || row_hash || ':' || email FROM segflow.sync_state WHERE destination = 'crm' AND segment = 'vip'")
	}

	// Run 1: a, b and c join; c is held out. b is refused for good.
	s := syncFor(t, d, "segflow", "r1", 1)
	setSegment(t, db, syncMember{"a", "a@x.io", "gold", false}, syncMember{"b", "b@x", "gold", false}, syncMember{"c", "c@x.io", "gold", true})
	run(s, (*Sync).Setup)
	run(s, (*Sync).History)
	require.Equal(t, []string{"0"}, column(t, db, s.PendingAcks()), "nothing to recover")
	run(s, (*Sync).Diff)
	require.Equal(t, []string{"a:add", "b:add"}, upserts(s), "the holdout member is not sent")
	require.Empty(t, removes(s))
	exec(t, db, s.RecordAcks([]Ack{{Op: OpUpsert, CustomerID: "a"}, {Op: OpUpsert, CustomerID: "b", ErrorCode: "invalid_email", ErrorMessage: "b@x: no domain"}}))
	run(s, (*Sync).ApplyAcks)
	run(s, (*Sync).ApplyAcks) // applying twice (a crash before the clear) changes nothing
	require.Equal(t, []string{"a:h-gold:a@x.io"}, state())
	require.Equal(t, []string{"b:invalid_email:b@x: no domain"},
		column(t, db, "SELECT customer_id || ':' || error_code || ':' || error_message FROM segflow.sync_dead_letters WHERE retried_at IS NULL"))
	require.Equal(t, []string{"0"}, column(t, db, s.PendingAcks()))

	// Run 2: a's tier changes, d joins; b, unchanged, waits in the
	// dead-letter queue. a's ack is recorded, d's is lost in a crash.
	s = syncFor(t, d, "segflow", "r2", 2)
	setSegment(t, db, syncMember{"a", "a@x.io", "platinum", false}, syncMember{"b", "b@x", "gold", false},
		syncMember{"c", "c@x.io", "gold", true}, syncMember{"d", "d@x.io", "silver", false})
	run(s, (*Sync).Setup)
	run(s, (*Sync).History)
	run(s, (*Sync).Diff)
	require.Equal(t, []string{"a:update", "d:add"}, upserts(s))
	exec(t, db, s.RecordAcks([]Ack{{Op: OpUpsert, CustomerID: "a"}}))

	// Run 3 starts by applying what run 2 left: a's new hash. Then a
	// leaves, d is sent again (it was never acknowledged), b too after
	// a retry.
	s = syncFor(t, d, "segflow", "r3", 3)
	require.Equal(t, []string{"1"}, column(t, db, s.PendingAcks()))
	run(s, (*Sync).ApplyAcks)
	require.Equal(t, []string{"a:h-platinum:a@x.io"}, state())
	setSegment(t, db, syncMember{"b", "b@x", "gold", false}, syncMember{"c", "c@x.io", "gold", true}, syncMember{"d", "d@x.io", "silver", false})
	run(s, (*Sync).Setup)
	run(s, (*Sync).History)
	run(s, (*Sync).Retry)
	run(s, (*Sync).Diff)
	require.Equal(t, []string{"b:add", "d:add"}, upserts(s))
	require.Equal(t, []string{"a"}, removes(s), "a was sent and left")
	exec(t, db, s.RecordAcks([]Ack{{Op: OpUpsert, CustomerID: "b"}, {Op: OpUpsert, CustomerID: "d"}, {Op: OpRemove, CustomerID: "a"}}))
	run(s, (*Sync).ApplyAcks)
	require.Equal(t, []string{"b:h-gold:b@x", "d:h-silver:d@x.io"}, state())

	// Run 4: nothing changed, nothing to send.
	s = syncFor(t, d, "segflow", "r4", 4)
	run(s, (*Sync).History)
	run(s, (*Sync).Diff)
	require.Empty(t, upserts(s))
	require.Empty(t, removes(s))

	// History: a joined in r1 and left in r3; d joined in r2; c is
	// recorded as held out.
	require.Equal(t, []string{
		"a:false:r1:r3", "b:false:r1:-", "c:true:r1:-", "d:false:r2:-",
	}, column(t, db, `SELECT customer_id || ':' || holdout || ':' || joined_run_id || ':' || COALESCE(left_run_id, '-') FROM segflow.segment_membership_history`))
	require.Equal(t, []string{"2026-01-03 06:00:00"}, column(t, db, `SELECT CAST(left_at AS VARCHAR) FROM segflow.segment_membership_history WHERE customer_id = 'a'`))
}

// TestSyncDryRunCounts counts a plan over the segment's query without
// creating anything, before and after a sync state exists.
func TestSyncDryRunCounts(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t)
	setSegment(t, db, syncMember{"a", "a@x.io", "gold", false}, syncMember{"b", "b@x.io", "gold", false}, syncMember{"c", "c@x.io", "gold", true})
	s := syncFor(t, dialect.DuckDB{}, "segflow", "r1", 1)
	current := "SELECT * FROM segflow.segment_vip"
	q, err := s.DiffCounts(current, true)
	require.NoError(t, err)
	require.Equal(t, []string{"add:2"}, column(t, db, "SELECT change || ':' || n FROM ("+q[0]+")"))
	require.Empty(t, q[1])
	require.Equal(t, []string{"1"}, column(t, db, q[2]))

	stmts, err := s.Setup()
	require.NoError(t, err)
	exec(t, db, stmts...)
	exec(t, db, `INSERT INTO segflow.sync_state VALUES ('crm', 'vip', 'a', 'a@x.io', 'old', NULL, 'r0'), ('crm', 'vip', 'z', 'z@x.io', 'h-gold', NULL, 'r0')`)
	q, err = s.DiffCounts(current, false)
	require.NoError(t, err)
	require.Equal(t, []string{"add:1", "update:1"}, column(t, db, "SELECT change || ':' || n FROM ("+q[0]+")"))
	require.Equal(t, []string{"1"}, column(t, db, q[1]), "z was sent and is no longer a member")
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE 'sync_upserts%'").Scan(&n))
	require.Zero(t, n, "a dry run creates no table")
}

// allSyncStatements renders every sync statement for one dialect, in the
// order a run executes them.
func allSyncStatements(t *testing.T, d dialect.Dialect, schema string) []string {
	s, err := NewSync(d, schema, "vip", "crm", []string{"segment", "monetary"}, "run-1", time.Date(2024, 6, 30, 6, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	s.AsOf = asOf
	var all []string
	for _, f := range []func() ([]string, error){s.Setup, s.History, s.Retry, s.Diff} {
		stmts, err := f()
		require.NoError(t, err)
		all = append(all, stmts...)
	}
	all = append(all, s.Pending(OpUpsert), s.Pending(OpRemove), s.Members(),
		s.RecordAcks([]Ack{{Op: OpUpsert, CustomerID: "c1"}, {Op: OpRemove, CustomerID: "it's", ErrorCode: "gone", ErrorMessage: `a "quoted" \ message`, Retryable: true}}),
		s.PendingAcks())
	stmts, err := s.ApplyAcks()
	require.NoError(t, err)
	all = append(all, stmts...)
	stmts, err = s.ReplaceState()
	require.NoError(t, err)
	return append(all, stmts...)
}

func TestSyncGolden(t *testing.T) {
	for _, name := range dialect.Names() {
		d, err := dialect.Get(name)
		require.NoError(t, err)
		checkGolden(t, "sync."+name+".sql", strings.Join(allSyncStatements(t, d, "segflow"), ";\n\n")+";\n")
		holdout, err := RenderHoldoutResults(goldenOptions(d))
		require.NoError(t, err)
		checkGolden(t, "holdout_results."+name+".sql", holdout.SQL+";\n")
	}
}

// TestSyncZetaSQL analyses every sync statement, after the segment they
// read, for BigQuery and Snowflake.
func TestSyncZetaSQL(t *testing.T) {
	for name, flavor := range analyzerFlavors {
		t.Run(name, func(t *testing.T) {
			a := zetasql.StartForTest(t, flavor)
			o := warehouseOptions(t, name)
			seg, err := RenderSegment(SegmentSpec{Name: "vip", Model: "rfm", Attributes: []string{"segment", "monetary"}, Holdout: 0.1}, o)
			require.NoError(t, err)
			rfm, err := Render("rfm", o)
			require.NoError(t, err)
			var stmts []string
			for _, s := range rfm {
				stmts = append(stmts, s.SQL)
			}
			stmts = append(stmts, seg.SQL)
			stmts = append(stmts, allSyncStatements(t, o.Dialect, o.OutputSchema)...)
			s, err := NewSync(o.Dialect, o.OutputSchema, "vip", "crm", []string{"segment", "monetary"}, "r", time.Now())
			require.NoError(t, err)
			counts, err := s.DiffCounts(strings.TrimPrefix(seg.SQL[strings.Index(seg.SQL, "AS\n")+3:], ""), false)
			require.NoError(t, err)
			stmts = append(stmts, counts...)
			holdout, err := RenderHoldoutResults(o)
			require.NoError(t, err)
			stmts = append(stmts, holdout.SQL)
			require.NoError(t, a.AnalyzeAll(context.Background(), stmts, sourceCatalog(o)))
		})
	}
}
