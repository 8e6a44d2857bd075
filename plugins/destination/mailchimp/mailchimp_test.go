package mailchimp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/mailchimp/mailchimpstandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return New() })
	os.Exit(m.Run())
}

const rejectEmail = "fake@reject.example.com"

// standins are the stand-ins of the running tests, by base URL.
var standins sync.Map

func config(t testing.TB) string {
	s := mailchimpstandin.New(mailchimpstandin.Options{RejectEmail: rejectEmail})
	t.Cleanup(s.Close)
	standins.Store(s.URL(), s)
	return fmt.Sprintf(`{"api_key": %q, "list_id": "list1", "base_url": %q,
		"merge_fields": {"customer_id": "CID", "score": "SCORE", "note": "NOTE"}}`, s.APIKey(), s.URL())
}

func standinOf(t testing.TB, cfg string) *mailchimpstandin.Server {
	var c Config
	require.NoError(t, json.Unmarshal([]byte(cfg), &c))
	s, ok := standins.Load(c.BaseURL)
	require.True(t, ok)
	return s.(*mailchimpstandin.Server)
}

// readBack returns the members tagged with the segment, as records.
func readBack(t testing.TB, cfg, segment string) []pluginstest.Record {
	var out []pluginstest.Record
	for _, m := range standinOf(t, cfg).Members("list1") {
		if !m.Tags[segment] {
			continue
		}
		out = append(out, pluginstest.Record{
			"customer_id": m.MergeFields["CID"],
			"email":       m.Email,
			"score":       m.MergeFields["SCORE"],
			"note":        m.MergeFields["NOTE"],
		})
	}
	return out
}

func TestConformance(t *testing.T) {
	opts := pluginstest.DestinationOptions{
		Config:       config,
		BadConfig:    `{"api_key": "abc-us6", "list_id": "l", "batch_size": 501}`,
		BadField:     "batch_size",
		Read:         readBack,
		Reject:       &pluginstest.Reject{Email: rejectEmail, Code: "error_generic"},
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

func TestSubscriberHash(t *testing.T) {
	// The example from Mailchimp's documentation.
	require.Equal(t, "8eb1b522f60d11fa897de1dc6351b7e8", SubscriberHash("john.doe@example.com"))
	require.Equal(t, "8eb1b522f60d11fa897de1dc6351b7e8", SubscriberHash("John.Doe@Example.com"))
	require.Equal(t, "8eb1b522f60d11fa897de1dc6351b7e8", mailchimpstandin.SubscriberHash("JOHN.DOE@EXAMPLE.COM"))
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]string{
		`{"list_id": "l"}`:                                                           "api_key",
		`{"api_key": "nodc", "list_id": "l"}`:                                        "dc",
		`{"api_key": "k-us6"}`:                                                       "list_id",
		`{"api_key": "k-us6", "list_id": "l", "concurrency": 11}`:                    "concurrency",
		`{"api_key": "k-us6", "list_id": "l", "status_if_new": "x"}`:                 "status_if_new",
		`{"api_key": "k-us6", "list_id": "l", "merge_fields": {"rfm": "rfm score"}}`: "merge_fields.rfm",
		`{"api_key": "k-us6", "list_id": "l", "tags": ["x"]}`:                        "tags",
		`{"api_key": "k-us6", "list_id": "l", "base_url": "ftp://x"}`:                "base_url",
	}
	for cfg, field := range cases {
		err := New().Configure(context.Background(), json.RawMessage(cfg))
		var fe core.FieldErrors
		require.ErrorAs(t, err, &fe, cfg)
		require.Equal(t, field, fe[0].Field, cfg)
		require.NotContains(t, err.Error(), "k-us6", "the key never appears in errors")
	}
}

func TestDataCentreFromKey(t *testing.T) {
	d := New()
	require.NoError(t, d.Configure(context.Background(), json.RawMessage(`{"api_key": "0123abcd-us6", "list_id": "l"}`)))
	require.Equal(t, "https://us6.api.mailchimp.com/3.0", d.client.BaseURL)
}

func TestConnectionErrorsNameTheProblem(t *testing.T) {
	s := mailchimpstandin.New(mailchimpstandin.Options{})
	defer s.Close()
	ctx := context.Background()
	const wrongKey = "wrong-secret-key-us6"

	d := New()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "list1", "base_url": %q}`, wrongKey, s.URL()))))
	err := d.TestConnection(ctx)
	require.ErrorContains(t, err, "API key was refused")
	require.NotContains(t, err.Error(), wrongKey)
	require.NotContains(t, err.Error(), "\n")
	_, err = core.UpsertAll(ctx, core.SplitBatches(d), "seg", "customer_id", emailsReader(t, 3))
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), wrongKey, "a failed write names no key")

	d = New()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "nope", "base_url": %q}`, s.APIKey(), s.URL()))))
	err = d.TestConnection(ctx)
	require.ErrorContains(t, err, `list_id "nope" not found`)
	require.NotContains(t, err.Error(), s.APIKey())

	out, err := d.Outputs(ctx, "vip")
	require.NoError(t, err)
	require.Equal(t, []string{`mailchimp audience nope, tag "vip"`}, out)
}

func TestConcurrencyLimitKept(t *testing.T) {
	// With latency every request overlaps others: the destination must
	// keep to 10 connections, which the stand-in enforces with 429s.
	s := mailchimpstandin.New(mailchimpstandin.Options{Latency: 20 * 1e6})
	defer s.Close()
	d := core.SplitBatches(New())
	ctx := context.Background()
	require.NoError(t, d.Configure(ctx, json.RawMessage(fmt.Sprintf(`{"api_key": %q, "list_id": "list1", "base_url": %q, "batch_size": 10}`, s.APIKey(), s.URL()))))
	sum, err := core.UpsertAll(ctx, d, "seg", "customer_id", emailsReader(t, 2000))
	require.NoError(t, err)
	require.Equal(t, int64(2000), sum.Acknowledged)
	c := s.Counts()
	require.Zero(t, c.Throttled)
	require.Equal(t, int64(10), c.PeakConcurrent, "all 10 connections used, no more")
	require.Len(t, s.Members("list1"), 2000)
	require.True(t, strings.HasPrefix(s.Members("list1")[0].Email, "c"))
}
