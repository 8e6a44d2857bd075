package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/klaviyo/klaviyostandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return New() })
	os.Exit(m.Run())
}

const rejectEmail = "fake@reject.example.com"

var standins sync.Map

func config(t testing.TB) string {
	s := klaviyostandin.New(klaviyostandin.Options{RejectEmail: rejectEmail, Burst: 50, Steady: 1000})
	t.Cleanup(s.Close)
	standins.Store(s.URL(), s)
	return fmt.Sprintf(`{"api_key": %q, "list_id": "LIST1", "base_url": %q, "batch_size": 1000,
		"poll_interval": "10ms", "burst_limit": 50, "steady_limit": 1000,
		"properties": {"score": "score", "note": "note"}}`, s.APIKey(), s.URL())
}

func standinOf(t testing.TB, cfg string) *klaviyostandin.Server {
	var c Config
	require.NoError(t, json.Unmarshal([]byte(cfg), &c))
	s, ok := standins.Load(c.BaseURL)
	require.True(t, ok)
	return s.(*klaviyostandin.Server)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// readBack returns the profiles in the list. Every segment shares the
// one list: a fresh stand-in per test keeps them apart.
func readBack(t testing.TB, cfg, _ string) []pluginstest.Record {
	var out []pluginstest.Record
	for _, p := range standinOf(t, cfg).ListProfiles("LIST1") {
		out = append(out, pluginstest.Record{
			"customer_id": p.ExternalID, "email": p.Email,
			"score": str(p.Properties["score"]), "note": str(p.Properties["note"]),
		})
	}
	return out
}

func TestConformance(t *testing.T) {
	opts := pluginstest.DestinationOptions{
		Config:       config,
		BadConfig:    `{"api_key": "pk_x", "list_id": "L", "batch_size": 10001}`,
		BadField:     "batch_size",
		Read:         readBack,
		Reject:       &pluginstest.Reject{Email: rejectEmail, Code: "invalid"},
		LargeRecords: 20_000,
		EmailKeyed:   true,
		Counts: func(t testing.TB, cfg string) pluginstest.StandinCounts {
			c := standinOf(t, cfg).Counts()
			return pluginstest.StandinCounts{Accepted: c.Accepted, Duplicates: c.Duplicates, Throttled: c.Throttled}
		},
		Storm: func(t testing.TB, cfg string) func() { return standinOf(t, cfg).Storm() },
	}
	pluginstest.RunDestination(t, pluginstest.DirectDestination(New), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(New), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

func TestConfigErrors(t *testing.T) {
	const key = "pk_secret_key_value"
	cases := map[string]string{
		`{"list_id": "L"}`:           "api_key",
		`{"api_key": "` + key + `"}`: "list_id",
		`{"api_key": "` + key + `", "list_id": "L", "revision": "latest"}`:        "revision",
		`{"api_key": "` + key + `", "list_id": "L", "poll_interval": "soon"}`:     "poll_interval",
		`{"api_key": "` + key + `", "list_id": "L", "default_country_code": "0"}`: "default_country_code",
		`{"api_key": "` + key + `", "list_id": "L", "segment_id": "x"}`:           "segment_id",
	}
	for cfg, field := range cases {
		err := New().Configure(context.Background(), json.RawMessage(cfg))
		var fe core.FieldErrors
		require.ErrorAs(t, err, &fe, cfg)
		require.Equal(t, field, fe[0].Field, cfg)
		require.NotContains(t, err.Error(), key)
	}
}

func TestConnectionErrorsNameTheProblem(t *testing.T) {
	s := klaviyostandin.New(klaviyostandin.Options{})
	defer s.Close()
	ctx := context.Background()
	const wrongKey = "pk_wrong_secret"
	d := New()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "LIST1", "base_url": %q}`, wrongKey, s.URL()))))
	err := d.TestConnection(ctx)
	require.ErrorContains(t, err, "API key was refused")
	require.NotContains(t, err.Error(), wrongKey)
	_, err = core.UpsertAll(ctx, core.SplitBatches(d), "seg", "customer_id", phoneReader(t))
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), wrongKey, "a failed write names no key")

	d = New()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "NOPE", "base_url": %q}`, s.APIKey(), s.URL()))))
	err = d.TestConnection(ctx)
	require.ErrorContains(t, err, `list "NOPE" not found`)
	require.NotContains(t, err.Error(), s.APIKey())
}

func TestProfileIndex(t *testing.T) {
	k, ok := profileIndex("/data/attributes/profiles/data/42/attributes/email")
	require.True(t, ok)
	require.Equal(t, 42, k)
	_, ok = profileIndex("/data/")
	require.False(t, ok)
}

// TestBurstAndSteadyLimitsKept writes under scaled-down limits (3 per
// second, 6 per 2 s) with one-record jobs: the stand-in would answer
// 429 to a request beyond either, and the destination must never draw
// one.
func TestBurstAndSteadyLimitsKept(t *testing.T) {
	s := klaviyostandin.New(klaviyostandin.Options{Burst: 3, Steady: 6, SteadyWindow: 2 * time.Second, PollsToComplete: 1})
	defer s.Close()
	d := core.SplitBatches(New())
	ctx := context.Background()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "LIST1", "base_url": %q,
		"batch_size": 1, "poll_interval": "1ms", "burst_limit": 3, "steady_limit": 6, "steady_window": "2s", "phone_column": "phone", "default_country_code": "44"}`, s.APIKey(), s.URL()))))
	start := time.Now()
	sum, err := core.UpsertAll(ctx, d, "seg", "customer_id", phoneReader(t))
	require.NoError(t, err)
	require.Equal(t, int64(9), sum.Acknowledged)
	// 9 jobs at 6 per 2 s: the 7th waits for the window, ≥ 2 s.
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second)
	require.Zero(t, s.Counts().Throttled, "no request drew a 429")
	profiles := s.ListProfiles("LIST1")
	require.Len(t, profiles, 9)
	require.Equal(t, "+442079460018", profiles[0].Phone, "national number with the default country code")
}

func phoneReader(t testing.TB) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String},
		{Name: "phone", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 9 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("a%d@example.com", i))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("020 7946 001%d", 8-i%9))
	}
	rec := b.NewRecordBatch()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rec.Release()
	t.Cleanup(rdr.Release)
	return rdr
}

// TestLargePayloadSplitIntoJobs sends 6,000 profiles of about 1 KB each
// in one batch: over the 5 MB a job takes (the stand-in answers 413), so
// the destination must split them into two jobs.
func TestLargePayloadSplitIntoJobs(t *testing.T) {
	s := klaviyostandin.New(klaviyostandin.Options{PollsToComplete: 1})
	defer s.Close()
	d := core.SplitBatches(New())
	ctx := context.Background()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "LIST1", "base_url": %q,
		"poll_interval": "1ms", "properties": {"bio": "bio"}}`, s.APIKey(), s.URL()))))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String},
		{Name: "bio", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	pad := fmt.Sprintf("%01000d", 0)
	for i := range 6000 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("p%d@example.com", i))
		b.Field(2).(*array.StringBuilder).Append(pad)
	}
	rec := b.NewRecordBatch()
	b.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rec.Release()
	defer rdr.Release()
	sum, err := core.UpsertAll(ctx, d, "seg", "customer_id", rdr)
	require.NoError(t, err)
	require.Equal(t, int64(6000), sum.Acknowledged)
	require.Equal(t, int64(2), s.Counts().JobsCreated)
	require.Len(t, s.ListProfiles("LIST1"), 6000)
}
