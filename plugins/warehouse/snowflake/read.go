package snowflake

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	sf "github.com/snowflakedb/gosnowflake"
)

// prefetch is how many result chunks are downloaded ahead of the reader.
const prefetch = 4

// column is one result column: its Arrow field and how to bring the
// driver's batches to it. The driver's Arrow types vary per chunk (a
// NUMBER arrives as the narrowest integer holding the chunk's values), so
// the reader's schema comes from the rowtype and every batch is converted.
type column struct {
	field   arrow.Field
	convert func(arrow.Array) (arrow.Array, error)
}

// columns derives the result schema from the driver's rowtype.
func columns(rows driver.Rows, preserveCase bool) ([]column, error) {
	names := rows.Columns()
	types, ok1 := rows.(driver.RowsColumnTypeDatabaseTypeName)
	ps, ok2 := rows.(driver.RowsColumnTypePrecisionScale)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("snowflake: driver rows carry no column types")
	}
	cols := make([]column, len(names))
	for i, name := range names {
		if !preserveCase && name == strings.ToUpper(name) {
			name = strings.ToLower(name)
		}
		prec, scale, _ := ps.ColumnTypePrecisionScale(i)
		var t arrow.DataType
		var conv func(arrow.Array) (arrow.Array, error)
		switch types.ColumnTypeDatabaseTypeName(i) {
		case "FIXED":
			if scale == 0 {
				t, conv = arrow.PrimitiveTypes.Int64, toInt64
			} else {
				if prec == 0 {
					prec = 38
				}
				dt := &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(scale)}
				t, conv = dt, toDecimal(dt)
			}
		case "REAL":
			t = arrow.PrimitiveTypes.Float64
		case "BOOLEAN":
			t = arrow.FixedWidthTypes.Boolean
		case "DATE":
			t = arrow.FixedWidthTypes.Date32
		case "TIME":
			t = arrow.FixedWidthTypes.Time64ns
		case "TIMESTAMP_NTZ":
			t = &arrow.TimestampType{Unit: arrow.Microsecond}
		case "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
			// Instants: the driver labels LTZ with the session's zone and
			// TZ with none; both become UTC.
			t = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
			conv = relabel(t)
		case "BINARY":
			t = arrow.BinaryTypes.Binary
		default: // TEXT, VARIANT, OBJECT, ARRAY, ...: text (JSON for the semi-structured)
			t, conv = arrow.BinaryTypes.String, toString
		}
		if conv == nil {
			conv = same(t)
		}
		cols[i] = column{field: arrow.Field{Name: name, Type: t, Nullable: true}, convert: conv}
	}
	return cols, nil
}

func same(t arrow.DataType) func(arrow.Array) (arrow.Array, error) {
	return func(a arrow.Array) (arrow.Array, error) {
		if !arrow.TypeEqual(a.DataType(), t) {
			return nil, fmt.Errorf("unexpected Arrow type %s for %s", a.DataType(), t)
		}
		a.Retain()
		return a, nil
	}
}

func toInt64(a arrow.Array) (arrow.Array, error) {
	if _, ok := a.(*array.Int64); ok {
		a.Retain()
		return a, nil
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Reserve(a.Len())
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		switch a := a.(type) {
		case *array.Int8:
			b.Append(int64(a.Value(i)))
		case *array.Int16:
			b.Append(int64(a.Value(i)))
		case *array.Int32:
			b.Append(int64(a.Value(i)))
		case *array.Decimal128:
			v := a.Value(i).BigInt()
			if !v.IsInt64() {
				return nil, fmt.Errorf("value %s does not fit a 64-bit integer; cast the column to a NUMBER with a scale or to VARCHAR", v)
			}
			b.Append(v.Int64())
		default:
			return nil, fmt.Errorf("unexpected Arrow type %s for a NUMBER", a.DataType())
		}
	}
	return b.NewArray(), nil
}

