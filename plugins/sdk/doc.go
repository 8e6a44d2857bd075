// Package sdk is what a plugin author imports: Serve starts a plugin
// process that segflow launches and talks to over gRPC (hashicorp/go-plugin),
// and UnimplementedWarehouse and UnimplementedDestination give defaults
// for optional calls.
//
// A warehouse plugin implements core.Warehouse, a destination plugin
// core.Destination; a process may serve either or both. Its main is one
// line:
//
//	func main() { sdk.Serve(sdk.ServeOpts{Warehouse: mywarehouse.New()}) }
//	func main() { sdk.Serve(sdk.ServeOpts{Destination: mydestination.New()}) }
//
// # Destinations
//
// The server side of the destination protocol (plugins/proto/destination/v1)
// keeps the protocol for the implementation, which therefore only sees
// well-formed writes:
//   - batches arrive in order as core.Ops, decoded from Arrow IPC, each
//     within the MaxBatchRecords the plugin announced (the host splits; a
//     larger batch fails the write) and, by the host's estimate, within
//     MaxBatchBytes; no Remove arrives unless SupportsRemove;
//   - ops is closed only after the host's end message; a host that
//     cancels or disappears cancels ctx instead, so closing is the one
//     signal to commit;
//   - the implementation's ack calls become protocol Acks at once
//     (several records per message), from any goroutine; acks for
//     records not in flight, records reported twice, or a return without
//     error before every record was reported fail the write;
//   - the summary's counts are the acks sent; the implementation only
//     supplies Outputs.
//
// Write is called once per write stream, possibly concurrently for
// different streams.
//
// The handshake's protocol version is the major version of the protocol
// packages (plugins/proto/warehouse/v1, plugins/proto/destination/v1): a
// host only talks to plugins of the same major version.
package sdk
