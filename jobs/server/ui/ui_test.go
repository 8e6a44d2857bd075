package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/examples"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/schedule"
)

type fakeScheduler struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeScheduler) Trigger(_ context.Context, job string) (state.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, job)
	return state.Run{ID: "RUN1", Job: job, Status: state.StatusRunning}, f.err
}

type fakeSegments struct{}

func (fakeSegments) Segments(ctx context.Context) ([]jobs.SegmentStatus, error) {
	s, err := fakeSegments{}.Segment(ctx, "champions")
	return []jobs.SegmentStatus{*s}, err
}

func (fakeSegments) Segment(_ context.Context, name string) (*jobs.SegmentStatus, error) {
	at := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	return &jobs.SegmentStatus{Name: name, Model: "rfm", Filter: "segment == 'Champions'", Built: true, Members: 1234,
		History:      []jobs.SegmentRun{{RunID: "R1", At: at, Members: 1200, Joined: 1200}, {RunID: "R2", At: at.Add(24 * time.Hour), Members: 1234, Joined: 50, Left: 16}},
		Destinations: []jobs.DestinationStatus{{Name: "files", Plugin: "file", Synced: 1234, LastSync: at, DeadLetters: 3}},
	}, nil
}

func (fakeSegments) SegmentMembers(context.Context, string, int) ([]map[string]string, error) {
	return []map[string]string{
		{"customer_id": "c1", "email": "jane.doe@example.com", "monetary": "99.50"},
		{"customer_id": "c2", "email": "", "monetary": "12.00"},
	}, nil
}

