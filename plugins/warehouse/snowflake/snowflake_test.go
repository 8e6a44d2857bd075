//go:build duckdb_arrow

package snowflake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/pluginstest"
	"github.com/segflow/segflow/plugins/warehouse/snowflake/sfstandin"
)

func TestMain(m *testing.M) {
	pluginstest.ServeIfChild(func() core.Warehouse { return New() })
	os.Exit(m.Run())
}

func startStandin(t testing.TB, opts sfstandin.Options) *sfstandin.Server {
	s, err := sfstandin.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// withConfig returns the stand-in's plugin config with fields replaced.
func withConfig(t *testing.T, s *sfstandin.Server, set map[string]any) string {
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.PluginConfig()), &cfg))
	for k, v := range set {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	return string(b)
}

func open(t *testing.T, o pluginstest.Opener, cfg string) core.Warehouse {
	w := o.Open(t)
	require.NoError(t, w.Configure(context.Background(), json.RawMessage(cfg)))
	return w
}

func direct() pluginstest.Opener { return pluginstest.Direct(New) }

func TestConformance(t *testing.T) {
	for _, o := range []pluginstest.Opener{direct(), pluginstest.InProcessGRPC(New), pluginstest.Subprocess()} {
		// Small chunks, gzipped, so that the large result crosses many
		// chunk URLs.
		s := startStandin(t, sfstandin.Options{ChunkRows: 100_000, GzipChunks: true})
		pluginstest.RunWarehouse(t, o, pluginstest.Options{
			Config:    s.PluginConfig(),
			BadConfig: `{"account": "standin", "user": "u", "password": "p", "token": "t"}`,
			BadField:  "token",
		})
		for _, q := range s.Queries() {
			if q.SQL == pluginstest.KnownDialects["snowflake"].Series(1_000_000) {
				require.GreaterOrEqual(t, s.Count(sfstandin.RouteChunk), 9, "the large result came through chunk URLs")
			}
		}
	}
}

func countSeries(t *testing.T, w core.Warehouse, n int) {
	rdr, err := w.Query(context.Background(), pluginstest.KnownDialects["snowflake"].Series(n))
	require.NoError(t, err)
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
	require.NoError(t, rdr.Err())
	require.Equal(t, int64(n), rows)
	require.Equal(t, int64(n)*int64(n-1)/2, sum)
}

func TestTransientErrorsAreRetried(t *testing.T) {
	s := startStandin(t, sfstandin.Options{ChunkRows: 20_000})
	w := open(t, direct(), s.PluginConfig())
	require.NoError(t, w.TestConnection(context.Background()))

	before := s.Count(sfstandin.RouteQuery)
	s.FailNext(sfstandin.RouteQuery, 1, 503)
	rows, err := pluginstest.ReadAll(context.Background(), w, "SELECT 7 AS x")
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"x": int64(7)}}, rows)
	require.Equal(t, before+2, s.Count(sfstandin.RouteQuery))

	// A chunk download that fails once is fetched again.
	s.FailNext(sfstandin.RouteChunk, 1, 503)
	countSeries(t, w, 100_000)
}

func TestPermanentErrorReachesCaller(t *testing.T) {
	s := startStandin(t, sfstandin.Options{})
	for _, o := range []pluginstest.Opener{direct(), pluginstest.Subprocess()} {
		t.Run(o.Name, func(t *testing.T) {
			w := open(t, o, s.PluginConfig())
			_, err := w.Query(context.Background(), "SELECT 1 AS a,\n  no_such_column\nFROM (SELECT 1 AS b) t")
			var se *core.SQLError
			require.ErrorAs(t, err, &se)
			require.Equal(t, 2, se.Line)
			require.Equal(t, 3, se.Column)
			require.Contains(t, se.Message, "SQL compilation error: error line 2 at position 2")
			require.Contains(t, se.Message, "no_such_column")

			_, err = w.Execute(context.Background(), "INSERT INTO no_such_table VALUES (1)")
			require.ErrorAs(t, err, &se)
		})
	}
}

