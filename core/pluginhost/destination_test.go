package pluginhost_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

// scriptedServer answers Write with a script, to check how the host
// treats plugins that keep the protocol and plugins that break it.
type scriptedServer struct {
	destinationv1.UnimplementedDestinationServer
	caps  *destinationv1.Capabilities
	write func(destinationv1.Destination_WriteServer) error
}

func (s *scriptedServer) Info(context.Context, *destinationv1.InfoRequest) (*destinationv1.InfoResponse, error) {
	return &destinationv1.InfoResponse{Name: "scripted", Version: "0", Capabilities: s.caps}, nil
}

func (s *scriptedServer) Write(stream destinationv1.Destination_WriteServer) error {
	return s.write(stream)
}

func scripted(t *testing.T, s *scriptedServer) core.Destination {
	conn, _ := goplugin.TestGRPCConn(t, func(g *grpc.Server) {
		destinationv1.RegisterDestinationServer(g, s)
	})
	t.Cleanup(func() { conn.Close() })
	return pluginhost.NewDestinationClient(destinationv1.NewDestinationClient(conn), nil)
}

func ackMsg(seq int64, idx ...int32) *destinationv1.WriteResponse {
	return &destinationv1.WriteResponse{Msg: &destinationv1.WriteResponse_Ack{Ack: &destinationv1.Ack{Seq: seq, Indexes: idx}}}
}

func summaryMsg(acked, failed int64) *destinationv1.WriteResponse {
	return &destinationv1.WriteResponse{Msg: &destinationv1.WriteResponse_Summary{Summary: &destinationv1.WriteSummary{Acknowledged: acked, Failed: failed}}}
}

