// Package sdk is what a plugin author imports: Serve starts a plugin
// process that segflow launches and talks to over gRPC (hashicorp/go-plugin),
// and UnimplementedWarehouse gives defaults for optional calls.
//
// A warehouse plugin implements core.Warehouse; its main is one line:
//
//	func main() { sdk.Serve(sdk.ServeOpts{Warehouse: mywarehouse.New()}) }
//
// The handshake's protocol version is the major version of the protocol
// package (plugins/proto/warehouse/v1): a host only talks to plugins of
// the same major version.
package sdk
