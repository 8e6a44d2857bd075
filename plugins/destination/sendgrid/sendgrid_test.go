package sendgrid_test

import (
	"context"
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
	"github.com/segflow/segflow/plugins/destination/sendgrid"
	"github.com/segflow/segflow/plugins/destination/sendgrid/sendgridstandin"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return sendgrid.New() })
	os.Exit(m.Run())
}

const apiKey = "SG.test-key.0123456789"

var (
	standinsMu sync.Mutex
	standins   = map[string]*sendgridstandin.Server{}
)

func newStandin(t testing.TB, o sendgridstandin.Options) *sendgridstandin.Server {
	s := sendgridstandin.New(o)
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

func standinFor(t testing.TB, config string) *sendgridstandin.Server {
	var c sendgrid.Config
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
			s := newStandin(t, sendgridstandin.Options{APIKey: apiKey, CustomFields: map[string]string{"score": "Number", "note": "Text"},
				Lists: []string{"list-1"}, RequestsPerSecond: 100, RejectEmail: "bounce@example.com"})
			return fmt.Sprintf(`{"api_key": %q, "base_url": %q, "list_id": "list-1", "attributes": {"customer_id": "external_id"},
				"requests_per_second": 80, "poll_interval": "10ms"}`, apiKey, s.URL())
		},
		BadConfig: `{"api_key": "SG.x", "region": "mars", "list_id": "l"}`,
		BadField:  "region",
		Read: func(t testing.TB, config, segment string) []pluginstest.Record {
			var out []pluginstest.Record
			for _, c := range standinFor(t, config).ListMembers("list-1") {
				out = append(out, pluginstest.Record{"customer_id": str(c.Reserved["external_id"]), "email": c.Email,
					"score": str(c.Custom["score"]), "note": str(c.Custom["note"])})
			}
			return out
		},
		Reject:     &pluginstest.Reject{Email: "bounce@example.com", Code: "invalid_contact"},
		EmailKeyed: true,
		Counts: func(t testing.TB, config string) pluginstest.StandinCounts {
			s := standinFor(t, config)
			return pluginstest.StandinCounts{Accepted: s.Accepted.Load(), Duplicates: s.Duplicates.Load(), Throttled: s.Refused()}
		},
		Storm: func(t testing.TB, config string) func() { return standinFor(t, config).StartStorm() },
		// Six batches of 10,000 are enough to show memory stays bounded;
		// 200,000 contacts through the stand-in's JSON take a while.
		LargeRecords: 60_000,
	}
	pluginstest.RunDestination(t, pluginstest.DirectDestination(sendgrid.New), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(sendgrid.New), opts)
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
	{Name: "first", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "stage", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type row struct {
	id                  int64
	email, first, stage string
	score               int64
}

func batch(rows ...row) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		for i, s := range []string{r.email, r.first} {
			if s == "" {
				b.Field(i + 1).AppendNull()
			} else {
				b.Field(i + 1).(*array.StringBuilder).Append(s)
			}
		}
		b.Field(3).(*array.Int64Builder).Append(r.score)
		b.Field(4).(*array.StringBuilder).Append(r.stage)
	}
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

// TestUpsertRequestShape checks the PUT body against the documented
// shape, worked by hand: email lower-cased at the top level, reserved
// fields beside it, custom fields by field id, numbers as numbers, the
// segment's list in list_ids; then the job is polled to completion.
func TestUpsertRequestShape(t *testing.T) {
	var mu sync.Mutex
	var puts [][]byte
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer "+apiKey, r.Header.Get("Authorization"))
		mu.Lock()
		defer mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "GET /v3/marketing/field_definitions":
			io.WriteString(w, `{"custom_fields":[{"id":"e1_N","name":"rfm_score","field_type":"Number"},{"id":"e2_T","name":"stage","field_type":"Text"}],
				"reserved_fields":[{"id":"_rf0_T","name":"first_name","field_type":"Text"}]}`)
		case "PUT /v3/marketing/contacts":
			b, _ := io.ReadAll(r.Body)
			puts = append(puts, b)
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"job_id":"j-1"}`)
		case "GET /v3/marketing/contacts/imports/j-1":
			polls++
			status := "pending"
			if polls == 3 {
				status = "completed"
			}
			fmt.Fprintf(w, `{"id":"j-1","status":%q,"job_type":"upsert","results":{"requested_count":2}}`, status)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}))
	defer srv.Close()
	d := sendgrid.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"api_key": %q, "base_url": %q, "lists": {"vip": "L-9"},
		"attributes": {"customer_id": "external_id", "first": "first_name", "score": "rfm_score"}, "poll_interval": "1ms"}`, apiKey, srv.URL))))
	acks, err := write(d, core.Upsert, batch(
		row{id: 42, email: " Ann@Example.COM", first: "Ann", score: 555, stage: "vip"},
		row{id: 43, email: "bob@example.com", score: 111, stage: "new"},
		row{id: 44, score: 1, stage: "x"},
	))
	require.NoError(t, err)
	require.Len(t, puts, 1)
	var got any
	require.NoError(t, json.Unmarshal(puts[0], &got))
	var want any
	require.NoError(t, json.Unmarshal([]byte(`{"list_ids":["L-9"],"contacts":[
		{"email":"ann@example.com","external_id":"42","first_name":"Ann","custom_fields":{"e1_N":555,"e2_T":"vip"}},
		{"email":"bob@example.com","external_id":"43","custom_fields":{"e1_N":111,"e2_T":"new"}}]}`), &want))
	require.Equal(t, want, got)
	require.Equal(t, 3, polls, "polled until completed")
	require.Nil(t, acks[0].Err)
	require.Nil(t, acks[1].Err)
	require.Equal(t, "missing_email", acks[2].Err.Code)
	require.False(t, acks[2].Err.Retryable)
}

