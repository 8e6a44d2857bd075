package file

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/arrowipc"
	"github.com/segflow/segflow/plugins/pluginstest"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return New("") })
	os.Exit(m.Run())
}

func newDest() *Destination { return New("") }

func TestConformance(t *testing.T) {
	opts := pluginstest.DestinationOptions{
		Config: func(t testing.TB) string {
			return `{"dir": "` + t.TempDir() + `", "formats": ["csv", "parquet"]}`
		},
		BadConfig: `{"formats": ["xls"]}`,
		BadField:  "dir",
		Read:      readBack,
	}
	pluginstest.RunDestination(t, pluginstest.DirectDestination(newDest), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(newDest), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

// readBack reads the segment's CSV file, and its Parquet file when the
// config has one, which must hold the same records.
func readBack(t testing.TB, config, segment string) []pluginstest.Record {
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(config), &cfg))
	recs := readCSV(t, filepath.Join(cfg.Dir, segment+".csv"))
	for _, f := range cfg.Formats {
		if f == "parquet" {
			require.Equal(t, recs, readParquet(t, filepath.Join(cfg.Dir, segment+".parquet")), "CSV and Parquet hold the same records")
		}
	}
	return recs
}

func readCSV(t testing.TB, path string) []pluginstest.Record {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows, "a CSV file has a header")
	var out []pluginstest.Record
	for _, row := range rows[1:] {
		r := pluginstest.Record{}
		for i, col := range rows[0] {
			r[col] = row[i]
		}
		out = append(out, r)
	}
	return out
}

func readParquet(t testing.TB, path string) []pluginstest.Record {
	pf, err := file.OpenParquetFile(path, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	require.NoError(t, err)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	require.NoError(t, err)
	defer rr.Release()
	var out []pluginstest.Record
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			r := pluginstest.Record{}
			for c, f := range rec.Schema().Fields() {
				r[f.Name] = core.FormatValue(core.ValueAt(rec.Column(c), i))
			}
			out = append(out, r)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		require.NoError(t, err)
	}
	return out
}

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

func configured(t *testing.T, dir string, formats string) core.Destination {
	d := core.SplitBatches(New(""))
	require.NoError(t, d.Configure(context.Background(), []byte(`{"dir":"`+dir+`","formats":`+formats+`}`)))
	return d
}

func TestWritesCSVAndParquetWithSameContent(t *testing.T) {
	dir := t.TempDir()
	d := configured(t, dir, `["csv","parquet"]`)
	rdr, err := array.NewRecordReader(schema, members(t, 3, 100))
	require.NoError(t, err)

	res, err := core.UpsertAll(context.Background(), d, "champions", "customer_id", rdr)
	require.NoError(t, err)
	require.Equal(t, int64(300), res.Acknowledged)
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

	_, err = core.UpsertAll(context.Background(), d, "s", "customer_id", &failingReader{RecordReader: rdr})
	require.ErrorContains(t, err, "stream broke")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "previous snapshot\n", string(got))
	requireNoTempFiles(t, dir)
}

func requireNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotRegexp(t, `\.tmp$`, e.Name(), "no temporary file is left behind")
	}
}

// TestHostGoneWithoutEndCommitsNothing speaks the protocol by hand: a
// host that closes its side without the end message has abandoned the
// write, so the plugin must not rename the half-written file into place.
func TestHostGoneWithoutEndCommitsNothing(t *testing.T) {
	dir := t.TempDir()
	client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		sdk.DestinationPluginName: &sdk.DestinationPlugin{Impl: New("")},
	})
	defer client.Close()
	raw, err := client.Dispense(sdk.DestinationPluginName)
	require.NoError(t, err)
	rpc := raw.(destinationv1.DestinationClient)
	ctx := context.Background()
	_, err = rpc.Configure(ctx, &destinationv1.ConfigureRequest{ConfigJson: []byte(`{"dir":"` + dir + `"}`)})
	require.NoError(t, err)

	stream, err := rpc.Write(ctx)
	require.NoError(t, err)
	schemaMsg, err := arrowipc.SchemaBytes(schema)
	require.NoError(t, err)
	require.NoError(t, stream.Send(&destinationv1.WriteRequest{Msg: &destinationv1.WriteRequest_Header{Header: &destinationv1.WriteHeader{
		Segment: "s", ArrowSchema: schemaMsg, KeyColumn: "customer_id",
	}}}))
	rec := members(t, 1, 10)[0]
	b, err := sdk.NewBatchEncoder(schema).Encode(rec)
	require.NoError(t, err)
	require.NoError(t, stream.Send(&destinationv1.WriteRequest{Msg: &destinationv1.WriteRequest_Batch{Batch: &destinationv1.Batch{
		Seq: 1, Operation: destinationv1.Operation_OPERATION_UPSERT, ArrowIpc: b, NumRecords: 10,
	}}}))
	require.NoError(t, stream.CloseSend())
	var acked int
	for {
		resp, err := stream.Recv()
		if err != nil {
			require.Equal(t, codes.Canceled, status.Code(err), "got %v", err)
			break
		}
		require.Nil(t, resp.GetSummary(), "no summary for an abandoned write")
		acked += len(resp.GetAck().GetIndexes())
	}
	require.LessOrEqual(t, acked, 10, "acks, if any, are provisional")
	_, err = os.Stat(filepath.Join(dir, "s.csv"))
	require.True(t, errors.Is(err, os.ErrNotExist), "an abandoned snapshot is not committed")
	requireNoTempFiles(t, dir)
}

func TestCancelledWriteLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	d := configured(t, dir, `["csv","parquet"]`)
	ctx, cancel := context.WithCancel(context.Background())
	ops := make(chan core.Op)
	go func() {
		for i, rec := range members(t, 3, 10) {
			ops <- core.Op{Kind: core.Upsert, Seq: int64(i + 1), Batch: rec}
		}
		cancel() // abandon: ops stays open
	}()
	_, err := d.Write(ctx, core.WriteHeader{Segment: "s", Schema: schema, KeyColumn: "customer_id"}, ops, func(...core.Ack) {})
	require.ErrorIs(t, err, context.Canceled)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "neither a file nor a temporary file")
}

func TestConfigErrorsNameTheField(t *testing.T) {
	err := New("").Configure(context.Background(), []byte(`{"formats":["xls"]}`))
	require.ErrorContains(t, err, "dir: is required")
	require.ErrorContains(t, err, `formats: unknown format "xls"`)
}

func TestRelativeDirResolvesAgainstBaseDir(t *testing.T) {
	base := t.TempDir()
	d := New(base)
	require.NoError(t, d.Configure(context.Background(), []byte(`{"dir":"out/segments"}`)))
	out, err := d.Outputs(context.Background(), "vip")
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(base, "out", "segments", "vip.csv")}, out)
}
