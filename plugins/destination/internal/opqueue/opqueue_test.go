package opqueue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
)

func ops(n int) chan core.Op {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	ch := make(chan core.Op, n)
	for i := range n {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.Append(int64(i))
		col := b.NewArray()
		ch <- core.Op{Kind: core.Upsert, Seq: int64(i + 1), Batch: array.NewRecordBatch(schema, []arrow.Array{col}, 1)}
		col.Release()
		b.Release()
	}
	return ch
}

func TestBoundedAndComplete(t *testing.T) {
	ch := ops(20)
	close(ch)
	var running, peak, done atomic.Int64
	err := Run(context.Background(), ch, 3, func(_ context.Context, op core.Op) (Send, error) {
		op.Batch.Release()
		return func(context.Context) error {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			done.Add(1)
			return nil
		}, nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(20), done.Load(), "every send ran before Run returned")
	require.LessOrEqual(t, peak.Load(), int64(3))
	require.Greater(t, peak.Load(), int64(1), "sends overlap")
}

func TestFirstErrorWinsAndCancels(t *testing.T) {
	ch := ops(5) // left open: only the error ends the run
	boom := errors.New("boom")
	var cancelled atomic.Int64
	err := Run(context.Background(), ch, 4, func(_ context.Context, op core.Op) (Send, error) {
		seq := op.Seq
		op.Batch.Release()
		return func(ctx context.Context) error {
			if seq == 2 {
				return boom
			}
			<-ctx.Done()
			cancelled.Add(1)
			return ctx.Err()
		}, nil
	})
	require.ErrorIs(t, err, boom)
	require.Positive(t, cancelled.Load())
}

func TestCallerCancellation(t *testing.T) {
	ch := ops(1) // left open
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err := Run(ctx, ch, 1, func(_ context.Context, op core.Op) (Send, error) {
		op.Batch.Release()
		return nil, nil
	})
	require.ErrorIs(t, err, context.Canceled)
}