// TestPartialJob: an errored job refuses exactly the records its errors
// file names; the file is fetched without the API key.
func TestPartialJob(t *testing.T) {
	s := newStandin(t, sendgridstandin.Options{APIKey: apiKey, CustomFields: map[string]string{"score": "Number", "stage": "Text"},
		Lists: []string{"L"}, RejectEmail: "bad@example.com"})
	d := configured(t, s, "")
	acks, err := write(d, core.Upsert, batch(row{id: 1, email: "a@example.com", score: 1, stage: "s"}, row{id: 2, email: "BAD@example.com", score: 2, stage: "s"}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	require.Equal(t, "invalid_contact", acks[1].Err.Code)
	require.Contains(t, acks[1].Err.Message, "email address is not valid")
	require.Len(t, s.ListMembers("L"), 1)

	// Removal: search by email, then delete by contact id.
	acks, err = write(d, core.Remove, batch(row{id: 1, email: "a@example.com"}, row{id: 3, email: "never@example.com"}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	require.Nil(t, acks[1].Err, "a contact SendGrid does not know is not in the list")
	require.Empty(t, s.ListMembers("L"))
	require.Equal(t, 1, s.Contacts(), "removal from a list keeps the contact")
}

func configured(t *testing.T, s *sendgridstandin.Server, extra string) *sendgrid.Destination {
	d := sendgrid.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"api_key": %q, "base_url": %q, "list_id": "L",
		"attributes": {"customer_id": "-", "first": "-"}, "poll_interval": "1ms" %s}`, apiKey, s.URL(), extra))))
	return d
}

// TestMissingCustomFields: a field the account lacks fails the write
// with its name, or is created with a type from its column.
func TestMissingCustomFields(t *testing.T) {
	s := newStandin(t, sendgridstandin.Options{APIKey: apiKey, Lists: []string{"L"}})
	_, err := write(configured(t, s, ""), core.Upsert, batch(row{id: 1, email: "a@example.com", score: 5, stage: "s"}))
	require.ErrorContains(t, err, "no custom field score, stage")
	require.Zero(t, s.Contacts())

	acks, err := write(configured(t, s, `, "create_missing_fields": true`), core.Upsert, batch(row{id: 1, email: "a@example.com", score: 5, stage: "s"}))
	require.NoError(t, err)
	require.Nil(t, acks[0].Err)
	m := s.ListMembers("L")
	require.Len(t, m, 1)
	require.Equal(t, map[string]any{"score": json.Number("5"), "stage": "s"}, m[0].Custom, "score created as a Number field, stage as Text")
}

// TestErrorsCarryNoKey: a wrong key gives a one-line error without it.
func TestErrorsCarryNoKey(t *testing.T) {
	s := newStandin(t, sendgridstandin.Options{APIKey: "SG.the-right-key", Lists: []string{"L"}})
	d := configured(t, s, "")
	err := d.TestConnection(context.Background())
	require.ErrorContains(t, err, "HTTP 401")
	require.NotContains(t, err.Error(), apiKey)
	require.NotContains(t, err.Error(), "\n")
	_, err = write(d, core.Upsert, batch(row{id: 1, email: "a@example.com"}))
	require.Error(t, err)
	require.NotContains(t, err.Error(), apiKey)

	d = sendgrid.New()
	require.NoError(t, d.Configure(context.Background(), []byte(fmt.Sprintf(`{"api_key": "SG.the-right-key", "base_url": %q, "list_id": "nope"}`, s.URL()))))
	require.ErrorContains(t, d.TestConnection(context.Background()), "list nope")
}

func TestConfig(t *testing.T) {
	err := sendgrid.New().Configure(context.Background(), []byte(`{"region": "eu", "batch_size": 30001, "poll_interval": "x", "attributes": {"a": ""}}`))
	var fields core.FieldErrors
	require.ErrorAs(t, err, &fields)
	var names []string
	for _, f := range fields {
		names = append(names, f.Field)
	}
	require.ElementsMatch(t, []string{"api_key", "list_id", "batch_size", "poll_interval", "attributes"}, names)

	d := sendgrid.New()
	require.NoError(t, d.Configure(context.Background(), []byte(`{"api_key": "SG.k", "region": "eu", "list_id": "L", "lists": {"vip": "L2"}}`)))
	info, err := d.Info(context.Background())
	require.NoError(t, err)
	c := info.Capabilities
	require.True(t, c.SupportsRemove)
	require.True(t, c.Async)
	require.Equal(t, int64(30_000), c.MaxBatchRecords)
	out, err := d.Outputs(context.Background(), "vip")
	require.NoError(t, err)
	require.Equal(t, []string{"SendGrid list L2"}, out)
	out, err = d.Outputs(context.Background(), "other")
	require.NoError(t, err)
	require.Equal(t, []string{"SendGrid list L"}, out)
	require.True(t, strings.HasPrefix(sendgrid.Version, "0."))
}
