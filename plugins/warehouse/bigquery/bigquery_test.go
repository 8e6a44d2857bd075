//go:build duckdb_arrow

package bigquery

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/pluginstest"
	"github.com/segflow/segflow/plugins/warehouse/bigquery/bqstandin"
)

func TestMain(m *testing.M) {
	pluginstest.ServeIfChild(func() core.Warehouse { return New() })
	os.Exit(m.Run())
}

func startStandin(t testing.TB, opts bqstandin.Options) *bqstandin.Server {
	s, err := bqstandin.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// open configures a plugin, in-process or behind the plugin boundary.
func open(t *testing.T, o pluginstest.Opener, s *bqstandin.Server, extra string) core.Warehouse {
	cfg := s.PluginConfig("segflow")
	if extra != "" {
		cfg = strings.TrimSuffix(cfg, "}") + "," + extra + "}"
	}
	w := o.Open(t)
	require.NoError(t, w.Configure(context.Background(), json.RawMessage(cfg)))
	return w
}

func direct() pluginstest.Opener { return pluginstest.Direct(New) }

func TestConformance(t *testing.T) {
	for _, o := range []pluginstest.Opener{direct(), pluginstest.InProcessGRPC(New), pluginstest.Subprocess()} {
		s := startStandin(t, bqstandin.Options{})
		pluginstest.RunWarehouse(t, o, pluginstest.Options{
			Config:    s.PluginConfig("segflow"),
			BadConfig: `{"project": "standin-project", "dataset": "segflow", "priority": "urgent"}`,
			BadField:  "priority",
		})
		for _, j := range s.Jobs() {
			if j.SQL == pluginstest.KnownDialects["bigquery"].Series(1_000_000) {
				require.Greater(t, s.Count(bqstandin.CountReadRowsMessages), 20, "the large result came in many ReadRows messages")
			}
		}
	}
}

// sumSeries reads a series of n ids and checks it arrived whole.
func sumSeries(t *testing.T, w core.Warehouse, n int) error {
	rdr, err := w.Query(context.Background(), pluginstest.KnownDialects["bigquery"].Series(n))
	if err != nil {
		return err
	}
	defer rdr.Release()
	var rows, sum int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rows += rec.NumRows()
		for i := 0; i < int(rec.NumRows()); i++ {
			v, err := core.Int64At(rec.Column(0), i)
			require.NoError(t, err)
			sum += v
		}
	}
	if err := rdr.Err(); err != nil {
		return err
	}
	require.Equal(t, int64(n), rows)
	require.Equal(t, int64(n)*int64(n-1)/2, sum)
	return nil
}

func TestTransientErrorsAreRetried(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	w := open(t, direct(), s, "")

	// 503s from jobs.insert, jobs.get and getQueryResults are retried by
	// the client.
	s.FailNext(bqstandin.RouteJobsInsert, 2, 503, "backendError")
	s.FailNext(bqstandin.RouteGetQueryResults, 2, 503, "backendError")
	s.FailNext(bqstandin.RouteTablesGet, 1, 503, "backendError")
	rows, err := pluginstest.ReadAll(context.Background(), w, "SELECT 7 AS x")
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"x": int64(7)}}, rows)
	require.Equal(t, 3, s.Count(bqstandin.RouteJobsInsert))
	require.GreaterOrEqual(t, s.Count(bqstandin.RouteGetQueryResults), 3)

	// A job that itself failed with backendError runs again.
	s.FailNextJobs(1, "backendError")
	rows, err = pluginstest.ReadAll(context.Background(), w, "SELECT 8 AS x")
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"x": int64(8)}}, rows)
	jobs := s.Jobs()
	require.Equal(t, "backendError", jobs[len(jobs)-2].ErrorReason)
	require.Empty(t, jobs[len(jobs)-1].ErrorReason)
}

func TestPermanentErrorReachesCaller(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	for _, o := range []pluginstest.Opener{direct(), pluginstest.Subprocess()} {
		t.Run(o.Name, func(t *testing.T) {
			w := open(t, o, s, "")
			_, err := w.Query(context.Background(), "SELECT 1 AS a,\n  no_such_column\nFROM (SELECT 1 AS b) t")
			var se *core.SQLError
			require.ErrorAs(t, err, &se)
			require.Equal(t, 2, se.Line)
			require.Equal(t, 3, se.Column)
			require.Contains(t, se.Message, "no_such_column")
			require.Contains(t, se.Message, "at [2:3]", "BigQuery's own message reaches the caller")

			_, err = w.Execute(context.Background(), "INSERT INTO no_such_table VALUES (1)")
			require.ErrorAs(t, err, &se)
		})
	}
}

