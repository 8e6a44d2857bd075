// Package arrowipc cuts an Arrow record stream into encapsulated IPC
// messages of bounded size and joins such messages back into a record
// reader. Plugins use it on both sides of the gRPC boundary so results
// travel as Arrow without a detour through rows.
package arrowipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// MaxMessageBytes is the largest IPC message an Encoder emits. It matches
// gRPC's default 4 MiB receive limit so that no peer needs to raise it.
const MaxMessageBytes = 4 << 20

// metadataAllowance is the room left in a message for the flatbuffer
// metadata and alignment padding around a batch body.
const metadataAllowance = 64 << 10

// Encoder writes records as a sequence of encapsulated IPC messages, the
// schema first, handing them to the transport in chunks of at most
// MaxMessageBytes. Records too large for one chunk are sliced by rows.
type Encoder struct {
	w     *ipc.Writer
	pw    *payloadSender
	limit int64
}

// NewEncoder returns an Encoder that hands each chunk to send. A chunk
// holds one or more whole IPC messages; its bytes are only valid during
// the call.
func NewEncoder(schema *arrow.Schema, send func(msg []byte) error) *Encoder {
	pw := &payloadSender{send: send}
	return &Encoder{
		w:     ipc.NewWriterWithPayloadWriter(pw, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator)),
		pw:    pw,
		limit: MaxMessageBytes - metadataAllowance,
	}
}

// Write sends rec, sliced so that each message stays under MaxMessageBytes.
func (e *Encoder) Write(rec arrow.RecordBatch) error {
	return e.write(rec, 0, rec.NumRows())
}

func (e *Encoder) write(rec arrow.RecordBatch, from, to int64) error {
	n := to - from
	size := EstimateBytes(rec, from, to)
	if size <= e.limit || n <= 1 {
		if from == 0 && to == rec.NumRows() {
			return e.w.Write(rec)
		}
		s := rec.NewSlice(from, to)
		defer s.Release()
		return e.w.Write(s)
	}
	// Split into pieces of about the limit, then check each again: rows
	// of variable width may be unevenly spread.
	pieces := (size + e.limit - 1) / e.limit
	step := (n + pieces - 1) / pieces
	for lo := from; lo < to; lo += step {
		if err := e.write(rec, lo, min(lo+step, to)); err != nil {
			return err
		}
	}
	return nil
}

// Close sends what is pending, and the schema if no record was written.
// It does not send an end-of-stream marker: the transport says where the
// stream ends.
func (e *Encoder) Close() error { return e.w.Close() }

// payloadSender packs consecutive IPC messages into transport messages of
// flushBytes to MaxMessageBytes: DuckDB and others produce many small
// batches, and one transport message per batch costs throughput.
type payloadSender struct {
	send func([]byte) error
	buf  bytes.Buffer
}

// flushBytes is the size at which pending messages are sent.
const flushBytes = 2 << 20

func (p *payloadSender) Start() error { return nil }

// Close sends what is pending.
func (p *payloadSender) Close() error { return p.flush() }

func (p *payloadSender) flush() error {
	if p.buf.Len() == 0 {
		return nil
	}
	err := p.send(p.buf.Bytes())
	p.buf.Reset()
	return err
}

func (p *payloadSender) WritePayload(pl ipc.Payload) error {
	mark := p.buf.Len()
	if _, err := pl.WritePayload(&p.buf); err != nil {
		return err
	}
	if size := p.buf.Len() - mark; size > MaxMessageBytes {
		// A single row wider than a message: refuse rather than send a
		// message the peer would drop.
		return fmt.Errorf("arrow message of %d bytes exceeds the %d byte limit (a single row is too wide)", size, MaxMessageBytes)
	}
	if p.buf.Len() > MaxMessageBytes {
		// The new message does not fit beside the pending ones: send
		// those alone and keep the new one pending.
		tail := bytes.Clone(p.buf.Bytes()[mark:])
		p.buf.Truncate(mark)
		if err := p.flush(); err != nil {
			return err
		}
		p.buf.Write(tail)
	}
	if p.buf.Len() >= flushBytes {
		return p.flush()
	}
	return nil
}

// EstimateBytes estimates the IPC body size of rows [from, to) of rec.
func EstimateBytes(rec arrow.RecordBatch, from, to int64) int64 {
	var total int64
	for _, col := range rec.Columns() {
		total += estimateArray(col, from, to)
	}
	return total
}

