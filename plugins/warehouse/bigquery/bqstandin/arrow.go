//go:build duckdb_arrow

package bqstandin

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bq "google.golang.org/api/bigquery/v2"
)

// BigQuery's Arrow types, as the Storage Read API sends them.
var (
	numericType  = &arrow.Decimal128Type{Precision: 38, Scale: 9}
	datetimeType = &arrow.TimestampType{Unit: arrow.Microsecond}
	tsType       = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	timeType     = &arrow.Time64Type{Unit: arrow.Microsecond}
)

// column maps one DuckDB result column onto its BigQuery type.
type column struct {
	field  arrow.Field // in the result's Arrow schema
	bqType string      // in the REST schema
	append func(b array.Builder, a arrow.Array) error
}

// columnFor picks the BigQuery type for a DuckDB column.
func columnFor(f arrow.Field) column {
	c := column{field: arrow.Field{Name: f.Name, Nullable: true}}
	switch t := f.Type.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		c.field.Type, c.bqType, c.append = arrow.PrimitiveTypes.Int64, "INTEGER", appendInt64
	case *arrow.Decimal128Type:
		if t.Scale == 0 && t.Precision == 38 {
			// DuckDB's HUGEINT (what SUM(BIGINT) returns) arrives as
			// decimal(38, 0); BigQuery's SUM(INT64) is an INT64.
			c.field.Type, c.bqType, c.append = arrow.PrimitiveTypes.Int64, "INTEGER", appendInt64
		} else {
			c.field.Type, c.bqType, c.append = numericType, "NUMERIC", appendNumeric
		}
	case *arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type:
		c.field.Type, c.bqType, c.append = arrow.PrimitiveTypes.Float64, "FLOAT", appendFloat64
	case *arrow.BooleanType:
		c.field.Type, c.bqType, c.append = arrow.FixedWidthTypes.Boolean, "BOOLEAN", appendAsIs
	case *arrow.StringType:
		c.field.Type, c.bqType, c.append = arrow.BinaryTypes.String, "STRING", appendAsIs
	case *arrow.Date32Type:
		c.field.Type, c.bqType, c.append = arrow.FixedWidthTypes.Date32, "DATE", appendAsIs
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			c.field.Type, c.bqType = tsType, "TIMESTAMP"
		} else {
			c.field.Type, c.bqType = datetimeType, "DATETIME"
		}
		c.append = appendMicros(t.Unit)
	case *arrow.Time64Type:
		c.field.Type, c.bqType, c.append = timeType, "TIME", appendMicros(t.Unit)
	case *arrow.BinaryType:
		c.field.Type, c.bqType, c.append = arrow.BinaryTypes.Binary, "BYTES", appendAsIs
	default:
		// Anything else (lists, structs, intervals, ...) travels as text.
		c.field.Type, c.bqType, c.append = arrow.BinaryTypes.String, "STRING", appendText
	}
	return c
}

func appendInt64(b array.Builder, a arrow.Array) error {
	ib := b.(*array.Int64Builder)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			ib.AppendNull()
			continue
		}
		switch a := a.(type) {
		case *array.Int8:
			ib.Append(int64(a.Value(i)))
		case *array.Int16:
			ib.Append(int64(a.Value(i)))
		case *array.Int32:
			ib.Append(int64(a.Value(i)))
		case *array.Int64:
			ib.Append(a.Value(i))
		case *array.Uint8:
			ib.Append(int64(a.Value(i)))
		case *array.Uint16:
			ib.Append(int64(a.Value(i)))
		case *array.Uint32:
			ib.Append(int64(a.Value(i)))
		case *array.Uint64:
			if a.Value(i) > 1<<63-1 {
				return fmt.Errorf("value %d is out of range for INT64", a.Value(i))
			}
			ib.Append(int64(a.Value(i)))
		case *array.Decimal128:
			v := a.Value(i).BigInt()
			if !v.IsInt64() {
				return fmt.Errorf("value %s is out of range for INT64", v)
			}
			ib.Append(v.Int64())
		}
	}
	return nil
}

func appendNumeric(b array.Builder, a arrow.Array) error {
	db := b.(*array.Decimal128Builder)
	d := a.(*array.Decimal128)
	scale := d.DataType().(*arrow.Decimal128Type).Scale
	for i := 0; i < d.Len(); i++ {
		if d.IsNull(i) {
			db.AppendNull()
			continue
		}
		v, err := d.Value(i).Rescale(scale, numericType.Scale)
		if err != nil || !v.FitsInPrecision(38) {
			return fmt.Errorf("value %s does not fit NUMERIC", d.Value(i).ToString(scale))
		}
		db.Append(v)
	}
	return nil
}

func appendFloat64(b array.Builder, a arrow.Array) error {
	fb := b.(*array.Float64Builder)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			fb.AppendNull()
			continue
		}
		switch a := a.(type) {
		case *array.Float16:
			fb.Append(float64(a.Value(i).Float32()))
		case *array.Float32:
			fb.Append(float64(a.Value(i)))
		case *array.Float64:
			fb.Append(a.Value(i))
		}
	}
	return nil
}

// appendAsIs copies values whose Arrow type BigQuery shares with DuckDB.
func appendAsIs(b array.Builder, a arrow.Array) error {
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		switch a := a.(type) {
		case *array.Boolean:
			b.(*array.BooleanBuilder).Append(a.Value(i))
		case *array.String:
			b.(*array.StringBuilder).Append(a.Value(i))
		case *array.Date32:
			b.(*array.Date32Builder).Append(a.Value(i))
		case *array.Binary:
			b.(*array.BinaryBuilder).Append(a.Value(i))
		default:
			return fmt.Errorf("unexpected %s", a.DataType())
		}
	}
	return nil
}

