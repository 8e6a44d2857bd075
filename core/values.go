package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ValueAt returns row i of an Arrow column as a plain Go value: integers
// as int64, floats as float64, decimals as their exact decimal string
// (or int64 when the scale is 0), dates and timestamps as UTC time.Time,
// NULL as nil. Strings are copied, so values outlive the record.
func ValueAt(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		// Value aliases the Arrow buffer, which is freed with the record.
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.StringView:
		return strings.Clone(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		if scale == 0 {
			return a.Value(i).BigInt().Int64()
		}
		return a.Value(i).ToString(scale)
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Date64:
		return a.Value(i).ToTime().UTC()
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.Dictionary:
		return ValueAt(a.Dictionary(), a.GetValueIndex(i))
	}
	return a.ValueStr(i)
}

// Int64At reads an integer-valued column (any integer width, or a
// decimal of scale 0, as warehouses differ) at row i.
func Int64At(a arrow.Array, i int) (int64, error) {
	switch v := ValueAt(a, i).(type) {
	case int64:
		return v, nil
	case nil:
		return 0, nil
	case float64:
		return int64(v), nil
	default:
		return 0, fmt.Errorf("column of type %s is not an integer", a.DataType())
	}
}

// FormatValue renders a value from ValueAt for people: dates without a
// time, timestamps to the second.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.DateTime)
	case float64:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprint(v)
}

// Float64At reads a numeric column (integer, float or decimal) at row i
// as a float64; NULL reads as 0.
func Float64At(a arrow.Array, i int) (float64, error) {
	switch v := ValueAt(a, i).(type) {
	case nil:
		return 0, nil
	case int64:
		return float64(v), nil
	case float64:
		return v, nil
	case string: // a decimal
		return strconv.ParseFloat(v, 64)
	}
	return 0, fmt.Errorf("column of type %s is not numeric", a.DataType())
}