// upsertBatches writes n batches of size ids through d.
func upsertBatches(ctx context.Context, d core.Destination, n, size int) (core.WriteSummary, []core.Ack, error) {
	ops := make(chan core.Op)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for i := 0; i < n; i++ {
			rec := batch(i*size, size)
			select {
			case ops <- core.Op{Kind: core.Upsert, Seq: int64(100 + i), Batch: rec}:
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
		close(ops)
	}()
	var acks []core.Ack
	sum, err := d.Write(ctx, core.WriteHeader{Segment: "s", Schema: schema, KeyColumn: "id"}, ops, func(a ...core.Ack) { acks = append(acks, a...) })
	return sum, acks, err
}

// TestWindowBoundsBatchesInFlight: with a window of 2, the host sends a
// third batch only once one of the first two is settled; acks for later
// batches may come first, and partial acks do not settle a batch.
func TestWindowBoundsBatchesInFlight(t *testing.T) {
	var maxAhead atomic.Int64
	d := scripted(t, &scriptedServer{
		caps: &destinationv1.Capabilities{MaxInFlightBatches: 2},
		write: func(s destinationv1.Destination_WriteServer) error {
			if _, err := s.Recv(); err != nil { // header
				return err
			}
			var received, settled int64
			pending := []int64{}
			for {
				type recv struct {
					m   *destinationv1.WriteRequest
					err error
				}
				ch := make(chan recv, 1)
				go func() { m, err := s.Recv(); ch <- recv{m, err} }()
				var r recv
				select {
				case r = <-ch:
				case <-time.After(300 * time.Millisecond):
					// Nothing more comes while the window is full: settle
					// the newest batch first, the older in two parts.
					require.Len(t, pending, 2, "the host stopped before the window was full")
					newest, oldest := pending[1], pending[0]
					require.NoError(t, s.Send(ackMsg(newest, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)))
					require.NoError(t, s.Send(ackMsg(oldest, 0, 1, 2, 3, 4)))
					require.NoError(t, s.Send(ackMsg(oldest, 5, 6, 7, 8, 9)))
					settled += 2
					pending = pending[:0]
					r = <-ch
				}
				if r.err != nil {
					return r.err
				}
				switch m := r.m.GetMsg().(type) {
				case *destinationv1.WriteRequest_Batch:
					received++
					pending = append(pending, m.Batch.GetSeq())
					if ahead := received - settled; ahead > maxAhead.Load() {
						maxAhead.Store(ahead)
					}
				case *destinationv1.WriteRequest_End:
					for _, seq := range pending {
						require.NoError(t, s.Send(ackMsg(seq, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)))
					}
					return s.Send(summaryMsg(m.End.GetRecords(), 0))
				}
			}
		},
	})
	sum, acks, err := upsertBatches(context.Background(), d, 5, 10)
	require.NoError(t, err)
	require.Equal(t, int64(50), sum.Acknowledged)
	require.Len(t, acks, 50)
	require.Equal(t, int64(2), maxAhead.Load(), "at most the window of batches is in flight")
	// Acks come in the caller's terms: its seq, its row, the key.
	require.Equal(t, core.Ack{Seq: 101, Index: 9, Key: "19"}, acks[9])
}

func TestPluginThatBreaksTheProtocolFailsTheWrite(t *testing.T) {
	cases := map[string]struct {
		script func(s destinationv1.Destination_WriteServer) error
		want   string
	}{
		"ack for a batch never sent": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				return s.Send(ackMsg(7, 0))
			},
			want: "batch 7, which is not in flight",
		},
		"record out of range": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				return s.Send(ackMsg(1, 10))
			},
			want: "record 10 of batch 1, which has 10 records",
		},
		"record reported twice": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				s.Send(ackMsg(1, 0, 1, 2))
				return s.Send(ackMsg(1, 2))
			},
			want: "record 2 of batch 1 twice",
		},
		"no summary": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				s.Send(ackMsg(1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
				s.Recv() // end
				return nil
			},
			want: "without a summary",
		},
		"summary disagrees": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				s.Send(ackMsg(1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
				s.Recv() // end
				return s.Send(summaryMsg(11, 0))
			},
			want: "plugin counts 11 acknowledged",
		},
		"summary before the end": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				s.Send(ackMsg(1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
				return s.Send(summaryMsg(10, 0))
			},
			want: "result incomplete", // by whichever check sees it first
		},
		"summary before every record is reported": {
			script: func(s destinationv1.Destination_WriteServer) error {
				s.Recv()
				s.Recv()
				s.Send(ackMsg(1, 0, 1, 2))
				s.Recv() // end
				return s.Send(summaryMsg(3, 0))
			},
			want: "1 batches not settled",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := scripted(t, &scriptedServer{write: c.script})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, _, err := upsertBatches(ctx, d, 1, 10)
			if name == "summary before the end" {
				_, _, err = upsertBatches(ctx, d, 3, 10)
			}
			require.ErrorContains(t, err, c.want)
			require.NoError(t, ctx.Err(), "the write fails at once")
		})
	}
}

func TestPerRecordErrorsKeepTheirIndexAndKey(t *testing.T) {
	d := scripted(t, &scriptedServer{
		caps: &destinationv1.Capabilities{MaxBatchRecords: 4},
		write: func(s destinationv1.Destination_WriteServer) error {
			s.Recv()
			for {
				m, err := s.Recv()
				if err != nil {
					return err
				}
				if end := m.GetEnd(); end != nil {
					return s.Send(summaryMsg(9, 1))
				}
				b := m.GetBatch()
				ack := &destinationv1.Ack{Seq: b.GetSeq()}
				for i := int32(0); i < int32(b.GetNumRecords()); i++ {
					if b.GetSeq() == 2 && i == 1 {
						ack.Errors = append(ack.Errors, &destinationv1.RecordError{Index: 1, Code: "invalid_email", Message: "no @"})
						continue
					}
					ack.Indexes = append(ack.Indexes, i)
				}
				if err := s.Send(&destinationv1.WriteResponse{Msg: &destinationv1.WriteResponse_Ack{Ack: ack}}); err != nil {
					return err
				}
			}
		},
	})
	sum, acks, err := upsertBatches(context.Background(), d, 1, 10)
	require.NoError(t, err)
	require.Equal(t, core.WriteSummary{Acknowledged: 9, Failed: 1}, sum)
	var failed []core.Ack
	for _, a := range acks {
		if a.Err != nil {
			failed = append(failed, a)
		}
	}
	// Wire batch 2 is rows 4..7 of the caller's batch: its record 1 is
	// row 5, key 5.
	require.Equal(t, []core.Ack{{Seq: 100, Index: 5, Key: "5", Err: &core.RecordError{Code: "invalid_email", Message: "no @"}}}, failed)
}

