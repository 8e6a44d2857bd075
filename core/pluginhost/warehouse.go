package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/arrowipc"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

// warehouseClient implements core.Warehouse over the v1 gRPC protocol.
type warehouseClient struct {
	rpc   warehousev1.WarehouseClient
	close func() error
}

// NewWarehouseClient wraps a raw protocol client. closeFn, if set, runs on
// Close (it stops the plugin process).
func NewWarehouseClient(c warehousev1.WarehouseClient, closeFn func() error) core.Warehouse {
	return &warehouseClient{rpc: c, close: closeFn}
}

func (w *warehouseClient) Info(ctx context.Context) (core.WarehouseInfo, error) {
	r, err := w.rpc.Info(ctx, &warehousev1.InfoRequest{})
	if err != nil {
		return core.WarehouseInfo{}, FromStatus(err)
	}
	return core.WarehouseInfo{Name: r.GetName(), Version: r.GetVersion(), Dialect: r.GetDialect(), Capabilities: r.GetCapabilities()}, nil
}

func (w *warehouseClient) Configure(ctx context.Context, config json.RawMessage) error {
	_, err := w.rpc.Configure(ctx, &warehousev1.ConfigureRequest{ConfigJson: config})
	return FromStatus(err)
}

func (w *warehouseClient) TestConnection(ctx context.Context) error {
	_, err := w.rpc.TestConnection(ctx, &warehousev1.TestConnectionRequest{})
	return FromStatus(err)
}

func (w *warehouseClient) Execute(ctx context.Context, sql string, params ...any) (int64, error) {
	p, err := sdk.EncodeParams(params)
	if err != nil {
		return 0, err
	}
	r, err := w.rpc.Execute(ctx, &warehousev1.ExecuteRequest{Sql: sql, Params: p})
	if err != nil {
		return 0, FromStatus(err)
	}
	return r.GetRowsAffected(), nil
}

func (w *warehouseClient) DryRun(ctx context.Context, sql string, params ...any) (int64, error) {
	p, err := sdk.EncodeParams(params)
	if err != nil {
		return 0, err
	}
	r, err := w.rpc.DryRun(ctx, &warehousev1.QueryRequest{Sql: sql, Params: p})
	if err != nil {
		return 0, FromStatus(err)
	}
	return r.GetBytesProcessed(), nil
}

func (w *warehouseClient) DescribeTable(ctx context.Context, table string) (*arrow.Schema, error) {
	r, err := w.rpc.DescribeTable(ctx, &warehousev1.DescribeTableRequest{Table: table})
	if err != nil {
		return nil, FromStatus(err)
	}
	return arrowipc.ParseSchema(r.GetArrowSchema())
}

func (w *warehouseClient) Close() error {
	if w.close != nil {
		return w.close()
	}
	return nil
}

// Query opens the result stream and returns a reader over it. The reader
// fails, rather than ending quietly, when the stream stops before the
// plugin's end marker or when the row count disagrees with the plugin's.
func (w *warehouseClient) Query(ctx context.Context, sql string, params ...any) (array.RecordReader, error) {
	p, err := sdk.EncodeParams(params)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := w.rpc.Query(ctx, &warehousev1.QueryRequest{Sql: sql, Params: p})
	if err != nil {
		cancel()
		return nil, FromStatus(err)
	}
	s := newResultStream(stream)
	rdr, err := ipc.NewReaderFromMessageReader(arrowipc.NewBytesMessageReader(s.next))
	if err != nil {
		cancel()
		for range s.msgs { // let the receiving goroutine end
		}
		if s.err != nil {
			return nil, s.err
		}
		return nil, fmt.Errorf("read result schema: %w", err)
	}
	return &queryReader{Reader: rdr, stream: s, cancel: cancel}, nil
}

// resultStream yields the Arrow messages of one Query stream and
// remembers how it ended. A goroutine receives ahead of the decoder so
// that the transport and Arrow decoding overlap.
type resultStream struct {
	msgs      chan recvResult
	ended     bool  // the end marker arrived
	totalRows int64 // as counted by the plugin
	err       error // how the stream failed, if it did
}

type recvResult struct {
	msg *warehousev1.QueryResponse
	err error
}

// prefetch is how many transport messages (of up to 4 MiB) may wait
// decoded-ahead of the reader.
const prefetch = 4

func newResultStream(stream warehousev1.Warehouse_QueryClient) *resultStream {
	s := &resultStream{msgs: make(chan recvResult, prefetch)}
	go func() {
		defer close(s.msgs)
		for {
			msg, err := stream.Recv()
			// Recv fails once the query's context is cancelled, so this
			// goroutine ends when the reader is released.
			s.msgs <- recvResult{msg, err}
			if err != nil || msg.GetEnd() {
				return
			}
		}
	}()
	return s
}

func (s *resultStream) next() ([]byte, error) {
	if s.ended {
		return nil, io.EOF
	}
	if s.err != nil {
		return nil, s.err
	}
	r := <-s.msgs
	switch {
	case errors.Is(r.err, io.EOF):
		s.err = core.ErrIncompleteResult
	case r.err != nil:
		s.err = FromStatus(r.err)
	case r.msg.GetEnd():
		s.ended = true
		s.totalRows = r.msg.GetTotalRows()
		return nil, io.EOF
	default:
		return r.msg.GetArrowIpc(), nil
	}
	return nil, s.err
}

type queryReader struct {
	*ipc.Reader
	stream *resultStream
	cancel context.CancelFunc
	rows   int64
	err    error
	once   sync.Once
}

func (r *queryReader) Next() bool {
	if r.err != nil {
		return false
	}
	if r.Reader.Next() {
		r.rows += r.Reader.RecordBatch().NumRows()
		return true
	}
	switch {
	case r.stream.err != nil:
		r.err = r.stream.err
	case r.Reader.Err() != nil && !errors.Is(r.Reader.Err(), io.EOF):
		r.err = fmt.Errorf("decode result: %w", r.Reader.Err())
	case !r.stream.ended:
		r.err = core.ErrIncompleteResult
	case r.rows != r.stream.totalRows:
		r.err = fmt.Errorf("%w: received %d rows, plugin sent %d", core.ErrIncompleteResult, r.rows, r.stream.totalRows)
	}
	return false
}

func (r *queryReader) Err() error { return r.err }

func (r *queryReader) Release() {
	r.once.Do(func() {
		r.cancel()
		r.Reader.Release()
		// Let the receiving goroutine finish: it fails once the
		// cancellation reaches the stream.
		for range r.stream.msgs {
		}
	})
}

// FromStatus turns a gRPC status from a plugin back into the core error it
// stands for.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", core.ErrPluginExited, st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("%w: %s", core.ErrNotImplemented, st.Message())
	case codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
	}
	var fields core.FieldErrors
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *warehousev1.FieldError:
			fields = append(fields, &core.FieldError{Field: d.GetField(), Message: d.GetMessage()})
		case *destinationv1.FieldError:
			fields = append(fields, &core.FieldError{Field: d.GetField(), Message: d.GetMessage()})
		case *warehousev1.SQLError:
			return &core.SQLError{Message: d.GetMessage(), Line: int(d.GetLine()), Column: int(d.GetColumn())}
		}
	}
	if len(fields) > 0 {
		return fields
	}
	return errors.New(st.Message())
}