func TestAuthErrorsSaySo(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	w := open(t, direct(), s, "")
	s.FailNext(bqstandin.RouteJobsInsert, 1, 403, "accessDenied")
	_, err := w.Query(context.Background(), "SELECT 1 AS x")
	require.ErrorContains(t, err, "permission denied")
	require.ErrorContains(t, err, "BigQuery Job User")

	s.FailNext(bqstandin.RouteDatasetsGet, 1, 401, "authError")
	require.ErrorContains(t, w.TestConnection(context.Background()), "authentication failed")
}

func TestDroppedReadRowsIsResumed(t *testing.T) {
	s := startStandin(t, bqstandin.Options{BatchRows: 10_000})
	w := open(t, direct(), s, "")
	// The first stream breaks after two messages with a retryable code;
	// the client reconnects at the offset it reached.
	s.DropReadRows(1, 2, codes.Unavailable)
	require.NoError(t, sumSeries(t, w, 100_000))
	// Two streams start at 0; the broken one reconnects where it stopped.
	offsets := s.ReadRowsOffsets()
	require.Len(t, offsets, 3)
	require.Positive(t, offsets[2], "reconnected at the offset reached: %v", offsets)
}

func TestDroppedReadRowsNeverShort(t *testing.T) {
	s := startStandin(t, bqstandin.Options{BatchRows: 10_000})
	w := open(t, direct(), s, "")

	// A stream that breaks with a code the client does not retry: the
	// client reports the error and reopens the stream at its offset, so
	// the result is either whole or an error, never short.
	for range 3 {
		s.DropReadRows(1, 1, codes.DataLoss)
		if err := sumSeries(t, w, 100_000); err != nil {
			require.ErrorContains(t, err, "stream dropped")
		}
	}

	// A stream that cannot be reopened: the result fails.
	s.DropReadRows(1, 1, codes.DataLoss)
	s.FailNextRPC(bqstandin.MethodReadRows, 1000, codes.NotFound)
	err := sumSeries(t, w, 100_000)
	require.Error(t, err)
	require.True(t, errors.Is(err, core.ErrIncompleteResult) || strings.Contains(err.Error(), "NotFound") ||
		strings.Contains(err.Error(), "stream dropped"), "got %v", err)
}

func TestCancellationCancelsTheJob(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	s.SetQueryDelay(time.Minute)
	for _, o := range []pluginstest.Opener{direct(), pluginstest.Subprocess()} {
		t.Run(o.Name, func(t *testing.T) {
			w := open(t, o, s, "")
			before := s.Count(bqstandin.RouteJobsCancel)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := w.Query(ctx, "SELECT 1 AS x")
			require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
			require.Eventually(t, func() bool { return s.Count(bqstandin.RouteJobsCancel) > before }, 10*time.Second, 20*time.Millisecond)
			jobs := s.Jobs()
			last := jobs[len(jobs)-1]
			require.True(t, last.Cancelled)
			require.Eventually(t, func() bool {
				jobs := s.Jobs()
				return jobs[len(jobs)-1].State == "DONE"
			}, 10*time.Second, 20*time.Millisecond)
		})
	}
}

func TestDryRun(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	w := open(t, direct(), s, "")
	ctx := context.Background()
	_, err := w.Execute(ctx, "CREATE TABLE events (id INT64, kind STRING)")
	require.NoError(t, err)
	n, err := w.Execute(ctx, "INSERT INTO events SELECT id, 'x' FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS id")
	require.NoError(t, err)
	require.Equal(t, int64(1000), n)

	before := len(s.Jobs())
	bytes, err := w.DryRun(ctx, "SELECT kind, COUNT(*) FROM events WHERE id > ? GROUP BY kind", int64(3))
	require.NoError(t, err)
	require.Positive(t, bytes)
	require.Len(t, s.Jobs(), before, "a dry run runs nothing")

	_, err = w.DryRun(ctx, "SELECT nope FROM events")
	var se *core.SQLError
	require.ErrorAs(t, err, &se)
}

func TestRESTFallbackForSmallResults(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	w := open(t, direct(), s, "")

	// No read session: the client reads through REST, which the plugin
	// accepts for a small result.
	s.FailNextRPC(bqstandin.MethodCreateReadSession, 1, codes.PermissionDenied)
	rows, err := pluginstest.ReadAll(context.Background(), w, "SELECT id, CAST(id * 0.25 AS NUMERIC) AS q, TIMESTAMP '2024-02-29 13:45:30.123456' AS ts FROM UNNEST(GENERATE_ARRAY(1, 3)) AS id ORDER BY id")
	require.NoError(t, err)
	require.Len(t, rows, 3)
	require.Equal(t, "0.750000000", rows[2]["q"])
	require.Equal(t, time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC), rows[0]["ts"])

	s.FailNextRPC(bqstandin.MethodCreateReadSession, 1, codes.PermissionDenied)
	err = sumSeries(t, w, 20_000)
	require.ErrorContains(t, err, "Storage Read API is not available")
}