// toDecimal builds decimals from the unscaled integers (or decimals) the
// driver passes through with WithHigherPrecision.
func toDecimal(dt *arrow.Decimal128Type) func(arrow.Array) (arrow.Array, error) {
	return func(a arrow.Array) (arrow.Array, error) {
		if d, ok := a.(*array.Decimal128); ok && d.DataType().(*arrow.Decimal128Type).Scale == dt.Scale {
			return relabel(dt)(d)
		}
		b := array.NewDecimal128Builder(memory.DefaultAllocator, dt)
		defer b.Release()
		b.Reserve(a.Len())
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			switch a := a.(type) {
			case *array.Int8:
				b.Append(decimal128.FromI64(int64(a.Value(i))))
			case *array.Int16:
				b.Append(decimal128.FromI64(int64(a.Value(i))))
			case *array.Int32:
				b.Append(decimal128.FromI64(int64(a.Value(i))))
			case *array.Int64:
				b.Append(decimal128.FromI64(a.Value(i)))
			default:
				return nil, fmt.Errorf("unexpected Arrow type %s for a NUMBER(%d,%d)", a.DataType(), dt.Precision, dt.Scale)
			}
		}
		return b.NewArray(), nil
	}
}

// relabel gives an array another type of the same layout.
func relabel(t arrow.DataType) func(arrow.Array) (arrow.Array, error) {
	return func(a arrow.Array) (arrow.Array, error) {
		if a.DataType().ID() != t.ID() {
			return nil, fmt.Errorf("unexpected Arrow type %s for %s", a.DataType(), t)
		}
		d := array.NewData(t, a.Len(), a.Data().Buffers(), nil, a.NullN(), a.Data().Offset())
		defer d.Release()
		return array.MakeFromData(d), nil
	}
}

func toString(a arrow.Array) (arrow.Array, error) {
	if _, ok := a.(*array.String); ok {
		a.Retain()
		return a, nil
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(a.ValueStr(i))
		}
	}
	return b.NewArray(), nil
}

// fetched is one downloaded chunk.
type fetched struct {
	recs []arrow.RecordBatch
	err  error
}

// batchReader streams a result's chunks in order, downloading up to
// prefetch of them ahead, and converts each record to the schema.
type batchReader struct {
	ctx     context.Context
	cancel  context.CancelFunc
	schema  *arrow.Schema
	cols    []column
	futures []chan fetched
	slots   chan struct{}
	next    int // index of the next chunk
	pending []arrow.RecordBatch
	cur     arrow.RecordBatch
	err     error
	closeFn func()
	refs    atomic.Int64
}

func newBatchReader(ctx context.Context, cols []column, batches []*sf.ArrowBatch, closeFn func()) *batchReader {
	ctx, cancel := context.WithCancel(ctx)
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	r := &batchReader{
		ctx: ctx, cancel: cancel, schema: arrow.NewSchema(fields, nil), cols: cols,
		futures: make([]chan fetched, len(batches)), slots: make(chan struct{}, prefetch),
		closeFn: closeFn,
	}
	r.refs.Store(1)
	for i := range batches {
		r.futures[i] = make(chan fetched, 1)
	}
	go func() {
		for i, b := range batches {
			select {
			case r.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				recs, err := b.WithContext(ctx).Fetch()
				var f fetched
				if recs != nil {
					f.recs = *recs
				}
				f.err = err
				r.futures[i] <- f
			}()
		}
	}()
	return r
}

func (r *batchReader) Schema() *arrow.Schema { return r.schema }

func (r *batchReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for len(r.pending) == 0 {
		if r.err != nil || r.next == len(r.futures) {
			return false
		}
		var f fetched
		select {
		case f = <-r.futures[r.next]:
		case <-r.ctx.Done():
			r.err = translate(r.ctx, r.ctx.Err())
			return false
		}
		<-r.slots
		r.next++
		if f.err != nil {
			r.err = translate(r.ctx, f.err)
			return false
		}
		r.pending = f.recs
	}
	src := r.pending[0]
	r.pending = r.pending[1:]
	defer src.Release()
	arrs := make([]arrow.Array, len(r.cols))
	for i, c := range r.cols {
		a, err := c.convert(src.Column(i))
		if err != nil {
			for _, a := range arrs[:i] {
				a.Release()
			}
			r.err = fmt.Errorf("snowflake: column %s: %w", c.field.Name, err)
			return false
		}
		arrs[i] = a
	}
	r.cur = array.NewRecordBatch(r.schema, arrs, src.NumRows())
	for _, a := range arrs {
		a.Release()
	}
	return true
}

func (r *batchReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch.
func (r *batchReader) Record() arrow.RecordBatch { return r.cur }

func (r *batchReader) Err() error { return r.err }

func (r *batchReader) Retain() { r.refs.Add(1) }

// Release stops downloads and returns the connection to the pool when
// the last reference goes.
func (r *batchReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.cancel()
	if r.cur != nil {
		r.cur.Release()
	}
	for _, p := range r.pending {
		p.Release()
	}
	r.closeFn()
}
