//go:build duckdb_arrow

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/core/state/statetest"
	"github.com/segflow/segflow/examples"
)

// serveProc is a running `segflow serve`.
type serveProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan struct{} // closed when the process exited
	code   int
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe starts `segflow serve` in dir on a free port with env added,
// and waits until it listens. The process is killed when the test ends,
// if it is still running.
func startServe(t *testing.T, dir string, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(segflowBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &serveProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "segflow serve: listening on "); ok {
				listening <- addr
			}
		}
		_ = cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-listening:
	case <-p.done:
		t.Fatalf("segflow serve exited with %d before listening:\n%s", p.code, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("segflow serve did not listen within 60s:\n%s", p.stderr)
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *serveProc) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("segflow serve did not exit within 2m of SIGTERM:\n%s", p.stderr)
	}
	return p.code
}

func (p *serveProc) waitReady(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "readyz never answered 200:\n%s", p.stderr)
}

// call sends a request and decodes the JSON answer into out (if not nil).
func (p *serveProc) call(t *testing.T, method, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, p.url+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), "%s %s: %s", method, path, body)
	}
	return resp.StatusCode
}

type apiStep struct {
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Rows         int64  `json:"rows"`
	BytesScanned int64  `json:"bytes_scanned"`
	DurationMs   int64  `json:"duration_ms"`
	Error        string `json:"error"`
	SQL          string `json:"sql"`
}

type apiRunDetail struct {
	Run struct {
		ID, Job, Trigger, Status, Error string
	} `json:"run"`
	Steps []apiStep `json:"steps"`
}

// waitRun polls a run until it is no longer running.
func (p *serveProc) waitRun(t *testing.T, id string) apiRunDetail {
	t.Helper()
	var d apiRunDetail
	require.Eventually(t, func() bool {
		d = apiRunDetail{}
		require.Equal(t, http.StatusOK, p.call(t, "GET", "/api/v1/runs/"+id, "", &d))
		return d.Run.Status != state.StatusRunning
	}, 3*time.Minute, 100*time.Millisecond, "run %s did not finish:\n%s", id, p.stderr)
	return d
}

