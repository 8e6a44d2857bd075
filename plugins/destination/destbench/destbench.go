// Package destbench measures a destination against its vendor stand-in
// under a rate limit: sustained records per second, the fraction of what
// the limit allows, records lost and 429s drawn. The design target
// (DESIGN.md §9) is at least 90% of the allowed rate, no 429 left
// unhandled and nothing lost.
//
// Each vendor's stand-in package exports a BenchTarget with scaled-down
// limits, so one measurement takes a few seconds:
//
//	t := mailchimpstandin.BenchTarget(func() core.Destination { return mailchimp.New() })
//	res, err := destbench.Run(ctx, t, t.Records)
//	fmt.Println(res)
package destbench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segflow/segflow/core"
)

// Target is one destination and its stand-in.
type Target struct {
	Name string
	// Records is a record count that takes the target a few seconds.
	Records int
	// BatchRows is the rows per batch the bench generates, default
	// 10,000; a multiple of the destination's batch size keeps every
	// request full, so the count of requests is exact.
	BatchRows int
	// Start starts the stand-in with its rate limit.
	Start func() (*Instance, error)
	// New constructs the destination.
	New func() core.Destination
}

// Instance is a running stand-in.
type Instance struct {
	// Config is the destination's configuration (JSON) for this stand-in.
	Config string
	// AllowedPerSecond is the records per second the limit allows in
	// the long run.
	AllowedPerSecond float64
	// AllowedIn, when set, is the most records the limit allows in a
	// run of d (windows let a first burst through, which a short run
	// would otherwise count as beating the limit).
	AllowedIn func(d time.Duration) float64
	// Held counts the records the stand-in holds; Throttled the requests
	// it answered 429.
	Held, Throttled func() int64
	Close           func()
}

// Result is one measurement.
type Result struct {
	Name             string
	Records          int64
	Elapsed          time.Duration
	RecordsPerSecond float64
	AllowedPerSecond float64
	// Fraction is the records sent over the records the limit allowed
	// in the elapsed time.
	Fraction float64
	// Lost is records sent minus records the stand-in holds: must be 0.
	Lost int64
	// Throttled counts 429s the stand-in answered (all retried, or the
	// run would have failed).
	Throttled int64
}

func (r Result) String() string {
	return fmt.Sprintf("%-10s %8d records in %6.2fs: %9.0f rec/s of %9.0f allowed (%5.1f%%), lost %d, 429s %d",
		r.Name, r.Records, r.Elapsed.Seconds(), r.RecordsPerSecond, r.AllowedPerSecond, 100*r.Fraction, r.Lost, r.Throttled)
}

// Run starts the target's stand-in, upserts n distinct records (columns
// customer_id, email, score; batches of BatchRows generated as they are
// read, so memory stays bounded) through the destination behind
// core.SplitBatches, and measures. A record refused or left
// unacknowledged fails the run.
func Run(ctx context.Context, t Target, n int) (Result, error) {
	inst, err := t.Start()
	if err != nil {
		return Result{}, fmt.Errorf("%s: start the stand-in: %w", t.Name, err)
	}
	defer inst.Close()
	d := core.SplitBatches(t.New())
	defer d.Close()
	if err := d.Configure(ctx, json.RawMessage(inst.Config)); err != nil {
		return Result{}, fmt.Errorf("%s: configure: %w", t.Name, err)
	}
	rdr := &records{n: int64(n), size: int64(t.BatchRows)}
	if rdr.size <= 0 {
		rdr.size = 10_000
	}
	start := time.Now()
	sum, err := core.UpsertAll(ctx, d, "bench", "customer_id", rdr)
	elapsed := time.Since(start)
	if err != nil {
		return Result{}, fmt.Errorf("%s: write: %w", t.Name, err)
	}
	res := Result{
		Name: t.Name, Records: sum.Acknowledged, Elapsed: elapsed,
		RecordsPerSecond: float64(sum.Acknowledged) / elapsed.Seconds(),
		AllowedPerSecond: inst.AllowedPerSecond,
		Lost:             int64(n) - inst.Held(),
		Throttled:        inst.Throttled(),
	}
	allowed := inst.AllowedPerSecond * elapsed.Seconds()
	if inst.AllowedIn != nil {
		allowed = inst.AllowedIn(elapsed)
	}
	if allowed > 0 {
		res.Fraction = float64(n) / allowed
	}
	return res, nil
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String},
	{Name: "score", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// records generates the bench's records batch by batch.
type records struct {
	n, next, size int64
	cur           arrow.RecordBatch
}

func (r *records) Schema() *arrow.Schema { return schema }
func (r *records) Retain()               {}
func (r *records) Release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}
func (r *records) Err() error                     { return nil }
func (r *records) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *records) Record() arrow.RecordBatch      { return r.cur }

func (r *records) Next() bool {
	r.Release()
	if r.next >= r.n {
		return false
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for id := r.next; id < min(r.next+r.size, r.n); id++ {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("bench%d@example.com", id))
		b.Field(2).(*array.Int64Builder).Append(id % 1000)
	}
	r.next = min(r.next+r.size, r.n)
	r.cur = b.NewRecordBatch()
	return true
}
