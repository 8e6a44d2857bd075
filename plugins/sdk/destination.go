package sdk

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/segflow/segflow/core"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
)

// destinationServer serves a core.Destination over the v1 protocol. It
// enforces the protocol on the plugin's behalf, so an implementation only
// sees well-formed writes: the header first, batches numbered 1, 2, ...
// within the announced limits, no remove unless supported, and ops closed
// only after the host's end message. It checks the implementation too:
// acks for records that are not in flight, records reported twice, or a
// return before every record was reported fail the write.
type destinationServer struct {
	destinationv1.UnimplementedDestinationServer
	impl core.Destination
}

func (s *destinationServer) Info(ctx context.Context, _ *destinationv1.InfoRequest) (*destinationv1.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, destinationStatus(err)
	}
	return EncodeDestinationInfo(info), nil
}

func (s *destinationServer) Configure(ctx context.Context, req *destinationv1.ConfigureRequest) (*destinationv1.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, req.GetConfigJson()); err != nil {
		return nil, destinationStatus(err)
	}
	return &destinationv1.ConfigureResponse{}, nil
}

func (s *destinationServer) TestConnection(ctx context.Context, _ *destinationv1.TestConnectionRequest) (*destinationv1.TestConnectionResponse, error) {
	if err := s.impl.TestConnection(ctx); err != nil {
		return nil, destinationStatus(err)
	}
	return &destinationv1.TestConnectionResponse{}, nil
}

func (s *destinationServer) Outputs(ctx context.Context, req *destinationv1.OutputsRequest) (*destinationv1.OutputsResponse, error) {
	out, err := s.impl.Outputs(ctx, req.GetSegment())
	if err != nil {
		return nil, destinationStatus(err)
	}
	return &destinationv1.OutputsResponse{Outputs: out}, nil
}

// EncodeDestinationInfo and DecodeDestinationInfo translate a
// destination's info to and from the protocol.
func EncodeDestinationInfo(info core.DestinationInfo) *destinationv1.InfoResponse {
	c := info.Capabilities
	return &destinationv1.InfoResponse{
		Name:    info.Name,
		Version: info.Version,
		Capabilities: &destinationv1.Capabilities{
			SupportsRemove:  c.SupportsRemove,
			MaxBatchRecords: c.MaxBatchRecords,
			MaxBatchBytes:   c.MaxBatchBytes,
			RateLimit: &destinationv1.RateLimit{
				RequestsPerSecond: c.RateLimit.RequestsPerSecond,
				Burst:             int32(c.RateLimit.Burst),
				Concurrency:       int32(c.RateLimit.Concurrency),
			},
			Async:              c.Async,
			MaxInFlightBatches: int32(c.MaxInFlightBatches),
			Snapshot:           c.Snapshot,
		},
	}
}

func DecodeDestinationInfo(r *destinationv1.InfoResponse) core.DestinationInfo {
	c := r.GetCapabilities()
	rl := c.GetRateLimit()
	return core.DestinationInfo{
		Name:    r.GetName(),
		Version: r.GetVersion(),
		Capabilities: core.DestinationCapabilities{
			SupportsRemove:  c.GetSupportsRemove(),
			MaxBatchRecords: c.GetMaxBatchRecords(),
			MaxBatchBytes:   c.GetMaxBatchBytes(),
			RateLimit: core.RateLimit{
				RequestsPerSecond: rl.GetRequestsPerSecond(),
				Burst:             int(rl.GetBurst()),
				Concurrency:       int(rl.GetConcurrency()),
			},
			Async:              c.GetAsync(),
			MaxInFlightBatches: int(c.GetMaxInFlightBatches()),
			Snapshot:           c.GetSnapshot(),
		},
	}
}

// Ack messages stay far below the 4 MiB message limit: at most this many
// records each, and error messages cut to maxErrorMessage bytes.
const (
	maxAckRecords   = 8192
	maxAckBytes     = 1 << 20
	maxErrorMessage = 2048
)

// inflight is a batch the implementation has not settled.
type inflight struct {
	seen     []bool
	reported int
}

// writeSession is one Write stream on the plugin side.
type writeSession struct {
	stream destinationv1.Destination_WriteServer
	cancel context.CancelFunc

	mu       sync.Mutex
	batches  map[int64]*inflight
	acked    int64
	failed   int64
	err      error // the first failure; ends the write
	finished bool  // the implementation returned: acks are ignored
	ended    bool  // the host's end message arrived
}

// fail records the write's first failure and stops the implementation.
// Callers hold mu.
func (w *writeSession) fail(err error) {
	if w.err == nil {
		w.err = err
		w.cancel()
	}
}

