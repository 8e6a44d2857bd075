package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segflow/segflow/core/arrowipc"
)

// Destination applies segment members to an outbound tool: a file,
// Mailchimp, Klaviyo, ... Implementations are the destination plugins; the
// publish engine reaches them across the plugin boundary (core/pluginhost)
// or in-process through the same interface. The wire protocol is
// plugins/proto/destination/v1; its comments and these agree.
//
// Every method honours ctx.
type Destination interface {
	// Info describes the destination and its limits. It may be called
	// before Configure, and may answer differently after it.
	Info(ctx context.Context) (DestinationInfo, error)
	// Configure validates and applies the plugin's configuration. Invalid
	// configuration returns FieldErrors.
	Configure(ctx context.Context, config json.RawMessage) error
	// TestConnection checks that the destination is reachable with the
	// configured credentials, changing nothing.
	TestConnection(ctx context.Context) error
	// Outputs names, for people, where a Write of the segment would go
	// (files, list URLs), or returns ErrNotImplemented. It changes nothing.
	Outputs(ctx context.Context, segment string) ([]string, error)
	// Write applies a stream of operations to the destination's copy of a
	// segment and reports the outcome of every record through ack.
	//
	// Operations. The caller sends ops on ops and closes the channel after
	// the last one. Closing ops is what says the write is complete: an
	// implementation commits (a snapshot destination renames its file into
	// place) only once ops is closed and ctx is not done. To abandon a
	// write the caller cancels ctx and leaves ops open. Every batch has
	// h.Schema. Op.Seq is the caller's name for a batch, unique within the
	// write; acks repeat it.
	//
	// Limits. Implementations may rely on every batch being within their
	// Info limits (MaxBatchRecords, MaxBatchBytes) and on receiving no
	// Remove unless SupportsRemove. SplitBatches makes any caller keep to
	// them, and the clients pluginhost returns are wrapped in it, so
	// callers of those may send batches of any size.
	//
	// Ownership and blocking. Write takes every batch it receives from ops
	// and releases it once done with it; batches still in ops when Write
	// returns stay the caller's. Write receives only as fast as the
	// destination takes records (for plugins: within the protocol's
	// window of batches in flight), so a caller sending on ops blocks when
	// the destination is slow and memory stays bounded by the batch size.
	// Write returns when the write has completed, has failed, or ctx is
	// done.
	//
	// Acknowledgements. ack is called with the outcome of records as the
	// destination reports them: Err nil for a record the destination
	// holds, a RecordError for one it refused. Every record of every
	// batch is reported exactly once before Write returns without error.
	// A record counts as sent only when acknowledged: when Write fails,
	// records acknowledged stay sent and every other record is not (for a
	// snapshot destination, see DestinationCapabilities.Snapshot: none
	// is). Implementations may call ack from any goroutine, concurrently,
	// but never after Write has returned; the wrappers in core and
	// pluginhost call the caller's ack serially, from one goroutine, and
	// the stream waits while it runs, so it must return quickly.
	//
	// The summary counts the records reported; implementations may leave
	// the counts zero (the sdk and SplitBatches fill them in).
	Write(ctx context.Context, h WriteHeader, ops <-chan Op, ack func(...Ack)) (WriteSummary, error)
	Close() error
}

// DestinationInfo describes a destination plugin.
type DestinationInfo struct {
	Name         string
	Version      string
	Capabilities DestinationCapabilities
}

// DestinationCapabilities say what a destination accepts and how fast.
// Zero values mean "no limit" or "no".
type DestinationCapabilities struct {
	// SupportsRemove: the destination can remove records.
	SupportsRemove bool
	// MaxBatchRecords is the most records in one batch the destination
	// takes (its API's batch size); 0 = no limit.
	MaxBatchRecords int64
	// MaxBatchBytes is the largest batch in bytes of Arrow data, as
	// arrowipc.EstimateBytes counts them; 0 = no limit.
	MaxBatchBytes int64
	// RateLimit is the API's rate limit as the plugin enforces it; the
	// host plans with it (dry-run durations), the plugin paces itself.
	RateLimit RateLimit
	// Async: the API works through jobs that are polled, so acks may lag
	// their batch by minutes.
	Async bool
	// MaxInFlightBatches is the flow-control window: batches sent but not
	// yet settled (every record reported). 0 = DefaultWindow.
	MaxInFlightBatches int
	// Snapshot: every write replaces the destination's whole copy of the
	// segment, atomically when the write succeeds. The caller sends the
	// full membership as upserts each time; acks are provisional until
	// Write returns without error, and a failed write changes nothing.
	Snapshot bool
}

