// Package file is the file destination: it writes each segment's members
// as CSV and/or Parquet files, streaming record batches so memory does not
// grow with the segment. It is a destination plugin (segflow serves it as
// `segflow plugin serve file`) and speaks the destination protocol like
// any other.
//
// # Snapshot semantics
//
// A file holds a whole segment, so the destination is a snapshot
// destination (core.DestinationCapabilities.Snapshot): every write
// carries the full membership as upserts and replaces the files. Files
// appear atomically: a write goes to temporary files next to the targets,
// which are synced and renamed into place only when the write completes
// (the host closed its operations and the context is live), so a reader
// never sees half a file and a failed, cancelled or crashed write leaves
// the previous files untouched and no temporary file behind (a crash can
// leave a hidden .<name>.*.tmp file, which the next write does not reuse).
//
// Each batch is acknowledged as soon as it has been written to the
// temporary files. Those acknowledgements are provisional, as for every
// snapshot destination: they become durable all together when the files
// are renamed into place, which happens before the plugin sends its
// summary; a write that fails counts none of its records as sent. Removes
// are not supported: a record leaves the file by being absent from the
// next snapshot.
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.2.0"

// Config is the destination's section of segflow.yaml.
type Config struct {
	// Dir receives <segment>.csv / <segment>.parquet. Relative paths
	// resolve against the config file's directory.
	Dir string `json:"dir"`
	// Formats to write: "csv", "parquet". Default ["csv"].
	Formats []string `json:"formats"`
}

// Destination writes segment files.
type Destination struct {
	sdk.UnimplementedDestination
	cfg     Config
	baseDir string
}

var _ core.Destination = (*Destination)(nil)

// New returns an unconfigured file destination; a relative dir in its
// config resolves against baseDir, or against the working directory when
// baseDir is empty (the plugin host starts plugins in the config file's
// directory).
func New(baseDir string) *Destination { return &Destination{baseDir: baseDir} }

// Info describes the destination: snapshots, no removes, batches of any
// size.
func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	return core.DestinationInfo{
		Name:    "file",
		Version: Version,
		Capabilities: core.DestinationCapabilities{
			Snapshot: true,
		},
	}, nil
}

func (d *Destination) Configure(_ context.Context, raw json.RawMessage) error {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	var bad core.FieldErrors
	if cfg.Dir == "" {
		bad = append(bad, &core.FieldError{Field: "dir", Message: "is required"})
	}
	if len(cfg.Formats) == 0 {
		cfg.Formats = []string{"csv"}
	}
	for _, f := range cfg.Formats {
		if f != "csv" && f != "parquet" {
			bad = append(bad, &core.FieldError{Field: "formats", Message: fmt.Sprintf("unknown format %q (csv, parquet)", f)})
		}
	}
	if len(bad) > 0 {
		return bad
	}
	if !filepath.IsAbs(cfg.Dir) {
		dir, err := filepath.Abs(filepath.Join(d.baseDir, cfg.Dir))
		if err != nil {
			return core.FieldErrors{{Field: "dir", Message: err.Error()}}
		}
		cfg.Dir = dir
	}
	d.cfg = cfg
	return nil
}

// TestConnection checks that the directory can be created and written.
func (d *Destination) TestConnection(context.Context) error {
	if err := os.MkdirAll(d.cfg.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.cfg.Dir, ".segflow-test-*.tmp")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// Outputs returns the files Write produces for a segment.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	return d.outputs(segment), nil
}

func (d *Destination) outputs(segment string) []string {
	out := make([]string, len(d.cfg.Formats))
	for i, f := range d.cfg.Formats {
		out[i] = filepath.Join(d.cfg.Dir, segment+"."+f)
	}
	return out
}

