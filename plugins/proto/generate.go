// Package proto holds the versioned plugin protocols. The generated Go code
// is checked in; run `make proto` (or go generate) after editing a .proto.
package proto

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative warehouse/v1/warehouse.proto destination/v1/destination.proto