// appendMicros converts timestamps and times of any unit to microseconds.
func appendMicros(unit arrow.TimeUnit) func(array.Builder, arrow.Array) error {
	div := int64(unit.Multiplier() / time.Microsecond)
	mul := int64(time.Microsecond / unit.Multiplier())
	return func(b array.Builder, a arrow.Array) error {
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			var v int64
			switch a := a.(type) {
			case *array.Timestamp:
				v = int64(a.Value(i))
			case *array.Time64:
				v = int64(a.Value(i))
			}
			if div > 0 {
				v /= div
			} else {
				v *= mul
			}
			switch b := b.(type) {
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(v))
			case *array.Time64Builder:
				b.Append(arrow.Time64(v))
			}
		}
		return nil
	}
}

func appendText(b array.Builder, a arrow.Array) error {
	sb := b.(*array.StringBuilder)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			sb.AppendNull()
		} else {
			sb.Append(a.ValueStr(i))
		}
	}
	return nil
}

// result is a finished query's rows in BigQuery's Arrow types, cut into
// record batches of about Options.BatchRows rows.
type result struct {
	schema  *arrow.Schema
	bqTypes []string
	batches []arrow.RecordBatch
	rows    int64
	bytes   int64
}

// collect reads a DuckDB result to the end, converting and re-batching.
func collect(rdr array.RecordReader, batchRows int) (*result, error) {
	cols := make([]column, rdr.Schema().NumFields())
	fields := make([]arrow.Field, len(cols))
	res := &result{bqTypes: make([]string, len(cols))}
	for i, f := range rdr.Schema().Fields() {
		cols[i] = columnFor(f)
		fields[i] = cols[i].field
		res.bqTypes[i] = cols[i].bqType
	}
	res.schema = arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, res.schema)
	defer b.Release()
	flush := func() {
		rec := b.NewRecordBatch()
		if rec.NumRows() == 0 {
			rec.Release()
			return
		}
		res.rows += rec.NumRows()
		for _, c := range rec.Columns() {
			for _, buf := range c.Data().Buffers() {
				if buf != nil {
					res.bytes += int64(buf.Len())
				}
			}
		}
		res.batches = append(res.batches, rec)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i, c := range cols {
			if err := c.append(b.Field(i), rec.Column(i)); err != nil {
				return nil, fmt.Errorf("column %s: %w", c.field.Name, err)
			}
		}
		if b.Field(0).Len() >= batchRows {
			flush()
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	flush()
	return res, nil
}

func (r *result) restSchema() *bq.TableSchema {
	s := &bq.TableSchema{}
	for i, f := range r.schema.Fields() {
		s.Fields = append(s.Fields, &bq.TableFieldSchema{Name: f.Name, Type: r.bqTypes[i], Mode: "NULLABLE"})
	}
	return s
}

// schemaMessage is the schema as one bare IPC message, the form
// ReadSession.arrow_schema.serialized_schema takes.
func schemaMessage(s *arrow.Schema) ([]byte, error) {
	p := ipc.GetSchemaPayload(s, memory.DefaultAllocator)
	defer p.Release()
	var buf bytes.Buffer
	_, err := p.WritePayload(&buf)
	return buf.Bytes(), err
}

// batchMessage is one record batch as a bare IPC message, the form
// ArrowRecordBatch.serialized_record_batch takes.
func batchMessage(rec arrow.RecordBatch) ([]byte, error) {
	p, err := ipc.GetRecordBatchPayload(rec)
	if err != nil {
		return nil, err
	}
	defer p.Release()
	var buf bytes.Buffer
	_, err = p.WritePayload(&buf)
	return buf.Bytes(), err
}

// rows renders rows [from, from+n) as REST rows, in the formats
// getQueryResults uses (TIMESTAMP as int64 microseconds, as the Go client
// asks with formatOptions.useInt64Timestamp).
func (r *result) restRows(from, n int64) []*bq.TableRow {
	var out []*bq.TableRow
	var base int64
	for _, rec := range r.batches {
		lo, hi := max(from-base, 0), min(from+n-base, rec.NumRows())
		for i := lo; i < hi; i++ {
			row := &bq.TableRow{}
			for c := 0; c < int(rec.NumCols()); c++ {
				row.F = append(row.F, &bq.TableCell{V: restValue(rec.Column(c), int(i))})
			}
			out = append(out, row)
		}
		base += rec.NumRows()
		if base >= from+n {
			break
		}
	}
	return out
}

func restValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return decimalString(a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Date32:
		return a.Value(i).FormattedString()
	case *array.Timestamp:
		if a.DataType().(*arrow.TimestampType).TimeZone != "" {
			return strconv.FormatInt(int64(a.Value(i)), 10)
		}
		return time.UnixMicro(int64(a.Value(i))).UTC().Format("2006-01-02T15:04:05.999999")
	case *array.Time64:
		return time.UnixMicro(int64(a.Value(i))).UTC().Format("15:04:05.999999")
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i))
	}
	return a.ValueStr(i)
}

// decimalString writes a decimal without trailing zeros, as BigQuery
// writes NUMERIC in JSON.
func decimalString(n decimal128.Num, scale int32) string {
	s := n.ToString(scale)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
