// Package pluginhost launches plugins and speaks to them: built-in plugins
// as subprocesses of the segflow binary itself (`segflow plugin serve
// NAME`), external plugins as binaries whose SHA-256 checksum is verified
// before launch. It translates between the gRPC protocol and core's
// interfaces, so nothing else in core sees generated protocol types.
package pluginhost
