package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/schedule"
)

// Triggerer starts manual runs; *schedule.Scheduler is one.
type Triggerer interface {
	Trigger(ctx context.Context, job string) (state.Run, error)
}

// Segments answers the segment endpoints. Each result is encoded as
// JSON as it is. Show and Diff return an error wrapping ErrNotFound for a
// segment they do not know.
type Segments interface {
	List(ctx context.Context) (any, error)
	Show(ctx context.Context, name string) (any, error)
	Diff(ctx context.Context, name string) (any, error)
}

// ErrNotFound marks a lookup of something that does not exist (404).
var ErrNotFound = errors.New("not found")

// MaxLimit bounds the limit of GET /api/v1/runs.
const MaxLimit = 1000

// Options configure a Server.
type Options struct {
	Scheduler Triggerer      // required
	Store     state.Store    // required
	Config    *config.Config // required: the jobs and segments listed
	// Token is the bearer token writes need; empty refuses every write.
	Token string
	// Gatherer is served on /metrics; nil serves an empty registry.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger // default slog.Default()
	// Segments answers /api/v1/segments...; nil answers 501.
	Segments Segments
	// Now gives the current time (for the next scheduled times); tests fix it.
	Now func() time.Time
	// UI, if set, serves every path outside /api/ that no endpoint
	// claims: the web UI at / (package jobs/server/ui).
	UI http.Handler
}

// Server is the HTTP handler of `segflow serve`.
type Server struct {
	opts      Options
	schedules map[string]schedule.Schedule
	tz        string
	log       *slog.Logger
	mux       *http.ServeMux
	ready     atomic.Bool
	// tokenSum is the token's SHA-256: comparing fixed-length digests in
	// constant time does not reveal the token's length either.
	tokenSum [sha256.Size]byte
}

// New checks the options and returns a Server that is not ready yet
// (see SetReady).
func New(opts Options) (*Server, error) {
	if opts.Scheduler == nil || opts.Store == nil || opts.Config == nil {
		return nil, errors.New("server: Scheduler, Store and Config are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sjobs, err := jobs.ScheduleJobs(opts.Config)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, schedules: map[string]schedule.Schedule{}, tz: opts.Config.Timezone, log: opts.Logger}
	if s.tz == "" {
		s.tz = "UTC"
	}
	for _, j := range sjobs {
		s.schedules[j.Name] = j.Schedule
	}
	if opts.Token != "" {
		s.tokenSum = sha256.Sum256([]byte(opts.Token))
	}

	s.mux = http.NewServeMux()
	s.route("GET /api/v1/jobs", s.listJobs)
	s.route("POST /api/v1/jobs/{name}/trigger", s.authorized(s.trigger))
	s.route("GET /api/v1/runs", s.listRuns)
	s.route("GET /api/v1/runs/{id}", s.getRun)
	s.route("GET /api/v1/segments", s.segments(func(seg Segments, ctx context.Context, _ string) (any, error) { return seg.List(ctx) }))
	s.route("GET /api/v1/segments/{name}", s.segments(Segments.Show))
	s.route("GET /api/v1/segments/{name}/diff", s.segments(Segments.Diff))
	s.route("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.route("GET /readyz", s.readyz)
	metrics := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)})
	s.route("GET /metrics", metrics.ServeHTTP)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "no endpoint "+r.URL.Path+" (see /api/v1/jobs, /api/v1/runs, /api/v1/segments, /healthz, /readyz, /metrics)")
	}
	if opts.UI != nil {
		s.mux.HandleFunc("/api/", notFound)
		s.mux.Handle("/", opts.UI)
	} else {
		s.mux.HandleFunc("/", notFound)
	}
	return s, nil
}

// route registers "METHOD /path" and answers other methods on the same
// path with a JSON 405 (the mux's own is plain text).
func (s *Server) route(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(pattern, h)
	s.mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", method)
		s.fail(w, http.StatusMethodNotAllowed, "method not allowed; use "+method)
	})
}

// SetReady says whether /readyz may answer 200: true once the scheduler
// started, false again when shutdown begins.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ServeHTTP logs each request (never its headers: they hold the token)
// and recovers from panics in handlers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("http handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rec.wrote {
				s.fail(rec, http.StatusInternalServerError, "internal error")
			}
		}
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			level = slog.LevelDebug // probes and scrapes would drown the log
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"status", rec.status, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	}()
	s.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// authorized lets a request through only with the configured bearer token.
func (s *Server) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token == "" {
			s.fail(w, http.StatusForbidden, "writes are disabled: segflow serve has no API token; "+
				"set SEGFLOW_API_TOKEN (or the variable --token-env names) and restart it")
			return
		}
		scheme, given, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(given)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="segflow"`)
			s.fail(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
			return
		}
		h(w, r)
	}
}

// Run is a run as the API shows it.
type Run struct {
	ID           string     `json:"id"`
	Job          string     `json:"job"`
	Trigger      string     `json:"trigger"`
	Status       string     `json:"status"`
	ScheduledFor time.Time  `json:"scheduled_for"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"` // absent while running
	DurationMs   *int64     `json:"duration_ms,omitempty"` // absent while running
	Error        string     `json:"error,omitempty"`
	Instance     string     `json:"instance"`
}

