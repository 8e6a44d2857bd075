package sdk

import (
	"fmt"
	"time"

	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
)

var epoch = time.Unix(0, 0).UTC()

// EncodeParams turns statement parameters into protocol values. Dates
// travel as time.Time at midnight UTC and arrive as timestamps; a
// warehouse that needs a DATE casts.
func EncodeParams(params []any) ([]*warehousev1.Value, error) {
	out := make([]*warehousev1.Value, len(params))
	for i, p := range params {
		v := &warehousev1.Value{}
		switch x := p.(type) {
		case nil:
			v.Kind = &warehousev1.Value_Null{Null: true}
		case bool:
			v.Kind = &warehousev1.Value_Bool{Bool: x}
		case int:
			v.Kind = &warehousev1.Value_Int64{Int64: int64(x)}
		case int32:
			v.Kind = &warehousev1.Value_Int64{Int64: int64(x)}
		case int64:
			v.Kind = &warehousev1.Value_Int64{Int64: x}
		case float64:
			v.Kind = &warehousev1.Value_Float64{Float64: x}
		case string:
			v.Kind = &warehousev1.Value_String_{String_: x}
		case time.Time:
			v.Kind = &warehousev1.Value_TimestampMicros{TimestampMicros: x.UnixMicro()}
		default:
			return nil, fmt.Errorf("parameter %d: unsupported type %T", i+1, p)
		}
		out[i] = v
	}
	return out, nil
}

// DecodeParams is the inverse of EncodeParams.
func DecodeParams(values []*warehousev1.Value) []any {
	out := make([]any, len(values))
	for i, v := range values {
		switch k := v.GetKind().(type) {
		case *warehousev1.Value_Bool:
			out[i] = k.Bool
		case *warehousev1.Value_Int64:
			out[i] = k.Int64
		case *warehousev1.Value_Float64:
			out[i] = k.Float64
		case *warehousev1.Value_String_:
			out[i] = k.String_
		case *warehousev1.Value_TimestampMicros:
			out[i] = time.UnixMicro(k.TimestampMicros).UTC()
		case *warehousev1.Value_DateDays:
			out[i] = epoch.AddDate(0, 0, int(k.DateDays))
		default:
			out[i] = nil
		}
	}
	return out
}
