package bigquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/api/iterator"

	"github.com/segflow/segflow/core"
)

// batchStream presents the Storage Read API's messages as one Arrow IPC
// stream: the bare schema message, then each batch's bare record-batch
// message, so that arrow-go v18's ipc.Reader decodes what the client
// (which uses Arrow v15 internally) hands over as bytes. It replaces
// bigquery.NewArrowIteratorReader, which panics when Next fails.
type batchStream struct {
	ai   bigquery.ArrowIterator
	buf  []byte
	err  error // how the iterator failed, if it did
	done bool
}

func (s *batchStream) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		batch, err := s.ai.Next()
		switch {
		case errors.Is(err, iterator.Done):
			s.done = true
		case err != nil:
			s.err = err
		default:
			s.buf = batch.Data
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// storageReader is the result of a query read through the Storage Read
// API. The client can lose a stream's error when another stream finishes
// at the same moment, and then ends quietly; so at the end the reader
// checks the rows it got against the result table's row count and fails
// rather than return a short result.
type storageReader struct {
	*ipc.Reader
	ctx       context.Context
	cancel    context.CancelFunc
	src       *batchStream
	w         *Warehouse
	estimated int64 // the read session's row estimate
	count     func(context.Context) (int64, error)
	rows      int64
	err       error
	finished  bool
	once      sync.Once
}

func (r *storageReader) Next() bool {
	if r.err != nil || r.finished {
		return false
	}
	if r.Reader.Next() {
		r.rows += r.Reader.RecordBatch().NumRows()
		return true
	}
	r.finished = true
	switch {
	case r.src.err != nil:
		r.err = r.w.translate(r.ctx, r.src.err)
	case r.Reader.Err() != nil && !errors.Is(r.Reader.Err(), io.EOF):
		r.err = fmt.Errorf("bigquery: decode Arrow result: %w", r.Reader.Err())
	case r.rows != r.estimated:
		// The estimate is usually exact for a query's result; when it is
		// not, ask for the table's row count before deciding.
		want, err := r.count(r.ctx)
		if err != nil {
			r.err = r.w.translate(r.ctx, err)
		} else if r.rows != want {
			r.err = fmt.Errorf("%w: bigquery: read %d of %d rows", core.ErrIncompleteResult, r.rows, want)
		}
	}
	return false
}

func (r *storageReader) Err() error { return r.err }

func (r *storageReader) Release() {
	r.once.Do(func() {
		r.cancel()
		r.Reader.Release()
		if !r.finished {
			go drain(r.src.ai)
		}
	})
}

// drain empties an abandoned iterator. Its stream goroutines block on a
// channel send that does not watch the context, so without a reader they
// would never exit.
func drain(ai bigquery.ArrowIterator) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		_, err := ai.Next()
		if errors.Is(err, iterator.Done) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// maxFallbackRows bounds the result the plugin will read through the
// REST API when the Storage Read API is not available: row-by-row JSON
// is fine for a report, hopeless for a segment.
const maxFallbackRows = 10_000

// restReader reads a small result row by row through the REST API (the
// client's fallback when it cannot open a read session) and returns it
// as one Arrow record.
func (w *Warehouse) restReader(ctx context.Context, it *bigquery.RowIterator) (array.RecordReader, error) {
	if it.TotalRows > maxFallbackRows {
		return nil, fmt.Errorf("bigquery: the Storage Read API is not available (check that the credentials have bigquery.readsessions.create, in role BigQuery Read Session User) and the result has %d rows, too many to read row by row (limit %d)", it.TotalRows, maxFallbackRows)
	}
	w.log.Warn("Storage Read API unavailable: reading a small result through the REST API", "rows", it.TotalRows)
	var rows [][]bigquery.Value
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, w.translate(ctx, err)
		}
		rows = append(rows, row)
	}
	schema := arrowSchema(it.Schema)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range rows {
		for i, v := range row {
			if err := appendValue(b.Field(i), v); err != nil {
				return nil, fmt.Errorf("bigquery: column %s: %w", schema.Field(i).Name, err)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return array.NewRecordReader(schema, []arrow.RecordBatch{rec})
}

// Arrow types of BigQuery's column types, as the Storage Read API uses them.
var (
	numericType    = &arrow.Decimal128Type{Precision: 38, Scale: 9}
	bigNumericType = &arrow.Decimal256Type{Precision: 76, Scale: 38}
)

func arrowType(f *bigquery.FieldSchema) arrow.DataType {
	var t arrow.DataType
	switch f.Type {
	case bigquery.IntegerFieldType:
		t = arrow.PrimitiveTypes.Int64
	case bigquery.FloatFieldType:
		t = arrow.PrimitiveTypes.Float64
	case bigquery.NumericFieldType:
		t = numericType
	case bigquery.BigNumericFieldType:
		t = bigNumericType
	case bigquery.BooleanFieldType:
		t = arrow.FixedWidthTypes.Boolean
	case bigquery.BytesFieldType:
		t = arrow.BinaryTypes.Binary
	case bigquery.DateFieldType:
		t = arrow.FixedWidthTypes.Date32
	case bigquery.TimestampFieldType:
		t = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case bigquery.DateTimeFieldType:
		t = &arrow.TimestampType{Unit: arrow.Microsecond}
	case bigquery.TimeFieldType:
		t = arrow.FixedWidthTypes.Time64us
	default: // STRING, JSON, GEOGRAPHY; RECORD and REPEATED travel as JSON text
		t = arrow.BinaryTypes.String
	}
	if f.Repeated || f.Type == bigquery.RecordFieldType {
		t = arrow.BinaryTypes.String
	}
	return t
}

func arrowSchema(s bigquery.Schema) *arrow.Schema {
	fields := make([]arrow.Field, len(s))
	for i, f := range s {
		fields[i] = arrow.Field{Name: f.Name, Type: arrowType(f), Nullable: !f.Required}
	}
	return arrow.NewSchema(fields, nil)
}

// appendValue appends one value as the REST API's client decodes it.
func appendValue(b array.Builder, v bigquery.Value) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Date32Builder:
		b.Append(arrow.Date32FromTime(v.(civil.Date).In(time.UTC)))
	case *array.TimestampBuilder:
		switch t := v.(type) {
		case time.Time:
			b.Append(arrow.Timestamp(t.UnixMicro()))
		case civil.DateTime:
			b.Append(arrow.Timestamp(t.In(time.UTC).UnixMicro()))
		}
	case *array.Time64Builder:
		t := v.(civil.Time)
		b.Append(arrow.Time64(((int64(t.Hour)*60+int64(t.Minute))*60+int64(t.Second))*1e6 + int64(t.Nanosecond)/1e3))
	case *array.Decimal128Builder:
		n, err := ratToDecimal(v.(*big.Rat), numericType.Scale)
		if err != nil {
			return err
		}
		b.Append(n)
	case *array.Decimal256Builder:
		n, err := decimal256.FromString(v.(*big.Rat).FloatString(int(bigNumericType.Scale)), bigNumericType.Precision, bigNumericType.Scale)
		if err != nil {
			return err
		}
		b.Append(n)
	case *array.StringBuilder:
		if s, ok := v.(string); ok {
			b.Append(s)
			return nil
		}
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Append(string(j))
	default:
		return fmt.Errorf("cannot convert %T to %s", v, b.Type())
	}
	return nil
}

func ratToDecimal(r *big.Rat, scale int32) (decimal128.Num, error) {
	return decimal128.FromString(r.FloatString(int(scale)), 38, scale)
}
