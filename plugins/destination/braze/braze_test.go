package braze

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/braze/brazestandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return New() })
	os.Exit(m.Run())
}

const rejectEmail = "fake@reject.example.com"

var standins sync.Map

func config(t testing.TB) string {
	s := brazestandin.New(brazestandin.Options{RejectEmail: rejectEmail})
	t.Cleanup(s.Close)
	standins.Store(s.URL(), s)
	return fmt.Sprintf(`{"api_key": %q, "endpoint": %q, "attributes": {"score": "score", "note": "note"}}`, s.APIKey(), s.URL())
}

func standinOf(t testing.TB, cfg string) *brazestandin.Server {
	var c Config
	require.NoError(t, json.Unmarshal([]byte(cfg), &c))
	s, ok := standins.Load(c.Endpoint)
	require.True(t, ok)
	return s.(*brazestandin.Server)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// readBack returns the users whose segflow_segments include segment.
func readBack(t testing.TB, cfg, segment string) []pluginstest.Record {
	var out []pluginstest.Record
	for _, u := range standinOf(t, cfg).Users() {
		segs, _ := u.Attributes["segflow_segments"].([]string)
		if !slices.Contains(segs, segment) {
			continue
		}
		out = append(out, pluginstest.Record{
			"customer_id": u.ExternalID, "email": u.Email,
			"score": str(u.Attributes["score"]), "note": str(u.Attributes["note"]),
		})
	}
	return out
}

func TestConformance(t *testing.T) {
	opts := pluginstest.DestinationOptions{
		Config:       config,
		BadConfig:    `{"api_key": "k", "endpoint": "https://rest.iad-01.braze.com", "batch_size": 76}`,
		BadField:     "batch_size",
		Read:         readBack,
		Reject:       &pluginstest.Reject{Email: rejectEmail, Code: "invalid_email"},
		LargeRecords: 20_000,
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
	const key = "braze-secret-key-value"
	ep := `"endpoint": "https://rest.iad-01.braze.com"`
	cases := map[string]string{
		`{` + ep + `}`:               "api_key",
		`{"api_key": "` + key + `"}`: "endpoint",
		`{"api_key": "` + key + `", ` + ep + `, "attributes": {"x": "segflow_segments"}}`: "attributes.x",
		`{"api_key": "` + key + `", ` + ep + `, "rate_window": "10ms"}`:                   "rate_window",
		`{"api_key": "` + key + `", ` + ep + `, "default_country_code": "abc"}`:           "default_country_code",
	}
	for cfg, field := range cases {
		err := New().Configure(context.Background(), json.RawMessage(cfg))
		var fe core.FieldErrors
		require.ErrorAs(t, err, &fe, cfg)
		require.Equal(t, field, fe[0].Field, cfg)
		require.NotContains(t, err.Error(), key)
	}
}

func TestConnectionErrors(t *testing.T) {
	s := brazestandin.New(brazestandin.Options{})
	defer s.Close()
	ctx := context.Background()
	const wrongKey = "braze-wrong-secret"
	d := New()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "endpoint": %q}`, wrongKey, s.URL()))))
	err := d.TestConnection(ctx)
	require.ErrorContains(t, err, "API key was refused")
	require.NotContains(t, err.Error(), wrongKey)
	_, err = core.UpsertAll(ctx, core.SplitBatches(d), "seg", "customer_id", reader(t, 3))
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), wrongKey, "a failed write names no key")

	d = New()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "endpoint": %q}`, s.APIKey(), s.URL()))))
	require.NoError(t, d.TestConnection(ctx))
	require.Zero(t, s.Counts().Accepted, "the connection test changes nothing")
}

// TestRateLimitKept writes 40 requests' worth under a limit of 10
// requests per 1 s window: it takes at least 3 s (windows 2, 3 and 4
// open a second apart) and draws no 429.
func TestRateLimitKept(t *testing.T) {
	s := brazestandin.New(brazestandin.Options{Limit: 10, Window: time.Second})
	defer s.Close()
	d := core.SplitBatches(New())
	ctx := context.Background()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "endpoint": %q, "batch_size": 5,
		"rate_limit": 10, "rate_window": "1s", "phone_column": "phone", "default_country_code": "1"}`, s.APIKey(), s.URL()))))
	start := time.Now()
	sum, err := core.UpsertAll(ctx, d, "vip", "customer_id", reader(t, 200))
	require.NoError(t, err)
	require.Equal(t, int64(200), sum.Acknowledged)
	require.GreaterOrEqual(t, time.Since(start), 3*time.Second)
	require.Zero(t, s.Counts().Throttled)
	users := s.Users()
	require.Len(t, users, 200)
	require.Equal(t, "+14155552671", users[0].Attributes["phone"])
	require.Equal(t, []string{"vip"}, users[0].Attributes["segflow_segments"])
}

func reader(t testing.TB, n int) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "phone", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("u%04d", i))
		b.Field(1).(*array.StringBuilder).Append("(415) 555-2671")
	}
	rec := b.NewRecordBatch()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rec.Release()
	t.Cleanup(rdr.Release)
	return rdr
}
