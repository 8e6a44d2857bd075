package zetasql

// The Go code in zetasqlpb is generated from proto/ and checked in; run
// `make proto` (or go generate) after editing a .proto.
//go:generate protoc -I proto --go_out=zetasqlpb --go_opt=paths=source_relative --go-grpc_out=zetasqlpb --go-grpc_opt=paths=source_relative zetasql.proto local_service.proto
