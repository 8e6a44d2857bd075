package core

import (
	"context"
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Destination receives segment members. The file destination writes
// whole snapshots; destinations that sync deltas come with the publish
// engine.
type Destination interface {
	Configure(ctx context.Context, config json.RawMessage) error
	// Write consumes the members of one segment, streaming, and reports
	// what it wrote. It must not hold more than one batch in memory.
	Write(ctx context.Context, segment string, members array.RecordReader) (WriteResult, error)
	Close() error
}

// WriteResult says what a destination did with a segment.
type WriteResult struct {
	Records int64
	// Outputs are human-readable places written (files, URLs).
	Outputs []string
}

// OutputPlanner is implemented by destinations that can say, before
// writing, where a segment would go; dry runs show it.
type OutputPlanner interface {
	Outputs(segment string) []string
}
