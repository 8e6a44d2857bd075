package httpdest

import (
	"context"
	"sync"

	"github.com/segflow/segflow/core"
)

// RunOps is the body of a Write for APIs that take one request per
// batch: it hands each op to handle on up to workers goroutines,
// receiving the next op only when a worker is free (so the host's
// batches wait in its window, and memory stays bounded), releases every
// batch it took, and stops at the first handler error or when ctx ends.
// It returns that error, ctx's error, or nil once ops is closed and
// every handler has returned. Handlers ack their records themselves.
func RunOps(ctx context.Context, ops <-chan core.Op, workers int, handle func(ctx context.Context, op core.Op) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case sem <- struct{}{}:
		}
		var op core.Op
		var ok bool
		select {
		case <-ctx.Done():
			break loop
		case op, ok = <-ops:
		}
		if !ok {
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer op.Batch.Release()
			if err := handle(ctx, op); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}
