package sdk

import (
	"context"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/segflow/segflow/core"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
)

// Handshake is shared by host and plugins. ProtocolVersion follows the
// proto packages' major version (warehouse/v1 and destination/v1).
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SEGFLOW_PLUGIN",
	MagicCookieValue: "f0c3e7a2-segflow-plugin-v1",
}

// Plugin names in the go-plugin plugin set.
const (
	WarehousePluginName   = "warehouse"
	DestinationPluginName = "destination"
)

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

// DestinationPlugin adapts a core.Destination to go-plugin, as
// WarehousePlugin does a warehouse.
type DestinationPlugin struct {
	goplugin.Plugin // net/rpc is not offered; only gRPC
	Impl            core.Destination
}

func (p *DestinationPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	destinationv1.RegisterDestinationServer(s, &destinationServer{impl: p.Impl})
	return nil
}

func (p *DestinationPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return destinationv1.NewDestinationClient(c), nil
}

// PluginSet returns the go-plugin plugin set serving a warehouse.
func PluginSet(wh core.Warehouse) goplugin.PluginSet {
	return goplugin.PluginSet{WarehousePluginName: &WarehousePlugin{Impl: wh}}
}

// Plugins returns the go-plugin plugin set for what opts serves. With
// nothing set it names every kind, which is what a host needs to dispense
// clients.
func Plugins(opts ServeOpts) goplugin.PluginSet {
	ps := goplugin.PluginSet{}
	if opts.Warehouse != nil || opts.Destination == nil {
		ps[WarehousePluginName] = &WarehousePlugin{Impl: opts.Warehouse}
	}
	if opts.Destination != nil || opts.Warehouse == nil {
		ps[DestinationPluginName] = &DestinationPlugin{Impl: opts.Destination}
	}
	return ps
}

// ServeOpts says what a plugin process serves: a warehouse, a
// destination, or both.
type ServeOpts struct {
	Warehouse   core.Warehouse
	Destination core.Destination
	// Test, when set, serves in go-plugin's reattach test mode.
	Test *goplugin.ServeTestConfig
}

// Serve runs the plugin until the host disconnects, then closes what it
// served so it can flush (DuckDB checkpoints its WAL). It is the whole
// main of a plugin binary. Logs go to stderr, which the host forwards.
func Serve(opts ServeOpts) {
	closeAll := func() {
		if opts.Warehouse != nil {
			opts.Warehouse.Close()
		}
		if opts.Destination != nil {
			opts.Destination.Close()
		}
	}
	defer closeAll()
	if opts.Test == nil {
		go exitWithParent(closeAll)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         Plugins(opts),
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

// UnimplementedDestination can be embedded to answer the optional calls
// with core.ErrNotImplemented.
type UnimplementedDestination struct{}

func (UnimplementedDestination) Outputs(context.Context, string) ([]string, error) {
	return nil, core.ErrNotImplemented
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

// exitWithParent ends the plugin when the host process is gone. A host
// killed without a chance to stop its plugins (SIGKILL, a crash) would
// otherwise leave them running, holding warehouse files and locks; the
// orphan is re-parented, which the parent pid shows.
func exitWithParent(closeAll func()) {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			closeAll()
			os.Exit(2)
		}
	}
}
