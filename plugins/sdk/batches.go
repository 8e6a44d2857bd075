package sdk

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segflow/segflow/core/arrowipc"
)

// BatchEncoder encodes the record batches of a destination write one at a
// time, each as a standalone chunk of encapsulated Arrow IPC messages (the
// dictionary batches it needs, then its record batch) that follows the
// schema message arrowipc.SchemaBytes makes. Batches travel one per
// protocol message, so a plugin decodes each as it arrives.
type BatchEncoder struct {
	w  *ipc.Writer
	pw *chunkWriter
}

// NewBatchEncoder returns an encoder for batches of schema.
func NewBatchEncoder(schema *arrow.Schema) *BatchEncoder {
	pw := &chunkWriter{}
	return &BatchEncoder{
		w:  ipc.NewWriterWithPayloadWriter(pw, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator)),
		pw: pw,
	}
}

// Encode returns rec's chunk; the bytes are valid until the next call.
func (e *BatchEncoder) Encode(rec arrow.RecordBatch) ([]byte, error) {
	e.pw.buf.Reset()
	if err := e.w.Write(rec); err != nil {
		return nil, err
	}
	return e.pw.buf.Bytes(), nil
}

// Close releases the encoder's dictionaries.
func (e *BatchEncoder) Close() error { return e.w.Close() }

// chunkWriter collects the payloads of one batch. The writer's first
// payload is the schema, which travels in the write's header instead.
type chunkWriter struct {
	buf          bytes.Buffer
	schemaPassed bool
}

func (c *chunkWriter) Start() error { return nil }
func (c *chunkWriter) Close() error { return nil }

func (c *chunkWriter) WritePayload(p ipc.Payload) error {
	if !c.schemaPassed {
		c.schemaPassed = true
		return nil
	}
	_, err := p.WritePayload(&c.buf)
	return err
}

// BatchDecoder decodes the chunks a BatchEncoder made, one batch per
// chunk, keeping dictionaries from one batch to the next.
type BatchDecoder struct {
	rdr     *ipc.Reader
	pending []byte
	fed     bool
}

var errChunkIncomplete = errors.New("arrow batch chunk ends before its record batch")

// NewBatchDecoder returns a decoder for batches following schemaMsg, an
// IPC schema message.
func NewBatchDecoder(schemaMsg []byte) (*BatchDecoder, error) {
	d := &BatchDecoder{pending: schemaMsg}
	rdr, err := ipc.NewReaderFromMessageReader(arrowipc.NewBytesMessageReader(d.next))
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	d.rdr = rdr
	return d, nil
}

func (d *BatchDecoder) next() ([]byte, error) {
	if d.fed {
		return nil, errChunkIncomplete
	}
	d.fed = true
	return d.pending, nil
}

// Schema is the schema of the decoded batches.
func (d *BatchDecoder) Schema() *arrow.Schema { return d.rdr.Schema() }

// Decode returns the batch in chunk; the caller releases it. The batch
// aliases chunk, which must not be modified afterwards.
func (d *BatchDecoder) Decode(chunk []byte) (arrow.RecordBatch, error) {
	d.pending, d.fed = chunk, false
	if !d.rdr.Next() {
		if err := d.rdr.Err(); err != nil {
			return nil, fmt.Errorf("decode arrow batch: %w", err)
		}
		return nil, errChunkIncomplete
	}
	rec := d.rdr.RecordBatch()
	rec.Retain()
	return rec, nil
}

// Release releases the decoder.
func (d *BatchDecoder) Release() { d.rdr.Release() }