func apiRun(r state.Run) Run {
	out := Run{ID: r.ID, Job: r.Job, Trigger: r.Trigger, Status: r.Status, ScheduledFor: r.ScheduledFor,
		StartedAt: r.StartedAt, Error: r.Error, Instance: r.Instance}
	if !r.FinishedAt.IsZero() {
		d := r.FinishedAt.Sub(r.StartedAt).Milliseconds()
		out.FinishedAt, out.DurationMs = &r.FinishedAt, &d
	}
	return out
}

// Job is a configured job as the API shows it.
type Job struct {
	Name     string   `json:"name"`
	Schedule string   `json:"schedule,omitempty"` // empty: only run when triggered
	Timezone string   `json:"timezone"`
	Models   []string `json:"models"`
	Segments []string `json:"segments"`
	// NextRunAt is the next scheduled time after now; absent without a schedule.
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
	LastRun   *Run       `json:"last_run,omitempty"`
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.opts.Now()
	out := []Job{}
	for _, cj := range s.opts.Config.Jobs {
		j := Job{Name: cj.Name, Schedule: cj.Schedule, Timezone: s.tz, Models: nonNil(cj.Models), Segments: nonNil(cj.Segments)}
		if sched := s.schedules[cj.Name]; sched != nil {
			last, ok, err := s.opts.Store.LastScheduledFor(ctx, cj.Name)
			if err != nil {
				s.storeError(w, err)
				return
			}
			if !ok {
				last = now
			}
			if next := nextAfter(sched, last, now); !next.IsZero() {
				j.NextRunAt = &next
			}
		}
		runs, err := s.opts.Store.ListRuns(ctx, state.RunFilter{Job: cj.Name, Limit: 1})
		if err != nil {
			s.storeError(w, err)
			return
		}
		if len(runs) > 0 {
			run := apiRun(runs[0])
			j.LastRun = &run
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

// nextAfter is the first scheduled time after now, counted from last so
// that @every schedules keep the grid the scheduler uses.
func nextAfter(sched schedule.Schedule, last, now time.Time) time.Time {
	t := sched.Next(last)
	for n := 0; !t.IsZero() && !t.After(now); n++ {
		next := sched.Next(t)
		if !next.After(t) || n > 1<<20 {
			return sched.Next(now)
		}
		t = next
	}
	return t.UTC()
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.opts.Config.Job(name) == nil {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no job named %q", name))
		return
	}
	run, err := s.opts.Scheduler.Trigger(r.Context(), name)
	switch {
	case errors.Is(err, schedule.ErrJobRunning):
		s.fail(w, http.StatusConflict, fmt.Sprintf("job %s is already running (here or in another instance); try again when it finishes", name))
		return
	case errors.Is(err, schedule.ErrNotStarted), errors.Is(err, schedule.ErrStopped):
		s.fail(w, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		s.log.Error("trigger job", "job", name, "err", s.opts.Config.Redact(err.Error()))
		s.fail(w, http.StatusInternalServerError, "trigger job "+name+": "+err.Error())
		return
	}
	s.log.Info("job triggered", "job", name, "run", run.ID, "remote", r.RemoteAddr)
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, apiRun(run))
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := state.DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			s.fail(w, http.StatusBadRequest, fmt.Sprintf("limit must be a whole number from 1 to %d, not %q", MaxLimit, v))
			return
		}
		limit = n
	}
	runs, err := s.opts.Store.ListRuns(r.Context(), state.RunFilter{Job: q.Get("job"), Limit: limit})
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := make([]Run, len(runs))
	for i, run := range runs {
		out[i] = apiRun(run)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	run, steps, err := s.opts.Store.GetRun(r.Context(), id)
	if errors.Is(err, state.ErrNotFound) {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no run %q", id))
		return
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": apiRun(run), "steps": nonNil(steps)})
}

// segments answers a segment endpoint with one of the Segments methods.
func (s *Server) segments(call func(Segments, context.Context, string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Segments == nil {
			s.fail(w, http.StatusNotImplemented, "segment endpoints are not available in this version of segflow serve")
			return
		}
		name := r.PathValue("name")
		if name != "" && s.opts.Config.Segment(name) == nil {
			s.fail(w, http.StatusNotFound, fmt.Sprintf("no segment named %q", name))
			return
		}
		v, err := call(s.opts.Segments, r.Context(), name)
		switch {
		case errors.Is(err, ErrNotFound):
			s.fail(w, http.StatusNotFound, err.Error())
		case err != nil:
			s.log.Error("segments", "path", r.URL.Path, "err", s.opts.Config.Redact(err.Error()))
			s.fail(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		s.fail(w, http.StatusServiceUnavailable, "not ready: the scheduler is starting or shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.opts.Store.ListRuns(ctx, state.RunFilter{Limit: 1}); err != nil {
		s.fail(w, http.StatusServiceUnavailable, "not ready: the state store does not answer: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) storeError(w http.ResponseWriter, err error) {
	s.log.Error("state store", "err", s.opts.Config.Redact(err.Error()))
	s.fail(w, http.StatusInternalServerError, "state store: "+err.Error())
}

// fail writes a JSON error, with config secrets redacted.
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": s.opts.Config.Redact(msg)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
