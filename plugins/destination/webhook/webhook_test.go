package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/webhook"
	"github.com/segflow/segflow/plugins/destination/webhook/webhookstandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return webhook.New() })
	os.Exit(m.Run())
}

const secret = "whsec-0123456789abcdef"

var (
	standinsMu sync.Mutex
	standins   = map[string]*webhookstandin.Server{}
)

func standinFor(t testing.TB, config string) *webhookstandin.Server {
	var c webhook.Config
	require.NoError(t, json.Unmarshal([]byte(config), &c))
	standinsMu.Lock()
	defer standinsMu.Unlock()
	s := standins[c.URL]
	require.NotNil(t, s, "no stand-in at %s", c.URL)
	return s
}

func newStandin(t testing.TB, o webhookstandin.Options) *webhookstandin.Server {
	s := webhookstandin.New(o)
	standinsMu.Lock()
	standins[s.URL()] = s
	standinsMu.Unlock()
	t.Cleanup(func() {
		s.Close()
		standinsMu.Lock()
		delete(standins, s.URL())
		standinsMu.Unlock()
	})
	return s
}

func TestConformance(t *testing.T) {
	opts := pluginstest.DestinationOptions{
		Config: func(t testing.TB) string {
			// The receiver allows more than the sender asks for: pacing
			// is the sender's job, 429s are the storm test's.
			s := newStandin(t, webhookstandin.Options{Secret: secret, RequestsPerSecond: 2000, Burst: 200, RejectEmail: "bounce@example.com"})
			return fmt.Sprintf(`{"url": %q, "secret": %q, "batch_size": 1000, "requests_per_second": 1000, "concurrency": 8}`, s.URL(), secret)
		},
		BadConfig: `{"url": "ftp://example.com/hook", "secret": "0123456789abcdef"}`,
		BadField:  "url",
		Read: func(t testing.TB, config, segment string) []pluginstest.Record {
			var out []pluginstest.Record
			for key, attrs := range standinFor(t, config).Records(segment) {
				r := pluginstest.Record{"customer_id": key}
				for _, col := range []string{"email", "score", "note"} {
					if v, ok := attrs[col]; ok && v != nil {
						r[col] = fmt.Sprint(v)
					} else {
						r[col] = ""
					}
				}
				out = append(out, r)
			}
			return out
		},
		Reject: &pluginstest.Reject{Email: "bounce@example.com", Code: "invalid_email"},
		Counts: func(t testing.TB, config string) pluginstest.StandinCounts {
			s := standinFor(t, config)
			return pluginstest.StandinCounts{Accepted: s.Accepted.Load(), Duplicates: s.Duplicates.Load(), Throttled: s.Refused()}
		},
		Storm: func(t testing.TB, config string) func() { return standinFor(t, config).StartStorm() },
	}
	pluginstest.RunDestination(t, pluginstest.DirectDestination(webhook.New), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(webhook.New), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

// TestVerifyAgainstIndependentHMAC signs with crypto/hmac directly, as a
// receiver in another language would, and checks webhook.Verify accepts it and
// rejects tampering, staleness and a wrong secret.
func TestVerifyAgainstIndependentHMAC(t *testing.T) {
	body := []byte(`{"batch_id":"b-1","segment":"vip","operation":"upsert","records":[]}`)
	ts := "1767225600" // 2026-01-01T00:00:00Z
	mac := hmac.New(sha256.New, []byte("s3cret-s3cret-s3cret"))
	mac.Write([]byte(ts + "." + string(body)))
	sig := "v1=" + hex.EncodeToString(mac.Sum(nil))
	now := time.Date(2026, 1, 1, 0, 3, 0, 0, time.UTC)

	require.NoError(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), ts, body, sig, now, 5*time.Minute))
	require.NoError(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), ts, body, "v1=00ff, "+sig, now, 5*time.Minute), "one of several signatures matches")
	require.ErrorIs(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), ts, append(body, ' '), sig, now, 5*time.Minute), webhook.ErrBadSignature)
	require.ErrorIs(t, webhook.Verify([]byte("other-secret-other"), ts, body, sig, now, 5*time.Minute), webhook.ErrBadSignature)
	require.ErrorIs(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), ts, body, strings.TrimPrefix(sig, "v1="), now, 5*time.Minute), webhook.ErrBadSignature, "the v1= prefix is part of the signature")
	require.ErrorIs(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), ts, body, sig, now.Add(3*time.Minute), 5*time.Minute), webhook.ErrStale, "6 minutes late")
	require.ErrorIs(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), ts, body, sig, now.Add(-9*time.Minute), 5*time.Minute), webhook.ErrStale, "6 minutes early")
	require.ErrorIs(t, webhook.Verify([]byte("s3cret-s3cret-s3cret"), "yesterday", body, sig, now, 5*time.Minute), webhook.ErrBadTimestamp)
}

