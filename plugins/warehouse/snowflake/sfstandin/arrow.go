//go:build duckdb_arrow

package sfstandin

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rowType describes a result column as Snowflake's rowtype does.
type rowType struct {
	Name       string  `json:"name"`
	Database   string  `json:"database"`
	Schema     string  `json:"schema"`
	Table      string  `json:"table"`
	Type       string  `json:"type"`
	Precision  int64   `json:"precision"`
	Scale      int64   `json:"scale"`
	Length     int64   `json:"length"`
	ByteLength int64   `json:"byteLength"`
	Nullable   bool    `json:"nullable"`
	Collation  *string `json:"collation"`
}

var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// rowTypeFor picks the Snowflake type of a DuckDB column.
func rowTypeFor(f arrow.Field) rowType {
	name := f.Name
	if plainName.MatchString(name) {
		name = strings.ToUpper(name) // Snowflake folds unquoted names
	}
	rt := rowType{Name: name, Nullable: true}
	switch t := f.Type.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		rt.Type, rt.Precision = "fixed", 38
	case *arrow.Decimal128Type:
		rt.Type, rt.Precision, rt.Scale = "fixed", int64(t.Precision), int64(t.Scale)
	case *arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type:
		rt.Type = "real"
	case *arrow.BooleanType:
		rt.Type = "boolean"
	case *arrow.Date32Type:
		rt.Type = "date"
	case *arrow.TimestampType:
		rt.Type, rt.Scale = "timestamp_ntz", 9
		if t.TimeZone != "" {
			rt.Type = "timestamp_ltz"
		}
	case *arrow.BinaryType:
		rt.Type, rt.Length, rt.ByteLength = "binary", 8388608, 8388608
	default:
		rt.Type, rt.Length, rt.ByteLength = "text", 16777216, 16777216
	}
	return rt
}

// result is a finished query's rows as Snowflake serves them: Arrow IPC
// streams, the first inline, the others behind chunk URLs.
type result struct {
	rowtype []rowType
	chunks  [][]byte
	rows    []int64
	sizes   []int64 // uncompressed
	total   int64
}

// collect reads a DuckDB result to the end and cuts it into chunks.
func collect(rdr array.RecordReader, firstRows, chunkRows int64, gzipChunks bool) (*result, error) {
	res := &result{}
	for _, f := range rdr.Schema().Fields() {
		res.rowtype = append(res.rowtype, rowTypeFor(f))
	}
	var pending []arrow.RecordBatch
	var pendingRows int64
	flush := func() error {
		defer func() {
			for _, p := range pending {
				p.Release()
			}
			pending, pendingRows = nil, 0
		}()
		if pendingRows == 0 {
			return nil
		}
		b, size, err := res.encodeChunk(pending, gzipChunks && len(res.chunks) > 0)
		if err != nil {
			return err
		}
		res.chunks, res.rows, res.sizes = append(res.chunks, b), append(res.rows, pendingRows), append(res.sizes, size)
		res.total += pendingRows
		return nil
	}
	limit := firstRows
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for off := int64(0); off < rec.NumRows(); {
			take := min(rec.NumRows()-off, limit-pendingRows)
			pending = append(pending, rec.NewSlice(off, off+take))
			pendingRows += take
			off += take
			if pendingRows == limit {
				if err := flush(); err != nil {
					return nil, err
				}
				limit = chunkRows
			}
		}
	}
	if err := rdr.Err(); err != nil {
		flush()
		return nil, err
	}
	return res, flush()
}

