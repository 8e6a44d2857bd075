package models

import (
	"fmt"
	"strings"
	"time"

	"github.com/segflow/segflow/sql/dialect"
)

// The tables the publish engine keeps in the output schema, beside the
// segment tables. Teams can query them; their columns are documented in
// the README.
const (
	MembershipHistoryTable = "segment_membership_history"
	SyncStateTable         = "sync_state"
	DeadLettersTable       = "sync_dead_letters"
	SyncAcksTable          = "sync_acks"
)

// Operations as the sync tables name them.
const (
	OpUpsert = "upsert"
	OpRemove = "remove"
)

// Sync renders the statements that keep one segment's membership history
// and its sync state with one destination: the diff against what the
// destination last acknowledged (materialised as two tables, one of
// upserts and one of removes, so that only they leave the warehouse),
// and the folding of acknowledgements into sync_state and
// sync_dead_letters. Every statement is idempotent or replaces a table,
// so that a run that dies between two is completed by the next one.
type Sync struct {
	r *renderer
	// Segment and Destination name the pair; Destination is empty for
	// the statements about the segment alone (history).
	Segment, Destination string
	// Attributes are the segment's columns sent besides customer_id and
	// email, in order.
	Attributes []string
	RunID      string
	Now        time.Time
	// AsOf is the models' as_of date of the run, recorded with members
	// who join.
	AsOf time.Time
}

// NewSync returns the renderer of segment's sync statements with
// destination in the output schema.
func NewSync(d dialect.Dialect, outputSchema, segment, destination string, attributes []string, runID string, now time.Time) (*Sync, error) {
	r := &renderer{o: Options{Dialect: d, OutputSchema: outputSchema}, d: d}
	t, err := loadTemplates(templateFS, "templates", d.Name(), r.funcs())
	if err != nil {
		return nil, err
	}
	r.tmpl = t
	return &Sync{r: r, Segment: segment, Destination: destination, Attributes: attributes, RunID: runID, Now: now}, nil
}

// UpsertsTable and RemovesTable hold the pending diff for the pair.
func (s *Sync) UpsertsTable() string { return "sync_upserts_" + s.Segment + "__" + s.Destination }
func (s *Sync) RemovesTable() string { return "sync_removes_" + s.Segment + "__" + s.Destination }

// syncData is what the sync templates see.
type syncData struct {
	Segment, Destination string
	SegmentTable         string
	Attributes           []string
	RunID                string
	Now, AsOf            time.Time
	// Current is the segment's membership: its table, or for a dry run
	// its query in parentheses.
	Current string
	// NoState: sync_state does not exist yet (a dry run before the first
	// publish): everything is an add.
	NoState bool
	// Op and Table: the operation whose acks to apply and its diff table.
	Op, Table string
}

func (s *Sync) data() syncData {
	return syncData{
		Segment: s.Segment, Destination: s.Destination, SegmentTable: SegmentTable(s.Segment),
		Attributes: s.Attributes, RunID: s.RunID, Now: s.Now, AsOf: s.AsOf,
		Current: s.r.d.Table(s.r.o.OutputSchema, SegmentTable(s.Segment)),
	}
}

func (s *Sync) render(data syncData, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		q, err := s.r.query(n, data)
		if err != nil {
			return nil, fmt.Errorf("sync %s -> %s: %w", s.Segment, s.Destination, err)
		}
		out[i] = q
	}
	return out, nil
}

func (s *Sync) out(table string) string { return s.r.d.Table(s.r.o.OutputSchema, table) }

// Setup creates the sync tables that do not exist yet. The segment's
// table must exist: the new tables take its customer_id type.
func (s *Sync) Setup() ([]string, error) {
	return s.render(s.data(), "sync/history_table", "sync/state_table", "sync/dead_letters_table", "sync/acks_table")
}

// History closes the membership of members who left the segment and
// opens one for members who joined, stamped with the run.
func (s *Sync) History() ([]string, error) {
	return s.render(s.data(), "sync/history_leave", "sync/history_join")
}

// Diff materialises the pending upserts and removes.
func (s *Sync) Diff() ([]string, error) {
	data := s.data()
	q, err := s.render(data, "sync/upserts", "sync/removes")
	if err != nil {
		return nil, err
	}
	return []string{
		s.r.d.CreateTableAs(s.out(s.UpsertsTable()), q[0]),
		s.r.d.CreateTableAs(s.out(s.RemovesTable()), q[1]),
	}, nil
}

