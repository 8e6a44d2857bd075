package sdk

import (
	"context"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/segflow/segflow/core"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
)

// Handshake is shared by host and plugins. ProtocolVersion follows the
// proto package's major version.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SEGFLOW_PLUGIN",
	MagicCookieValue: "f0c3e7a2-segflow-plugin-v1",
}

// Plugin names in the go-plugin plugin set.
const WarehousePluginName = "warehouse"

// maxRecvBytes raises the plugin server's gRPC receive limit above the
// 4 MiB default so that large statements and parameter lists from the host
// are never refused.
const maxRecvBytes = 256 << 20

// WarehousePlugin adapts a core.Warehouse to go-plugin. On the plugin side
// Impl is served; on the host side GRPCClient returns the raw gRPC client,
// which core/pluginhost wraps.
type WarehousePlugin struct {
	goplugin.Plugin // net/rpc is not offered; only gRPC
	Impl            core.Warehouse
}

func (p *WarehousePlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	warehousev1.RegisterWarehouseServer(s, &warehouseServer{impl: p.Impl})
	return nil
}

func (p *WarehousePlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return warehousev1.NewWarehouseClient(c), nil
}

// PluginSet returns the go-plugin plugin set for the given implementations.
func PluginSet(wh core.Warehouse) goplugin.PluginSet {
	return goplugin.PluginSet{WarehousePluginName: &WarehousePlugin{Impl: wh}}
}

// ServeOpts says what a plugin process serves.
type ServeOpts struct {
	Warehouse core.Warehouse
	// Test, when set, serves in go-plugin's reattach test mode.
	Test *goplugin.ServeTestConfig
}

// Serve runs the plugin until the host disconnects, then closes the
// warehouse so it can flush (DuckDB checkpoints its WAL). It is the whole
// main of a plugin binary. Logs go to stderr, which the host forwards.
func Serve(opts ServeOpts) {
	defer opts.Warehouse.Close()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginSet(opts.Warehouse),
		GRPCServer:      GRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Output: os.Stderr, Level: hclog.Info, JSONFormat: true,
		}),
		Test: opts.Test,
	})
}

// GRPCServer builds the plugin's gRPC server with the raised receive limit.
func GRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(maxRecvBytes),
		// Results stream in 2-4 MiB messages; windows and buffers sized
		// for that keep the transport from stalling on flow control.
		grpc.InitialWindowSize(WindowBytes),
		grpc.InitialConnWindowSize(WindowBytes),
		grpc.WriteBufferSize(1<<20),
		grpc.ReadBufferSize(1<<20),
	)...)
}

// WindowBytes is the HTTP/2 flow-control window both sides use.
const WindowBytes = 16 << 20

// DialOptions are the host side's transport settings, matching GRPCServer.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(WindowBytes),
		grpc.WithInitialConnWindowSize(WindowBytes),
		grpc.WithWriteBufferSize(1 << 20),
		grpc.WithReadBufferSize(1 << 20),
	}
}

// UnimplementedWarehouse can be embedded to answer the optional calls
// with core.ErrNotImplemented.
type UnimplementedWarehouse struct{}

func (UnimplementedWarehouse) DryRun(context.Context, string, ...any) (int64, error) {
	return 0, core.ErrNotImplemented
}

func (UnimplementedWarehouse) DescribeTable(context.Context, string) (*arrow.Schema, error) {
	return nil, core.ErrNotImplemented
}
