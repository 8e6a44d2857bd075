package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/jobs/schedule"
	"github.com/segflow/segflow/sql/models"
)

// The publish engine. For each segment × destination it diffs the
// segment against what the destination last acknowledged (sync_state,
// in the warehouse), streams only the diff out as Arrow, records every
// record's outcome in sync_acks as the destination reports it, and folds
// those into sync_state and sync_dead_letters. A run that dies midway
// leaves its acks behind; the next publish of the pair applies them
// first, so it sends exactly what is still missing.

// ackFlushRecords and ackFlushInterval bound how many acknowledged
// records a crash can make segflow send again.
const (
	ackFlushRecords  = 5000
	ackFlushInterval = time.Second
)

// newSync returns the sync renderer of a segment and destination.
func (r *Runner) newSync(ctx context.Context, seg config.Segment, dest string, runID string, now time.Time) (*models.Sync, error) {
	d, err := r.warehouseDialect(ctx)
	if err != nil {
		return nil, err
	}
	s, err := models.NewSync(d, r.Config.Warehouse.OutputSchema, seg.Name, dest, models.SegmentAttributes(seg.Attributes), runID, now)
	if err != nil {
		return nil, err
	}
	s.AsOf, err = AsOf(r.Config, now)
	return s, err
}

// recordHistory creates the sync tables if needed and updates the
// segment's membership history once its table is built.
func (r *Runner) recordHistory(ctx context.Context, sum *Summary, seg config.Segment, runID string, now time.Time) error {
	start := time.Now()
	st := Step{Kind: "segment", Name: seg.Name + " history"}
	s, err := r.newSync(ctx, seg, "", runID, now)
	var setup, history []string
	if err == nil {
		setup, err = s.Setup()
	}
	if err == nil {
		history, err = s.History()
	}
	if err == nil {
		st.SQL = strings.Join(history, ";\n\n")
		err = r.execStatements(ctx, append(setup, history...))
	}
	return r.record(sum, st, start, err)
}

