package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs"
)

// scrape GETs /metrics and returns the samples whose name starts with
// segflow_, keyed by name and labels as exposed.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return parseExposition(t, resp.Body)
}

func parseExposition(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "segflow_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}

func TestMetricsAfterObserve(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	at := func(h, min, s, ms int) time.Time { return time.Date(2026, 3, 1, h, min, s, ms*1e6, time.UTC) }

	// A scheduled run that started 2.5s late and took 90s.
	m.Observe(state.Run{Job: "daily", Trigger: state.TriggerSchedule, Status: state.StatusSucceeded,
		ScheduledFor: at(6, 0, 0, 0), StartedAt: at(6, 0, 2, 500), FinishedAt: at(6, 1, 32, 500)},
		&jobs.Summary{Job: "daily", Duration: 90 * time.Second, Steps: []jobs.Step{
			{Kind: "model", Name: "rfm.orders_clean", Rows: 5000, BytesScanned: -1}, // unknown bytes count as none
			{Kind: "model", Name: "rfm.rfm", Rows: 1000, BytesScanned: 2048},
			{Kind: "segment", Name: "champions", Rows: 120},
			{Kind: "publish", Name: "champions -> files", Rows: 117,
				Sync: &jobs.SyncCounts{Adds: 100, Updates: 20, Acknowledged: 117, Failed: 3, DeadLettered: 1}},
			{Kind: "publish", Name: "at_risk -> crm", Rows: 40}, // no Sync: Rows were acknowledged
		}}, nil)
	// A manual run whose one attempt failed after 3s; its lag (0) must
	// not replace the scheduled run's.
	m.Observe(state.Run{Job: "daily", Trigger: state.TriggerManual, ScheduledFor: at(8, 59, 57, 0), StartedAt: at(8, 59, 57, 0), FinishedAt: at(9, 0, 0, 0)},
		&jobs.Summary{Job: "daily", Duration: 3 * time.Second, Steps: []jobs.Step{
			{Kind: "model", Name: "rfm.orders_clean", Rows: 10, Err: "boom"},
		}}, errors.New("model rfm.orders_clean: boom"))
	// A run that failed before it had a summary (the config was wrong).
	m.Observe(state.Run{Job: "weekly", Status: state.StatusFailed, FinishedAt: at(9, 30, 0, 0)}, nil, errors.New("bad"))

	cfg, err := config.Parse([]byte(minimalConfig), "segflow.yaml")
	require.NoError(t, err)
	srv, err := New(Options{Scheduler: nopTrigger{}, Store: nil, Config: cfg, Gatherer: reg})
	require.Error(t, err, "a store is required")
	srv, err = New(Options{Scheduler: nopTrigger{}, Store: nopStore{}, Config: cfg, Gatherer: reg})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	got := scrape(t, ts.URL)

	want := map[string]float64{
		`segflow_runs_total{job="daily",status="succeeded"}`:  1,
		`segflow_runs_total{job="daily",status="failed"}`:     1,
		`segflow_runs_total{job="weekly",status="failed"}`:    1,
		`segflow_step_rows_total{job="daily",kind="model"}`:   5000 + 1000 + 10,
		`segflow_step_rows_total{job="daily",kind="segment"}`: 120,
		`segflow_step_rows_total{job="daily",kind="publish"}`: 117 + 40,
		`segflow_step_bytes_scanned_total{job="daily"}`:       2048,

		`segflow_rows_published_total{destination="files",segment="champions"}`:     117,
		`segflow_rows_published_total{destination="crm",segment="at_risk"}`:         40,
		`segflow_destination_errors_total{destination="files",segment="champions"}`: 3,
		`segflow_destination_errors_total{destination="crm",segment="at_risk"}`:     0,
		`segflow_dead_letters_total{destination="files",segment="champions"}`:       1,
		`segflow_dead_letters_total{destination="crm",segment="at_risk"}`:           0,

		`segflow_queue_lag_seconds{job="daily"}`: 2.5,
		// 2026-03-01T00:00Z is 20513 days after the epoch: 1772323200.
		`segflow_last_run_timestamp_seconds{job="daily",status="succeeded"}`: 1772323200 + 6*3600 + 60 + 32.5,
		`segflow_last_run_timestamp_seconds{job="daily",status="failed"}`:    1772323200 + 9*3600,
		`segflow_last_run_timestamp_seconds{job="weekly",status="failed"}`:   1772323200 + 9*3600 + 30*60,

		// Durations 90s and 3s: 3s is in le=5 and up, 90s in le=120 and up.
		`segflow_run_duration_seconds_bucket{job="daily",le="1"}`:    0,
		`segflow_run_duration_seconds_bucket{job="daily",le="5"}`:    1,
		`segflow_run_duration_seconds_bucket{job="daily",le="60"}`:   1,
		`segflow_run_duration_seconds_bucket{job="daily",le="120"}`:  2,
		`segflow_run_duration_seconds_bucket{job="daily",le="+Inf"}`: 2,
		`segflow_run_duration_seconds_sum{job="daily"}`:              93,
		`segflow_run_duration_seconds_count{job="daily"}`:            2,
	}
	for k, v := range want {
		require.Contains(t, got, k)
		require.InDelta(t, v, got[k], 1e-6, k)
	}
	require.NotContains(t, got, `segflow_queue_lag_seconds{job="weekly"}`, "no scheduled run of weekly was seen")
	require.NotContains(t, got, `segflow_run_duration_seconds_count{job="weekly"}`, "a run without summary has no duration")
}

func TestAttemptStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	require.Equal(t, "succeeded", attemptStatus(ctx, nil))
	require.Equal(t, "failed", attemptStatus(ctx, errors.New("boom")))

	shutdown, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("segflow is shutting down"))
	require.Equal(t, "cancelled", attemptStatus(shutdown, errors.New("context canceled")))
	require.Equal(t, "succeeded", attemptStatus(shutdown, nil), "finished before it noticed")

	lost, cancel := context.WithCancelCause(ctx)
	cancel(fmt.Errorf("extend: %w", state.ErrLockLost))
	require.Equal(t, "failed", attemptStatus(lost, errors.New("context canceled")), "the scheduler records a lost lock as failed")

	timedOut, stop := context.WithTimeout(ctx, -time.Second)
	defer stop()
	require.Equal(t, "failed", attemptStatus(timedOut, errors.New("deadline exceeded")), "a timeout is a failure")
}

type nopTrigger struct{}

func (nopTrigger) Trigger(context.Context, string) (state.Run, error) { return state.Run{}, nil }

// nopStore satisfies state.Store for tests that never touch it.
type nopStore struct{ state.Store }

const minimalConfig = `version: 1
warehouse: { plugin: duckdb }
sources:
  customers:   { table: customers }
  orders:      { table: orders }
  order_lines: { table: order_lines }
  products:    { table: products }
  touchpoints: { table: touchpoints }
jobs:
  - name: daily
    schedule: "0 6 * * *"
    models: [rfm]
`
