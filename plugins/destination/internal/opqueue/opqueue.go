// Package opqueue runs a destination write's operations concurrently,
// for the HTTP destinations (webhook, sendgrid, hubspot, customerio):
// requests of several batches in flight are what keep a rate-limited API
// busy, while the shared httpdest.Limiter keeps them within its limits.
//
// Each op is prepared serially, as it arrives: prepare turns the Arrow
// batch into request payloads and releases it, so at most one batch is
// held however many requests are in flight (the host bounds Arrow memory
// by the batch size). The returned send then runs on a worker.
package opqueue

import (
	"context"
	"sync"

	"github.com/segflow/segflow/core"
)

// Send sends what prepare built and acknowledges its records.
type Send func(ctx context.Context) error

// Run takes ops until the channel is closed. For each it calls prepare,
// which owns op.Batch and must release it, and runs the Send it returns
// (if not nil) on one of at most workers goroutines. Run returns once
// every Send has returned (so no ack follows it): with nil when ops was
// closed and all succeeded, with the first error of prepare or a Send
// (the others are cancelled), or with ctx's error.
func Run(ctx context.Context, ops <-chan core.Op, workers int, prepare func(ctx context.Context, op core.Op) (Send, error)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(workers, 1))
loop:
	for {
		var op core.Op
		var ok bool
		select {
		case <-ctx.Done():
			break loop
		case op, ok = <-ops:
		}
		if !ok {
			break
		}
		send, err := prepare(ctx, op)
		if err != nil {
			cancel(err)
			break
		}
		if send == nil {
			continue
		}
		select {
		case <-ctx.Done():
			break loop
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := send(ctx); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	// ops closed and ctx live: the write completed unless a send failed;
	// ctx done: its cause says why (an error here, or the caller's
	// cancellation).
	return context.Cause(ctx)
}
