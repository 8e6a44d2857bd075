package hubspot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/hubspot"
	"github.com/segflow/segflow/plugins/destination/hubspot/hubspotstandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return hubspot.New() })
	os.Exit(m.Run())
}

const token = "pat-na1-00000000-1111-2222-3333-444444444444"

var (
	standinsMu sync.Mutex
	standins   = map[string]*hubspotstandin.Server{}
)

func newStandin(t testing.TB, o hubspotstandin.Options) *hubspotstandin.Server {
	s := hubspotstandin.New(o)
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

func standinFor(t testing.TB, config string) *hubspotstandin.Server {
	var c hubspot.Config
	require.NoError(t, json.Unmarshal([]byte(config), &c))
	standinsMu.Lock()
	defer standinsMu.Unlock()
	s := standins[c.BaseURL]
	require.NotNil(t, s)
	return s
}

func TestConformance(t *testing.T) {
	opts := pluginstest.DestinationOptions{
		Config: func(t testing.TB) string {
			// Limits far above HubSpot's keep the suite quick; pacing
			// under the real limits is the destbench's to measure.
			s := newStandin(t, hubspotstandin.Options{Token: token, Properties: []string{"segflow_customer_id", "score", "note"},
				Lists: []string{"7"}, Per10s: 20000, RejectEmail: "bounce@example.com"})
			return fmt.Sprintf(`{"access_token": %q, "base_url": %q, "list_id": "7", "attributes": {"customer_id": "segflow_customer_id"},
				"requests_per_10s": 15000}`, token, s.URL())
		},
		BadConfig: `{"access_token": "x", "list_id": "7", "batch_size": 101}`,
		BadField:  "batch_size",
		Read: func(t testing.TB, config, segment string) []pluginstest.Record {
			var out []pluginstest.Record
			for _, c := range standinFor(t, config).ListMembers("7") {
				p := c.Properties
				out = append(out, pluginstest.Record{"customer_id": p["segflow_customer_id"], "email": p["email"], "score": p["score"], "note": p["note"]})
			}
			return out
		},
		Reject:     &pluginstest.Reject{Email: "bounce@example.com", Code: "validation_error"},
		EmailKeyed: true,
		Counts: func(t testing.TB, config string) pluginstest.StandinCounts {
			s := standinFor(t, config)
			return pluginstest.StandinCounts{Accepted: s.Accepted.Load(), Duplicates: s.Duplicates.Load(), Throttled: s.Refused()}
		},
		Storm:        func(t testing.TB, config string) func() { return standinFor(t, config).StartStorm() },
		LargeRecords: 50_000,
	}
	pluginstest.RunDestination(t, pluginstest.DirectDestination(hubspot.New), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(hubspot.New), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "stage", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func batch(ids []int64, emails []string, scores []int64, stages []string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	for _, e := range emails {
		if e == "" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(e)
		}
	}
	for _, s := range scores {
		if s < 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int64Builder).Append(s)
		}
	}
	b.Field(3).(*array.StringBuilder).AppendValues(stages, nil)
	return b.NewRecordBatch()
}

func write(d core.Destination, kind core.OpKind, rec arrow.RecordBatch) (map[int]core.Ack, error) {
	ops := make(chan core.Op, 1)
	ops <- core.Op{Kind: kind, Seq: 1, Batch: rec}
	close(ops)
	acks := map[int]core.Ack{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := core.SplitBatches(d).Write(ctx, core.WriteHeader{Segment: "vip", Schema: schema, KeyColumn: "customer_id"}, ops,
		func(a ...core.Ack) {
			for _, x := range a {
				acks[x.Index] = x
			}
		})
	return acks, err
}

// TestRequestShapes checks the upsert and list requests against the
// documented shapes, worked by hand, and a 207's per-record error.
func TestRequestShapes(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer "+token, r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "GET /crm/v3/properties/contacts":
			io.WriteString(w, `{"results":[{"name":"email"},{"name":"segflow_customer_id"},{"name":"rfm_score"},{"name":"stage"}]}`)
		case "POST /crm/v3/objects/contacts/batch/upsert":
			bodies = append(bodies, string(b))
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `{"status":"COMPLETE","results":[{"id":"101","new":true,"properties":{"email":"ann@example.com"}}],
				"numErrors":1,"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Email address bob@bad.example is invalid","context":{"ids":["bob@bad.example"]}}]}`)
		case "PUT /crm/v3/lists/7/memberships/add":
			bodies = append(bodies, string(b))
			io.WriteString(w, `{"recordsIdsAdded":["101"],"recordIdsMissing":[]}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}))
	defer srv.Close()
	d := hubspot.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"access_token": %q, "base_url": %q, "lists": {"vip": "7"},
		"attributes": {"customer_id": "segflow_customer_id", "score": "rfm_score"}}`, token, srv.URL))))
	acks, err := write(d, core.Upsert, batch([]int64{42, 43, 44, 45}, []string{"Ann@Example.com ", "bob@bad.example", "", "not-an-email"}, []int64{555, -1, 1, 2}, []string{"vip", "new", "x", "y"}))
	require.NoError(t, err)
	require.Len(t, bodies, 2)
	require.JSONEq(t, `{"inputs":[
		{"idProperty":"email","id":"ann@example.com","properties":{"email":"ann@example.com","segflow_customer_id":"42","rfm_score":"555","stage":"vip"}},
		{"idProperty":"email","id":"bob@bad.example","properties":{"email":"bob@bad.example","segflow_customer_id":"43","stage":"new"}}]}`, bodies[0])
	require.JSONEq(t, `["101"]`, bodies[1])
	require.Nil(t, acks[0].Err)
	require.Equal(t, &core.RecordError{Code: "validation_error", Message: "HubSpot: Email address bob@bad.example is invalid"}, acks[1].Err)
	require.Equal(t, "missing_email", acks[2].Err.Code)
	require.Equal(t, "invalid_email", acks[3].Err.Code, "refused before sending")
	require.False(t, acks[3].Err.Retryable)
}