// execAll renders statements with each function and executes them in order.
func (r *Runner) execAll(ctx context.Context, fns ...func() ([]string, error)) error {
	for _, f := range fns {
		stmts, err := f()
		if err == nil {
			err = r.execStatements(ctx, stmts)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) execStatements(ctx context.Context, stmts []string) error {
	for _, q := range stmts {
		if _, err := r.Warehouse.Execute(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// publish writes one segment's diff to one destination.
func (r *Runner) publish(ctx context.Context, sum *Summary, seg config.Segment, d config.Destination, runID string, now time.Time) error {
	start := time.Now()
	st := Step{Kind: "publish", Name: seg.Name + " -> " + d.Name, Sync: &SyncCounts{}}
	err := r.sync(ctx, &st, seg, d, runID, now)
	st.Rows = st.Sync.Acknowledged
	return r.record(sum, st, start, err)
}

func (r *Runner) sync(ctx context.Context, st *Step, seg config.Segment, d config.Destination, runID string, now time.Time) error {
	s, err := r.newSync(ctx, seg, d.Name, runID, now)
	if err != nil {
		return err
	}
	dest, err := r.openDestination(ctx, d)
	if err != nil {
		return err
	}
	defer dest.Close()
	info, err := dest.Info(ctx)
	if err != nil {
		return err
	}
	// What a publish that died left behind goes into the state before
	// the new diff is taken.
	if err := r.applyAcks(ctx, s); err != nil {
		return fmt.Errorf("recover acknowledgements of an earlier publish: %w", err)
	}
	if err := r.execAll(ctx, s.Diff); err != nil {
		return err
	}
	if err := r.countDiff(ctx, s, st.Sync); err != nil {
		return err
	}
	if info.Capabilities.Snapshot {
		return r.publishSnapshot(ctx, st, s, dest)
	}

	rec := &ackRecorder{r: r, s: s}
	stop := rec.start(ctx)
	var errs []error
	if st.Sync.Adds+st.Sync.Updates > 0 {
		errs = append(errs, r.writePending(ctx, dest, s, models.OpUpsert, rec))
	}
	switch {
	case st.Sync.Removes == 0 || errors.Join(errs...) != nil:
	case !info.Capabilities.SupportsRemove:
		st.Note = fmt.Sprintf("%d members left the segment; %s cannot remove records, so they stay there", st.Sync.Removes, d.Name)
	default:
		errs = append(errs, r.writePending(ctx, dest, s, models.OpRemove, rec))
	}
	// The acks are recorded and applied even when the write failed: what
	// was acknowledged stays sent. A cancelled run leaves them to the
	// next one.
	errs = append(errs, stop())
	if ctx.Err() == nil {
		errs = append(errs, r.applyAcks(ctx, s))
	}
	rec.counts(st.Sync)
	if n := st.Sync.Failed - st.Sync.DeadLettered; n > 0 {
		errs = append(errs, fmt.Errorf("%d records failed with a retryable error (first: %s); the next run sends them again", n, rec.firstRetryable))
	}
	return errors.Join(errs...)
}

// applyAcks folds acks left in sync_acks into the state, if there are any.
func (r *Runner) applyAcks(ctx context.Context, s *models.Sync) error {
	n, err := r.queryCount(ctx, s.PendingAcks())
	if err != nil || n == 0 {
		return err
	}
	return r.execAll(ctx, s.ApplyAcks)
}

func (r *Runner) queryCount(ctx context.Context, q string, params ...any) (int64, error) {
	rdr, err := r.Warehouse.Query(ctx, q, params...)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			v, err := core.Int64At(rec.Column(int(rec.NumCols())-1), i)
			if err != nil {
				return 0, err
			}
			n += v
		}
	}
	return n, rdr.Err()
}

// countChanges reads (change, count) rows into c's adds and updates.
func (r *Runner) countChanges(ctx context.Context, c *SyncCounts, q string, params ...any) error {
	rdr, err := r.Warehouse.Query(ctx, q, params...)
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			n, err := core.Int64At(rec.Column(1), i)
			if err != nil {
				return err
			}
			switch core.FormatValue(core.ValueAt(rec.Column(0), i)) {
			case "add":
				c.Adds = n
			case "update":
				c.Updates = n
			}
		}
	}
	return rdr.Err()
}

// countDiff reads the sizes of the materialised diff.
func (r *Runner) countDiff(ctx context.Context, s *models.Sync, c *SyncCounts) error {
	up, err := r.outTable(ctx, s.UpsertsTable())
	if err != nil {
		return err
	}
	if err := r.countChanges(ctx, c, "SELECT change, COUNT(*) FROM "+up+" GROUP BY change"); err != nil {
		return err
	}
	rm, err := r.outTable(ctx, s.RemovesTable())
	if err != nil {
		return err
	}
	if c.Removes, err = r.queryCount(ctx, "SELECT COUNT(*) FROM "+rm); err != nil {
		return err
	}
	seg, err := r.outTable(ctx, models.SegmentTable(s.Segment))
	if err != nil {
		return err
	}
	c.Holdout, err = r.queryCount(ctx, "SELECT COUNT(*) FROM "+seg+" WHERE holdout")
	return err
}

// publishSnapshot sends the whole segment to a destination that replaces
// its copy on every write, and makes the state the segment once it has.
func (r *Runner) publishSnapshot(ctx context.Context, st *Step, s *models.Sync, dest core.Destination) error {
	rdr, err := r.Warehouse.Query(ctx, s.Members())
	if err != nil {
		return err
	}
	defer rdr.Release()
	res, err := core.UpsertAll(ctx, dest, s.Segment, "customer_id", rdr)
	st.Sync.Acknowledged, st.Sync.Failed, st.Outputs = res.Acknowledged, res.Failed, res.Outputs
	if err != nil {
		return err
	}
	return r.execAll(ctx, s.ReplaceState)
}

// writePending streams the diff's records for op to dest.
func (r *Runner) writePending(ctx context.Context, dest core.Destination, s *models.Sync, op string, rec *ackRecorder) error {
	rdr, err := r.Warehouse.Query(ctx, s.Pending(op))
	if err != nil {
		return err
	}
	defer rdr.Release()
	kind := core.Upsert
	if op == models.OpRemove {
		kind = core.Remove
	}
	h := core.WriteHeader{Segment: s.Segment, Schema: rdr.Schema(), KeyColumn: "customer_id"}
	_, _, err = core.WriteAll(ctx, dest, h, kind, rdr, func(acks ...core.Ack) { rec.add(op, acks) })
	return err
}

// ackRecorder writes acks to sync_acks in the background, in batches, so
// the destination's stream never waits for the warehouse.
type ackRecorder struct {
	r *Runner
	s *models.Sync

	mu             sync.Mutex
	buf            []models.Ack
	full           chan struct{}
	acked, failed  int64
	permanent      int64
	firstRetryable string
}

func (a *ackRecorder) add(op string, acks []core.Ack) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range acks {
		m := models.Ack{Op: op, CustomerID: k.Key}
		if k.Err == nil {
			a.acked++
		} else {
			a.failed++
			m.ErrorCode, m.ErrorMessage, m.Retryable = k.Err.Code, k.Err.Message, k.Err.Retryable
			if k.Err.Retryable {
				if a.firstRetryable == "" {
					a.firstRetryable = k.Key + ": " + k.Err.Error()
				}
			} else {
				a.permanent++
			}
		}
		a.buf = append(a.buf, m)
	}
	if len(a.buf) >= ackFlushRecords {
		select {
		case a.full <- struct{}{}:
		default:
		}
	}
}