// DefaultWindow is the flow-control window of a destination that does not
// set MaxInFlightBatches.
const DefaultWindow = 4

// Window is the number of batches the host keeps in flight.
func (c DestinationCapabilities) Window() int {
	if c.MaxInFlightBatches > 0 {
		return c.MaxInFlightBatches
	}
	return DefaultWindow
}

// RateLimit describes an API's request limits.
type RateLimit struct {
	// RequestsPerSecond sustained; 0 = not limited by rate.
	RequestsPerSecond float64
	// Burst is the number of requests allowed at once above the rate.
	Burst int
	// Concurrency is the most requests outstanding at once; 0 = no limit.
	Concurrency int
}

// WriteHeader opens a write.
type WriteHeader struct {
	// Segment is the segment the records belong to.
	Segment string
	// Schema is the schema of every batch.
	Schema *arrow.Schema
	// KeyColumn names the column that identifies a record (customer_id,
	// email); keys are unique within a write.
	KeyColumn string
}

// OpKind is what an operation does to its records.
type OpKind int

const (
	// Upsert creates the records or replaces their attributes.
	Upsert OpKind = iota + 1
	// Remove takes the records out of the segment's audience; only the
	// key column matters.
	Remove
)

func (k OpKind) String() string {
	switch k {
	case Upsert:
		return "upsert"
	case Remove:
		return "remove"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one operation on every record (row) of Batch.
type Op struct {
	Kind  OpKind
	Seq   int64
	Batch arrow.RecordBatch
}

// Ack is the outcome of one record: row Index of the batch the caller
// named Seq.
type Ack struct {
	Seq   int64
	Index int
	// Key is the record's key column value, formatted with FormatValue.
	// Implementations need not set it; the wrappers fill it in.
	Key string
	// Err is nil when the destination acknowledged the record.
	Err *RecordError
}

// RecordError is a record the destination refused.
type RecordError struct {
	// Code is a short, stable, machine-readable reason ("invalid_email").
	Code string
	// Message says what went wrong, for people.
	Message string
	// Retryable: sending the record again later may succeed (a timeout,
	// a 5xx or 429 after the plugin's own retries). False for errors in
	// the record itself, which belong in the dead-letter table.
	Retryable bool
}

func (e *RecordError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	return fmt.Sprintf("%s (%s): %s", e.Code, kind, e.Message)
}

// WriteSummary says what a write did.
type WriteSummary struct {
	// Acknowledged and Failed count the records reported through ack.
	Acknowledged int64
	Failed       int64
	// Outputs are human-readable places written (files, URLs).
	Outputs []string
}

// ErrRemoveNotSupported is the error for a Remove sent to a destination
// whose capabilities say it cannot remove.
var ErrRemoveNotSupported = fmt.Errorf("%w: this destination does not support removes (supports_remove is false); send it upserts only", ErrNotImplemented)

// AckAll acknowledges every record of op, for implementations that
// settle a batch at once.
func AckAll(op Op) []Ack {
	acks := make([]Ack, op.Batch.NumRows())
	for i := range acks {
		acks[i] = Ack{Seq: op.Seq, Index: i}
	}
	return acks
}

// SplitBatches returns d behind the caller's side of the batching
// contract, which the plugin host applies to every destination:
//   - each op's batch is split into slices within d's Info limits
//     (MaxBatchRecords, MaxBatchBytes; Info is asked at the start of every
//     write), numbered 1, 2, 3, ... for d;
//   - a Remove to a destination without SupportsRemove fails the write
//     with ErrRemoveNotSupported before any of its records reach d;
//   - acks are reported in the caller's terms: the caller's Seq, the row
//     index in the caller's batch, and the record's key; they are checked
//     (a record reported twice or never ends the write with an error) and
//     passed to the caller's ack serially;
//   - the summary's counts are the acks the caller received.
func SplitBatches(d Destination) Destination { return &splitter{Destination: d} }

type splitter struct{ Destination }

// part is one slice of a caller's batch as d received it.
type part struct {
	callerSeq int64
	offset    int
	keys      arrow.Array
	seen      []bool
	reported  int
}

// ackTracker maps d's acks back to the caller's batches.
type ackTracker struct {
	mu     sync.Mutex
	parts  map[int64]*part
	ack    func(...Ack)
	acked  int64
	failed int64
	err    error
	closed bool
	cancel context.CancelFunc
}

func (t *ackTracker) add(seq int64, p *part) {
	t.mu.Lock()
	t.parts[seq] = p
	t.mu.Unlock()
}

func (t *ackTracker) fail(err error) {
	if t.err == nil {
		t.err = err
		t.cancel()
	}
}

func (t *ackTracker) report(acks ...Ack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.err != nil {
		return
	}
	out := make([]Ack, 0, len(acks))
	for _, a := range acks {
		p := t.parts[a.Seq]
		switch {
		case p == nil:
			t.fail(fmt.Errorf("destination reported a record of batch %d, which is not in flight", a.Seq))
		case a.Index < 0 || a.Index >= len(p.seen):
			t.fail(fmt.Errorf("destination reported record %d of batch %d, which has %d records", a.Index, a.Seq, len(p.seen)))
		case p.seen[a.Index]:
			t.fail(fmt.Errorf("destination reported record %d of batch %d twice", a.Index, a.Seq))
		}
		if t.err != nil {
			break
		}
		p.seen[a.Index] = true
		p.reported++
		out = append(out, Ack{
			Seq:   p.callerSeq,
			Index: p.offset + a.Index,
			Key:   FormatValue(ValueAt(p.keys, a.Index)),
			Err:   a.Err,
		})
		if a.Err == nil {
			t.acked++
		} else {
			t.failed++
		}
		if p.reported == len(p.seen) {
			p.keys.Release()
			delete(t.parts, a.Seq)
		}
	}
	if len(out) > 0 {
		t.ack(out...)
	}
}

// close stops reporting and releases what is still tracked; it returns
// the number of records never reported.
func (t *ackTracker) close() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	missing := 0
	for seq, p := range t.parts {
		missing += len(p.seen) - p.reported
		p.keys.Release()
		delete(t.parts, seq)
	}
	return missing
}

func (s *splitter) Write(ctx context.Context, h WriteHeader, ops <-chan Op, ack func(...Ack)) (WriteSummary, error) {
	if h.Schema == nil {
		return WriteSummary{}, errors.New("write: no schema")
	}
	keyCol := h.Schema.FieldIndices(h.KeyColumn)
	if len(keyCol) != 1 {
		return WriteSummary{}, fmt.Errorf("write: key column %q is not a column of the schema", h.KeyColumn)
	}
	info, err := s.Destination.Info(ctx)
	if err != nil {
		return WriteSummary{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := &ackTracker{parts: map[int64]*part{}, ack: ack, cancel: cancel}
	inner := make(chan Op)
	type pumped struct {
		complete bool
		err      error
	}
	done := make(chan pumped, 1)
	go func() {
		complete, err := s.pump(ctx, h, keyCol[0], info.Capabilities, ops, inner, t)
		if err != nil {
			cancel()
		}
		done <- pumped{complete, err}
	}()
	sum, err := s.Destination.Write(ctx, h, inner, t.report)
	cancel() // stops the pump if the write ended first
	p := <-done
	missing := t.close()
	t.mu.Lock()
	sum.Acknowledged, sum.Failed = t.acked, t.failed
	ackErr := t.err
	t.mu.Unlock()
	switch {
	case p.err != nil:
		return sum, p.err
	case ackErr != nil:
		return sum, ackErr
	case err != nil:
		return sum, err
	case !p.complete:
		return sum, errors.New("destination returned before taking every operation")
	case missing > 0:
		return sum, fmt.Errorf("destination finished without reporting %d records", missing)
	}
	return sum, nil
}

// pump forwards the caller's ops to d, split to d's limits. It reports
// whether it forwarded every op and closed inner; it returns an error
// only for a failure of its own, not for ctx ending.
func (s *splitter) pump(ctx context.Context, h WriteHeader, keyCol int, caps DestinationCapabilities, ops <-chan Op, inner chan<- Op, t *ackTracker) (bool, error) {
	var seq int64
	maxRecords, maxBytes := caps.MaxBatchRecords, caps.MaxBatchBytes
	for {
		var op Op
		var ok bool
		select {
		case <-ctx.Done():
			return false, nil
		case op, ok = <-ops:
		}
		if !ok {
			close(inner)
			return true, nil
		}
		if op.Batch == nil {
			return false, fmt.Errorf("write: op %d has no batch", op.Seq)
		}
		rec := op.Batch
		switch {
		case op.Kind != Upsert && op.Kind != Remove:
			rec.Release()
			return false, fmt.Errorf("write: op %d: unknown operation %v", op.Seq, op.Kind)
		case op.Kind == Remove && !caps.SupportsRemove:
			rec.Release()
			return false, fmt.Errorf("write: op %d: %w", op.Seq, ErrRemoveNotSupported)
		case !rec.Schema().Equal(h.Schema):
			rec.Release()
			return false, fmt.Errorf("write: op %d: batch schema %s differs from the write's schema %s", op.Seq, rec.Schema(), h.Schema)
		}
		ranges, err := splitRanges(rec, maxRecords, maxBytes)
		if err != nil {
			rec.Release()
			return false, fmt.Errorf("write: op %d: %w", op.Seq, err)
		}
		whole := len(ranges) == 1
		for _, r := range ranges {
			slice := rec
			if !whole {
				slice = rec.NewSlice(r[0], r[1])
			}
			seq++
			keys := slice.Column(keyCol)
			keys.Retain()
			n := int(r[1] - r[0])
			t.add(seq, &part{callerSeq: op.Seq, offset: int(r[0]), keys: keys, seen: make([]bool, n)})
			select {
			case inner <- Op{Kind: op.Kind, Seq: seq, Batch: slice}:
			case <-ctx.Done():
				if !whole {
					slice.Release()
				}
				rec.Release()
				return false, nil
			}
		}
		if !whole {
			rec.Release()
		}
	}
}

// splitRanges cuts rec's rows into [from, to) ranges within the limits
// (0 = none). An empty batch gives no range.
func splitRanges(rec arrow.RecordBatch, maxRecords, maxBytes int64) ([][2]int64, error) {
	var out [][2]int64
	var cut func(from, to int64) error
	cut = func(from, to int64) error {
		n := to - from
		if maxRecords > 0 && n > maxRecords {
			for lo := from; lo < to; lo += maxRecords {
				if err := cut(lo, min(lo+maxRecords, to)); err != nil {
					return err
				}
			}
			return nil
		}
		if maxBytes > 0 {
			if size := arrowipc.EstimateBytes(rec, from, to); size > maxBytes {
				if n == 1 {
					return fmt.Errorf("row %d is %d bytes, more than the %d a batch may hold", from, size, maxBytes)
				}
				// Pieces of about the limit, each checked again: rows of
				// variable width may be unevenly spread.
				pieces := (size + maxBytes - 1) / maxBytes
				step := max((n+pieces-1)/pieces, 1)
				if step == n {
					step = (n + 1) / 2
				}
				for lo := from; lo < to; lo += step {
					if err := cut(lo, min(lo+step, to)); err != nil {
						return err
					}
				}
				return nil
			}
		}
		out = append(out, [2]int64{from, to})
		return nil
	}
	if rec.NumRows() == 0 {
		return nil, nil
	}
	err := cut(0, rec.NumRows())
	return out, err
}

// UpsertAll writes every record rdr yields to d as upserts, in one write,
// and fails unless every record is acknowledged: a read error, a write
// error or any record the destination refused fails it. It is how a
// snapshot destination receives a segment's full membership. d should
// keep the batching contract (see SplitBatches); the clients pluginhost
// returns do.
func UpsertAll(ctx context.Context, d Destination, segment, keyColumn string, rdr array.RecordReader) (WriteSummary, error) {
	var firstFailure *Ack
	sum, sent, err := WriteAll(ctx, d, WriteHeader{Segment: segment, Schema: rdr.Schema(), KeyColumn: keyColumn}, Upsert, rdr, func(acks ...Ack) {
		if firstFailure != nil {
			return
		}
		for i := range acks {
			if acks[i].Err != nil {
				a := acks[i]
				firstFailure = &a
				return
			}
		}
	})
	switch {
	case err != nil:
		return sum, err
	case sum.Failed > 0 && firstFailure != nil:
		return sum, fmt.Errorf("%d of %d records were refused; first: key %s: %w", sum.Failed, sent, firstFailure.Key, firstFailure.Err)
	case sum.Failed > 0 || sum.Acknowledged != sent:
		return sum, fmt.Errorf("%d of %d records were acknowledged", sum.Acknowledged, sent)
	}
	return sum, nil
}

// WriteAll sends every batch rdr reads to d as an operation of kind, in
// one write, and passes each record's outcome to ack. It returns the
// write's summary and the number of records sent. A read error abandons
// the write (so a snapshot destination commits nothing) and is returned.
// d should keep the batching contract (see SplitBatches).
func WriteAll(ctx context.Context, d Destination, h WriteHeader, kind OpKind, rdr array.RecordReader, ack func(...Ack)) (WriteSummary, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ops := make(chan Op)
	var sent int64
	var readErr error
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		var seq int64
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			seq++
			n := rec.NumRows()
			select {
			case ops <- Op{Kind: kind, Seq: seq, Batch: rec}:
				sent += n
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
		if readErr = rdr.Err(); readErr != nil {
			cancel() // abandon the write: a snapshot must not commit
			return
		}
		close(ops)
	}()
	sum, err := d.Write(ctx, h, ops, ack)
	cancel()
	<-produced
	if readErr != nil {
		return sum, sent, fmt.Errorf("read segment: %w", readErr)
	}
	return sum, sent, err
}