// TestMissingProperties: a write naming properties the account lacks
// fails before sending anything, naming them.
func TestMissingProperties(t *testing.T) {
	s := newStandin(t, hubspotstandin.Options{Token: token, Lists: []string{"7"}})
	d := hubspot.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"access_token": %q, "base_url": %q, "list_id": "7", "attributes": {"customer_id": "-"}}`, token, s.URL()))))
	_, err := write(d, core.Upsert, batch([]int64{1}, []string{"a@example.com"}, []int64{1}, []string{"s"}))
	require.ErrorContains(t, err, "contact properties score, stage do not exist")
	require.Empty(t, s.ListMembers("7"))
	require.NoError(t, d.TestConnection(context.Background()))
}

// TestRemoveAndDuplicateEmails: two records sharing an email are one
// input (HubSpot refuses duplicate ids); removing an unknown contact is
// acknowledged.
func TestRemoveAndDuplicateEmails(t *testing.T) {
	s := newStandin(t, hubspotstandin.Options{Token: token, Properties: []string{"score", "stage"}, Lists: []string{"7"}})
	d := hubspot.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"access_token": %q, "base_url": %q, "list_id": "7", "attributes": {"customer_id": "-"}}`, token, s.URL()))))
	acks, err := write(d, core.Upsert, batch([]int64{1, 2, 3}, []string{"a@example.com", "A@example.com", "b@example.com"}, []int64{1, 2, 3}, []string{"s", "t", "u"}))
	require.NoError(t, err)
	for i := range 3 {
		require.Nil(t, acks[i].Err)
	}
	require.Len(t, s.ListMembers("7"), 2)
	acks, err = write(d, core.Remove, batch([]int64{1, 9}, []string{"a@example.com", "zz@example.com"}, []int64{0, 0}, []string{"", ""}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	require.Nil(t, acks[1].Err)
	m := s.ListMembers("7")
	require.Len(t, m, 1)
	require.Equal(t, "b@example.com", m[0].Properties["email"])
}

func TestErrorsCarryNoToken(t *testing.T) {
	s := newStandin(t, hubspotstandin.Options{Token: "pat-the-right-one", Lists: []string{"7"}})
	d := hubspot.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"access_token": %q, "base_url": %q, "list_id": "7"}`, token, s.URL()))))
	err := d.TestConnection(context.Background())
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), token)
	d = hubspot.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"access_token": "pat-the-right-one", "base_url": %q, "list_id": "8"}`, s.URL()))))
	require.ErrorContains(t, d.TestConnection(context.Background()), "list 8")
}

func TestConfig(t *testing.T) {
	err := hubspot.New().Configure(context.Background(), []byte(`{"batch_size": 500, "requests_per_10s": -1, "base_url": "nope"}`))
	var fields core.FieldErrors
	require.ErrorAs(t, err, &fields)
	var names []string
	for _, f := range fields {
		names = append(names, f.Field)
	}
	require.ElementsMatch(t, []string{"access_token", "base_url", "list_id", "batch_size", "requests_per_10s"}, names)

	d := hubspot.New()
	require.NoError(t, d.Configure(context.Background(), []byte(`{"access_token": "pat-x", "list_id": "7", "requests_per_10s": 190}`)))
	info, err := d.Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(100), info.Capabilities.MaxBatchRecords)
	require.Equal(t, 19.0, info.Capabilities.RateLimit.RequestsPerSecond)
	require.True(t, info.Capabilities.SupportsRemove)
}