func pad8(n int64) int64 { return (n + 7) &^ 7 }

func estimateArray(a arrow.Array, from, to int64) int64 {
	n := to - from
	bitmap := pad8((n + 7) / 8)
	switch arr := a.(type) {
	case *array.String:
		o := arr.ValueOffsets()
		return bitmap + pad8((n+1)*4) + pad8(int64(o[to]-o[from]))
	case *array.Binary:
		o := arr.ValueOffsets()
		return bitmap + pad8((n+1)*4) + pad8(int64(o[to]-o[from]))
	case *array.LargeString:
		o := arr.ValueOffsets()
		return bitmap + pad8((n+1)*8) + pad8(o[to]-o[from])
	case *array.LargeBinary:
		o := arr.ValueOffsets()
		return bitmap + pad8((n+1)*8) + pad8(o[to]-o[from])
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok {
		return bitmap + pad8((n*int64(fw.BitWidth())+7)/8)
	}
	// Nested and other types: assume the buffers are spread evenly over
	// the array's rows, children included.
	if a.Len() == 0 {
		return 0
	}
	return dataBytes(a.Data()) * n / int64(a.Len())
}

func dataBytes(d arrow.ArrayData) int64 {
	var total int64
	for _, b := range d.Buffers() {
		if b != nil {
			total += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		total += dataBytes(c)
	}
	return total
}

// SchemaBytes encodes a schema as one IPC schema message.
func SchemaBytes(schema *arrow.Schema) ([]byte, error) {
	var out []byte
	enc := NewEncoder(schema, func(msg []byte) error {
		out = append([]byte(nil), msg...)
		return nil
	})
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseSchema decodes a schema message made by SchemaBytes.
func ParseSchema(msg []byte) (*arrow.Schema, error) {
	r, err := ipc.NewReader(bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	if r.Next() {
		return nil, errors.New("schema message followed by data")
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return r.Schema(), nil
}

// BytesMessageReader is an ipc.MessageReader over chunks of encapsulated
// IPC messages held in memory. Unlike a reader over an io.Reader it does
// not copy: message bodies alias the chunks, which must not be modified
// afterwards.
type BytesMessageReader struct {
	next func() ([]byte, error)
	cur  []byte
	msg  *ipc.Message
}

// NewBytesMessageReader reads the messages in the chunks next yields;
// next returns io.EOF after the last chunk.
func NewBytesMessageReader(next func() ([]byte, error)) *BytesMessageReader {
	return &BytesMessageReader{next: next}
}

func (r *BytesMessageReader) Retain()  {}
func (r *BytesMessageReader) Release() { r.releaseMsg() }

func (r *BytesMessageReader) releaseMsg() {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

// Message returns the next message; it is valid until the next call.
func (r *BytesMessageReader) Message() (*ipc.Message, error) {
	r.releaseMsg()
	for len(r.cur) == 0 {
		chunk, err := r.next()
		if err != nil {
			return nil, err
		}
		r.cur = chunk
	}
	b := r.cur
	if len(b) < 8 || binary.LittleEndian.Uint32(b) != 0xFFFFFFFF {
		return nil, errors.New("arrow message: missing continuation marker")
	}
	metaLen := int(int32(binary.LittleEndian.Uint32(b[4:])))
	if metaLen == 0 {
		return nil, io.EOF // an end-of-stream marker
	}
	if metaLen < 0 || 8+metaLen > len(b) {
		return nil, fmt.Errorf("arrow message: metadata length %d exceeds the chunk", metaLen)
	}
	meta := memory.NewBufferBytes(b[8 : 8+metaLen])
	// The body length is in the metadata; read it from a body-less view.
	bodyLen := int(ipc.NewMessage(meta, memory.NewBufferBytes(nil)).BodyLen())
	start := 8 + metaLen
	if bodyLen < 0 || start+bodyLen > len(b) {
		return nil, fmt.Errorf("arrow message: body length %d exceeds the chunk", bodyLen)
	}
	r.msg = ipc.NewMessage(meta, memory.NewBufferBytes(b[start:start+bodyLen]))
	r.cur = b[start+bodyLen:]
	return r.msg, nil
}
