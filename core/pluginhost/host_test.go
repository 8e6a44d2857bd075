package pluginhost_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/arrowipc"
	"github.com/segflow/segflow/core/pluginhost"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

const childEnv = "PLUGINHOST_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "dying":
		sdk.Serve(sdk.ServeOpts{Warehouse: &dyingWarehouse{}})
		os.Exit(0)
	case "echo":
		sdk.Serve(sdk.ServeOpts{Destination: echoDestination{}})
		os.Exit(0)
	case "host":
		// A host that starts a plugin, says the plugin's pid, and waits
		// to be killed.
		// go-plugin appends this process's environment to the plugin's,
		// so the mode is switched here rather than in cmd.Env.
		os.Setenv(childEnv, "dying")
		cmd := exec.Command(os.Args[0])
		if _, err := pluginhost.LaunchWarehouse(cmd, nil, nil); err != nil {
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var schema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func batch(from, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(from + i))
	}
	return b.NewRecordBatch()
}

// dyingWarehouse streams two batches and then its process exits, as a
// plugin that crashes mid-result would.
type dyingWarehouse struct{ sdk.UnimplementedWarehouse }

func (*dyingWarehouse) Info(context.Context) (core.WarehouseInfo, error) {
	return core.WarehouseInfo{Name: "dying", Version: "0", Dialect: "duckdb"}, nil
}
func (*dyingWarehouse) Configure(context.Context, json.RawMessage) error { return nil }
func (*dyingWarehouse) TestConnection(context.Context) error             { return nil }
func (*dyingWarehouse) Execute(context.Context, string, ...any) (int64, error) {
	return 0, nil
}
func (*dyingWarehouse) Close() error { return nil }
func (*dyingWarehouse) Query(context.Context, string, ...any) (array.RecordReader, error) {
	return &dyingReader{}, nil
}

type dyingReader struct {
	n   int
	cur arrow.RecordBatch
}

func (r *dyingReader) Retain()                        {}
func (r *dyingReader) Release()                       {}
func (r *dyingReader) Schema() *arrow.Schema          { return schema }
func (r *dyingReader) Err() error                     { return nil }
func (r *dyingReader) Record() arrow.RecordBatch      { return r.cur }
func (r *dyingReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *dyingReader) Next() bool {
	if r.n == 2 {
		time.Sleep(200 * time.Millisecond) // let the two batches leave
		os.Exit(3)
	}
	// Batches big enough (1.6 MB) that they leave the plugin before it dies.
	r.cur = batch(r.n*200_000, 200_000)
	r.n++
	return true
}

func TestPluginDeathMidStreamIsAnError(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=dying")
	w, err := pluginhost.LaunchWarehouse(cmd, nil, nil)
	require.NoError(t, err)
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdr, err := w.Query(ctx, "SELECT whatever")
	require.NoError(t, err)
	defer rdr.Release()
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	require.Error(t, rdr.Err(), "a crash must not look like the end of the result")
	require.ErrorIs(t, rdr.Err(), core.ErrPluginExited)
	require.Equal(t, int64(400_000), rows, "both batches arrived before the crash")
	require.NoError(t, ctx.Err(), "the reader must fail fast, not hang")
}

// truncatingServer ends the stream cleanly but without the end marker.
type truncatingServer struct {
	warehousev1.UnimplementedWarehouseServer
}

func (truncatingServer) Query(_ *warehousev1.QueryRequest, s warehousev1.Warehouse_QueryServer) error {
	enc := arrowipc.NewEncoder(schema, func(msg []byte) error {
		return s.Send(&warehousev1.QueryResponse{ArrowIpc: msg})
	})
	rec := batch(0, 10)
	defer rec.Release()
	if err := enc.Write(rec); err != nil {
		return err
	}
	return enc.Close()
}

func TestStreamWithoutEndMarkerIsIncomplete(t *testing.T) {
	conn, _ := goplugin.TestGRPCConn(t, func(s *grpc.Server) {
		warehousev1.RegisterWarehouseServer(s, truncatingServer{})
	})
	w := pluginhost.NewWarehouseClient(warehousev1.NewWarehouseClient(conn), nil)
	rdr, err := w.Query(context.Background(), "SELECT 1")
	require.NoError(t, err)
	defer rdr.Release()
	for rdr.Next() {
	}
	require.ErrorIs(t, rdr.Err(), core.ErrIncompleteResult)
}

func TestChecksumIsVerifiedBeforeLaunch(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "launched")
	bin := filepath.Join(dir, "plugin.sh")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755))

	wrong := sha256.Sum256([]byte("not the binary"))
	_, err := pluginhost.LaunchWarehouse(exec.Command(bin), wrong[:], nil)
	require.ErrorContains(t, err, "checksum mismatch")
	_, statErr := os.Stat(marker)
	require.True(t, errors.Is(statErr, os.ErrNotExist), "a binary with a wrong checksum must never run")
}

func TestExternalPluginWithRightChecksumLaunches(t *testing.T) {
	f, err := os.Open(os.Args[0])
	require.NoError(t, err)
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	require.NoError(t, err)

	host := &pluginhost.Host{External: map[string]pluginhost.External{
		"dying": {Name: "dying", Kind: "warehouse", Path: os.Args[0], SHA256: hex.EncodeToString(h.Sum(nil))},
	}}
	t.Setenv(childEnv, "dying")
	w, err := host.Warehouse("dying")
	require.NoError(t, err)
	defer w.Close()
	info, err := w.Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, "dying", info.Name)
}

// A host killed with SIGKILL cannot stop its plugins; they must notice
// and exit rather than linger holding warehouse files and locks.
func TestPluginExitsWhenItsHostIsKilled(t *testing.T) {
	host := exec.Command(os.Args[0])
	host.Env = append(os.Environ(), childEnv+"=host")
	out, err := host.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, host.Start())
	var pid int
	_, err = fmt.Fscan(out, &pid)
	require.NoError(t, err)
	require.NoError(t, host.Process.Kill())
	host.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		require.True(t, time.Now().Before(deadline), "plugin %d still running 10s after its host died", pid)
		time.Sleep(100 * time.Millisecond)
	}
}