func TestRemovesAreRefusedBeforeSendingWhenUnsupported(t *testing.T) {
	var batches atomic.Int64
	d := scripted(t, &scriptedServer{write: func(s destinationv1.Destination_WriteServer) error {
		for {
			m, err := s.Recv()
			if err != nil {
				return err
			}
			if m.GetBatch() != nil {
				batches.Add(1)
			}
		}
	}})
	ops := make(chan core.Op, 1)
	ops <- core.Op{Kind: core.Remove, Seq: 1, Batch: batch(0, 3)}
	_, err := d.Write(context.Background(), core.WriteHeader{Segment: "s", Schema: schema, KeyColumn: "id"}, ops, func(...core.Ack) {})
	require.ErrorIs(t, err, core.ErrRemoveNotSupported)
	require.ErrorIs(t, err, core.ErrNotImplemented)
	require.Zero(t, batches.Load(), "nothing of the remove was sent")
}

// echoDestination acknowledges everything; the test binary serves it for
// the launch tests.
type echoDestination struct{ sdk.UnimplementedDestination }

func (echoDestination) Info(context.Context) (core.DestinationInfo, error) {
	return core.DestinationInfo{Name: "echo", Version: "1"}, nil
}
func (echoDestination) Configure(context.Context, json.RawMessage) error { return nil }
func (echoDestination) TestConnection(context.Context) error             { return nil }
func (echoDestination) Close() error                                     { return nil }
func (echoDestination) Write(ctx context.Context, _ core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	for {
		select {
		case <-ctx.Done():
			return core.WriteSummary{}, ctx.Err()
		case op, ok := <-ops:
			if !ok {
				return core.WriteSummary{}, nil
			}
			ack(core.AckAll(op)...)
			op.Batch.Release()
		}
	}
}

func selfChecksum(t *testing.T) string {
	f, err := os.Open(os.Args[0])
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func TestExternalDestinationPluginLaunches(t *testing.T) {
	host := &pluginhost.Host{External: map[string]pluginhost.External{
		"echo": {Name: "echo", Kind: "destination", Path: os.Args[0], SHA256: selfChecksum(t)},
	}}
	t.Setenv(childEnv, "echo")
	d, err := host.Destination("echo")
	require.NoError(t, err)
	defer d.Close()
	info, err := d.Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, "echo", info.Name)
	sum, _, err := upsertBatches(context.Background(), d, 3, 1000)
	require.NoError(t, err)
	require.Equal(t, int64(3000), sum.Acknowledged)

	_, err = host.Warehouse("echo")
	require.ErrorContains(t, err, `plugin "echo" is a destination plugin, not a warehouse plugin`)
	l := host.List(context.Background())
	require.Len(t, l, 1)
	require.NoError(t, l[0].Err)
	require.Equal(t, "1", l[0].Version())
}

func TestUnknownDestinationNamesTheBuiltins(t *testing.T) {
	host := &pluginhost.Host{Builtins: []string{"duckdb"}, BuiltinDestinations: []string{"file"}}
	_, err := host.Destination("mailchimp")
	require.ErrorContains(t, err, `unknown destination plugin "mailchimp" (built-in: [file]`)
	_, err = host.Destination("duckdb")
	require.Error(t, err, "a built-in warehouse is not a destination")
}
