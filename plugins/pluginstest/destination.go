package pluginstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
)

// Record is one record as a destination holds it: column name to value,
// formatted with core.FormatValue ("" for NULL).
type Record = map[string]string

// DestinationOptions configure the destination suite for one plugin.
type DestinationOptions struct {
	// Config returns a valid configuration (JSON) for one test. A
	// destination that stores records somewhere gets a fresh place per
	// test (t.TempDir(), a new stand-in server).
	Config func(t testing.TB) string
	// BadConfig is an invalid configuration and BadField the field its
	// error must name.
	BadConfig, BadField string
	// Read returns what the destination configured with config holds for
	// segment, in any order, read from where the destination keeps it
	// (files, a stand-in's state), not through the plugin. Columns it
	// cannot return may be left out; the key column may not.
	Read func(t testing.TB, config, segment string) []Record
	// Reject, when set, is a value the destination refuses records for;
	// the per-record error test is skipped without it.
	Reject *Reject
	// LargeRecords is the record count of the large-write test; default
	// 200,000.
	LargeRecords int

	// EmailKeyed: the destination identifies people by email, so it must
	// refuse every record with a NULL email (the suite's records have one
	// for every 11th customer_id) with a permanent RecordError of code
	// MissingEmailCode, per record, not fail the write; the suite then
	// expects those refusals wherever it would expect an acknowledgement,
	// and does not expect the destination to hold those records.
	EmailKeyed bool

	// Counts reads the counters of the stand-in the destination
	// configured with config talks to. It enables the 429-storm and
	// partial-failure tests (with Storm and Reject respectively).
	Counts func(t testing.TB, config string) StandinCounts
	// Storm makes that stand-in answer every request with 429, as the
	// vendor does (with its Retry-After or rate-limit headers), until
	// stop is called. The suite writes during the storm and stops it
	// after StormFor; every record must then be acknowledged exactly once
	// and held exactly once.
	Storm func(t testing.TB, config string) (stop func())
	// StormFor is how long the storm lasts; default 1.5 s.
	StormFor time.Duration
}

// MissingEmailCode is the RecordError code of a record an email-keyed
// destination cannot send because its email is NULL or empty.
const MissingEmailCode = "missing_email"

// StandinCounts are what a vendor stand-in counts, from its start.
type StandinCounts struct {
	// Accepted counts records the stand-in applied: every upsert of a
	// record it took, repeats included.
	Accepted int64
	// Duplicates counts records the stand-in applied although it already
	// held them with the same values: the destination sent a record
	// twice (for instance the good records of a partly failed batch).
	Duplicates int64
	// Throttled counts requests the stand-in answered with 429.
	Throttled int64
}

// Reject describes records the destination refuses.
type Reject struct {
	// Email is an email address the destination refuses a record for.
	Email string
	// Code and Retryable are the error the destination reports for it.
	Code      string
	Retryable bool
}

// The suite's records: customer_id is the key; email is NULL for every
// 11th, score for every 13th; note exercises quoting and Unicode; pad
// makes records as wide as a test needs.
var destSchema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

const keyColumn = "customer_id"

// member returns the suite's record for id in generation gen (a later
// generation changes the attributes).
func member(id int64, gen int) Record {
	r := Record{keyColumn: strconv.FormatInt(id, 10), "email": "", "score": "", "note": ""}
	if id%11 != 0 {
		r["email"] = fmt.Sprintf("c%d@example.com", id)
	}
	if id%13 != 0 {
		r["score"] = strconv.FormatInt(id*7%1000+int64(gen), 10)
	}
	r["note"] = fmt.Sprintf("héllo, \"世界\" %d", gen)
	return r
}

// batchSpec builds one batch of members: ids [from, from+n), or ids when
// set.
type batchSpec struct {
	from, n int64
	ids     []int64
	gen     int
	pad     int                 // extra bytes of note per record
	reject  func(id int64) bool // records to give the rejected email
	email   string              // the rejected email
}

