package core_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "email", Type: arrow.BinaryTypes.String},
	{Name: "attrs", Type: arrow.BinaryTypes.String},
}, nil)

func batch(from, n, width int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.StringBuilder).Append("c" + strconv.Itoa(i) + "@x.org")
		b.Field(1).(*array.StringBuilder).Append(strings.Repeat("a", width))
	}
	return b.NewRecordBatch()
}

// fakeDest records the batches it gets and reports records as told.
type fakeDest struct {
	caps    core.DestinationCapabilities
	sizes   []int64
	forget  bool // never report the last record
	quitAt1 bool // return after the first batch
}

func (f *fakeDest) Info(context.Context) (core.DestinationInfo, error) {
	return core.DestinationInfo{Name: "fake", Version: "0", Capabilities: f.caps}, nil
}
func (f *fakeDest) Configure(context.Context, json.RawMessage) error { return nil }
func (f *fakeDest) TestConnection(context.Context) error             { return nil }
func (f *fakeDest) Outputs(context.Context, string) ([]string, error) {
	return nil, core.ErrNotImplemented
}
func (f *fakeDest) Close() error { return nil }
func (f *fakeDest) Write(ctx context.Context, _ core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	for {
		select {
		case <-ctx.Done():
			return core.WriteSummary{}, ctx.Err()
		case op, ok := <-ops:
			if !ok {
				return core.WriteSummary{Outputs: []string{"fake"}}, nil
			}
			f.sizes = append(f.sizes, op.Batch.NumRows())
			acks := core.AckAll(op)
			if f.forget {
				acks = acks[:len(acks)-1]
			}
			ack(acks...)
			op.Batch.Release()
			if f.quitAt1 {
				return core.WriteSummary{}, nil
			}
		}
	}
}

func send(t *testing.T, d core.Destination, ops ...core.Op) (core.WriteSummary, []core.Ack, error) {
	ch := make(chan core.Op, len(ops))
	for _, op := range ops {
		ch <- op
	}
	close(ch)
	var acks []core.Ack
	sum, err := d.Write(context.Background(), core.WriteHeader{Segment: "s", Schema: schema, KeyColumn: "email"}, ch, func(a ...core.Ack) {
		acks = append(acks, a...)
	})
	return sum, acks, err
}

func TestSplitBatchesKeepsRecordAndByteLimits(t *testing.T) {
	f := &fakeDest{caps: core.DestinationCapabilities{MaxBatchRecords: 40, MaxBatchBytes: 10_000}}
	d := core.SplitBatches(f)
	// 100 records of ~1 KB: 40 per batch by count, ~9 by bytes.
	sum, acks, err := send(t, d, core.Op{Kind: core.Upsert, Seq: 7, Batch: batch(0, 100, 1000)}, core.Op{Kind: core.Upsert, Seq: 8, Batch: batch(100, 5, 10)})
	require.NoError(t, err)
	require.Equal(t, core.WriteSummary{Acknowledged: 105, Outputs: []string{"fake"}}, sum)
	var total int64
	for _, n := range f.sizes {
		require.LessOrEqual(t, n, int64(9))
		total += n
	}
	require.Equal(t, int64(105), total)
	require.Len(t, acks, 105)
	seen := map[[2]int]bool{}
	for _, a := range acks {
		seen[[2]int{int(a.Seq), a.Index}] = true
	}
	for i := 0; i < 100; i++ {
		require.True(t, seen[[2]int{7, i}], "row %d of op 7", i)
	}
	for i := 0; i < 5; i++ {
		require.True(t, seen[[2]int{8, i}], "row %d of op 8", i)
	}
	require.Equal(t, "c100@x.org", keyOf(acks, 8, 0), "acks carry the record's key")
}

func keyOf(acks []core.Ack, seq int64, idx int) string {
	for _, a := range acks {
		if a.Seq == seq && a.Index == idx {
			return a.Key
		}
	}
	return ""
}

func TestSplitBatchesRefusesARowWiderThanABatch(t *testing.T) {
	d := core.SplitBatches(&fakeDest{caps: core.DestinationCapabilities{MaxBatchBytes: 100}})
	_, _, err := send(t, d, core.Op{Kind: core.Upsert, Seq: 1, Batch: batch(0, 2, 500)})
	require.ErrorContains(t, err, "row 0 is")
}

func TestSplitBatchesRefusesRemovesWhenUnsupported(t *testing.T) {
	f := &fakeDest{}
	_, _, err := send(t, core.SplitBatches(f), core.Op{Kind: core.Remove, Seq: 1, Batch: batch(0, 2, 1)})
	require.ErrorIs(t, err, core.ErrRemoveNotSupported)
	require.Empty(t, f.sizes, "the destination saw nothing of the remove")
}

func TestSplitBatchesCatchesDestinationsThatBreakTheContract(t *testing.T) {
	_, _, err := send(t, core.SplitBatches(&fakeDest{forget: true}), core.Op{Kind: core.Upsert, Seq: 1, Batch: batch(0, 3, 1)})
	require.ErrorContains(t, err, "without reporting 1 records")

	_, _, err = send(t, core.SplitBatches(&fakeDest{quitAt1: true}),
		core.Op{Kind: core.Upsert, Seq: 1, Batch: batch(0, 3, 1)}, core.Op{Kind: core.Upsert, Seq: 2, Batch: batch(3, 3, 1)})
	require.ErrorContains(t, err, "returned before taking every operation")
}

func TestUpsertAllFailsUnlessEveryRecordIsAcknowledged(t *testing.T) {
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{batch(0, 3, 1)})
	require.NoError(t, err)
	sum, err := core.UpsertAll(context.Background(), core.SplitBatches(&fakeDest{}), "s", "email", rdr)
	require.NoError(t, err)
	require.Equal(t, int64(3), sum.Acknowledged)

	rdr, err = array.NewRecordReader(schema, []arrow.RecordBatch{batch(0, 3, 1)})
	require.NoError(t, err)
	_, err = core.UpsertAll(context.Background(), core.SplitBatches(&fakeDest{forget: true}), "s", "email", rdr)
	require.Error(t, err)
}
