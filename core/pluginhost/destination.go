package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/arrowipc"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

// maxBatchBytes is the most Arrow data the client puts in one batch
// message, leaving room within arrowipc.MaxMessageBytes for the IPC
// metadata, padding and the protocol's own fields.
const maxBatchBytes = arrowipc.MaxMessageBytes - 256<<10

// destinationClient implements core.Destination over the v1 gRPC
// protocol: one Write is one Write stream. It keeps the protocol's rules
// on the host side (seq numbering, the window, the end message) and checks
// the plugin's answers. Splitting batches to the plugin's limits happens
// in core.SplitBatches, which NewDestinationClient wraps around it.
type destinationClient struct {
	rpc   destinationv1.DestinationClient
	close func() error
}

// NewDestinationClient wraps a raw protocol client. closeFn, if set, runs
// on Close (it stops the plugin process). The client accepts batches of
// any size: it splits them to the plugin's limits and to the 4 MiB message
// limit (core.SplitBatches).
func NewDestinationClient(c destinationv1.DestinationClient, closeFn func() error) core.Destination {
	return core.SplitBatches(&destinationClient{rpc: c, close: closeFn})
}

// Info reports the plugin's info. MaxBatchBytes is capped at what fits in
// one protocol message, so that splitting to it also keeps messages under
// 4 MiB.
func (d *destinationClient) Info(ctx context.Context) (core.DestinationInfo, error) {
	r, err := d.rpc.Info(ctx, &destinationv1.InfoRequest{})
	if err != nil {
		return core.DestinationInfo{}, FromStatus(err)
	}
	info := sdk.DecodeDestinationInfo(r)
	if b := &info.Capabilities.MaxBatchBytes; *b <= 0 || *b > maxBatchBytes {
		*b = maxBatchBytes
	}
	return info, nil
}

func (d *destinationClient) Configure(ctx context.Context, config json.RawMessage) error {
	_, err := d.rpc.Configure(ctx, &destinationv1.ConfigureRequest{ConfigJson: config})
	return FromStatus(err)
}

func (d *destinationClient) TestConnection(ctx context.Context) error {
	_, err := d.rpc.TestConnection(ctx, &destinationv1.TestConnectionRequest{})
	return FromStatus(err)
}

func (d *destinationClient) Outputs(ctx context.Context, segment string) ([]string, error) {
	r, err := d.rpc.Outputs(ctx, &destinationv1.OutputsRequest{Segment: segment})
	if err != nil {
		return nil, FromStatus(err)
	}
	return r.GetOutputs(), nil
}

func (d *destinationClient) Close() error {
	if d.close != nil {
		return d.close()
	}
	return nil
}

// sentBatch is a batch in flight: sent, not yet settled.
type sentBatch struct {
	callerSeq int64
	n         int
	reported  int
}

// writeStream is the host side of one Write stream.
type writeStream struct {
	stream destinationv1.Destination_WriteClient
	ack    func(...core.Ack)
	cancel context.CancelFunc
	slots  chan struct{} // one token per batch in flight

	mu       sync.Mutex
	inflight map[int64]*sentBatch
	acked    int64
	failed   int64
	summary  *destinationv1.WriteSummary
	err      error // how the stream failed, if it did

	done chan struct{} // closed when receiving has ended
}

func (w *writeStream) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cancel()
}