func (s batchSpec) idList() []int64 {
	if s.ids != nil {
		return s.ids
	}
	ids := make([]int64, s.n)
	for i := range ids {
		ids[i] = s.from + int64(i)
	}
	return ids
}

func (s batchSpec) build(alloc memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(alloc, destSchema)
	defer b.Release()
	pad := strings.Repeat("x", s.pad)
	for _, id := range s.idList() {
		r := member(id, s.gen)
		b.Field(0).(*array.Int64Builder).Append(id)
		switch {
		case s.reject != nil && s.reject(id):
			b.Field(1).(*array.StringBuilder).Append(s.email)
		case r["email"] == "":
			b.Field(1).AppendNull()
		default:
			b.Field(1).(*array.StringBuilder).Append(r["email"])
		}
		if r["score"] == "" {
			b.Field(2).AppendNull()
		} else {
			v, _ := strconv.ParseInt(r["score"], 10, 64)
			b.Field(2).(*array.Int64Builder).Append(v)
		}
		b.Field(3).(*array.StringBuilder).Append(r["note"] + pad)
	}
	return b.NewRecordBatch()
}

// written is what one write reported.
type written struct {
	sum  core.WriteSummary
	err  error
	acks map[[2]int64]core.Ack // by caller seq and index
	// problems with the acks themselves: duplicates, wrong keys,
	// concurrent calls.
	problems []string
	elapsed  time.Duration
}

func (w *written) acked() map[string]bool {
	keys := map[string]bool{}
	for _, a := range w.acks {
		if a.Err == nil {
			keys[a.Key] = true
		}
	}
	return keys
}

// writer runs writes and checks every ack against the batches sent.
type writer struct {
	t     testing.TB
	d     core.Destination
	alloc memory.Allocator
	// sample, if set, runs before every send and in every ack.
	sample func()
	// onAck, if set, runs in every ack call.
	onAck func()
}

// write runs one write. produce sends ops through send, which returns
// false once the write is over (the op is released), and says whether it
// sent every op (then ops is closed; otherwise it is left open).
func (wr *writer) write(ctx context.Context, segment string, produce func(send func(kind core.OpKind, spec batchSpec) bool) bool) *written {
	w := &written{acks: map[[2]int64]core.Ack{}}
	var mu sync.Mutex
	keys := map[int64][]int64{} // seq -> ids, to check each ack's key
	ops := make(chan core.Op)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		var seq int64
		send := func(kind core.OpKind, spec batchSpec) bool {
			seq++
			ids := spec.idList()
			mu.Lock()
			keys[seq] = ids
			mu.Unlock()
			rec := spec.build(wr.alloc)
			if wr.sample != nil {
				wr.sample()
			}
			select {
			case ops <- core.Op{Kind: kind, Seq: seq, Batch: rec}:
				return true
			case <-ctx.Done():
				rec.Release()
				return false
			}
		}
		if produce(send) {
			close(ops)
		}
	}()
	var inAck atomic.Bool
	start := time.Now()
	w.sum, w.err = wr.d.Write(ctx, core.WriteHeader{Segment: segment, Schema: destSchema, KeyColumn: keyColumn}, ops, func(acks ...core.Ack) {
		concurrent := !inAck.CompareAndSwap(false, true)
		if !concurrent {
			defer inAck.Store(false)
		}
		if wr.sample != nil {
			wr.sample()
		}
		if wr.onAck != nil {
			wr.onAck()
		}
		mu.Lock()
		defer mu.Unlock()
		if concurrent {
			w.problems = append(w.problems, "ack called concurrently")
		}
		for _, a := range acks {
			id := [2]int64{a.Seq, int64(a.Index)}
			if _, dup := w.acks[id]; dup {
				w.problems = append(w.problems, fmt.Sprintf("record %d of op %d reported twice", a.Index, a.Seq))
			}
			w.acks[id] = a
			ids := keys[a.Seq]
			switch {
			case a.Index < 0 || a.Index >= len(ids):
				w.problems = append(w.problems, fmt.Sprintf("ack for record %d of op %d, which has %d records", a.Index, a.Seq, len(ids)))
			case a.Key != strconv.FormatInt(ids[a.Index], 10):
				w.problems = append(w.problems, fmt.Sprintf("ack for record %d of op %d has key %q, want %d", a.Index, a.Seq, a.Key, ids[a.Index]))
			}
		}
	})
	w.elapsed = time.Since(start)
	cancel()
	<-produced
	return w
}