// metricsOf scrapes /metrics into "name{labels}" → value.
func (p *serveProc) metricsOf(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(p.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

func TestServeTriggerMetricsAndGracefulShutdown(t *testing.T) {
	dir := quickstart(t)
	const token = "e2e-token-9f3b"
	p := startServe(t, dir, []string{"SEGFLOW_API_TOKEN=" + token})
	p.waitReady(t)

	var jobsResp struct {
		Jobs []struct {
			Name, Schedule, Timezone string
			NextRunAt                time.Time `json:"next_run_at"`
		}
	}
	require.Equal(t, http.StatusOK, p.call(t, "GET", "/api/v1/jobs", "", &jobsResp))
	require.Len(t, jobsResp.Jobs, 1)
	require.Equal(t, "daily", jobsResp.Jobs[0].Name)
	require.Equal(t, "0 6 * * *", jobsResp.Jobs[0].Schedule)
	next := jobsResp.Jobs[0].NextRunAt
	require.Equal(t, 6, next.UTC().Hour(), "the next 06:00 UTC")
	require.WithinDuration(t, time.Now().Add(12*time.Hour), next, 12*time.Hour)

	var errBody struct{ Error string }
	require.Equal(t, http.StatusUnauthorized, p.call(t, "POST", "/api/v1/jobs/daily/trigger", "", &errBody))
	require.Equal(t, http.StatusUnauthorized, p.call(t, "POST", "/api/v1/jobs/daily/trigger", "wrong", nil))
	require.Equal(t, http.StatusNotFound, p.call(t, "POST", "/api/v1/jobs/nightly/trigger", token, nil))

	var run struct{ ID, Status string }
	require.Equal(t, http.StatusAccepted, p.call(t, "POST", "/api/v1/jobs/daily/trigger", token, &run))
	require.Equal(t, "running", run.Status)
	require.Equal(t, http.StatusConflict, p.call(t, "POST", "/api/v1/jobs/daily/trigger", token, nil), "no overlapping runs")
	d := p.waitRun(t, run.ID)
	require.Equal(t, "succeeded", d.Run.Status, d.Run.Error)
	require.Equal(t, "manual", d.Run.Trigger)

	// The steps' figures, checked against the files and the metrics.
	champions := readCSV(t, filepath.Join(dir, "out", "segments", "champions.csv"))
	var models, segments, published int64
	var sawPublish bool
	for _, s := range d.Steps {
		require.Empty(t, s.Error)
		switch s.Kind {
		case "model":
			models += s.Rows
		case "segment":
			segments += s.Rows
			require.NotEmpty(t, s.SQL)
		case "publish":
			published += s.Rows
			if s.Name == "champions -> files" {
				sawPublish = true
				require.Equal(t, int64(len(champions)-1), s.Rows, "records acknowledged = rows of the file")
			}
		}
	}
	require.True(t, sawPublish, "steps: %+v", d.Steps)
	require.Greater(t, models, int64(0))

	// The segment endpoints answer from the sync tables: the file holds
	// what sync_state says was acknowledged, and nothing is pending.
	var seg struct {
		Members      int64
		Destinations []struct {
			Name        string
			Synced      int64
			DeadLetters int64
		}
	}
	require.Equal(t, http.StatusOK, p.call(t, "GET", "/api/v1/segments/champions", "", &seg))
	require.Equal(t, int64(len(champions)-1), seg.Members)
	require.Len(t, seg.Destinations, 1)
	require.Equal(t, int64(len(champions)-1), seg.Destinations[0].Synced)
	var diff []struct {
		Destination            string
		Adds, Updates, Removes int64
	}
	require.Equal(t, http.StatusOK, p.call(t, "GET", "/api/v1/segments/champions/diff", "", &diff))
	require.Len(t, diff, 1)
	require.Equal(t, "files", diff[0].Destination)
	require.Zero(t, diff[0].Adds+diff[0].Updates+diff[0].Removes, "just published: nothing pending")
	require.Equal(t, http.StatusNotFound, p.call(t, "GET", "/api/v1/segments/nope", "", nil))

	m := p.metricsOf(t)
	require.Equal(t, 1.0, m[`segflow_runs_total{job="daily",status="succeeded"}`])
	require.NotContains(t, m, `segflow_runs_total{job="daily",status="failed"}`)
	require.Equal(t, float64(models), m[`segflow_step_rows_total{job="daily",kind="model"}`])
	require.Equal(t, float64(segments), m[`segflow_step_rows_total{job="daily",kind="segment"}`])
	require.Equal(t, float64(published), m[`segflow_step_rows_total{job="daily",kind="publish"}`])
	require.Equal(t, float64(len(champions)-1), m[`segflow_rows_published_total{destination="files",segment="champions"}`])
	require.Equal(t, 0.0, m[`segflow_destination_errors_total{destination="files",segment="champions"}`])
	require.Equal(t, 1.0, m[`segflow_run_duration_seconds_count{job="daily"}`])
	require.Contains(t, m, `segflow_last_run_timestamp_seconds{job="daily",status="succeeded"}`)
	require.Contains(t, m, "go_goroutines", "the Go collector is registered")

	// SIGTERM while a run is going: the run finishes within the grace
	// period and is recorded as succeeded, and serve exits 0.
	require.Equal(t, http.StatusAccepted, p.call(t, "POST", "/api/v1/jobs/daily/trigger", token, &run))
	require.Equal(t, 0, p.stop(t), p.stderr.String())
	r := segflow(t, dir, "runs", "show", run.ID, "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var shown struct{ Run struct{ Status string } }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown))
	require.Equal(t, "succeeded", shown.Run.Status, "the running job was let finish")

	logs := p.stderr.String()
	require.Contains(t, logs, `"msg":"http request"`)
	require.Contains(t, logs, `"msg":"shutting down`)
	require.NotContains(t, logs, token, "the token never reaches the logs")
}

func TestServeWithoutTokenRefusesWrites(t *testing.T) {
	dir := quickstart(t)
	p := startServe(t, dir, []string{"SEGFLOW_API_TOKEN=", "MY_TOKEN=abcd1234"}, "--token-env", "MY_TOKEN", "--grace", "10s")
	p.waitReady(t)
	var run struct{ ID string }
	require.Equal(t, http.StatusAccepted, p.call(t, "POST", "/api/v1/jobs/daily/trigger", "abcd1234", &run), "--token-env names the variable")
	p.waitRun(t, run.ID)
	require.Equal(t, 0, p.stop(t), p.stderr.String())

	p = startServe(t, dir, []string{"SEGFLOW_API_TOKEN="})
	p.waitReady(t)
	var body struct{ Error string }
	require.Equal(t, http.StatusForbidden, p.call(t, "POST", "/api/v1/jobs/daily/trigger", "anything", &body))
	require.Contains(t, body.Error, "SEGFLOW_API_TOKEN")
	require.Contains(t, p.stderr.String(), "no API token")
	require.Equal(t, 0, p.stop(t), p.stderr.String())
}

// Two instances share one PostgreSQL state store and a job due every
// 2 seconds: every scheduled time runs exactly once, in one instance,
// runs never overlap, and when the instance running the schedule stops
// the other one carries on.
func TestServeTwoInstancesShareOnePostgresSchedule(t *testing.T) {
	dsn := statetest.PostgresDSN(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	job := "ha_" + hex.EncodeToString(b[:]) // the store's schema is fixed: a fresh job name keeps reruns apart
	t.Cleanup(func() { deleteJobHistory(t, dsn, job) })

	cfg := string(examples.Quickstart)
	cfg = cfg[:strings.Index(cfg, "\njobs:")] + fmt.Sprintf(`
jobs:
  - name: %s
    schedule: "@every 2s"
    models: [rfm]
state:
  dsn: %q
`, job, dsn)
	// Each instance has its own DuckDB file: DuckDB lets one process
	// write a file. The state store is what they share.
	var procs []*serveProc
	for range 2 {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
		r := segflow(t, dir, "sample-data", "--out", "out/retail.duckdb", "--customers", "2000", "--seed", "7")
		require.Equal(t, 0, r.code, r.stderr)
		procs = append(procs, startServe(t, dir, nil, "--grace", "1m"))
	}
	byPID := map[string]*serveProc{} // instance names end in ":pid"
	for _, p := range procs {
		p.waitReady(t)
		byPID[fmt.Sprintf(":%d", p.cmd.Process.Pid)] = p
	}
	pidOf := func(r state.Run) string { return r.Instance[strings.LastIndexByte(r.Instance, ':'):] }

	store, err := state.OpenPostgres(t.Context(), dsn)
	require.NoError(t, err)
	defer store.Close()
	// waitRuns waits until at least n runs that started after since have
	// finished, and returns them, newest first.
	waitRuns := func(n int, since time.Time) []state.Run {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			all, err := store.ListRuns(t.Context(), state.RunFilter{Job: job, Limit: 1000})
			require.NoError(t, err)
			runs := slices.DeleteFunc(all, func(r state.Run) bool { return r.Status == state.StatusRunning || r.StartedAt.Before(since) })
			if len(runs) >= n {
				return runs
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 90s: %d finished runs since %s, by instances %v; want %d", len(runs), since, instanceCounts(runs), n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Both run the schedule; then the instance that ran the latest run
	// stops, and the other takes over. (Which instance wins each time is
	// a race: one can win them all while both are up.)
	runs := waitRuns(4, time.Time{})
	active := byPID[pidOf(runs[0])]
	require.NotNil(t, active, "run %s by %s, not one of the two instances", runs[0].ID, runs[0].Instance)
	require.Equal(t, 0, active.stop(t), active.stderr.String())
	stoppedAt := time.Now()
	for _, r := range waitRuns(3, stoppedAt) {
		require.NotSame(t, active, byPID[pidOf(r)], "run %s after the stop was run by the stopped instance", r.ID)
	}
	for _, p := range procs {
		if p != active {
			require.Equal(t, 0, p.stop(t), p.stderr.String())
		}
	}

	runs, err = store.ListRuns(t.Context(), state.RunFilter{Job: job, Limit: 1000})
	require.NoError(t, err)
	slices.Reverse(runs) // oldest first
	seen := map[time.Time]string{}
	for i, r := range runs {
		require.Equal(t, state.TriggerSchedule, r.Trigger)
		require.Equal(t, state.StatusSucceeded, r.Status, "run %s: %s", r.ID, r.Error)
		require.Empty(t, seen[r.ScheduledFor], "scheduled time %s ran twice: %s and %s", r.ScheduledFor, seen[r.ScheduledFor], r.ID)
		seen[r.ScheduledFor] = r.ID
		require.NotNil(t, byPID[pidOf(r)], "run %s by %s, not one of the two instances", r.ID, r.Instance)
		if i > 0 {
			prev := runs[i-1]
			require.False(t, r.StartedAt.Before(prev.FinishedAt), "run %s started at %s, before run %s finished at %s",
				r.ID, r.StartedAt, prev.ID, prev.FinishedAt)
			require.True(t, r.ScheduledFor.After(prev.ScheduledFor), "scheduled times move forward")
		}
		_, steps, err := store.GetRun(t.Context(), r.ID)
		require.NoError(t, err)
		require.NotEmpty(t, steps, "run %s recorded its steps", r.ID)
	}
	t.Logf("%d scheduled runs, by instance: %v", len(runs), instanceCounts(runs))
}

func instanceCounts(runs []state.Run) map[string]int {
	out := map[string]int{}
	for _, r := range runs {
		out[r.Instance]++
	}
	return out
}

// deleteJobHistory removes a test job's runs (and, by cascade, steps) and
// lock from the shared PostgreSQL state schema.
func deleteJobHistory(t *testing.T, dsn, job string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("clean up job %s: %v", job, err)
		return
	}
	defer c.Close(ctx)
	for _, q := range []string{"DELETE FROM segflow_state.runs WHERE job = $1", "DELETE FROM segflow_state.job_locks WHERE job = $1"} {
		if _, err := c.Exec(ctx, q, job); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("clean up job %s: %v", job, err)
		}
	}
}
