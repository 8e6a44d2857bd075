package rowmap

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "since", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func record(t *testing.T) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	t.Cleanup(b.Release)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{7, 8, 9, 10}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{" Ann@Example.COM ", "", "no-at-sign", "d@example.com"}, []bool{true, false, true, true})
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"020 7946 0018", "", "", "call me"}, []bool{true, false, false, true})
	b.Field(3).(*array.Int64Builder).AppendValues([]int64{555, 0, 1, 2}, []bool{true, false, true, true})
	day := arrow.Date32FromTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	b.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{day, day, day, day}, nil)
	b.Field(5).(*array.StringBuilder).AppendValues([]string{"x", "y", "z", "w"}, nil)
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

func TestRowsAndValues(t *testing.T) {
	spec := Spec{Attributes: map[string]string{"score": "rfm_score", "note": Drop}, EmailColumn: "email", PhoneColumn: "phone",
		DefaultCountryCode: "44", Skip: []string{"customer_id"}}
	b, err := spec.Bind(core.WriteHeader{Schema: schema, KeyColumn: "customer_id"})
	require.NoError(t, err)
	require.Equal(t, []string{"email", "phone", "rfm_score", "since"}, b.Fields)
	rec := record(t)

	r, rerr := b.Row(rec, 0)
	require.Nil(t, rerr)
	require.Equal(t, Row{Index: 0, Key: "7", Email: "ann@example.com", Phone: "+442079460018"}, r)
	require.Equal(t, map[string]any{"email": "ann@example.com", "phone": "+442079460018", "rfm_score": int64(555), "since": "2026-03-01"}, b.Values(rec, r))
	require.Equal(t, map[string]string{"email": "ann@example.com", "phone": "+442079460018", "rfm_score": "555", "since": "2026-03-01"}, b.TextValues(rec, r))
	require.Equal(t, "0.125", Text(0.125), "full precision")
	require.Equal(t, "true", Text(true))

	r, rerr = b.Row(rec, 1)
	require.Nil(t, rerr, "no email is fine unless required")
	require.Equal(t, map[string]any{"since": "2026-03-01"}, b.Values(rec, r), "NULLs are left out")

	_, rerr = b.Row(rec, 2)
	require.Equal(t, "invalid_email", rerr.Code)
	require.False(t, rerr.Retryable)
	_, rerr = b.Row(rec, 3)
	require.Equal(t, "invalid_phone", rerr.Code)

	spec.EmailRequired = true
	b, err = spec.Bind(core.WriteHeader{Schema: schema, KeyColumn: "customer_id"})
	require.NoError(t, err)
	_, rerr = b.Row(rec, 1)
	require.Equal(t, MissingEmailCode, rerr.Code)
}

func TestBindErrors(t *testing.T) {
	_, err := Spec{Attributes: map[string]string{"ltv": "LTV"}}.Bind(core.WriteHeader{Schema: schema, KeyColumn: "customer_id"})
	require.ErrorContains(t, err, `attribute mapping ltv -> LTV: the segment has no column "ltv"`)
	_, err = Spec{EmailColumn: "mail", EmailRequired: true}.Bind(core.WriteHeader{Schema: schema, KeyColumn: "customer_id"})
	require.ErrorContains(t, err, `no column "mail"`)
	require.Equal(t, []string{`"score" -> "": column and field must be non-empty (use "-" to drop a column)`}, CheckAttributes(map[string]string{"score": "", "a": "b"}))
}
