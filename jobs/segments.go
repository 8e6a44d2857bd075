package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/sql/models"
)

// SegmentStatus is what segflow knows of one segment: its definition
// from the config and, once a run built it, its size, membership history
// and each destination's sync state, read from the output schema.
type SegmentStatus struct {
	Name    string
	Model   string
	Filter  string `json:",omitempty"`
	Where   string `json:",omitempty"`
	Holdout float64
	// Built says whether the segment's table exists; the figures below
	// are zero until it does.
	Built bool
	// Members is the current size, holdout included; Holdout members
	// are the control group, kept out of every destination.
	Members, HoldoutMembers int64
	// History is the size and churn per run, oldest first.
	History      []SegmentRun
	Destinations []DestinationStatus
}

// SegmentRun is one run's change to a segment's membership.
type SegmentRun struct {
	RunID string
	At    time.Time
	// Members after the run; Joined and Left during it.
	Members, Joined, Left int64
}

// DestinationStatus is one destination's copy of a segment as segflow
// last saw it acknowledged.
type DestinationStatus struct {
	Name   string
	Plugin string
	// Synced records the destination acknowledged and holds.
	Synced   int64
	LastSync time.Time `json:",omitempty"`
	// DeadLetters are records refused permanently and not yet retried.
	DeadLetters int64
}

// SyncPlan is the pending diff of one segment for one destination.
type SyncPlan struct {
	Segment, Destination string
	SyncCounts
	Note string `json:",omitempty"`
}

// Segments returns the status of every segment in the config.
func (r *Runner) Segments(ctx context.Context) ([]SegmentStatus, error) {
	var out []SegmentStatus
	for _, seg := range r.Config.Segments {
		s, err := r.segmentStatus(ctx, seg)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// ErrNoSegment is returned for a segment the config does not define.
var ErrNoSegment = errors.New("no such segment")

// Segment returns one segment's status.
func (r *Runner) Segment(ctx context.Context, name string) (*SegmentStatus, error) {
	seg := r.Config.Segment(name)
	if seg == nil {
		return nil, fmt.Errorf("%w %q", ErrNoSegment, name)
	}
	return r.segmentStatus(ctx, *seg)
}

func (r *Runner) segmentStatus(ctx context.Context, seg config.Segment) (*SegmentStatus, error) {
	st := &SegmentStatus{Name: seg.Name, Model: seg.Model, Filter: seg.Filter, Where: seg.Where, Holdout: seg.Holdout}
	d, err := r.warehouseDialect(ctx)
	if err != nil {
		return nil, err
	}
	schema := r.Config.Warehouse.OutputSchema
	name := d.StringLiteral(seg.Name)
	size, err := report.Query(ctx, r.Warehouse, "", "SELECT COUNT(*), COALESCE(SUM(CASE WHEN holdout THEN 1 ELSE 0 END), 0) FROM "+d.Table(schema, models.SegmentTable(seg.Name)))
	if err != nil {
		return st, nil // not built yet
	}
	st.Built = true
	st.Members, st.HoldoutMembers = report.AsInt64(size.Rows[0][0]), report.AsInt64(size.Rows[0][1])

	history := d.Table(schema, models.MembershipHistoryTable)
	churn, err := report.Query(ctx, r.Warehouse, "", `SELECT run_id, MIN(changed_at) AS changed_at, SUM(joined) AS joined, SUM(n_left) AS n_left FROM (
    SELECT joined_run_id AS run_id, joined_at AS changed_at, 1 AS joined, 0 AS n_left FROM `+history+` WHERE segment = `+name+`
    UNION ALL
    SELECT left_run_id, left_at, 0, 1 FROM `+history+` WHERE segment = `+name+` AND left_run_id IS NOT NULL
) AS c GROUP BY run_id ORDER BY changed_at`)
	if err != nil {
		return nil, err
	}
	var members int64
	for _, row := range churn.Rows {
		run := SegmentRun{RunID: fmt.Sprint(row[0]), Joined: report.AsInt64(row[2]), Left: report.AsInt64(row[3])}
		run.At, _ = row[1].(time.Time)
		members += run.Joined - run.Left
		run.Members = members
		st.History = append(st.History, run)
	}
	for _, dn := range seg.Destinations {
		dest := r.Config.Destination(dn)
		ds := DestinationStatus{Name: dn, Plugin: dest.Plugin}
		where := " WHERE destination = " + d.StringLiteral(dn) + " AND segment = " + name
		synced, err := report.Query(ctx, r.Warehouse, "", "SELECT COUNT(*), MAX(synced_at) FROM "+d.Table(schema, models.SyncStateTable)+where)
		if err != nil {
			return nil, err
		}
		ds.Synced = report.AsInt64(synced.Rows[0][0])
		ds.LastSync, _ = synced.Rows[0][1].(time.Time)
		dead, err := report.Query(ctx, r.Warehouse, "", "SELECT COUNT(*) FROM "+d.Table(schema, models.DeadLettersTable)+where+" AND retried_at IS NULL")
		if err != nil {
			return nil, err
		}
		ds.DeadLetters = report.AsInt64(dead.Rows[0][0])
		st.Destinations = append(st.Destinations, ds)
	}
	return st, nil
}

// SegmentMembers returns up to limit members of a built segment, in key
// order, as text.
func (r *Runner) SegmentMembers(ctx context.Context, name string, limit int) ([]map[string]string, error) {
	if r.Config.Segment(name) == nil {
		return nil, fmt.Errorf("%w %q", ErrNoSegment, name)
	}
	t, err := r.outTable(ctx, models.SegmentTable(name))
	if err != nil {
		return nil, err
	}
	tbl, err := report.Query(ctx, r.Warehouse, "", fmt.Sprintf("SELECT * FROM %s ORDER BY customer_id LIMIT %d", t, limit))
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, row := range tbl.Rows {
		m := map[string]string{}
		for i, c := range tbl.Columns {
			m[c] = core.FormatValue(row[i])
		}
		out = append(out, m)
	}
	return out, nil
}

// Diff counts what publishing a segment now would send to each of its
// destinations: its query is run, nothing is written.
func (r *Runner) Diff(ctx context.Context, name string) ([]SyncPlan, error) {
	seg := r.Config.Segment(name)
	if seg == nil {
		return nil, fmt.Errorf("%w %q", ErrNoSegment, name)
	}
	opts, err := r.modelOptions(ctx, nil)
	if err != nil {
		return nil, err
	}
	sp, err := r.segmentPlan(seg, opts)
	if err != nil {
		return nil, err
	}
	var out []SyncPlan
	for _, d := range sp.Destinations {
		st, err := r.planPublish(ctx, sp, d)
		if err != nil {
			return nil, err
		}
		out = append(out, SyncPlan{Segment: name, Destination: d.Name, SyncCounts: *st.Sync, Note: st.Note})
	}
	return out, nil
}
