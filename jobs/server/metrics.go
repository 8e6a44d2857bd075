package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/schedule"
)

// Metrics are the run metrics of `segflow serve`. Each attempt of a run
// is observed once (a run without retries has one attempt):
//
//	segflow_runs_total{job,status}                     attempts by outcome: succeeded, failed, cancelled
//	segflow_run_duration_seconds{job}                  histogram of attempt durations
//	segflow_step_rows_total{kind,job}                  rows of steps: model and segment tables, records published
//	segflow_step_bytes_scanned_total{job}              bytes scanned, where the warehouse reports them
//	segflow_rows_published_total{segment,destination}  records the destination acknowledged
//	segflow_destination_errors_total{segment,destination}  records the destination refused
//	segflow_dead_letters_total{segment,destination}    of those, the ones dead-lettered (refused for good)
//	segflow_queue_lag_seconds{job}                     the latest scheduled run's start minus its scheduled time
//	segflow_last_run_timestamp_seconds{job,status}     when the latest attempt with that outcome ended
type Metrics struct {
	runs        *prometheus.CounterVec
	runDuration *prometheus.HistogramVec
	stepRows    *prometheus.CounterVec
	stepBytes   *prometheus.CounterVec
	published   *prometheus.CounterVec
	destErrors  *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	queueLag    *prometheus.GaugeVec
	lastRun     *prometheus.GaugeVec
	now         func() time.Time
}

// RunDurationBuckets are the histogram buckets of
// segflow_run_duration_seconds: runs take seconds on a small warehouse
// and up to hours on a large one.
var RunDurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}

// NewMetrics creates the metrics and registers them with reg. It panics
// if reg already holds metrics of the same names.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segflow_runs_total", Help: "Run attempts by job and outcome (succeeded, failed, cancelled).",
		}, []string{"job", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "segflow_run_duration_seconds", Help: "Duration of run attempts.", Buckets: RunDurationBuckets,
		}, []string{"job"}),
		stepRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segflow_step_rows_total", Help: "Rows of run steps by kind (model, segment: table rows; publish: records acknowledged).",
		}, []string{"kind", "job"}),
		stepBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segflow_step_bytes_scanned_total", Help: "Bytes scanned by run steps, where the warehouse reports them.",
		}, []string{"job"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segflow_rows_published_total", Help: "Segment records acknowledged by a destination.",
		}, []string{"segment", "destination"}),
		destErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segflow_destination_errors_total", Help: "Segment records a destination refused (retryable or dead-lettered).",
		}, []string{"segment", "destination"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "segflow_dead_letters_total", Help: "Segment records refused for good and kept in the dead-letter table.",
		}, []string{"segment", "destination"}),
		queueLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "segflow_queue_lag_seconds", Help: "How late the job's latest scheduled run started after its scheduled time.",
		}, []string{"job"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "segflow_last_run_timestamp_seconds", Help: "Unix time at which the job's latest attempt with this outcome ended.",
		}, []string{"job", "status"}),
		now: time.Now,
	}
	reg.MustRegister(m.runs, m.runDuration, m.stepRows, m.stepBytes, m.published, m.destErrors, m.deadLetters, m.queueLag, m.lastRun)
	return m
}

// RunFunc is r's scheduler RunFunc (which records steps in store) that
// also observes every attempt.
func (m *Metrics) RunFunc(r *jobs.Runner, store state.Store) schedule.RunFunc {
	return func(ctx context.Context, job string, scheduledFor time.Time, trigger string) error {
		var sum *jobs.Summary
		err := r.RunFunc(store, func(s *jobs.Summary, _ error) { sum = s })(ctx, job, scheduledFor, trigger)
		run, ok := schedule.RunFromContext(ctx)
		if !ok {
			run = state.Run{Job: job, Trigger: trigger, ScheduledFor: scheduledFor}
		}
		run.Status, run.FinishedAt = attemptStatus(ctx, err), m.now()
		m.Observe(run, sum, err)
		return err
	}
}

// attemptStatus is how the scheduler will record an attempt that ended
// with err: cancelled when the scheduler cancelled it (shutdown), failed
// when it timed out, lost its lock or returned an error.
func attemptStatus(ctx context.Context, err error) string {
	switch cause := context.Cause(ctx); {
	case err == nil:
		return state.StatusSucceeded
	case ctx.Err() != nil && !errors.Is(cause, state.ErrLockLost) && !errors.Is(cause, context.DeadlineExceeded):
		return state.StatusCancelled
	}
	return state.StatusFailed
}

// Observe records one attempt of run. run.Status gives the outcome when
// it is final (succeeded, failed, cancelled); otherwise err decides. sum
// may be nil (the job did not get as far as a summary).
func (m *Metrics) Observe(run state.Run, sum *jobs.Summary, err error) {
	job := run.Job
	if job == "" && sum != nil {
		job = sum.Job
	}
	status := run.Status
	if status == "" || status == state.StatusRunning {
		status = state.StatusSucceeded
		if err != nil {
			status = state.StatusFailed
		}
	}
	finished := run.FinishedAt
	if finished.IsZero() {
		finished = m.now()
	}

	m.runs.WithLabelValues(job, status).Inc()
	m.lastRun.WithLabelValues(job, status).Set(float64(finished.UnixNano()) / 1e9)
	// Only scheduled runs wait for their time; a manual run's lag is 0 by
	// definition and would hide the scheduled runs' lag.
	if run.Trigger == state.TriggerSchedule && !run.StartedAt.IsZero() {
		m.queueLag.WithLabelValues(job).Set(max(run.StartedAt.Sub(run.ScheduledFor).Seconds(), 0))
	}
	if sum == nil {
		return
	}
	m.runDuration.WithLabelValues(job).Observe(sum.Duration.Seconds())
	for _, st := range sum.Steps {
		m.stepRows.WithLabelValues(st.Kind, job).Add(float64(max(st.Rows, 0)))
		m.stepBytes.WithLabelValues(job).Add(float64(max(st.BytesScanned, 0)))
		if st.Kind != "publish" {
			continue
		}
		segment, dest, _ := strings.Cut(st.Name, " -> ")
		acked, failed, dead := st.Rows, int64(0), int64(0)
		if st.Sync != nil {
			acked, failed, dead = st.Sync.Acknowledged, st.Sync.Failed, st.Sync.DeadLettered
		}
		// Add(0) too, so that every pair has its series and rate() works
		// from the first failure on.
		m.published.WithLabelValues(segment, dest).Add(float64(max(acked, 0)))
		m.destErrors.WithLabelValues(segment, dest).Add(float64(max(failed, 0)))
		m.deadLetters.WithLabelValues(segment, dest).Add(float64(max(dead, 0)))
	}
}
