package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/examples"
	"github.com/segflow/segflow/jobs/schedule"
	"github.com/segflow/segflow/jobs/server"
)

// testConfig is the quickstart plus a job without a schedule.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	yaml := string(examples.Quickstart) + `
  - name: adhoc
    models: [rfm]
`
	cfg, err := config.Parse([]byte(yaml), filepath.Join(t.TempDir(), "segflow.yaml"))
	require.NoError(t, err)
	return cfg
}

func openStore(t *testing.T) state.Store {
	t.Helper()
	st, err := state.OpenSQLite(filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeScheduler records triggers and answers with err, or a running run.
type fakeScheduler struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeScheduler) Trigger(_ context.Context, job string) (state.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, job)
	if f.err != nil {
		return state.Run{}, f.err
	}
	return state.Run{ID: "RUN1", Job: job, Trigger: state.TriggerManual, Status: state.StatusRunning}, nil
}

func newServer(t *testing.T, opts server.Options) *httptest.Server {
	t.Helper()
	if opts.Config == nil {
		opts.Config = testConfig(t)
	}
	if opts.Store == nil {
		opts.Store = openStore(t)
	}
	if opts.Scheduler == nil {
		opts.Scheduler = &fakeScheduler{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := server.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// do sends a request and returns the status and the decoded JSON body.
func do(t *testing.T, method, url, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestWritesWithoutConfiguredTokenAreForbidden(t *testing.T) {
	t.Parallel()
	sched := &fakeScheduler{}
	ts := newServer(t, server.Options{Scheduler: sched})

	code, body := do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "anything")
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body["error"], "SEGFLOW_API_TOKEN", "says how to allow writes")
	require.Empty(t, sched.calls)
}

func TestWritesNeedTheBearerToken(t *testing.T) {
	t.Parallel()
	sched := &fakeScheduler{}
	ts := newServer(t, server.Options{Scheduler: sched, Token: "s3cret-token"})
	url := ts.URL + "/api/v1/jobs/daily/trigger"

	for _, header := range []string{"", "Bearer wrong", "Bearer s3cret-tokenX", "Basic s3cret-token", "s3cret-token"} {
		req, _ := http.NewRequest("POST", url, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "Authorization %q", header)
		require.Equal(t, `Bearer realm="segflow"`, resp.Header.Get("WWW-Authenticate"))
		require.NotContains(t, string(b), "s3cret", "the token never appears in a response")
	}
	require.Empty(t, sched.calls, "no unauthorised request reached the scheduler")

	// Unknown jobs are not revealed to unauthenticated callers.
	code, _ := do(t, "POST", ts.URL+"/api/v1/jobs/nope/trigger", "")
	require.Equal(t, http.StatusUnauthorized, code)

	resp, err := http.DefaultClient.Do(mustRequest(t, "POST", url, "Bearer s3cret-token"))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "/api/v1/runs/RUN1", resp.Header.Get("Location"))
	var run map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&run))
	require.Equal(t, "RUN1", run["id"])
	require.Equal(t, "running", run["status"])
	require.Equal(t, []string{"daily"}, sched.calls)

	code, body := do(t, "POST", ts.URL+"/api/v1/jobs/nope/trigger", "s3cret-token")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, `no job named "nope"`, body["error"])
	require.Equal(t, []string{"daily"}, sched.calls)

	code, body = do(t, "GET", url, "")
	require.Equal(t, http.StatusMethodNotAllowed, code, "trigger is POST only")
	require.Equal(t, "method not allowed; use POST", body["error"])
}

func mustRequest(t *testing.T, method, url, auth string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", auth)
	return req
}

func TestTriggerErrorsMapToStatusCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("daily: %w", schedule.ErrJobRunning), http.StatusConflict},
		{schedule.ErrStopped, http.StatusServiceUnavailable},
		{schedule.ErrNotStarted, http.StatusServiceUnavailable},
		{fmt.Errorf("database is locked"), http.StatusInternalServerError},
	} {
		ts := newServer(t, server.Options{Scheduler: &fakeScheduler{err: tc.err}, Token: "tok"})
		code, body := do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "tok")
		require.Equal(t, tc.code, code, "%v", tc.err)
		require.NotEmpty(t, body["error"])
	}
}

// A real scheduler on a real SQLite store: the trigger starts a run that
// the API then shows, and a second trigger while it runs is a conflict.
func TestTriggerRunsTheJobThroughTheScheduler(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	release := make(chan struct{})
	var ran []string
	sched, err := schedule.New(schedule.Config{
		Store: store, Jobs: []schedule.Job{{Name: "daily"}, {Name: "adhoc"}},
		Logger: slog.New(slog.DiscardHandler),
		Run: func(ctx context.Context, job string, _ time.Time, trigger string) error {
			ran = append(ran, job+"/"+trigger)
			run, _ := schedule.RunFromContext(ctx)
			step := state.Step{Kind: "model", Name: "rfm.rfm", Rows: 42, DurationMs: 7, StartedAt: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)}
			if err := store.AddStep(ctx, run.ID, step); err != nil {
				t.Error(err)
			}
			<-release
			return nil
		},
	})
	require.NoError(t, err)
	ts := newServer(t, server.Options{Scheduler: sched, Store: store, Token: "tok"})

	code, _ := do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "tok")
	require.Equal(t, http.StatusServiceUnavailable, code, "not started yet")

	require.NoError(t, sched.Start(t.Context()))
	code, run := do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "tok")
	require.Equal(t, http.StatusAccepted, code)
	id := run["id"].(string)
	code, body := do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "tok")
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, body["error"], "already running")

	close(release)
	var got map[string]any
	require.Eventually(t, func() bool {
		_, got = do(t, "GET", ts.URL+"/api/v1/runs/"+id, "")
		return got["run"].(map[string]any)["status"] == "succeeded"
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, sched.Stop(t.Context()))
	require.Equal(t, []string{"daily/manual"}, ran)
	steps := got["steps"].([]any)
	require.Len(t, steps, 1)
	require.Equal(t, map[string]any{"kind": "model", "name": "rfm.rfm", "rows": 42.0, "bytes_scanned": 0.0,
		"duration_ms": 7.0, "started_at": "2026-03-01T06:00:00Z"}, steps[0])
}

func TestRunsListingAndDetailFromTheStore(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	a, err := store.CreateRun(ctx, state.Run{ID: "A", Job: "daily", Trigger: state.TriggerSchedule, ScheduledFor: t0, StartedAt: t0.Add(2 * time.Second), Instance: "i1"})
	require.NoError(t, err)
	require.NoError(t, store.AddStep(ctx, a.ID, state.Step{Kind: "model", Name: "rfm.rfm", Rows: 1000, BytesScanned: 2048, DurationMs: 1500, SQL: "CREATE TABLE x AS SELECT 1", StartedAt: t0.Add(2 * time.Second)}))
	require.NoError(t, store.AddStep(ctx, a.ID, state.Step{Kind: "publish", Name: "champions -> files", Rows: 117, DurationMs: 300, Error: "3 records refused", StartedAt: t0.Add(4 * time.Second)}))
	require.NoError(t, store.FinishRun(ctx, a.ID, state.StatusFailed, "publish champions -> files: 3 records refused", t0.Add(62*time.Second)))
	_, err = store.CreateRun(ctx, state.Run{ID: "B", Job: "adhoc", Trigger: state.TriggerManual, StartedAt: t0.Add(time.Hour), Instance: "i2"})
	require.NoError(t, err)
	_, err = store.CreateRun(ctx, state.Run{ID: "C", Job: "daily", Trigger: state.TriggerCLI, StartedAt: t0.Add(2 * time.Hour), Instance: "i1"})
	require.NoError(t, err)

	ts := newServer(t, server.Options{Store: store})
	ids := func(body map[string]any) []string {
		var out []string
		for _, r := range body["runs"].([]any) {
			out = append(out, r.(map[string]any)["id"].(string))
		}
		return out
	}
	code, body := do(t, "GET", ts.URL+"/api/v1/runs", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"C", "B", "A"}, ids(body), "newest first")
	_, body = do(t, "GET", ts.URL+"/api/v1/runs?job=daily", "")
	require.Equal(t, []string{"C", "A"}, ids(body))
	_, body = do(t, "GET", ts.URL+"/api/v1/runs?job=daily&limit=1", "")
	require.Equal(t, []string{"C"}, ids(body))
	_, body = do(t, "GET", ts.URL+"/api/v1/runs?job=weekly", "")
	require.Equal(t, []any{}, body["runs"], "an empty list, not null")
	running := func() map[string]any {
		_, body := do(t, "GET", ts.URL+"/api/v1/runs?job=adhoc", "")
		return body["runs"].([]any)[0].(map[string]any)
	}()
	require.NotContains(t, running, "finished_at", "a running run has no finish time yet")
	require.NotContains(t, running, "duration_ms")

	for _, bad := range []string{"0", "-1", "x", "1001"} {
		code, body := do(t, "GET", ts.URL+"/api/v1/runs?limit="+bad, "")
		require.Equal(t, http.StatusBadRequest, code, bad)
		require.Contains(t, body["error"], "limit must be a whole number from 1 to 1000")
	}

	code, body = do(t, "GET", ts.URL+"/api/v1/runs/A", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{
		"id": "A", "job": "daily", "trigger": "schedule", "status": "failed",
		"scheduled_for": "2026-03-01T06:00:00Z", "started_at": "2026-03-01T06:00:02Z",
		"finished_at": "2026-03-01T06:01:02Z", "duration_ms": 60000.0,
		"error": "publish champions -> files: 3 records refused", "instance": "i1",
	}, body["run"])
	require.Equal(t, []any{
		map[string]any{"kind": "model", "name": "rfm.rfm", "rows": 1000.0, "bytes_scanned": 2048.0, "duration_ms": 1500.0,
			"sql": "CREATE TABLE x AS SELECT 1", "started_at": "2026-03-01T06:00:02Z"},
		map[string]any{"kind": "publish", "name": "champions -> files", "rows": 117.0, "bytes_scanned": 0.0, "duration_ms": 300.0,
			"error": "3 records refused", "started_at": "2026-03-01T06:00:04Z"},
	}, body["steps"])

	code, body = do(t, "GET", ts.URL+"/api/v1/runs/NOPE", "")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, `no run "NOPE"`, body["error"])
}

func TestJobsListing(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	claimed, run, err := store.ClaimScheduledRun(ctx, "daily", time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), "i1")
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, store.FinishRun(ctx, run.ID, state.StatusSucceeded, "", run.StartedAt.Add(90*time.Second)))

	ts := newServer(t, server.Options{Store: store, Now: func() time.Time { return now }})
	code, body := do(t, "GET", ts.URL+"/api/v1/jobs", "")
	require.Equal(t, http.StatusOK, code)
	jobs := body["jobs"].([]any)
	require.Len(t, jobs, 2)
	daily := jobs[0].(map[string]any)
	require.Equal(t, "daily", daily["name"])
	require.Equal(t, "0 6 * * *", daily["schedule"])
	require.Equal(t, "UTC", daily["timezone"])
	require.Equal(t, "2026-03-02T06:00:00Z", daily["next_run_at"], "06:00 today ran; next is tomorrow's")
	last := daily["last_run"].(map[string]any)
	require.Equal(t, run.ID, last["id"])
	require.Equal(t, "succeeded", last["status"])
	require.Equal(t, 90000.0, last["duration_ms"])

	adhoc := jobs[1].(map[string]any)
	require.Equal(t, map[string]any{"name": "adhoc", "timezone": "UTC", "models": []any{"rfm"}, "segments": []any{}}, adhoc,
		"no schedule: no next run; never ran: no last run")
}

type fakeSegments struct{}

func (fakeSegments) List(context.Context) (any, error) {
	return []map[string]any{{"name": "champions", "members": 109}}, nil
}

func (fakeSegments) Show(_ context.Context, name string) (any, error) {
	if name == "at_risk" {
		return nil, fmt.Errorf("segment at_risk was never built: %w", server.ErrNotFound)
	}
	return map[string]any{"name": name, "members": 109}, nil
}

func (fakeSegments) Diff(_ context.Context, name string) (any, error) {
	return nil, fmt.Errorf("warehouse unreachable")
}

func TestSegmentEndpoints(t *testing.T) {
	t.Parallel()
	ts := newServer(t, server.Options{})
	for _, path := range []string{"/api/v1/segments", "/api/v1/segments/champions", "/api/v1/segments/champions/diff"} {
		code, body := do(t, "GET", ts.URL+path, "")
		require.Equal(t, http.StatusNotImplemented, code, path)
		require.NotEmpty(t, body["error"])
	}

	ts = newServer(t, server.Options{Segments: fakeSegments{}})
	resp, err := http.Get(ts.URL + "/api/v1/segments")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `[{"name":"champions","members":109}]`, string(b))

	code, body := do(t, "GET", ts.URL+"/api/v1/segments/champions", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"name": "champions", "members": 109.0}, body)
	code, body = do(t, "GET", ts.URL+"/api/v1/segments/nope", "")
	require.Equal(t, http.StatusNotFound, code, "not in the config")
	require.Equal(t, `no segment named "nope"`, body["error"])
	code, _ = do(t, "GET", ts.URL+"/api/v1/segments/at_risk", "")
	require.Equal(t, http.StatusNotFound, code, "ErrNotFound from Segments")
	code, body = do(t, "GET", ts.URL+"/api/v1/segments/champions/diff", "")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Equal(t, "warehouse unreachable", body["error"])
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	store, err := state.OpenSQLite(filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, err)
	srv, err := server.New(server.Options{Scheduler: &fakeScheduler{}, Store: store, Config: testConfig(t), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	code, _ := do(t, "GET", ts.URL+"/healthz", "")
	require.Equal(t, http.StatusOK, code)
	code, body := do(t, "GET", ts.URL+"/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, code, "not ready before the scheduler started")
	require.Contains(t, body["error"], "starting or shutting down")

	srv.SetReady(true)
	code, _ = do(t, "GET", ts.URL+"/readyz", "")
	require.Equal(t, http.StatusOK, code)

	require.NoError(t, store.Close())
	code, body = do(t, "GET", ts.URL+"/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, code, "the store does not answer")
	require.Contains(t, body["error"], "state store")
	code, _ = do(t, "GET", ts.URL+"/healthz", "")
	require.Equal(t, http.StatusOK, code, "the process is still alive")

	srv.SetReady(false)
	code, _ = do(t, "GET", ts.URL+"/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, code, "shutting down")

	code, body = do(t, "GET", ts.URL+"/nope", "")
	require.Equal(t, http.StatusNotFound, code)
	require.True(t, strings.HasPrefix(body["error"].(string), "no endpoint /nope"))
}

// The request log names method, path and status, never the token.
func TestRequestLogHasNoToken(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	ts := newServer(t, server.Options{Token: "s3cret-token", Logger: log})
	code, _ := do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "s3cret-token")
	require.Equal(t, http.StatusAccepted, code)
	code, _ = do(t, "POST", ts.URL+"/api/v1/jobs/daily/trigger", "wrong")
	require.Equal(t, http.StatusUnauthorized, code)
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, buf.String(), `"msg":"http request","method":"POST","path":"/api/v1/jobs/daily/trigger","query":"","status":202`)
	require.Contains(t, buf.String(), `"status":401`)
	require.NotContains(t, buf.String(), "s3cret")
	require.NotContains(t, buf.String(), "wrong")
	require.NotContains(t, buf.String(), "Bearer")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
