package attribution

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// reader builds a one-batch reader; a nil value is NULL.
func reader(t *testing.T, fields []arrow.Field, rows ...[]any) array.RecordReader {
	t.Helper()
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for _, r := range rows {
		for i, v := range r {
			switch fb := b.Field(i).(type) {
			case *array.StringBuilder:
				if v == nil {
					fb.AppendNull()
				} else {
					fb.Append(v.(string))
				}
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.Int64Builder:
				fb.Append(int64(v.(int)))
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	return rdr
}

var transitionFields = []arrow.Field{
	{Name: "FROM_CHANNEL", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "TO_CHANNEL", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "CONVERTED", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "TRANSITIONS", Type: arrow.PrimitiveTypes.Int64},
}

func TestReadTransitions(t *testing.T) {
	ts, err := ReadTransitions(reader(t, transitionFields,
		[]any{nil, "email", true, 3}, []any{"email", nil, true, 2}, []any{"email", nil, false, 1}, []any{"email", "email", false, 4}))
	require.NoError(t, err)
	require.Equal(t, []Transition{
		{From: Start, To: "email", Count: 3}, {From: "email", To: Conversion, Count: 2},
		{From: "email", To: Null, Count: 1}, {From: "email", To: "email", Count: 4},
	}, ts)

	_, err = ReadTransitions(reader(t, transitionFields, []any{nil, "(start)", true, 1}))
	require.ErrorContains(t, err, "reserved")
	_, err = ReadTransitions(reader(t, transitionFields[:3]))
	require.ErrorContains(t, err, "no column transitions")
}

func TestReadSetStats(t *testing.T) {
	fields := []arrow.Field{
		{Name: "set_mask", Type: arrow.PrimitiveTypes.Int64}, {Name: "channel", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "conversions", Type: arrow.PrimitiveTypes.Int64}, {Name: "non_conversions", Type: arrow.PrimitiveTypes.Int64},
	}
	sets, err := ReadSetStats(reader(t, fields,
		[]any{3, "email", 5, 7}, []any{1, "display", 2, 0}, []any{3, "display", 5, 7}))
	require.NoError(t, err)
	require.Equal(t, []SetStats{
		{Channels: []string{"display"}, Conversions: 2},
		{Channels: []string{"display", "email"}, Conversions: 5, NonConversions: 7},
	}, sets)

	_, err = ReadSetStats(reader(t, fields, []any{3, "email", 5, 7}, []any{3, "display", 4, 7}))
	require.ErrorContains(t, err, "differing counts")
	_, err = ReadSetStats(reader(t, fields, []any{3, nil, 5, 7}))
	require.ErrorContains(t, err, "NULL channel")
}

func TestAllocate(t *testing.T) {
	conv, rev := Allocate(map[string]float64{"a": 0.25, "b": 0.75}, 8, 100)
	require.Equal(t, map[string]float64{"a": 2, "b": 6}, conv)
	require.Equal(t, map[string]float64{"a": 25, "b": 75}, rev)
}