func (w *writeSession) failLocked(err error) {
	w.mu.Lock()
	w.fail(err)
	w.mu.Unlock()
}

func (s *destinationServer) Write(stream destinationv1.Destination_WriteServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	first, err := stream.Recv()
	if err != nil {
		return destinationStatus(err)
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return status.Error(codes.InvalidArgument, "write: the first message must be the header")
	}
	dec, err := NewBatchDecoder(hdr.GetArrowSchema())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "write header: %v", err)
	}
	schema := dec.Schema()
	if idx := schema.FieldIndices(hdr.GetKeyColumn()); len(idx) != 1 {
		dec.Release()
		return status.Errorf(codes.InvalidArgument, "write header: key column %q is not a column of the schema", hdr.GetKeyColumn())
	}
	info, err := s.impl.Info(ctx)
	if err != nil {
		dec.Release()
		return destinationStatus(err)
	}
	w := &writeSession{stream: stream, cancel: cancel, batches: map[int64]*inflight{}}
	ops := make(chan core.Op)
	go w.receive(ctx, dec, info.Capabilities, ops)

	sum, err := s.impl.Write(ctx, core.WriteHeader{Segment: hdr.GetSegment(), Schema: schema, KeyColumn: hdr.GetKeyColumn()}, ops, w.ack)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished = true
	missing := 0
	for _, b := range w.batches {
		missing += len(b.seen) - b.reported
	}
	switch {
	case w.err != nil:
		return destinationStatus(w.err)
	case err != nil:
		return destinationStatus(err)
	case !w.ended:
		return status.Error(codes.Internal, "destination plugin returned before the end of the write")
	case missing > 0:
		return status.Errorf(codes.Internal, "destination plugin returned without reporting %d records", missing)
	}
	return stream.Send(&destinationv1.WriteResponse{Msg: &destinationv1.WriteResponse_Summary{Summary: &destinationv1.WriteSummary{
		Acknowledged: w.acked, Failed: w.failed, Outputs: sum.Outputs,
	}}})
}

// receive reads the host's batches and hands them to the implementation.
// It closes ops only after the end message; any other end of the stream
// cancels the write instead. It owns the decoder: it may still be
// decoding when the handler returns.
func (w *writeSession) receive(ctx context.Context, dec *BatchDecoder, caps core.DestinationCapabilities, ops chan<- core.Op) {
	defer dec.Release()
	var seq, records int64
	for {
		req, err := w.stream.Recv()
		if errors.Is(err, io.EOF) {
			w.failLocked(status.Error(codes.Canceled, "write: the host closed the stream without the end message; nothing is committed"))
			return
		}
		if err != nil {
			w.failLocked(err)
			return
		}
		switch m := req.GetMsg().(type) {
		case *destinationv1.WriteRequest_Batch:
			b := m.Batch
			op, err := w.batch(b, seq+1, caps, dec)
			if err != nil {
				w.failLocked(err)
				return
			}
			seq++
			records += op.Batch.NumRows()
			select {
			case ops <- op:
			case <-ctx.Done():
				op.Batch.Release()
				return
			}
		case *destinationv1.WriteRequest_End:
			if m.End.GetBatches() != seq || m.End.GetRecords() != records {
				w.failLocked(status.Errorf(codes.InvalidArgument, "write: the host says it sent %d batches of %d records; %d of %d arrived",
					m.End.GetBatches(), m.End.GetRecords(), seq, records))
				return
			}
			w.mu.Lock()
			w.ended = true
			w.mu.Unlock()
			close(ops)
			return
		default:
			w.failLocked(status.Error(codes.InvalidArgument, "write: unexpected message after the header"))
			return
		}
	}
}