// Write streams the upserted members into every configured format at
// once and renames the files into place when ops is closed.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	if err := os.MkdirAll(d.cfg.Dir, 0o755); err != nil {
		return core.WriteSummary{}, err
	}
	var writers []*atomicFile
	defer func() {
		for _, w := range writers {
			w.abort()
		}
	}()
	for _, path := range d.outputs(h.Segment) {
		w, err := newAtomicFile(path, h.Schema)
		if err != nil {
			return core.WriteSummary{}, err
		}
		writers = append(writers, w)
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return core.WriteSummary{}, ctx.Err()
		case op, ok := <-ops:
			if !ok {
				done = true
				break
			}
			err := d.write(writers, op)
			op.Batch.Release()
			if err != nil {
				return core.WriteSummary{}, err
			}
			// Provisional until the rename below (see the package doc).
			ack(core.AckAll(op)...)
		}
	}
	// ops closed: the write is complete, unless it was abandoned at the
	// same moment.
	if err := ctx.Err(); err != nil {
		return core.WriteSummary{}, err
	}
	// Finish every file before renaming any, so that a failure leaves
	// all formats at the previous snapshot.
	for _, w := range writers {
		if err := w.finish(); err != nil {
			return core.WriteSummary{}, err
		}
	}
	sum := core.WriteSummary{}
	for _, w := range writers {
		if err := os.Rename(w.tmp.Name(), w.path); err != nil {
			return core.WriteSummary{}, err
		}
		sum.Outputs = append(sum.Outputs, w.path)
	}
	writers = nil
	return sum, nil
}

// write appends one batch to every file and acknowledges its records.
func (d *Destination) write(writers []*atomicFile, op core.Op) error {
	if op.Kind != core.Upsert {
		return fmt.Errorf("batch %d: %w", op.Seq, core.ErrRemoveNotSupported)
	}
	for _, w := range writers {
		if err := w.enc.Write(op.Batch); err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return nil
}

func (d *Destination) Close() error { return nil }

// recordEncoder is what CSV and Parquet writers have in common.
type recordEncoder interface {
	Write(arrow.RecordBatch) error
	Close() error
}

type atomicFile struct {
	path string
	tmp  *os.File
	enc  recordEncoder
}

func newAtomicFile(path string, schema *arrow.Schema) (*atomicFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	enc, err := encoder(filepath.Ext(path), tmp, schema)
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &atomicFile{path: path, tmp: tmp, enc: enc}, nil
}

// rowGroupRows bounds a Parquet row group, which the writer buffers in
// memory until it is complete.
const rowGroupRows = 128 * 1024

func encoder(ext string, w io.Writer, schema *arrow.Schema) (recordEncoder, error) {
	switch ext {
	case ".csv":
		return &csvEncoder{Writer: csv.NewWriter(w, schema, csv.WithHeader(true), csv.WithNullWriter("")), schema: schema}, nil
	case ".parquet":
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(rowGroupRows))
		// Hide Close: the parquet writer would close the file before
		// commit has synced it.
		return pqarrow.NewFileWriter(schema, struct{ io.Writer }{w}, props, pqarrow.DefaultWriterProps())
	}
	return nil, fmt.Errorf("unknown file format %q", ext)
}

// csvEncoder flushes on Close (the csv writer's Flush only buffers) and
// writes the header of an empty segment, which the csv writer would not.
type csvEncoder struct {
	*csv.Writer
	schema *arrow.Schema
	wrote  bool
}

func (c *csvEncoder) Write(rec arrow.RecordBatch) error {
	c.wrote = true
	return c.Writer.Write(rec)
}

func (c *csvEncoder) Close() error {
	if !c.wrote {
		empty := array.NewRecordBatch(c.schema, emptyColumns(c.schema), 0)
		defer empty.Release()
		if err := c.Write(empty); err != nil {
			return err
		}
	}
	c.Writer.Flush()
	return c.Writer.Error()
}

func emptyColumns(schema *arrow.Schema) []arrow.Array {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
	}
	return cols
}

// finish completes and syncs the temporary file; abort still removes it.
func (f *atomicFile) finish() error {
	err := errors.Join(f.enc.Close(), f.tmp.Sync())
	err = errors.Join(err, f.tmp.Close())
	if err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// abort removes the temporary file (a no-op once it was renamed).
func (f *atomicFile) abort() {
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}
