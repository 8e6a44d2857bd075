// Package core holds segflow's domain: the small interfaces the runner
// needs from a warehouse and a destination, and the errors that cross
// them. It imports no generated protocol code; plugins speak to it through
// core/pluginhost, which translates between gRPC and these types.
//
// The API is pre-1.0 and may change between minor versions.
package core