// upserts sends ids [0, n) of generation gen in batches of size.
func upserts(n, size int64, gen int) func(send func(core.OpKind, batchSpec) bool) bool {
	return func(send func(core.OpKind, batchSpec) bool) bool {
		for from := int64(0); from < n; from += size {
			if !send(core.Upsert, batchSpec{from: from, n: min(size, n-from), gen: gen}) {
				return false
			}
		}
		return true
	}
}

// expect says what the suite expects of records: all acknowledged, or,
// for an email-keyed destination, those without an email refused.
type expect struct{ emailKeyed bool }

// missingEmail says whether the destination must refuse record id for its
// NULL email.
func (e expect) missingEmail(id int64) bool { return e.emailKeyed && id%11 == 0 }

// requireAllAcked checks that records [0, n) of the write were each
// reported exactly once: acknowledged, or refused for a missing email.
func (e expect) requireAllAcked(t testing.TB, w *written, n int64) {
	t.Helper()
	require.NoError(t, w.err)
	require.Empty(t, w.problems)
	require.Len(t, w.acks, int(n), "every record is reported exactly once")
	var missing int64
	for id, a := range w.acks {
		if e.missingEmail(mustAtoi(a.Key)) {
			missing++
			require.NotNil(t, a.Err, "record %d of op %d (key %s) has no email and must be refused", id[1], id[0], a.Key)
			require.Equal(t, MissingEmailCode, a.Err.Code, "key %s", a.Key)
			require.False(t, a.Err.Retryable, "a missing email is permanent")
			continue
		}
		require.Nil(t, a.Err, "record %d of op %d (key %s) failed", id[1], id[0], a.Key)
	}
	require.Equal(t, n-missing, w.sum.Acknowledged)
	require.Equal(t, missing, w.sum.Failed)
}

// members are the records [from, from+n) of generation gen the
// destination should hold.
func (e expect) members(from, n int64, gen int) map[string]Record {
	m := map[string]Record{}
	for id := from; id < from+n; id++ {
		if !e.missingEmail(id) {
			m[strconv.FormatInt(id, 10)] = member(id, gen)
		}
	}
	return m
}

// held is the number of records in [from, from+n) the destination holds.
func (e expect) held(from, n int64) int64 { return int64(len(e.members(from, n, 1))) }

// keySum is the sum of the keys in [0, n) the destination holds.
func (e expect) keySum(n int64) int64 {
	var sum int64
	for id := int64(0); id < n; id++ {
		if !e.missingEmail(id) {
			sum += id
		}
	}
	return sum
}

// requireHolds checks that the destination holds exactly want.
func requireHolds(t testing.TB, got []Record, want map[string]Record) {
	t.Helper()
	require.Len(t, got, len(want), "records held")
	for _, r := range got {
		key := r[keyColumn]
		w, ok := want[key]
		require.True(t, ok, "the destination holds key %s, which it should not", key)
		for col, v := range r {
			require.Equal(t, w[col], v, "key %s, column %s", key, col)
		}
	}
}

