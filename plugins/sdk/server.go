package sdk

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/arrowipc"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
)

// warehouseServer serves a core.Warehouse over the v1 protocol.
type warehouseServer struct {
	warehousev1.UnimplementedWarehouseServer
	impl core.Warehouse
}

func (s *warehouseServer) Info(ctx context.Context, _ *warehousev1.InfoRequest) (*warehousev1.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, ToStatus(err)
	}
	return &warehousev1.InfoResponse{Name: info.Name, Version: info.Version, Dialect: info.Dialect, Capabilities: info.Capabilities}, nil
}

func (s *warehouseServer) Configure(ctx context.Context, req *warehousev1.ConfigureRequest) (*warehousev1.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, req.GetConfigJson()); err != nil {
		return nil, ToStatus(err)
	}
	return &warehousev1.ConfigureResponse{}, nil
}

func (s *warehouseServer) TestConnection(ctx context.Context, _ *warehousev1.TestConnectionRequest) (*warehousev1.TestConnectionResponse, error) {
	if err := s.impl.TestConnection(ctx); err != nil {
		return nil, ToStatus(err)
	}
	return &warehousev1.TestConnectionResponse{}, nil
}

func (s *warehouseServer) Execute(ctx context.Context, req *warehousev1.ExecuteRequest) (*warehousev1.ExecuteResponse, error) {
	n, err := s.impl.Execute(ctx, req.GetSql(), DecodeParams(req.GetParams())...)
	if err != nil {
		return nil, ToStatus(err)
	}
	return &warehousev1.ExecuteResponse{RowsAffected: n}, nil
}

func (s *warehouseServer) Query(req *warehousev1.QueryRequest, stream warehousev1.Warehouse_QueryServer) error {
	ctx := stream.Context()
	rdr, err := s.impl.Query(ctx, req.GetSql(), DecodeParams(req.GetParams())...)
	if err != nil {
		return ToStatus(err)
	}
	defer rdr.Release()
	enc := arrowipc.NewEncoder(rdr.Schema(), func(msg []byte) error {
		return stream.Send(&warehousev1.QueryResponse{ArrowIpc: msg})
	})
	var rows int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if err := enc.Write(rec); err != nil {
			return ToStatus(err)
		}
		rows += rec.NumRows()
	}
	if err := rdr.Err(); err != nil {
		return ToStatus(err)
	}
	if err := ctx.Err(); err != nil {
		return ToStatus(err)
	}
	if err := enc.Close(); err != nil {
		return ToStatus(err)
	}
	return stream.Send(&warehousev1.QueryResponse{End: true, TotalRows: rows})
}

func (s *warehouseServer) DryRun(ctx context.Context, req *warehousev1.QueryRequest) (*warehousev1.DryRunResponse, error) {
	n, err := s.impl.DryRun(ctx, req.GetSql(), DecodeParams(req.GetParams())...)
	if err != nil {
		return nil, ToStatus(err)
	}
	return &warehousev1.DryRunResponse{BytesProcessed: n}, nil
}

func (s *warehouseServer) DescribeTable(ctx context.Context, req *warehousev1.DescribeTableRequest) (*warehousev1.DescribeTableResponse, error) {
	schema, err := s.impl.DescribeTable(ctx, req.GetTable())
	if err != nil {
		return nil, ToStatus(err)
	}
	b, err := arrowipc.SchemaBytes(schema)
	if err != nil {
		return nil, ToStatus(err)
	}
	return &warehousev1.DescribeTableResponse{ArrowSchema: b}, nil
}

// ToStatus maps a plugin's error onto a gRPC status the host can turn
// back into the same core error.
func ToStatus(err error) error {
	var (
		fields core.FieldErrors
		field  *core.FieldError
		sqlErr *core.SQLError
	)
	switch {
	case errors.As(err, &fields):
		st := status.New(codes.InvalidArgument, err.Error())
		details := make([]protoadapt.MessageV1, len(fields))
		for i, f := range fields {
			details[i] = protoadapt.MessageV1Of(&warehousev1.FieldError{Field: f.Field, Message: f.Message})
		}
		return withDetails(st, details...)
	case errors.As(err, &field):
		st := status.New(codes.InvalidArgument, err.Error())
		return withDetails(st, protoadapt.MessageV1Of(&warehousev1.FieldError{Field: field.Field, Message: field.Message}))
	case errors.As(err, &sqlErr):
		st := status.New(codes.InvalidArgument, err.Error())
		return withDetails(st, protoadapt.MessageV1Of(&warehousev1.SQLError{Message: sqlErr.Message, Line: int32(sqlErr.Line), Column: int32(sqlErr.Column)}))
	case errors.Is(err, core.ErrNotImplemented):
		return status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

func withDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	if d, err := st.WithDetails(details...); err == nil {
		return d.Err()
	}
	return st.Err()
}