// Write streams ops to the plugin; see core.Destination. Batches must be
// within the plugin's limits (core.SplitBatches sees to it); each is sent
// as one message under a wire seq of its own, and acks are reported with
// the caller's Seq.
func (d *destinationClient) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	info, err := d.Info(ctx)
	if err != nil {
		return core.WriteSummary{}, err
	}
	schemaMsg, err := arrowipc.SchemaBytes(h.Schema)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("encode schema: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := d.rpc.Write(ctx)
	if err != nil {
		return core.WriteSummary{}, FromStatus(err)
	}
	w := &writeStream{
		stream: stream, ack: ack, cancel: cancel,
		slots:    make(chan struct{}, info.Capabilities.Window()),
		inflight: map[int64]*sentBatch{},
		done:     make(chan struct{}),
	}
	go w.receive()
	complete, sendErr := w.send(ctx, h, schemaMsg, ops)
	if sendErr != nil {
		cancel()
	}
	<-w.done

	w.mu.Lock()
	defer w.mu.Unlock()
	sum := core.WriteSummary{Acknowledged: w.acked, Failed: w.failed}
	// A failure of the send loop's own (encoding) comes first: the
	// receiver then only saw the cancellation that followed it.
	own := sendErr != nil && !errors.Is(sendErr, context.Canceled) && !errors.Is(sendErr, context.DeadlineExceeded)
	switch {
	case own:
		return sum, sendErr
	case w.err != nil:
		return sum, w.err
	case sendErr != nil:
		return sum, sendErr
	case w.summary == nil:
		return sum, fmt.Errorf("%w: write stream ended without a summary", core.ErrIncompleteResult)
	case !complete:
		return sum, fmt.Errorf("%w: the plugin ended the write before the host sent every batch", core.ErrIncompleteResult)
	case len(w.inflight) > 0:
		return sum, fmt.Errorf("%w: plugin finished with %d batches not settled", core.ErrIncompleteResult, len(w.inflight))
	case w.summary.GetAcknowledged() != w.acked || w.summary.GetFailed() != w.failed:
		return sum, fmt.Errorf("%w: plugin counts %d acknowledged and %d failed records, the host received %d and %d",
			core.ErrIncompleteResult, w.summary.GetAcknowledged(), w.summary.GetFailed(), w.acked, w.failed)
	}
	sum.Outputs = w.summary.GetOutputs()
	return sum, nil
}

// send writes the header, the batches within the window, and the end
// message, and reports whether it sent the end message. It returns a nil
// error when receiving ended first (the receiver has the reason) and
// ctx's error when the caller gave up.
func (w *writeStream) send(ctx context.Context, h core.WriteHeader, schemaMsg []byte, ops <-chan core.Op) (bool, error) {
	err := w.stream.Send(&destinationv1.WriteRequest{Msg: &destinationv1.WriteRequest_Header{Header: &destinationv1.WriteHeader{
		Segment: h.Segment, ArrowSchema: schemaMsg, KeyColumn: h.KeyColumn,
	}}})
	if err != nil {
		return false, nil // the stream failed; Recv says why
	}
	enc := sdk.NewBatchEncoder(h.Schema)
	defer enc.Close()
	var seq, records int64
	for {
		var op core.Op
		var ok bool
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-w.done:
			return false, nil
		case op, ok = <-ops:
		}
		if !ok {
			err := w.stream.Send(&destinationv1.WriteRequest{Msg: &destinationv1.WriteRequest_End{End: &destinationv1.WriteEnd{Batches: seq, Records: records}}})
			if err != nil {
				return false, nil
			}
			w.stream.CloseSend()
			return true, nil
		}
		n := op.Batch.NumRows()
		if n == 0 {
			op.Batch.Release()
			continue
		}
		// Wait for room in the window.
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			op.Batch.Release()
			return false, ctx.Err()
		case <-w.done:
			op.Batch.Release()
			return false, nil
		}
		seq++
		msg, err := w.encode(enc, op, seq)
		op.Batch.Release()
		if err != nil {
			return false, err
		}
		records += n
		w.mu.Lock()
		w.inflight[seq] = &sentBatch{callerSeq: op.Seq, n: int(n)}
		w.mu.Unlock()
		if err := w.stream.Send(msg); err != nil {
			return false, nil
		}
	}
}

