package customerio_test

import (
	"context"
	"encoding/base64"
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
	"github.com/segflow/segflow/plugins/destination/customerio"
	"github.com/segflow/segflow/plugins/destination/customerio/customeriostandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return customerio.New() })
	os.Exit(m.Run())
}

const (
	siteID = "site-0a1b2c"
	apiKey = "cio-track-key-0123456789"
)

var (
	standinsMu sync.Mutex
	standins   = map[string]*customeriostandin.Server{}
)

func newStandin(t testing.TB, o customeriostandin.Options) *customeriostandin.Server {
	s := customeriostandin.New(o)
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

func standinFor(t testing.TB, config string) *customeriostandin.Server {
	var c customerio.Config
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
			s := newStandin(t, customeriostandin.Options{SiteID: siteID, APIKey: apiKey, Segments: []int{12},
				RequestsPerSecond: 20000, RejectEmail: "bounce@example.com"})
			return fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q, "segment_id": 12, "requests_per_second": 10000}`, siteID, apiKey, s.URL())
		},
		BadConfig: `{"site_id": "s", "api_key": "k", "segment_id": 12, "identifier": "phone"}`,
		BadField:  "identifier",
		Read: func(t testing.TB, config, segment string) []pluginstest.Record {
			var out []pluginstest.Record
			for _, p := range standinFor(t, config).SegmentMembers(12) {
				out = append(out, pluginstest.Record{"customer_id": p.ID, "email": str(p.Attributes["email"]),
					"score": str(p.Attributes["score"]), "note": str(p.Attributes["note"])})
			}
			return out
		},
		Reject: &pluginstest.Reject{Email: "bounce@example.com", Code: "invalid_record"},
		Counts: func(t testing.TB, config string) pluginstest.StandinCounts {
			s := standinFor(t, config)
			return pluginstest.StandinCounts{Accepted: s.Accepted.Load(), Duplicates: s.Duplicates.Load(), Throttled: s.Refused()}
		},
		Storm: func(t testing.TB, config string) func() { return standinFor(t, config).StartStorm() },
	}
	pluginstest.RunDestination(t, pluginstest.DirectDestination(customerio.New), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(customerio.New), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

func batch(ids []int64, emails []string, scores []int64) arrow.RecordBatch {
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
	b.Field(2).(*array.Int64Builder).AppendValues(scores, nil)
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

// TestRequestShapes checks the batch and segment requests against the
// documented shapes, worked by hand.
func TestRequestShapes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(siteID+":"+apiKey)), r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		mu.Unlock()
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	d := customerio.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q,
		"segments": {"vip": 7}, "attributes": {"score": "rfm_score"}}`, siteID, apiKey, srv.URL))))
	acks, err := write(d, core.Upsert, batch([]int64{42, 43}, []string{"Ann@Example.COM", ""}, []int64{555, 1}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	require.Nil(t, acks[1].Err, "identified by id, a person needs no email")
	require.Len(t, got, 2)
	method, rest, _ := strings.Cut(got[0], " ")
	path, body, _ := strings.Cut(rest, " ")
	require.Equal(t, "POST /api/v2/batch", method+" "+path)
	require.JSONEq(t, `{"batch":[
		{"type":"person","identifiers":{"id":"42"},"action":"identify","attributes":{"email":"ann@example.com","rfm_score":555}},
		{"type":"person","identifiers":{"id":"43"},"action":"identify","attributes":{"rfm_score":1}}]}`, body)
	method, rest, _ = strings.Cut(got[1], " ")
	path, body, _ = strings.Cut(rest, " ")
	require.Equal(t, "POST /api/v1/segments/7/add_customers?id_type=id", method+" "+path)
	require.JSONEq(t, `{"ids":["42","43"]}`, body)
}

// TestBisection: one bad record among eight costs seven batch requests
// (8, 4, 2, 1, 1, 2, 4 records; worked by hand with the bad record
// first) and fails alone; the other seven join the segment.
func TestBisection(t *testing.T) {
	s := newStandin(t, customeriostandin.Options{SiteID: siteID, APIKey: apiKey, Segments: []int{12}, RejectEmail: "bad@example.com"})
	d := customerio.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q, "segment_id": 12}`, siteID, apiKey, s.URL()))))
	emails := []string{"bad@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com", "f@example.com", "g@example.com", "h@example.com"}
	acks, err := write(d, core.Upsert, batch([]int64{1, 2, 3, 4, 5, 6, 7, 8}, emails, []int64{1, 2, 3, 4, 5, 6, 7, 8}))
	require.NoError(t, err)
	require.Equal(t, "invalid_record", acks[0].Err.Code)
	require.Contains(t, acks[0].Err.Message, "invalid email address bad@example.com")
	for i := 1; i < 8; i++ {
		require.Nil(t, acks[i].Err)
	}
	require.Equal(t, int64(7+1), s.Requests.Load(), "seven batch requests and one segment call")
	require.Len(t, s.SegmentMembers(12), 7)
	require.Equal(t, int64(7), s.Accepted.Load(), "a refused request applies nothing")

	acks, err = write(d, core.Remove, batch([]int64{2, 3}, []string{"", ""}, []int64{0, 0}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	require.Len(t, s.SegmentMembers(12), 5)
}

func TestEmailIdentifier(t *testing.T) {
	s := newStandin(t, customeriostandin.Options{SiteID: siteID, APIKey: apiKey, Segments: []int{12}})
	d := customerio.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q, "segment_id": 12, "identifier": "email"}`, siteID, apiKey, s.URL()))))
	acks, err := write(d, core.Upsert, batch([]int64{1, 2}, []string{"A@Example.com", ""}, []int64{5, 6}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	require.Equal(t, "missing_email", acks[1].Err.Code)
	m := s.SegmentMembers(12)
	require.Len(t, m, 1)
	require.Equal(t, "a@example.com", m[0].Email)
	require.Equal(t, map[string]any{"customer_id": json.Number("1"), "score": json.Number("5")}, m[0].Attributes)
}

func TestErrorsCarryNoKey(t *testing.T) {
	s := newStandin(t, customeriostandin.Options{SiteID: siteID, APIKey: "the-right-key", Segments: []int{12}})
	d := customerio.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q, "segment_id": 12}`, siteID, apiKey, s.URL()))))
	err := d.TestConnection(context.Background())
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), apiKey)
	require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString([]byte(siteID+":"+apiKey)))
	_, err = write(d, core.Upsert, batch([]int64{1}, []string{"a@example.com"}, []int64{1}))
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), apiKey)
}

// TestRegionMismatch: an account in the EU configured for the US host is
// told which region to set.
func TestRegionMismatch(t *testing.T) {
	s := newStandin(t, customeriostandin.Options{SiteID: siteID, APIKey: apiKey, Segments: []int{12}, DataCenter: "eu"})
	d := customerio.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q, "segment_id": 12}`, siteID, apiKey, s.URL()))))
	require.EqualError(t, d.TestConnection(context.Background()), "customerio: the account is in region eu; set region: eu")
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"site_id": %q, "api_key": %q, "base_url": %q, "segment_id": 12, "region": "eu"}`, siteID, apiKey, s.URL()))))
	require.NoError(t, d.TestConnection(context.Background()))
}

func TestConfig(t *testing.T) {
	err := customerio.New().Configure(context.Background(), []byte(`{"region": "apac", "batch_size": 1001, "attributes": {"x": "`+strings.Repeat("a", 151)+`"}}`))
	var fields core.FieldErrors
	require.ErrorAs(t, err, &fields)
	var names []string
	for _, f := range fields {
		names = append(names, f.Field)
	}
	require.ElementsMatch(t, []string{"site_id", "api_key", "region", "segment_id", "batch_size", "attributes"}, names)

	d := customerio.New()
	require.NoError(t, d.Configure(context.Background(), []byte(`{"site_id": "s", "api_key": "k", "region": "eu", "segment_id": 3}`)))
	info, err := d.Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(1000), info.Capabilities.MaxBatchRecords)
	require.Equal(t, 100.0, info.Capabilities.RateLimit.RequestsPerSecond)
	out, err := d.Outputs(context.Background(), "x")
	require.NoError(t, err)
	require.Equal(t, []string{"Customer.io manual segment 3"}, out)
}