func TestExpiredSessionIsRenewed(t *testing.T) {
	s := startStandin(t, sfstandin.Options{ProgressAfter: 200 * time.Millisecond})
	w := open(t, direct(), s.PluginConfig())
	ctx := context.Background()
	_, err := pluginstest.ReadAll(ctx, w, "SELECT 1 AS x")
	require.NoError(t, err)
	logins := len(s.Logins())

	// Between statements.
	s.ExpireSessions()
	rows, err := pluginstest.ReadAll(ctx, w, "SELECT 2 AS x")
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"x": int64(2)}}, rows)
	require.Equal(t, 1, s.Count(sfstandin.RouteToken))

	// While the driver polls a running statement's result.
	s.SetQueryDelay(time.Second)
	go func() {
		time.Sleep(500 * time.Millisecond)
		s.ExpireSessions()
	}()
	rows, err = pluginstest.ReadAll(ctx, w, "SELECT 3 AS x")
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"x": int64(3)}}, rows)
	require.Equal(t, 2, s.Count(sfstandin.RouteToken))
	require.Len(t, s.Logins(), logins, "renewed, not logged in again")
}

func TestLongStatementIsPolled(t *testing.T) {
	s := startStandin(t, sfstandin.Options{ProgressAfter: 100 * time.Millisecond})
	s.SetQueryDelay(700 * time.Millisecond)
	w := open(t, direct(), s.PluginConfig())
	rows, err := pluginstest.ReadAll(context.Background(), w, "SELECT 'done' AS x")
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"x": "done"}}, rows)
	require.GreaterOrEqual(t, s.Count(sfstandin.RouteResult), 2, "polled the result URL")
}

func TestCancellationAbortsTheStatement(t *testing.T) {
	s := startStandin(t, sfstandin.Options{ProgressAfter: 300 * time.Millisecond})
	for _, o := range []pluginstest.Opener{direct(), pluginstest.Subprocess()} {
		t.Run(o.Name, func(t *testing.T) {
			w := open(t, o, s.PluginConfig())
			require.NoError(t, w.TestConnection(context.Background()))
			s.SetQueryDelay(time.Minute)
			defer s.SetQueryDelay(0)
			before := s.Count(sfstandin.RouteAbort)
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			_, err := w.Query(ctx, "SELECT 1 AS x")
			require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
			require.Eventually(t, func() bool { return s.Count(sfstandin.RouteAbort) > before }, 10*time.Second, 20*time.Millisecond)
			require.Eventually(t, func() bool {
				qs := s.Queries()
				last := qs[len(qs)-1]
				return last.Aborted && last.Status == "ABORTED"
			}, 10*time.Second, 20*time.Millisecond)
		})
	}
}

func TestLargeResultComesInChunks(t *testing.T) {
	s := startStandin(t, sfstandin.Options{FirstChunkRows: 1000, ChunkRows: 50_000, GzipChunks: true})
	w := open(t, direct(), s.PluginConfig())
	countSeries(t, w, 300_000)
	require.Equal(t, 6, s.Count(sfstandin.RouteChunk)) // 1,000 inline, then 299,000 in 6 chunks
}

func TestLogins(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "rsa_key.p8")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	s := startStandin(t, sfstandin.Options{Password: "secret", PublicKey: &key.PublicKey, OAuthToken: "oauth-token"})
	ctx := context.Background()
	cases := []struct {
		name, auth string
		set        map[string]any
	}{
		{"password", "SNOWFLAKE", map[string]any{"password": "secret"}},
		{"key pair", "SNOWFLAKE_JWT", map[string]any{"password": nil, "private_key_file": keyFile}},
		{"oauth", "OAUTH", map[string]any{"password": nil, "token": "oauth-token"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := open(t, direct(), withConfig(t, s, c.set))
			require.NoError(t, w.TestConnection(ctx))
			logins := s.Logins()
			require.Equal(t, c.auth, logins[len(logins)-1].Authenticator)
		})
	}

	w := open(t, direct(), withConfig(t, s, map[string]any{"password": "wrong"}))
	err = w.TestConnection(ctx)
	require.ErrorContains(t, err, "login failed (390100)")

	s2 := startStandin(t, sfstandin.Options{PublicKey: &other.PublicKey})
	w = open(t, direct(), withConfig(t, s2, map[string]any{"password": nil, "private_key_file": keyFile}))
	require.ErrorContains(t, w.TestConnection(ctx), "login failed (390144)")
}

