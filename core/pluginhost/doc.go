// Package pluginhost launches plugins and speaks to them: built-in plugins
// as subprocesses of the segflow binary itself (`segflow plugin serve
// NAME`), external plugins as binaries whose SHA-256 checksum is verified
// before launch. It translates between the gRPC protocols and core's
// interfaces, so nothing else in core sees generated protocol types.
//
// Host.Warehouse and Host.Destination launch a plugin and return a client
// that implements core.Warehouse or core.Destination; Close stops the
// process.
//
// A destination client keeps the host's side of the destination protocol
// (plugins/proto/destination/v1): it asks Info before every write, splits
// batches to the plugin's limits and to the 4 MiB message limit
// (core.SplitBatches), numbers them, keeps at most the plugin's window of
// unsettled batches in flight, sends the end message only when the
// caller closed its ops, and checks every ack and the summary against
// what it sent. A plugin that dies mid-write surfaces as an error
// wrapping core.ErrPluginExited; the acks delivered before it are exactly
// the ones the plugin sent, and no other record of the write counts as
// sent.
package pluginhost