// batch checks and decodes one batch message and registers it in flight.
func (w *writeSession) batch(b *destinationv1.Batch, want int64, caps core.DestinationCapabilities, dec *BatchDecoder) (core.Op, error) {
	var kind core.OpKind
	switch b.GetOperation() {
	case destinationv1.Operation_OPERATION_UPSERT:
		kind = core.Upsert
	case destinationv1.Operation_OPERATION_REMOVE:
		kind = core.Remove
		if !caps.SupportsRemove {
			return core.Op{}, status.Errorf(codes.Unimplemented, "write: batch %d: %v", b.GetSeq(), core.ErrRemoveNotSupported)
		}
	default:
		return core.Op{}, status.Errorf(codes.InvalidArgument, "write: batch %d: unknown operation %v", b.GetSeq(), b.GetOperation())
	}
	if b.GetSeq() != want {
		return core.Op{}, status.Errorf(codes.InvalidArgument, "write: batch %d arrived where batch %d was due", b.GetSeq(), want)
	}
	if max := caps.MaxBatchRecords; max > 0 && b.GetNumRecords() > max {
		return core.Op{}, status.Errorf(codes.InvalidArgument, "write: batch %d has %d records; this destination takes at most %d (max_batch_records)", b.GetSeq(), b.GetNumRecords(), max)
	}
	rec, err := dec.Decode(b.GetArrowIpc())
	if err != nil {
		return core.Op{}, status.Errorf(codes.InvalidArgument, "write: batch %d: %v", b.GetSeq(), err)
	}
	if rec.NumRows() != b.GetNumRecords() {
		n := rec.NumRows()
		rec.Release()
		return core.Op{}, status.Errorf(codes.InvalidArgument, "write: batch %d: decoded %d records, the host says %d", b.GetSeq(), n, b.GetNumRecords())
	}
	w.mu.Lock()
	w.batches[b.GetSeq()] = &inflight{seen: make([]bool, rec.NumRows())}
	if rec.NumRows() == 0 {
		delete(w.batches, b.GetSeq())
	}
	w.mu.Unlock()
	return core.Op{Kind: kind, Seq: b.GetSeq(), Batch: rec}, nil
}

// ack is the implementation's ack function: it checks the records and
// sends them to the host, grouped per batch in as few messages as fit.
func (w *writeSession) ack(acks ...core.Ack) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished || w.err != nil {
		return
	}
	var (
		msgs  []*destinationv1.Ack
		cur   *destinationv1.Ack
		count int
		size  int
	)
	for _, a := range acks {
		b := w.batches[a.Seq]
		switch {
		case b == nil:
			w.fail(status.Errorf(codes.Internal, "destination plugin reported a record of batch %d, which is not in flight", a.Seq))
		case a.Index < 0 || a.Index >= len(b.seen):
			w.fail(status.Errorf(codes.Internal, "destination plugin reported record %d of batch %d, which has %d records", a.Index, a.Seq, len(b.seen)))
		case b.seen[a.Index]:
			w.fail(status.Errorf(codes.Internal, "destination plugin reported record %d of batch %d twice", a.Index, a.Seq))
		}
		if w.err != nil {
			return
		}
		b.seen[a.Index] = true
		b.reported++
		if b.reported == len(b.seen) {
			delete(w.batches, a.Seq)
		}
		if cur == nil || cur.Seq != a.Seq || count >= maxAckRecords || size >= maxAckBytes {
			cur = &destinationv1.Ack{Seq: a.Seq}
			msgs = append(msgs, cur)
			count, size = 0, 0
		}
		count++
		if a.Err == nil {
			w.acked++
			cur.Indexes = append(cur.Indexes, int32(a.Index))
			size += 5
			continue
		}
		w.failed++
		msg := a.Err.Message
		if len(msg) > maxErrorMessage {
			msg = msg[:maxErrorMessage] + "…"
		}
		cur.Errors = append(cur.Errors, &destinationv1.RecordError{Index: int32(a.Index), Code: a.Err.Code, Message: msg, Retryable: a.Err.Retryable})
		size += 16 + len(a.Err.Code) + len(msg)
	}
	for _, m := range msgs {
		if err := w.stream.Send(&destinationv1.WriteResponse{Msg: &destinationv1.WriteResponse_Ack{Ack: m}}); err != nil {
			w.fail(err)
			return
		}
	}
}

// destinationStatus is ToStatus with the destination protocol's
// FieldError details.
func destinationStatus(err error) error {
	if _, ok := status.FromError(err); ok && !isCoreError(err) {
		return err
	}
	var (
		fields core.FieldErrors
		field  *core.FieldError
	)
	switch {
	case errors.As(err, &fields):
		st := status.New(codes.InvalidArgument, err.Error())
		details := make([]protoadapt.MessageV1, len(fields))
		for i, f := range fields {
			details[i] = protoadapt.MessageV1Of(&destinationv1.FieldError{Field: f.Field, Message: f.Message})
		}
		return withDetails(st, details...)
	case errors.As(err, &field):
		st := status.New(codes.InvalidArgument, err.Error())
		return withDetails(st, protoadapt.MessageV1Of(&destinationv1.FieldError{Field: field.Field, Message: field.Message}))
	}
	return ToStatus(err)
}

// isCoreError reports whether err is one ToStatus maps by meaning rather
// than a status to pass on as it is.
func isCoreError(err error) bool {
	var fields core.FieldErrors
	var field *core.FieldError
	return errors.As(err, &fields) || errors.As(err, &field) || errors.Is(err, core.ErrNotImplemented) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