// TestRequestShape checks one request's body and headers against the
// documented shape, worked by hand.
func TestRequestShape(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
	}
	reqs := make(chan got, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- got{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	d := webhook.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(
		`{"url": %q, "secret": %q, "headers": {"Authorization": "Bearer tok-123"}, "attributes": {"score": "rfm_score", "note": "-"}, "phone_column": "phone", "default_country_code": "44"}`,
		srv.URL+"/in", secret))))

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{42, 43}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{" Ann@Example.COM", ""}, []bool{true, false})
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"020 7946 0018", ""}, []bool{true, false})
	b.Field(3).(*array.Int64Builder).AppendValues([]int64{555, 0}, []bool{true, false})
	b.Field(4).(*array.StringBuilder).AppendValues([]string{"dropped", "dropped"}, nil)
	rec := b.NewRecordBatch()

	ops := make(chan core.Op, 1)
	ops <- core.Op{Kind: core.Upsert, Seq: 7, Batch: rec}
	close(ops)
	var acks []core.Ack
	_, err := core.SplitBatches(d).Write(context.Background(), core.WriteHeader{Segment: "vip", Schema: schema, KeyColumn: "customer_id"}, ops,
		func(a ...core.Ack) { acks = append(acks, a...) })
	require.NoError(t, err)
	require.Len(t, acks, 2)

	r := <-reqs
	var body map[string]any
	require.NoError(t, json.Unmarshal(r.body, &body))
	batchID, _ := body["batch_id"].(string)
	require.NotEmpty(t, batchID)
	want := map[string]any{
		"batch_id":  batchID,
		"segment":   "vip",
		"operation": "upsert",
		"records": []any{
			map[string]any{"key": "42", "attributes": map[string]any{
				"customer_id": 42.0, "email": "ann@example.com", "phone": "+442079460018", "rfm_score": 555.0}},
			map[string]any{"key": "43", "attributes": map[string]any{"customer_id": 43.0}},
		},
	}
	require.Equal(t, want, body)
	require.Equal(t, batchID, r.header.Get("X-Segflow-Batch-Id"))
	require.Equal(t, "Bearer tok-123", r.header.Get("Authorization"))
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	ts := r.header.Get("X-Segflow-Timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.body)))
	require.Equal(t, "v1="+hex.EncodeToString(mac.Sum(nil)), r.header.Get("X-Segflow-Signature"))
}

// TestRejectedAndRetried: a receiver that answers 503 once, then 200
// with a rejected list, gets the batch re-sent with the same batch id and
// a fresh signature, and the listed record fails with its reason.
func TestRejectedAndRetried(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderTimestamp), body, r.Header.Get(webhook.HeaderSignature), time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		ids = append(ids, r.Header.Get(webhook.HeaderBatchID))
		n := len(ids)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"rejected": [{"key": "2", "reason": "unknown customer", "code": "unknown", "retryable": true}]}`))
	}))
	defer srv.Close()
	d := webhook.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"url": %q, "secret": %q}`, srv.URL, secret))))
	acks := writeIDs(t, d, 1, 2, 3)
	require.Len(t, acks, 3)
	require.Nil(t, acks[0].Err)
	require.Equal(t, &core.RecordError{Code: "unknown", Message: "unknown customer", Retryable: true}, acks[1].Err)
	require.Nil(t, acks[2].Err)
	require.Len(t, ids, 2)
	require.Equal(t, ids[0], ids[1], "a retry keeps its batch id")
}

