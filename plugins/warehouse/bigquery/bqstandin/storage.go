//go:build duckdb_arrow

package bqstandin

import (
	"context"
	"fmt"
	"regexp"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxStreams bounds how many read streams stay open; older ones are
// forgotten (results are garbage-collected, never released by hand, so a
// forgotten stream frees its batches).
const maxStreams = 64

// readServer serves google.cloud.bigquery.storage.v1.BigQueryRead.
type readServer struct {
	storagepb.UnimplementedBigQueryReadServer
	s *Server
}

var tablePath = regexp.MustCompile(`^projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)$`)

func (rs *readServer) CreateReadSession(ctx context.Context, req *storagepb.CreateReadSessionRequest) (*storagepb.ReadSession, error) {
	s := rs.s
	if code, ok := s.takeRPC(MethodCreateReadSession); ok {
		return nil, status.Error(code, "stand-in: injected failure")
	}
	in := req.GetReadSession()
	if in.GetDataFormat() != storagepb.DataFormat_ARROW {
		return nil, status.Error(codes.InvalidArgument, "the stand-in serves ARROW only")
	}
	if in.GetReadOptions().GetRowRestriction() != "" || len(in.GetReadOptions().GetSelectedFields()) > 0 {
		return nil, status.Error(codes.InvalidArgument, "the stand-in does not filter or project")
	}
	m := tablePath.FindStringSubmatch(in.GetTable())
	if m == nil || m[1] != s.opts.Project {
		return nil, status.Errorf(codes.NotFound, "table %q not found", in.GetTable())
	}
	res, err := s.table(ctx, m[2], m[3])
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "table %q not found: %v", in.GetTable(), err)
	}
	schema, err := schemaMessage(res.schema)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}

	// As many streams as the client would like, at most one per batch;
	// none at all for an empty result.
	n := int(req.GetPreferredMinStreamCount())
	if max := int(req.GetMaxStreamCount()); max > 0 && (n == 0 || n > max) {
		n = max
	}
	n = min(max(n, 1), len(res.batches))

	s.mu.Lock()
	s.seq++
	name := fmt.Sprintf("projects/%s/locations/%s/sessions/s%d", s.opts.Project, s.opts.Location, s.seq)
	out := &storagepb.ReadSession{
		Name:              name,
		DataFormat:        storagepb.DataFormat_ARROW,
		Schema:            &storagepb.ReadSession_ArrowSchema{ArrowSchema: &storagepb.ArrowSchema{SerializedSchema: schema}},
		Table:             in.GetTable(),
		EstimatedRowCount: res.rows,
	}
	per := (len(res.batches) + max(n, 1) - 1) / max(n, 1)
	for i := 0; i < n; i++ {
		stream := fmt.Sprintf("%s/streams/%d", name, i)
		lo, hi := i*per, min((i+1)*per, len(res.batches))
		s.streams[stream] = res.batches[lo:hi]
		s.streamOrder = append(s.streamOrder, stream)
		out.Streams = append(out.Streams, &storagepb.ReadStream{Name: stream})
	}
	for len(s.streamOrder) > maxStreams {
		delete(s.streams, s.streamOrder[0])
		s.streamOrder = s.streamOrder[1:]
	}
	s.mu.Unlock()
	return out, nil
}

func (rs *readServer) ReadRows(req *storagepb.ReadRowsRequest, stream storagepb.BigQueryRead_ReadRowsServer) error {
	s := rs.s
	if code, ok := s.takeRPC(MethodReadRows); ok {
		return status.Error(code, "stand-in: injected failure")
	}
	s.mu.Lock()
	batches, ok := s.streams[req.GetReadStream()]
	s.offsets = append(s.offsets, req.GetOffset())
	drop := streamDrop{after: -1}
	if len(s.drops) > 0 {
		drop, s.drops = s.drops[0], s.drops[1:]
	}
	s.mu.Unlock()
	if !ok {
		return status.Errorf(codes.NotFound, "read stream %q not found", req.GetReadStream())
	}

	// Skip the rows the client already has: after a broken stream it asks
	// again from the offset it reached.
	skip := req.GetOffset()
	sent := 0
	for _, rec := range batches {
		if skip >= rec.NumRows() {
			skip -= rec.NumRows()
			continue
		}
		part := rec
		if skip > 0 {
			part = rec.NewSlice(skip, rec.NumRows())
			skip = 0
		}
		if sent == drop.after {
			return status.Error(drop.code, "stand-in: stream dropped")
		}
		msg, err := batchMessage(part)
		rows := part.NumRows()
		if part != rec {
			part.Release()
		}
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		err = stream.Send(&storagepb.ReadRowsResponse{
			RowCount: rows,
			Rows: &storagepb.ReadRowsResponse_ArrowRecordBatch{ArrowRecordBatch: &storagepb.ArrowRecordBatch{
				SerializedRecordBatch: msg, RowCount: rows,
			}},
		})
		if err != nil {
			return err
		}
		sent++
		s.mu.Lock()
		s.counts[CountReadRowsMessages]++
		s.mu.Unlock()
	}
	return nil
}