func TestNumericArrivesAsDecimal38_9(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	w := open(t, direct(), s, "")
	rdr, err := w.Query(context.Background(), "SELECT CAST(123.45 AS NUMERIC) AS d, TIMESTAMP '2024-01-01 00:00:00' AS ts, CAST('2024-01-01 10:00:00' AS DATETIME) AS dtm")
	require.NoError(t, err)
	defer rdr.Release()
	require.Equal(t, &arrow.Decimal128Type{Precision: 38, Scale: 9}, rdr.Schema().Field(0).Type)
	require.Equal(t, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, rdr.Schema().Field(1).Type)
	require.Equal(t, &arrow.TimestampType{Unit: arrow.Microsecond}, rdr.Schema().Field(2).Type)
	require.True(t, rdr.Next())
	require.Equal(t, "123.450000000", core.ValueAt(rdr.RecordBatch().Column(0), 0))
}

func TestJobSettingsReachBigQuery(t *testing.T) {
	s := startStandin(t, bqstandin.Options{})
	w := open(t, direct(), s, `"labels": {"team": "growth"}, "maximum_bytes_billed": 1000000, "priority": "batch"`)
	_, err := pluginstest.ReadAll(context.Background(), w, "SELECT ? AS a, ? AS b", nil, "x")
	require.NoError(t, err)
	jobs := s.Jobs()
	job := jobs[len(jobs)-1]
	require.Equal(t, map[string]string{"team": "growth"}, job.Labels)
	require.Equal(t, int64(1000000), job.MaximumBytesBilled)
	require.Equal(t, "BATCH", job.Priority)
	require.Equal(t, "segflow", job.DefaultDataset)
	require.Equal(t, "SELECT NULL AS a, ? AS b", job.SQL, "a nil parameter is written as NULL")

	at := time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)
	rows, err := pluginstest.ReadAll(context.Background(), w, "SELECT ? AS t, ? AS f", at, 2.5)
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"t": at, "f": 2.5}}, rows)
}

func TestConfigErrorsNameTheField(t *testing.T) {
	key := t.TempDir() + "/key.json"
	require.NoError(t, os.WriteFile(key, []byte(`{"type": "authorized_user"}`), 0o600))
	cases := map[string]string{
		`{"dataset": "d"}`: "project",
		`{"project": "Not_A_Project", "dataset": "d"}`:                                 "project",
		`{"project": "my-project"}`:                                                    "dataset",
		`{"project": "my-project", "dataset": "d", "priority": "low"}`:                 "priority",
		`{"project": "my-project", "dataset": "d", "labels": {"Team": "x"}}`:           "labels.Team",
		`{"project": "my-project", "dataset": "d", "maximum_bytes_billed": -1}`:        "maximum_bytes_billed",
		`{"project": "my-project", "dataset": "d", "maximum_bytes_billed": "lots"}`:    "maximum_bytes_billed",
		`{"project": "my-project", "dataset": "d", "credentials_file": "` + key + `"}`: "credentials_file",
		`{"project": "my-project", "dataset": "d", "endpoint": "http://127.0.0.1:1"}`:  "storage_endpoint",
		`{"project": "my-project", "dataset": "d", "projet": "x"}`:                     "projet",
	}
	for cfg, field := range cases {
		err := New().Configure(context.Background(), json.RawMessage(cfg))
		var fields core.FieldErrors
		require.ErrorAs(t, err, &fields, cfg)
		names := []string{}
		for _, f := range fields {
			names = append(names, f.Field)
		}
		require.Contains(t, names, field, cfg)
	}
}

func TestBindWritesNilAsNULL(t *testing.T) {
	sql, params, err := bind("SELECT '?', `a?`, ? -- ?\n, \"\"\"?\"\"\", ?, ? /* ? */", []any{int64(1), nil, "x"})
	require.NoError(t, err)
	require.Equal(t, "SELECT '?', `a?`, ? -- ?\n, \"\"\"?\"\"\", NULL, ? /* ? */", sql)
	require.Len(t, params, 2)
	_, _, err = bind("SELECT ?", nil)
	require.Error(t, err)
}

// BenchmarkQueryThroughPlugin reads a 1M-row result from the stand-in
// through a plugin subprocess.
func BenchmarkQueryThroughPlugin(b *testing.B) {
	cfg, stop, err := bqstandin.StartForBench()
	require.NoError(b, err)
	defer stop()
	w := pluginstest.Subprocess().Open(b)
	require.NoError(b, w.Configure(context.Background(), json.RawMessage(cfg)))
	sql := pluginstest.KnownDialects["bigquery"].Series(1_000_000)
	var rows int64
	for b.Loop() {
		rdr, err := w.Query(context.Background(), sql)
		require.NoError(b, err)
		for rdr.Next() {
			rows += rdr.RecordBatch().NumRows()
		}
		require.NoError(b, rdr.Err())
		rdr.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
