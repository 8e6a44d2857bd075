// Package file is the file destination: it writes each segment's members
// as CSV and/or Parquet files, streaming record batches so memory does not
// grow with the segment. Files appear atomically: they are written under a
// temporary name and renamed when complete, so a reader never sees half a
// file.
package file

import (
	"bytes"
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
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/segflow/segflow/core"
)

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
	cfg     Config
	baseDir string
}

// New returns an unconfigured file destination; a relative dir in its
// config resolves against baseDir (the config file's directory).
func New(baseDir string) *Destination { return &Destination{baseDir: baseDir} }

func (d *Destination) Configure(_ context.Context, raw json.RawMessage) error {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return core.FieldErrors{{Field: "(config)", Message: err.Error()}}
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
		cfg.Dir = filepath.Join(d.baseDir, cfg.Dir)
	}
	d.cfg = cfg
	return nil
}

// Outputs returns the files Write produces for a segment.
func (d *Destination) Outputs(segment string) []string {
	out := make([]string, len(d.cfg.Formats))
	for i, f := range d.cfg.Formats {
		out[i] = filepath.Join(d.cfg.Dir, segment+"."+f)
	}
	return out
}

// Write streams members into every configured format at once.
func (d *Destination) Write(ctx context.Context, segment string, members array.RecordReader) (core.WriteResult, error) {
	if err := os.MkdirAll(d.cfg.Dir, 0o755); err != nil {
		return core.WriteResult{}, err
	}
	var writers []*atomicFile
	defer func() {
		for _, w := range writers {
			w.abort()
		}
	}()
	for _, path := range d.Outputs(segment) {
		w, err := newAtomicFile(path, members.Schema())
		if err != nil {
			return core.WriteResult{}, err
		}
		writers = append(writers, w)
	}
	var n int64
	for members.Next() {
		if err := ctx.Err(); err != nil {
			return core.WriteResult{}, err
		}
		rec := members.RecordBatch()
		for _, w := range writers {
			if err := w.enc.Write(rec); err != nil {
				return core.WriteResult{}, fmt.Errorf("write %s: %w", w.path, err)
			}
		}
		n += rec.NumRows()
	}
	if err := members.Err(); err != nil {
		return core.WriteResult{}, err
	}
	res := core.WriteResult{Records: n}
	for _, w := range writers {
		if err := w.commit(); err != nil {
			return core.WriteResult{}, err
		}
		res.Outputs = append(res.Outputs, w.path)
	}
	writers = nil
	return res, nil
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

func encoder(ext string, w io.Writer, schema *arrow.Schema) (recordEncoder, error) {
	switch ext {
	case ".csv":
		return csvEncoder{csv.NewWriter(w, schema, csv.WithHeader(true), csv.WithNullWriter(""))}, nil
	case ".parquet":
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
		// Hide Close: the parquet writer would close the file before
		// commit has synced it.
		return pqarrow.NewFileWriter(schema, struct{ io.Writer }{w}, props, pqarrow.DefaultWriterProps())
	}
	return nil, fmt.Errorf("unknown file format %q", ext)
}

// csvEncoder flushes on Close; the csv writer's Flush only buffers.
type csvEncoder struct{ *csv.Writer }

func (c csvEncoder) Close() error {
	c.Writer.Flush()
	return c.Writer.Error()
}

func (f *atomicFile) commit() error {
	err := errors.Join(f.enc.Close(), f.tmp.Sync())
	err = errors.Join(err, f.tmp.Close())
	if err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return os.Rename(f.tmp.Name(), f.path)
}

func (f *atomicFile) abort() {
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}