// TestBadRequestRefusesRecords: a 400 refuses the batch's records
// permanently; a 401 fails the write; neither message carries the secret
// or the configured Authorization header.
func TestBadRequestRefusesRecords(t *testing.T) {
	status := http.StatusBadRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error": "bad payload, got auth %s"}`, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	d := webhook.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"url": %q, "secret": %q, "headers": {"Authorization": "Bearer very-secret-token"}}`, srv.URL, secret))))
	acks := writeIDs(t, d, 1)
	require.NotNil(t, acks[0].Err)
	require.Equal(t, "http_400", acks[0].Err.Code)
	require.False(t, acks[0].Err.Retryable)
	require.NotContains(t, acks[0].Err.Message, "very-secret-token")
	require.Contains(t, acks[0].Err.Message, "bad payload")

	status = http.StatusUnauthorized
	_, err := write(d, 1)
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), "very-secret-token")
	err = d.TestConnection(context.Background())
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), "very-secret-token")
	require.NotContains(t, err.Error(), secret)
}

func TestConfigErrorsNameTheField(t *testing.T) {
	err := webhook.New().Configure(context.Background(), []byte(`{"url": "https://example.com/h", "secret": "short", "batch_size": 20000, "concurrency": -1, "attributes": {"score": ""}, "default_country_code": "0x", "timeout": "soon"}`))
	var fields core.FieldErrors
	require.ErrorAs(t, err, &fields)
	var names []string
	for _, f := range fields {
		names = append(names, f.Field)
	}
	require.ElementsMatch(t, []string{"secret", "batch_size", "concurrency", "attributes", "default_country_code", "timeout"}, names)
	require.NotContains(t, err.Error(), "short", "the secret's value is not echoed")
	require.ErrorContains(t, webhook.New().Configure(context.Background(), []byte(`{"url": "https://x.example/h", "secret": "0123456789abcdef", "extra": 1}`)), "extra: unknown field")
}

func TestInfoReportsConfiguredLimits(t *testing.T) {
	d := webhook.New()
	require.NoError(t, d.Configure(context.Background(), []byte(`{"url": "https://x.example/h", "secret": "0123456789abcdef", "batch_size": 250, "requests_per_second": 5, "concurrency": 2}`)))
	info, err := d.Info(context.Background())
	require.NoError(t, err)
	require.True(t, info.Capabilities.SupportsRemove)
	require.Equal(t, int64(250), info.Capabilities.MaxBatchRecords)
	require.Equal(t, core.RateLimit{RequestsPerSecond: 5, Burst: 1, Concurrency: 2}, info.Capabilities.RateLimit)
	out, err := d.Outputs(context.Background(), "vip")
	require.NoError(t, err)
	require.Equal(t, []string{`https://x.example/h (segment "vip")`}, out)
}

var idSchema = arrow.NewSchema([]arrow.Field{{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func write(d core.Destination, ids ...int64) ([]core.Ack, error) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues(ids, nil)
	col := b.NewArray()
	rec := array.NewRecordBatch(idSchema, []arrow.Array{col}, int64(len(ids)))
	col.Release()
	ops := make(chan core.Op, 1)
	ops <- core.Op{Kind: core.Upsert, Seq: 1, Batch: rec}
	close(ops)
	var acks []core.Ack
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := core.SplitBatches(d).Write(ctx, core.WriteHeader{Segment: "s", Schema: idSchema, KeyColumn: "customer_id"}, ops,
		func(a ...core.Ack) { acks = append(acks, a...) })
	return acks, err
}

// writeIDs writes one batch and returns its acks by row.
func writeIDs(t *testing.T, d core.Destination, ids ...int64) []core.Ack {
	acks, err := write(d, ids...)
	require.NoError(t, err)
	out := make([]core.Ack, len(ids))
	for _, a := range acks {
		out[a.Index] = a
	}
	return out
}