// DiffCounts returns read-only queries for a dry run's plan over the
// segment's query (current, a SELECT whose ? parameters the caller
// binds): the first counts upserts by change (add, update), the second
// removes, the third holdout members. noState says sync_state does not
// exist yet; removes are then 0 and the second query is empty.
func (s *Sync) DiffCounts(current string, noState bool) ([]string, error) {
	data := s.data()
	data.Current, data.NoState = "(\n"+current+"\n)", noState
	q, err := s.render(data, "sync/upserts")
	if err != nil {
		return nil, err
	}
	out := []string{"SELECT change, COUNT(*) AS n FROM (\n" + q[0] + "\n) AS d GROUP BY change", ""}
	if !noState {
		r, err := s.render(data, "sync/removes")
		if err != nil {
			return nil, err
		}
		out[1] = "SELECT COUNT(*) AS n FROM (\n" + r[0] + "\n) AS d"
	}
	out = append(out, "SELECT COUNT(*) AS n FROM "+data.Current+" AS m WHERE m.holdout")
	return out, nil
}

// Pending returns the query of the records to send for op, in key
// order: the segment's columns for upserts, customer_id and email (the
// identity the destination knows the record by) for removes.
func (s *Sync) Pending(op string) string {
	if op == OpRemove {
		return "SELECT customer_id, email FROM " + s.out(s.RemovesTable()) + " ORDER BY customer_id"
	}
	cols := append([]string{"customer_id", "email"}, s.Attributes...)
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + s.out(s.UpsertsTable()) + " ORDER BY customer_id"
}

// Members returns the query of every member to send, holdout excluded,
// in key order: a snapshot destination gets the whole segment each time.
func (s *Sync) Members() string {
	cols := append([]string{"customer_id", "email"}, s.Attributes...)
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + s.out(SegmentTable(s.Segment)) + " WHERE NOT holdout ORDER BY customer_id"
}

// Ack is one record's outcome as the destination reported it.
type Ack struct {
	Op         string
	CustomerID string
	// ErrorCode is empty for an acknowledged record.
	ErrorCode, ErrorMessage string
	Retryable               bool
}

// RecordAcks returns an INSERT of acks into sync_acks.
func (s *Sync) RecordAcks(acks []Ack) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + s.out(SyncAcksTable) +
		" (destination, segment, op, customer_id, error_code, error_message, retryable, run_id) VALUES")
	d := s.r.d
	null := func(v string) string {
		if v == "" {
			return "NULL"
		}
		return d.StringLiteral(v)
	}
	for i, a := range acks {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n(%s, %s, %s, %s, %s, %s, %t, %s)",
			d.StringLiteral(s.Destination), d.StringLiteral(s.Segment), d.StringLiteral(a.Op), d.StringLiteral(a.CustomerID),
			null(a.ErrorCode), null(a.ErrorMessage), a.Retryable, d.StringLiteral(s.RunID))
	}
	return b.String()
}

// PendingAcks counts the pair's acks not yet applied (left by a publish
// that died).
func (s *Sync) PendingAcks() string {
	d := s.r.d
	return "SELECT COUNT(*) AS n FROM " + s.out(SyncAcksTable) +
		" WHERE destination = " + d.StringLiteral(s.Destination) + " AND segment = " + d.StringLiteral(s.Segment)
}

// ApplyAcks folds the pair's recorded acks into sync_state (records
// acknowledged) and sync_dead_letters (records refused permanently), and
// clears them. It needs the diff tables the acks refer to.
func (s *Sync) ApplyAcks() ([]string, error) {
	var out []string
	for _, op := range []struct{ op, table string }{{OpUpsert, s.UpsertsTable()}, {OpRemove, s.RemovesTable()}} {
		data := s.data()
		data.Op, data.Table = op.op, op.table
		names := []string{"sync/apply_forget"}
		if op.op == OpUpsert {
			names = append(names, "sync/apply_insert")
		}
		names = append(names, "sync/apply_dead")
		q, err := s.render(data, names...)
		if err != nil {
			return nil, err
		}
		out = append(out, q...)
	}
	clear, err := s.render(s.data(), "sync/apply_clear")
	return append(out, clear...), err
}

// ReplaceState sets the pair's sync state to the segment's members,
// holdout excluded: after a snapshot destination took the whole segment.
func (s *Sync) ReplaceState() ([]string, error) {
	return s.render(s.data(), "sync/replace_clear", "sync/replace_fill")
}

// Retry marks the pair's dead letters as retried, so that the next diff
// sends those records again.
func (s *Sync) Retry() ([]string, error) {
	return s.render(s.data(), "sync/retry")
}