// RunDestination runs the conformance suite against the destination
// opened by o.
func RunDestination(t *testing.T, o DestinationOpener, opts DestinationOptions) {
	if opts.LargeRecords == 0 {
		opts.LargeRecords = 200_000
	}
	if opts.StormFor == 0 {
		opts.StormFor = 1500 * time.Millisecond
	}
	e := expect{emailKeyed: opts.EmailKeyed}
	t.Run(o.Name, func(t *testing.T) {
		open := func(t *testing.T) (core.Destination, string, core.DestinationInfo) {
			ctx := context.Background()
			d := o.Open(t)
			cfg := opts.Config(t)
			require.NoError(t, d.Configure(ctx, json.RawMessage(cfg)), "configure with the valid config")
			info, err := d.Info(ctx)
			require.NoError(t, err)
			return d, cfg, info
		}
		timeout := func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			t.Cleanup(cancel)
			return ctx
		}

		t.Run("info", func(t *testing.T) {
			info, err := o.Open(t).Info(context.Background())
			require.NoError(t, err)
			require.NotEmpty(t, info.Name)
			require.NotEmpty(t, info.Version)
			_, _, info = open(t)
			c := info.Capabilities
			require.GreaterOrEqual(t, c.MaxBatchRecords, int64(0))
			require.GreaterOrEqual(t, c.MaxBatchBytes, int64(0))
			require.GreaterOrEqual(t, c.MaxInFlightBatches, 0)
			require.GreaterOrEqual(t, c.RateLimit.RequestsPerSecond, 0.0)
			require.False(t, c.Snapshot && c.SupportsRemove, "a snapshot destination receives full memberships; removes make no sense for it")
		})

		t.Run("bad config names the field", func(t *testing.T) {
			if opts.BadConfig == "" {
				t.Skip("no BadConfig given")
			}
			err := o.Open(t).Configure(context.Background(), json.RawMessage(opts.BadConfig))
			var fields core.FieldErrors
			require.ErrorAs(t, err, &fields)
			var names []string
			for _, f := range fields {
				names = append(names, f.Field)
			}
			require.Contains(t, names, opts.BadField)
		})

		t.Run("test connection", func(t *testing.T) {
			d, _, _ := open(t)
			require.NoError(t, d.TestConnection(context.Background()))
		})

		t.Run("every upsert acknowledged exactly once", func(t *testing.T) {
			d, cfg, _ := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			sizes := []int64{1, 99, 1000, 1245}
			w := wr.write(timeout(t), "conformance", func(send func(core.OpKind, batchSpec) bool) bool {
				var from int64
				for _, n := range sizes {
					if !send(core.Upsert, batchSpec{from: from, n: n, gen: 1}) {
						return false
					}
					from += n
				}
				return true
			})
			e.requireAllAcked(t, w, 2345)
			requireHolds(t, opts.Read(t, cfg, "conformance"), e.members(0, 2345, 1))
		})

		t.Run("empty write", func(t *testing.T) {
			d, cfg, _ := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			w := wr.write(timeout(t), "empty", upserts(0, 1, 1))
			e.requireAllAcked(t, w, 0)
			requireHolds(t, opts.Read(t, cfg, "empty"), nil)
		})

		t.Run("a second write updates or replaces", func(t *testing.T) {
			d, cfg, info := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			e.requireAllAcked(t, wr.write(timeout(t), "twice", upserts(500, 250, 1)), 500)
			// Generation 2 of ids 250..749: half updates, half new.
			w := wr.write(timeout(t), "twice", func(send func(core.OpKind, batchSpec) bool) bool {
				return send(core.Upsert, batchSpec{from: 250, n: 500, gen: 2})
			})
			e.requireAllAcked(t, w, 500)
			want := e.members(250, 500, 2)
			if !info.Capabilities.Snapshot {
				for k, r := range e.members(0, 250, 1) {
					want[k] = r
				}
			}
			requireHolds(t, opts.Read(t, cfg, "twice"), want)
		})

		t.Run("removes", func(t *testing.T) {
			d, cfg, info := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			e.requireAllAcked(t, wr.write(timeout(t), "removes", upserts(300, 300, 1)), 300)
			w := wr.write(timeout(t), "removes", func(send func(core.OpKind, batchSpec) bool) bool {
				return send(core.Upsert, batchSpec{from: 300, n: 10, gen: 1}) &&
					send(core.Remove, batchSpec{from: 0, n: 120, gen: 1})
			})
			if !info.Capabilities.SupportsRemove {
				require.ErrorIs(t, w.err, core.ErrNotImplemented, "a remove to a destination without removes is rejected")
				require.ErrorContains(t, w.err, "remove")
				// Nothing of the remove reached the destination.
				for _, a := range w.acks {
					require.Equal(t, int64(1), a.Seq, "only the upsert before the remove may be reported")
				}
				got := opts.Read(t, cfg, "removes")
				if info.Capabilities.Snapshot {
					requireHolds(t, got, e.members(0, 300, 1))
					return
				}
				// The records before the remove that were acknowledged are
				// held; others of them may be (delivery is at least once).
				held := map[string]bool{}
				for _, r := range got {
					held[r[keyColumn]] = true
					require.Less(t, mustAtoi(r[keyColumn]), int64(310))
				}
				for id := int64(0); id < 300; id++ {
					if !e.missingEmail(id) {
						require.True(t, held[strconv.FormatInt(id, 10)], "key %d was removed by a rejected write", id)
					}
				}
				for k := range w.acked() {
					require.True(t, held[k], "acknowledged record %s is not held", k)
				}
				return
			}
			e.requireAllAcked(t, w, 130)
			requireHolds(t, opts.Read(t, cfg, "removes"), e.members(120, 190, 1))
		})

		t.Run("batches beyond the limits are split by the host", func(t *testing.T) {
			d, cfg, info := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			n := int64(10_007)
			if max := info.Capabilities.MaxBatchRecords; max > 0 {
				n = 3*max + 7
			}
			// A second batch of over 4 MiB, beyond what one message holds.
			const wide, pad = 5000, 1000
			w := wr.write(timeout(t), "split", func(send func(core.OpKind, batchSpec) bool) bool {
				return send(core.Upsert, batchSpec{from: 0, n: n, gen: 1}) &&
					send(core.Upsert, batchSpec{from: n, n: wide, gen: 1, pad: pad})
			})
			e.requireAllAcked(t, w, n+wide)
			for i := int64(0); i < n; i++ {
				if _, ok := w.acks[[2]int64{1, i}]; !ok {
					t.Fatalf("no ack names row %d of the caller's first batch", i)
				}
			}
			got := opts.Read(t, cfg, "split")
			require.Len(t, got, int(e.held(0, n+wide)))
		})

		t.Run("per-record errors carry index, key and retryable", func(t *testing.T) {
			if opts.Reject == nil {
				t.Skip("no Reject given")
			}
			d, cfg, _ := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			bad := func(id int64) bool { return id%7 == 3 }
			w := wr.write(timeout(t), "rejects", func(send func(core.OpKind, batchSpec) bool) bool {
				for from := int64(0); from < 750; from += 250 {
					if !send(core.Upsert, batchSpec{from: from, n: 250, gen: 1, reject: bad, email: opts.Reject.Email}) {
						return false
					}
				}
				return true
			})
			require.NoError(t, w.err)
			require.Empty(t, w.problems)
			require.Len(t, w.acks, 750)
			want := map[string]Record{}
			var failed int64
			for id, a := range w.acks {
				key := (id[0]-1)*250 + id[1]
				require.Equal(t, strconv.FormatInt(key, 10), a.Key)
				if !bad(key) && e.missingEmail(key) {
					failed++
					require.NotNil(t, a.Err, "key %d has no email", key)
					require.Equal(t, MissingEmailCode, a.Err.Code)
					continue
				}
				if !bad(key) {
					require.Nil(t, a.Err, "key %d", key)
					want[a.Key] = member(key, 1)
					continue
				}
				failed++
				require.NotNil(t, a.Err, "key %d has the rejected email", key)
				require.Equal(t, opts.Reject.Code, a.Err.Code)
				require.Equal(t, opts.Reject.Retryable, a.Err.Retryable)
				require.NotEmpty(t, a.Err.Message)
			}
			require.Equal(t, failed, w.sum.Failed)
			require.Equal(t, 750-failed, w.sum.Acknowledged)
			requireHolds(t, opts.Read(t, cfg, "rejects"), want)
		})

		t.Run("429 storm: every record acknowledged and held once", func(t *testing.T) {
			if opts.Storm == nil || opts.Counts == nil {
				t.Skip("no Storm and Counts given")
			}
			d, cfg, _ := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			before := opts.Counts(t, cfg)
			stop := opts.Storm(t, cfg)
			var once sync.Once
			end := func() { once.Do(stop) }
			timer := time.AfterFunc(opts.StormFor, end)
			t.Cleanup(func() { timer.Stop(); end() })
			const n = 1200
			w := wr.write(timeout(t), "storm", upserts(n, 200, 1))
			end()
			e.requireAllAcked(t, w, n)
			requireHolds(t, opts.Read(t, cfg, "storm"), e.members(0, n, 1))
			after := opts.Counts(t, cfg)
			require.Positive(t, after.Throttled-before.Throttled, "the stand-in answered 429 during the storm")
			require.Equal(t, e.held(0, n), after.Accepted-before.Accepted, "the stand-in accepted each record exactly once")
			require.Zero(t, after.Duplicates-before.Duplicates, "records the stand-in accepted twice")
		})

		t.Run("partial failure: only the failed records are sent again", func(t *testing.T) {
			if opts.Reject == nil || opts.Counts == nil {
				t.Skip("no Reject and Counts given")
			}
			d, cfg, _ := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			bad := func(id int64) bool { return id%5 == 2 }
			const n, size = 400, 100
			before := opts.Counts(t, cfg)
			w := wr.write(timeout(t), "partial", func(send func(core.OpKind, batchSpec) bool) bool {
				for from := int64(0); from < n; from += size {
					if !send(core.Upsert, batchSpec{from: from, n: size, gen: 1, reject: bad, email: opts.Reject.Email}) {
						return false
					}
				}
				return true
			})
			require.NoError(t, w.err)
			require.Empty(t, w.problems)
			require.Len(t, w.acks, n)
			var failed []int64
			var acked int64
			for _, a := range w.acks {
				id := mustAtoi(a.Key)
				switch {
				case bad(id):
					require.NotNil(t, a.Err, "key %d has the rejected email", id)
					require.Equal(t, opts.Reject.Code, a.Err.Code)
					failed = append(failed, id)
				case e.missingEmail(id):
					require.NotNil(t, a.Err, "key %d has no email", id)
					require.Equal(t, MissingEmailCode, a.Err.Code)
				default:
					require.Nil(t, a.Err, "key %d", id)
					acked++
				}
			}
			mid := opts.Counts(t, cfg)
			require.Equal(t, acked, mid.Accepted-before.Accepted, "the stand-in accepted each acknowledged record once")
			require.Zero(t, mid.Duplicates-before.Duplicates, "records the stand-in accepted twice")

			// The caller fixes the failed records and sends them alone.
			slices.Sort(failed)
			w = wr.write(timeout(t), "partial", func(send func(core.OpKind, batchSpec) bool) bool {
				return send(core.Upsert, batchSpec{ids: failed, gen: 1})
			})
			e.requireAllAcked(t, w, int64(len(failed)))
			after := opts.Counts(t, cfg)
			require.Equal(t, w.sum.Acknowledged, after.Accepted-mid.Accepted, "the retry sends the fixed records, and nothing else")
			require.Zero(t, after.Duplicates-before.Duplicates, "records the stand-in accepted twice")
			requireHolds(t, opts.Read(t, cfg, "partial"), e.members(0, n, 1))
		})

		t.Run("cancellation stops the write", func(t *testing.T) {
			d, cfg, info := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			if info.Capabilities.Snapshot {
				e.requireAllAcked(t, wr.write(timeout(t), "cancel", upserts(100, 100, 1)), 100)
			}
			ctx, cancel := context.WithCancel(timeout(t))
			var once sync.Once
			wr.onAck = func() { once.Do(func() { time.AfterFunc(20*time.Millisecond, cancel) }) }
			w := wr.write(ctx, "cancel", func(send func(core.OpKind, batchSpec) bool) bool {
				// Endless: only the cancellation ends this write.
				for from := int64(1000); ; from += 100 {
					if !send(core.Upsert, batchSpec{from: from, n: 100, gen: 2}) {
						return false
					}
				}
			})
			require.Error(t, w.err)
			require.True(t, errors.Is(w.err, context.Canceled), "got %v", w.err)
			require.Empty(t, w.problems)
			require.Less(t, w.elapsed, 30*time.Second)
			require.NoError(t, d.TestConnection(context.Background()), "the destination still serves after a cancelled write")
			got := opts.Read(t, cfg, "cancel")
			if info.Capabilities.Snapshot {
				requireHolds(t, got, e.members(0, 100, 1))
				return
			}
			held := map[string]bool{}
			for _, r := range got {
				held[r[keyColumn]] = true
			}
			for k := range w.acked() {
				require.True(t, held[k], "acknowledged record %s is not held", k)
			}
		})

		t.Run("large write in bounded memory", func(t *testing.T) {
			d, cfg, _ := open(t)
			alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
			var peak atomic.Int64
			wr := &writer{t: t, d: d, alloc: alloc, sample: func() {
				cur := int64(alloc.CurrentAlloc())
				for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
				}
			}}
			const size, pad = 10_000, 100
			n := int64(opts.LargeRecords)
			w := wr.write(timeout(t), "large", func(send func(core.OpKind, batchSpec) bool) bool {
				for from := int64(0); from < n; from += size {
					if !send(core.Upsert, batchSpec{from: from, n: min(size, n-from), gen: 1, pad: pad}) {
						return false
					}
				}
				return true
			})
			e.requireAllAcked(t, w, n)
			require.Zero(t, alloc.CurrentAlloc(), "every batch is released by the callee")
			// One batch as the allocator counts it (builders round up).
			counter := memory.NewCheckedAllocator(memory.NewGoAllocator())
			one := batchSpec{from: 0, n: size, gen: 1, pad: pad}.build(counter)
			batchBytes := int64(counter.CurrentAlloc())
			one.Release()
			total := batchBytes * n / size
			t.Logf("peak Arrow memory %d B; batches of %d B, %d B in all", peak.Load(), batchBytes, total)
			// The batch being written, the next one waiting to be sent,
			// and one more in the transport's hands, at most.
			require.Less(t, peak.Load(), 4*batchBytes,
				"peak Arrow memory %d B for batches of %d B (%d B in all): batches are not released as they are written", peak.Load(), batchBytes, total)
			got := opts.Read(t, cfg, "large")
			require.Len(t, got, int(e.held(0, n)))
			var sum int64
			for _, r := range got {
				sum += mustAtoi(r[keyColumn])
			}
			require.Equal(t, e.keySum(n), sum)
		})

		t.Run("plugin killed mid-write", func(t *testing.T) {
			if o.Kill == nil {
				t.Skip("the plugin runs in this process")
			}
			d, cfg, info := open(t)
			wr := &writer{t: t, d: d, alloc: memory.DefaultAllocator}
			if info.Capabilities.Snapshot {
				e.requireAllAcked(t, wr.write(timeout(t), "killed", upserts(100, 100, 1)), 100)
			}
			var acks atomic.Int64
			var once sync.Once
			wr.onAck = func() {
				if acks.Add(1) > 3 {
					once.Do(func() { o.Kill(d) })
				}
			}
			w := wr.write(timeout(t), "killed", func(send func(core.OpKind, batchSpec) bool) bool {
				for from := int64(1000); ; from += 100 {
					if !send(core.Upsert, batchSpec{from: from, n: 100, gen: 2}) {
						return false
					}
				}
			})
			require.Error(t, w.err, "a crash is not a successful write")
			require.ErrorIs(t, w.err, core.ErrPluginExited)
			require.Empty(t, w.problems)
			got := opts.Read(t, cfg, "killed")
			if info.Capabilities.Snapshot {
				requireHolds(t, got, e.members(0, 100, 1))
				return
			}
			held := map[string]bool{}
			for _, r := range got {
				held[r[keyColumn]] = true
			}
			for k := range w.acked() {
				require.True(t, held[k], "acknowledged record %s is not held", k)
			}
		})
	})
}

func mustAtoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}