func TestSessionSettingsReachSnowflake(t *testing.T) {
	s := startStandin(t, sfstandin.Options{})
	w := open(t, direct(), withConfig(t, s, map[string]any{"role": "ANALYST", "query_tag": "segflow-test"}))
	_, err := pluginstest.ReadAll(context.Background(), w, "SELECT 1 AS x")
	require.NoError(t, err)
	login := s.Logins()[0]
	require.Equal(t, "STANDIN_WH", login.Warehouse)
	require.Equal(t, "ANALYST", login.Role)
	require.Equal(t, "segflow-test", login.QueryTag)
	qs := s.Queries()
	require.Equal(t, "segflow-test", qs[len(qs)-1].QueryTag)

	at := time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)
	rows, err := pluginstest.ReadAll(context.Background(), w, "SELECT ? AS t, ? AS f, ? AS n", at, 2.5, nil)
	require.NoError(t, err)
	require.Equal(t, []map[string]any{{"t": at, "f": 2.5, "n": nil}}, rows)
}

func TestTypesAndNames(t *testing.T) {
	s := startStandin(t, sfstandin.Options{})
	w := open(t, direct(), s.PluginConfig())
	rdr, err := w.Query(context.Background(), `SELECT CAST(12345678901234.5678 AS DECIMAL(20,4)) AS big, 3000000000 AS wide,
		CAST(NULL AS DECIMAL(5,1)) AS nd, TIMESTAMPTZ '2024-01-01 10:00:00+00' AS ltz, 1 AS "MixedCase"`)
	require.NoError(t, err)
	defer rdr.Release()
	sc := rdr.Schema()
	require.Equal(t, []string{"big", "wide", "nd", "ltz", "MixedCase"}, fieldNames(sc))
	require.Equal(t, &arrow.Decimal128Type{Precision: 20, Scale: 4}, sc.Field(0).Type)
	require.Equal(t, arrow.PrimitiveTypes.Int64, sc.Field(1).Type)
	require.Equal(t, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, sc.Field(3).Type)
	require.True(t, rdr.Next())
	rec := rdr.RecordBatch()
	require.Equal(t, "12345678901234.5678", core.ValueAt(rec.Column(0), 0))
	require.Equal(t, int64(3000000000), core.ValueAt(rec.Column(1), 0))
	require.Nil(t, core.ValueAt(rec.Column(2), 0))
	require.Equal(t, time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), core.ValueAt(rec.Column(3), 0))

	w = open(t, direct(), withConfig(t, s, map[string]any{"preserve_column_case": true}))
	rdr2, err := w.Query(context.Background(), "SELECT 1 AS plain")
	require.NoError(t, err)
	defer rdr2.Release()
	require.Equal(t, []string{"PLAIN"}, fieldNames(rdr2.Schema()))
}

func fieldNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func TestConfigErrorsNameTheField(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(bad, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), 0o600))
	cases := map[string]string{
		`{"user": "u", "password": "p"}`:                                                "account",
		`{"account": "https://x.snowflakecomputing.com", "user": "u", "password": "p"}`: "account",
		`{"account": "a", "password": "p"}`:                                             "user",
		`{"account": "a", "user": "u"}`:                                                 "password",
		`{"account": "a", "user": "u", "password": "p", "token": "t"}`:                  "token",
		`{"account": "a", "user": "u", "private_key_file": "` + bad + `"}`:              "private_key_file",
		`{"account": "a", "user": "u", "password": "p", "protocol": "ftp"}`:             "protocol",
		`{"account": "a", "user": "u", "password": "p", "port": "443"}`:                 "port",
		`{"account": "a", "user": "u", "password": "p", "wharehouse": "w"}`:             "wharehouse",
	}
	for cfg, field := range cases {
		err := New().Configure(context.Background(), json.RawMessage(cfg))
		var fields core.FieldErrors
		require.ErrorAs(t, err, &fields, cfg)
		var names []string
		for _, f := range fields {
			names = append(names, f.Field)
		}
		require.Contains(t, names, field, cfg)
		if field == "private_key_file" {
			require.True(t, strings.Contains(fields.Error(), "encrypted"), fields.Error())
		}
	}
}

// BenchmarkQueryThroughPlugin reads a 1M-row result from the stand-in
// through a plugin subprocess.
func BenchmarkQueryThroughPlugin(b *testing.B) {
	cfg, stop, err := sfstandin.StartForBench()
	require.NoError(b, err)
	defer stop()
	w := pluginstest.Subprocess().Open(b)
	require.NoError(b, w.Configure(context.Background(), json.RawMessage(cfg)))
	sql := pluginstest.KnownDialects["snowflake"].Series(1_000_000)
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