// encodeChunk converts the chunk's slices to Snowflake's physical types
// (chosen per chunk, as Snowflake does) and writes one IPC stream.
func (res *result) encodeChunk(parts []arrow.RecordBatch, gz bool) ([]byte, int64, error) {
	var fields []arrow.Field
	var cols []arrow.Array
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for c, rt := range res.rowtype {
		src := make([]arrow.Array, len(parts))
		for i, p := range parts {
			src[i] = p.Column(c)
		}
		col, err := buildColumn(rt, src)
		if err != nil {
			return nil, 0, fmt.Errorf("column %s: %w", rt.Name, err)
		}
		cols = append(cols, col)
		fields = append(fields, arrow.Field{Name: rt.Name, Type: col.DataType(), Nullable: true,
			Metadata: arrow.NewMetadata(
				[]string{"logicalType", "precision", "scale"},
				[]string{strings.ToUpper(rt.Type), strconv.FormatInt(rt.Precision, 10), strconv.FormatInt(rt.Scale, 10)})})
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, cols, int64(cols[0].Len()))
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		return nil, 0, err
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	size := int64(buf.Len())
	if !gz {
		return buf.Bytes(), size, nil
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(buf.Bytes())
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	return zbuf.Bytes(), size, nil
}

func buildColumn(rt rowType, src []arrow.Array) (arrow.Array, error) {
	mem := memory.DefaultAllocator
	switch rt.Type {
	case "fixed":
		return buildFixed(src, int32(rt.Scale), int32(rt.Precision))
	case "real":
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		each(src, b, func(a arrow.Array, i int) {
			switch a := a.(type) {
			case *array.Float16:
				b.Append(float64(a.Value(i).Float32()))
			case *array.Float32:
				b.Append(float64(a.Value(i)))
			case *array.Float64:
				b.Append(a.Value(i))
			}
		})
		return b.NewArray(), nil
	case "timestamp_ntz", "timestamp_ltz":
		// Scale 9 travels as {epoch seconds, fraction nanoseconds}.
		st := arrow.StructOf(
			arrow.Field{Name: "epoch", Type: arrow.PrimitiveTypes.Int64},
			arrow.Field{Name: "fraction", Type: arrow.PrimitiveTypes.Int32})
		b := array.NewStructBuilder(mem, st)
		defer b.Release()
		epoch, frac := b.FieldBuilder(0).(*array.Int64Builder), b.FieldBuilder(1).(*array.Int32Builder)
		for _, a := range src {
			ts := a.(*array.Timestamp)
			unit := ts.DataType().(*arrow.TimestampType).Unit
			for i := 0; i < ts.Len(); i++ {
				if ts.IsNull(i) {
					b.AppendNull()
					continue
				}
				t := ts.Value(i).ToTime(unit)
				b.Append(true)
				epoch.Append(t.Unix())
				frac.Append(int32(t.Nanosecond()))
			}
		}
		return b.NewArray(), nil
	case "text":
		if _, ok := src[0].(*array.String); ok {
			return array.Concatenate(src, mem)
		}
		b := array.NewStringBuilder(mem)
		defer b.Release()
		each(src, b, func(a arrow.Array, i int) { b.Append(a.ValueStr(i)) })
		return b.NewArray(), nil
	}
	// boolean, date, binary: the same Arrow type in both.
	return array.Concatenate(src, mem)
}

// each calls add for every non-null value and appends nulls itself.
func each(src []arrow.Array, b array.Builder, add func(arrow.Array, int)) {
	for _, a := range src {
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				b.AppendNull()
			} else {
				add(a, i)
			}
		}
	}
}

// buildFixed writes a NUMBER column as the narrowest integer type that
// holds every (scaled) value of the chunk, or as decimal128 when some
// value is beyond int64, which is what gosnowflake expects.
func buildFixed(src []arrow.Array, scale, precision int32) (arrow.Array, error) {
	mem := memory.DefaultAllocator
	var vals []int64
	var valid []bool
	var lo, hi int64
	fits := true
	for _, a := range src {
		for i := 0; i < a.Len() && fits; i++ {
			var v int64
			if a.IsValid(i) {
				switch a := a.(type) {
				case *array.Int8:
					v = int64(a.Value(i))
				case *array.Int16:
					v = int64(a.Value(i))
				case *array.Int32:
					v = int64(a.Value(i))
				case *array.Int64:
					v = a.Value(i)
				case *array.Uint8:
					v = int64(a.Value(i))
				case *array.Uint16:
					v = int64(a.Value(i))
				case *array.Uint32:
					v = int64(a.Value(i))
				case *array.Uint64:
					fits = a.Value(i) <= math.MaxInt64
					v = int64(a.Value(i))
				case *array.Decimal128:
					bi := a.Value(i).BigInt()
					fits = bi.IsInt64()
					v = bi.Int64()
				}
				lo, hi = min(lo, v), max(hi, v)
			}
			vals, valid = append(vals, v), append(valid, a.IsValid(i))
		}
	}
	if !fits {
		b := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: precision, Scale: scale})
		defer b.Release()
		each(src, b, func(a arrow.Array, i int) {
			switch a := a.(type) {
			case *array.Decimal128:
				b.Append(a.Value(i))
			case *array.Uint64:
				b.Append(decimal128.FromU64(a.Value(i)))
			}
		})
		return b.NewArray(), nil
	}
	switch {
	case lo >= math.MinInt8 && hi <= math.MaxInt8:
		return narrow(vals, valid, array.NewInt8Builder(mem), func(v int64) int8 { return int8(v) }), nil
	case lo >= math.MinInt16 && hi <= math.MaxInt16:
		return narrow(vals, valid, array.NewInt16Builder(mem), func(v int64) int16 { return int16(v) }), nil
	case lo >= math.MinInt32 && hi <= math.MaxInt32:
		return narrow(vals, valid, array.NewInt32Builder(mem), func(v int64) int32 { return int32(v) }), nil
	}
	return narrow(vals, valid, array.NewInt64Builder(mem), func(v int64) int64 { return v }), nil
}

// narrow builds an integer array of one width from vals.
func narrow[T int8 | int16 | int32 | int64, B interface {
	AppendValues([]T, []bool)
	NewArray() arrow.Array
	Release()
}](vals []int64, valid []bool, b B, conv func(int64) T) arrow.Array {
	defer b.Release()
	out := make([]T, len(vals))
	for i, v := range vals {
		out[i] = conv(v)
	}
	b.AppendValues(out, valid)
	return b.NewArray()
}