func newUI(t *testing.T, token string, sched *fakeScheduler) *httptest.Server {
	t.Helper()
	cfg, err := config.Parse(examples.Quickstart, filepath.Join(t.TempDir(), "segflow.yaml"))
	require.NoError(t, err)
	st, err := state.OpenSQLite(filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	run, err := st.CreateRun(context.Background(), state.Run{Job: "daily", Trigger: "manual"})
	require.NoError(t, err)
	require.NoError(t, st.AddStep(context.Background(), run.ID, state.Step{Kind: "model", Name: "rfm.rfm", Rows: 1234, DurationMs: 56, SQL: "CREATE TABLE x AS SELECT 1 < 2"}))
	require.NoError(t, st.FinishRun(context.Background(), run.ID, state.StatusSucceeded, "", run.StartedAt.Add(1500*time.Millisecond)))
	u, err := New(Options{Config: cfg, Store: st, Scheduler: sched, Segments: fakeSegments{}, Token: token,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	ts := httptest.NewServer(u)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestOverviewAndRun(t *testing.T) {
	ts := newUI(t, "s3cret", &fakeScheduler{})
	code, body := get(t, ts.URL+"/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<tr data-job="daily">`)
	require.Contains(t, body, "<code>0 6 * * *</code>")
	require.Contains(t, body, "2026-03-02 06:00:00 UTC", "the next 06:00 after now")
	require.Contains(t, body, `action="/jobs/daily/trigger"`)
	require.Contains(t, body, "1.5 s", "the last run's duration")
	require.NotContains(t, body, "<script", "no JavaScript")

	i := strings.Index(body, `href="/runs/`)
	require.Positive(t, i)
	id := body[i+len(`href="/runs/`):]
	id = id[:strings.IndexByte(id, '"')]
	code, body = get(t, ts.URL+"/runs/"+id)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `data-name="rfm.rfm" data-rows="1234"`)
	require.Contains(t, body, "<details><summary>SQL</summary><pre><code>CREATE TABLE x AS SELECT 1 &lt; 2</code></pre></details>")

	code, _ = get(t, ts.URL+"/runs/nope")
	require.Equal(t, http.StatusNotFound, code)
	code, body = get(t, ts.URL+"/static/style.css")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "svg.chart")
}

func TestTriggerNeedsTheToken(t *testing.T) {
	sched := &fakeScheduler{}
	ts := newUI(t, "s3cret", sched)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(job, token string) *http.Response {
		resp, err := client.PostForm(ts.URL+"/jobs/"+job+"/trigger", url.Values{"token": {token}})
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusUnauthorized, post("daily", "").StatusCode)
	require.Equal(t, http.StatusUnauthorized, post("daily", "wrong").StatusCode)
	require.Equal(t, http.StatusNotFound, post("nightly", "s3cret").StatusCode)
	require.Empty(t, sched.calls)
	resp := post("daily", "s3cret")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/runs/RUN1", resp.Header.Get("Location"))
	require.Equal(t, []string{"daily"}, sched.calls)

	sched.err = schedule.ErrJobRunning
	require.Equal(t, http.StatusConflict, post("daily", "s3cret").StatusCode)

	// Without a token nothing can be triggered, and the form is not offered.
	ts = newUI(t, "", &fakeScheduler{})
	resp, err := client.PostForm(ts.URL+"/jobs/daily/trigger", url.Values{"token": {""}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, body := get(t, ts.URL+"/")
	require.NotContains(t, body, `action="/jobs/daily/trigger"`)
	require.Contains(t, body, "disabled (no API token)")
}

func TestSegmentPageMasksEmails(t *testing.T) {
	ts := newUI(t, "s3cret", &fakeScheduler{})
	code, body := get(t, ts.URL+"/segments/champions")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "<td>j***@example.com</td>")
	require.NotContains(t, body, "jane.doe")
	require.Contains(t, body, `data-destination="files" data-synced="1234" data-dead-letters="3"`)
	require.Contains(t, body, `data-run="R2" data-members="1234" data-joined="50" data-left="16"`, "the chart's point of run R2")
	// customer_id, email, then the attributes.
	require.Regexp(t, `<th>customer_id</th><th>email</th><th>monetary</th>`, body)

	code, body = get(t, ts.URL+"/segments/champions?unmask=1")
	require.Equal(t, http.StatusUnauthorized, code)
	require.NotContains(t, body, "jane.doe")
	resp, err := http.PostForm(ts.URL+"/segments/champions?unmask=1", url.Values{"token": {"wrong"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = http.PostForm(ts.URL+"/segments/champions?unmask=1", url.Values{"token": {"s3cret"}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(b), "<td>jane.doe@example.com</td>")

	code, body = get(t, ts.URL+"/segments")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<tr data-segment="champions" data-members="1234">`)
	require.Contains(t, body, "3 dead letters")
	code, _ = get(t, ts.URL+"/segments/nope")
	require.Equal(t, http.StatusNotFound, code)
}

func TestReportsWithoutWarehouse(t *testing.T) {
	ts := newUI(t, "", &fakeScheduler{})
	code, body := get(t, ts.URL+"/reports/rfm")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "Has a job that builds the rfm model run yet?")
	code, _ = get(t, ts.URL+"/reports/rfm/customers?r=9&f=1")
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = get(t, ts.URL+"/reports/affinity?sort=name")
	require.Equal(t, http.StatusBadRequest, code)
}

func TestFormatting(t *testing.T) {
	require.Equal(t, "j***@example.com", maskEmail("jane@example.com"))
	require.Equal(t, "***@example.com", maskEmail("@example.com"))
	require.Equal(t, "x***", maskEmail("xyz"))
	require.Equal(t, "", maskEmail(""))
	require.Equal(t, "1,234,567", formatInt(1234567))
	require.Equal(t, "-1,234", formatInt(-1234))
	require.Equal(t, "999", formatInt(999))
	require.Equal(t, "1,234.50", formatMoney2(1234.5))
	require.Equal(t, "-0.25", formatMoney2(-0.25))
	require.Equal(t, "1,235", formatMoney(1234.5))
	require.Equal(t, "12.3%", formatPct(0.1234))
	require.Equal(t, "1,234.57", formatValue("1234.567"), "a DECIMAL sent as text")
	fill, text := heatColor(0)
	require.Equal(t, "#eff6ff", fill)
	require.Equal(t, "#0f172a", text)
	fill, text = heatColor(1)
	require.Equal(t, "#1e40af", fill)
	require.Equal(t, "#ffffff", text)
}