func (w *writeStream) encode(enc *sdk.BatchEncoder, op core.Op, seq int64) (*destinationv1.WriteRequest, error) {
	var kind destinationv1.Operation
	switch op.Kind {
	case core.Upsert:
		kind = destinationv1.Operation_OPERATION_UPSERT
	case core.Remove:
		kind = destinationv1.Operation_OPERATION_REMOVE
	default:
		return nil, fmt.Errorf("write: op %d: unknown operation %v", op.Seq, op.Kind)
	}
	b, err := enc.Encode(op.Batch)
	if err != nil {
		return nil, fmt.Errorf("write: encode op %d: %w", op.Seq, err)
	}
	msg := &destinationv1.WriteRequest{Msg: &destinationv1.WriteRequest_Batch{Batch: &destinationv1.Batch{
		Seq: seq, Operation: kind, ArrowIpc: b, NumRecords: op.Batch.NumRows(),
	}}}
	if size := proto.Size(msg); size > arrowipc.MaxMessageBytes {
		return nil, fmt.Errorf("write: op %d encodes to %d bytes, more than the %d a message may hold", op.Seq, size, arrowipc.MaxMessageBytes)
	}
	return msg, nil
}

// receive reads acks and the summary until the stream ends, reporting
// acks to the caller as they arrive.
func (w *writeStream) receive() {
	defer close(w.done)
	for {
		resp, err := w.stream.Recv()
		if errors.Is(err, io.EOF) {
			return // Write checks that the summary came
		}
		if err != nil {
			w.fail(FromStatus(err))
			return
		}
		switch m := resp.GetMsg().(type) {
		case *destinationv1.WriteResponse_Ack:
			acks, err := w.settle(m.Ack)
			if err != nil {
				w.fail(fmt.Errorf("destination plugin broke the protocol: %w", err))
				return
			}
			w.ack(acks...)
		case *destinationv1.WriteResponse_Summary:
			w.mu.Lock()
			dup := w.summary != nil
			w.summary = m.Summary
			w.mu.Unlock()
			if dup {
				w.fail(errors.New("destination plugin broke the protocol: two summaries"))
				return
			}
		default:
			w.fail(errors.New("destination plugin broke the protocol: unknown message"))
			return
		}
	}
}

// settle checks one Ack against the batches in flight, frees window slots
// for batches it settles, and returns the acks in the caller's terms.
func (w *writeStream) settle(m *destinationv1.Ack) ([]core.Ack, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.summary != nil {
		return nil, errors.New("ack after the summary")
	}
	b := w.inflight[m.GetSeq()]
	if b == nil {
		return nil, fmt.Errorf("ack for batch %d, which is not in flight", m.GetSeq())
	}
	acks := make([]core.Ack, 0, len(m.GetIndexes())+len(m.GetErrors()))
	for _, i := range m.GetIndexes() {
		if i < 0 || int(i) >= b.n {
			return nil, fmt.Errorf("ack for record %d of batch %d, which has %d records", i, m.GetSeq(), b.n)
		}
		acks = append(acks, core.Ack{Seq: b.callerSeq, Index: int(i)})
	}
	for _, e := range m.GetErrors() {
		if e.GetIndex() < 0 || int(e.GetIndex()) >= b.n {
			return nil, fmt.Errorf("error for record %d of batch %d, which has %d records", e.GetIndex(), m.GetSeq(), b.n)
		}
		acks = append(acks, core.Ack{Seq: b.callerSeq, Index: int(e.GetIndex()), Err: &core.RecordError{
			Code: e.GetCode(), Message: e.GetMessage(), Retryable: e.GetRetryable(),
		}})
	}
	b.reported += len(acks)
	switch {
	case b.reported > b.n:
		return nil, fmt.Errorf("batch %d has %d records but %d were reported", m.GetSeq(), b.n, b.reported)
	case b.reported == b.n:
		delete(w.inflight, m.GetSeq())
		<-w.slots
	}
	w.acked += int64(len(m.GetIndexes()))
	w.failed += int64(len(m.GetErrors()))
	return acks, nil
}
