package core

import (
	"context"
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Warehouse capabilities a plugin may announce in its WarehouseInfo.
const (
	CapDryRun        = "dry_run"
	CapDescribeTable = "describe_table"
	CapCancel        = "cancel"
)

// WarehouseInfo describes a warehouse plugin.
type WarehouseInfo struct {
	Name         string
	Version      string
	Dialect      string // duckdb, bigquery, snowflake, postgres
	Capabilities []string
}

// Has reports whether the plugin announced capability c.
func (i WarehouseInfo) Has(c string) bool {
	for _, x := range i.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// Warehouse runs SQL in a data warehouse. Implementations are the
// warehouse plugins; the runner reaches them in-process or across the
// plugin boundary through the same interface.
//
// Every method honours ctx: cancelling it cancels the statement in the
// warehouse. Params bind positionally to the statement's ? placeholders
// and may be nil, bool, int64, int, float64, string or time.Time.
type Warehouse interface {
	Info(ctx context.Context) (WarehouseInfo, error)
	// Configure validates and applies the plugin's configuration. Invalid
	// configuration returns FieldErrors.
	Configure(ctx context.Context, config json.RawMessage) error
	TestConnection(ctx context.Context) error
	// Execute runs a statement that returns no rows and reports the rows
	// affected, or -1 when unknown.
	Execute(ctx context.Context, sql string, params ...any) (int64, error)
	// Query runs a statement and streams its result. The caller must
	// Release the reader; Err reports a failure that ended the stream.
	Query(ctx context.Context, sql string, params ...any) (array.RecordReader, error)
	// DryRun estimates the bytes a statement would scan, or returns
	// ErrNotImplemented.
	DryRun(ctx context.Context, sql string, params ...any) (int64, error)
	// DescribeTable returns a table's columns.
	DescribeTable(ctx context.Context, table string) (*arrow.Schema, error)
	Close() error
}
