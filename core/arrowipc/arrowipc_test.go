package arrowipc

import (
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// bigRecord has n rows whose string column grows with the row number, so
// row widths are uneven and a naive even split would overflow.
func bigRecord(t *testing.T, n int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", i/100))
		}
	}
	return b.NewRecordBatch()
}

func TestRoundTripSlicesUnderLimit(t *testing.T) {
	rec := bigRecord(t, 60000) // about 18 MB of strings, skewed to the end
	defer rec.Release()

	var msgs [][]byte
	enc := NewEncoder(rec.Schema(), func(m []byte) error {
		require.LessOrEqual(t, len(m), MaxMessageBytes)
		msgs = append(msgs, append([]byte(nil), m...))
		return nil
	})
	require.NoError(t, enc.Write(rec))
	require.NoError(t, enc.Close())
	require.Greater(t, len(msgs), 5, "an 18 MB record must be cut into several messages")

	i := 0
	r, err := ipc.NewReaderFromMessageReader(NewBytesMessageReader(func() ([]byte, error) {
		if i == len(msgs) {
			return nil, io.EOF
		}
		i++
		return msgs[i-1], nil
	}))
	require.NoError(t, err)
	defer r.Release()
	var row int64
	for r.Next() {
		got := r.RecordBatch()
		for j := 0; j < int(got.NumRows()); j++ {
			require.Equal(t, row, got.Column(0).(*array.Int64).Value(j))
			require.Equal(t, rec.Column(1).IsNull(int(row)), got.Column(1).IsNull(j))
			if !got.Column(1).IsNull(j) {
				require.Equal(t, rec.Column(1).(*array.String).Value(int(row)), got.Column(1).(*array.String).Value(j))
			}
			row++
		}
	}
	require.NoError(t, r.Err())
	require.Equal(t, rec.NumRows(), row)
}

func TestEmptyStreamCarriesSchema(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.FixedWidthTypes.Date32}}, nil)
	msg, err := SchemaBytes(schema)
	require.NoError(t, err)
	got, err := ParseSchema(msg)
	require.NoError(t, err)
	require.True(t, schema.Equal(got), "got %s", got)
}
