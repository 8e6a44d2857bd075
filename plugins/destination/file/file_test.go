package file

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func members(t *testing.T, batches, perBatch int) []arrow.RecordBatch {
	var recs []arrow.RecordBatch
	for b := 0; b < batches; b++ {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < perBatch; i++ {
			id := b*perBatch + i
			rb.Field(0).(*array.Int64Builder).Append(int64(id))
			if id%5 == 0 {
				rb.Field(1).AppendNull()
			} else {
				rb.Field(1).(*array.StringBuilder).Append("c" + string(rune('a'+id%26)) + "@example.com")
			}
		}
		recs = append(recs, rb.NewRecordBatch())
		rb.Release()
	}
	return recs
}

func configured(t *testing.T, dir string, formats string) *Destination {
	d := New("")
	require.NoError(t, d.Configure(context.Background(), []byte(`{"dir":"`+dir+`","formats":`+formats+`}`)))
	return d
}

func TestWritesCSVAndParquetWithSameContent(t *testing.T) {
	dir := t.TempDir()
	d := configured(t, dir, `["csv","parquet"]`)
	recs := members(t, 3, 100)
	rdr, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)

	res, err := d.Write(context.Background(), "champions", rdr)
	require.NoError(t, err)
	require.Equal(t, int64(300), res.Records)
	require.ElementsMatch(t, []string{filepath.Join(dir, "champions.csv"), filepath.Join(dir, "champions.parquet")}, res.Outputs)

	f, err := os.Open(filepath.Join(dir, "champions.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"customer_id", "email"}, rows[0])
	require.Len(t, rows, 301)
	require.Equal(t, []string{"0", ""}, rows[1], "NULL email is an empty field")
	require.Equal(t, []string{"1", "cb@example.com"}, rows[2])

	pf, err := file.OpenParquetFile(filepath.Join(dir, "champions.parquet"), false)
	require.NoError(t, err)
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	defer tbl.Release()
	require.Equal(t, int64(300), tbl.NumRows())
	var sum int64
	for _, c := range tbl.Column(0).Data().Chunks() {
		for _, v := range c.(*array.Int64).Int64Values() {
			sum += v
		}
	}
	require.Equal(t, int64(299*300/2), sum)
}

// failingReader yields one batch and then fails, as a warehouse stream
// cut off mid-result would.
type failingReader struct {
	array.RecordReader
	n int
}

func (r *failingReader) Next() bool {
	r.n++
	return r.n == 1 && r.RecordReader.Next()
}
func (r *failingReader) Err() error { return errors.New("stream broke") }

func TestFailedStreamLeavesPreviousFileUntouched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.csv")
	require.NoError(t, os.WriteFile(path, []byte("previous snapshot\n"), 0o644))
	d := configured(t, dir, `["csv"]`)
	rdr, err := array.NewRecordReader(schema, members(t, 2, 10))
	require.NoError(t, err)

	_, err = d.Write(context.Background(), "s", &failingReader{RecordReader: rdr})
	require.ErrorContains(t, err, "stream broke")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "previous snapshot\n", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}

func TestConfigErrorsNameTheField(t *testing.T) {
	err := New("").Configure(context.Background(), []byte(`{"formats":["xls"]}`))
	require.ErrorContains(t, err, "dir: is required")
	require.ErrorContains(t, err, `formats: unknown format "xls"`)
}