func (a *ackRecorder) take() []models.Ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.buf
	a.buf = nil
	return out
}

// start flushes acks every ackFlushInterval or ackFlushRecords; stop
// flushes the rest and returns the first error.
func (a *ackRecorder) start(ctx context.Context) (stop func() error) {
	a.full = make(chan struct{}, 1)
	done := make(chan struct{})
	result := make(chan error, 1)
	// Acks already received are written even when ctx ends, so that a
	// cancelled run still keeps what the destination acknowledged.
	wctx := context.WithoutCancel(ctx)
	go func() {
		var firstErr error
		flush := func() {
			if batch := a.take(); len(batch) > 0 && firstErr == nil {
				for from := 0; from < len(batch); from += ackFlushRecords {
					chunk := batch[from:min(from+ackFlushRecords, len(batch))]
					if _, err := a.r.Warehouse.Execute(wctx, a.s.RecordAcks(chunk)); err != nil {
						firstErr = fmt.Errorf("record acknowledgements: %w", err)
						return
					}
				}
			}
		}
		t := time.NewTicker(ackFlushInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				flush()
			case <-a.full:
				flush()
			case <-done:
				flush()
				result <- firstErr
				return
			}
		}
	}()
	return func() error {
		close(done)
		return <-result
	}
}

func (a *ackRecorder) counts(c *SyncCounts) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.Acknowledged, c.Failed, c.DeadLettered = a.acked, a.failed, a.permanent
}

// planCalls estimates a dry run's API calls and their duration under the
// destination's declared limits.
func planCalls(c *SyncCounts, caps core.DestinationCapabilities) {
	if caps.Snapshot {
		c.Calls = 1 // one write of every member
		return
	}
	calls := func(n int64) int64 {
		if n == 0 {
			return 0
		}
		if caps.MaxBatchRecords <= 0 {
			return 1
		}
		return (n + caps.MaxBatchRecords - 1) / caps.MaxBatchRecords
	}
	c.Calls = calls(c.Adds+c.Updates) + calls(c.Removes)
	if rate := caps.RateLimit.RequestsPerSecond; rate > 0 && c.Calls > int64(caps.RateLimit.Burst) {
		c.Estimated = time.Duration(math.Ceil(float64(c.Calls-int64(caps.RateLimit.Burst)) / rate * float64(time.Second)))
	}
}

// runID names the run in the sync tables: the scheduler's run, or for a
// run outside it (tests, dry runs) one made from the time.
func runID(ctx context.Context, now time.Time) string {
	if run, ok := schedule.RunFromContext(ctx); ok {
		return run.ID
	}
	return "adhoc-" + now.UTC().Format("20060102T150405.000")
}

// planPublish is a dry run's publish step: the diff counted over the
// segment's query (nothing is created), the API calls it takes and how
// long under the destination's rate limit, and where it would go.
func (r *Runner) planPublish(ctx context.Context, sp SegmentPlan, d config.Destination) (Step, error) {
	st := Step{Kind: "publish", Name: sp.Segment.Name + " -> " + d.Name, Sync: &SyncCounts{}}
	dest, err := r.openDestination(ctx, d)
	if err != nil {
		return st, err
	}
	defer dest.Close()
	info, err := dest.Info(ctx)
	if err != nil {
		return st, err
	}
	if st.Outputs, err = dest.Outputs(ctx, sp.Segment.Name); errors.Is(err, core.ErrNotImplemented) {
		err = nil
	}
	if err != nil {
		return st, err
	}
	if err := r.countPlan(ctx, sp, d.Name, st.Sync); err != nil {
		// Typically the model table the segment reads does not exist
		// before the first run.
		st.Note = "diff not counted: " + firstLine(r.Config.Redact(err.Error()))
		return st, nil
	}
	if info.Capabilities.Snapshot {
		// A snapshot destination receives every member each time.
		n, err := r.queryCount(ctx, "SELECT COUNT(*) FROM (\n"+sp.Statement.Query+"\n) AS m WHERE NOT m.holdout", sp.Statement.Params...)
		if err != nil {
			return st, err
		}
		st.Note = fmt.Sprintf("snapshot destination: all %d members are written each time", n)
	}
	planCalls(st.Sync, info.Capabilities)
	return st, nil
}

// countPlan counts a segment's pending diff for one destination without
// creating anything.
func (r *Runner) countPlan(ctx context.Context, sp SegmentPlan, dest string, c *SyncCounts) error {
	s, err := r.newSync(ctx, sp.Segment, dest, "dry-run", r.now())
	if err != nil {
		return err
	}
	state, err := r.outTable(ctx, models.SyncStateTable)
	if err != nil {
		return err
	}
	probe, noStateErr := r.Warehouse.Query(ctx, "SELECT 1 FROM "+state+" WHERE FALSE")
	if noStateErr == nil {
		probe.Release()
	}
	qs, err := s.DiffCounts(sp.Statement.Query, noStateErr != nil)
	if err != nil {
		return err
	}
	if err := r.countChanges(ctx, c, qs[0], sp.Statement.Params...); err != nil {
		return err
	}
	if qs[1] != "" {
		if c.Removes, err = r.queryCount(ctx, qs[1], sp.Statement.Params...); err != nil {
			return err
		}
	}
	c.Holdout, err = r.queryCount(ctx, qs[2], sp.Statement.Params...)
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Retry sends again the records of a segment that destinations refused
// permanently (its dead letters), with their current attributes, and
// any other pending difference: the segment as last built is diffed
// again with its dead letters no longer held back. destination, if not
// empty, limits it to one destination. The segment is not rebuilt.
func (r *Runner) Retry(ctx context.Context, segment, destination string) (*Summary, error) {
	now := r.now()
	sum := &Summary{Job: "retry " + segment, Started: now}
	defer func() { sum.Duration = time.Since(now) }()
	seg := r.Config.Segment(segment)
	if seg == nil {
		return sum, fmt.Errorf("%w %q", ErrNoSegment, segment)
	}
	if destination != "" && !slices.Contains(seg.Destinations, destination) {
		return sum, fmt.Errorf("segment %s is not published to %q (its destinations: %s)", segment, destination, strings.Join(seg.Destinations, ", "))
	}
	runID := runID(ctx, now)
	var errs []error
	for _, dn := range seg.Destinations {
		if destination != "" && dn != destination {
			continue
		}
		s, err := r.newSync(ctx, *seg, dn, runID, now)
		if err == nil {
			err = r.execAll(ctx, s.Setup, s.Retry)
		}
		if err != nil {
			return sum, err
		}
		errs = append(errs, r.publish(ctx, sum, *seg, *r.Config.Destination(dn), runID, now))
	}
	return sum, errors.Join(errs...)
}

// holdoutResults rebuilds holdout_results when the job publishes a
// segment with a holdout and builds orders_clean, which it reads.
func (r *Runner) holdoutResults(ctx context.Context, sum *Summary, plan *Plan) error {
	held := slices.ContainsFunc(plan.Segments, func(sp SegmentPlan) bool { return sp.Segment.Holdout > 0 })
	orders := slices.ContainsFunc(plan.Statements, func(s models.Statement) bool { return s.Name == "orders_clean" })
	if !held || !orders {
		return nil
	}
	stmt, err := models.RenderHoldoutResults(plan.Options)
	if err != nil {
		return err
	}
	return r.materialise(ctx, sum, "model", "holdout."+stmt.Name, stmt.Name, stmt.SQL)
}
