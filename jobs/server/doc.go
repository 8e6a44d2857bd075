// Package server is the HTTP side of `segflow serve`: a JSON API over the
// scheduler and the run history, health checks for an orchestrator, and
// Prometheus metrics of the runs. cmd/segflow wires it to a running
// [schedule.Scheduler]; tests drive it with httptest.
//
// # Endpoints
//
// Reads are open; every write (POST) needs "Authorization: Bearer TOKEN".
// Without a configured token writes are refused with 403. Errors are JSON
// objects {"error": "..."} with a fitting status code.
//
//	GET  /api/v1/jobs                 the config's jobs: name, schedule, time zone,
//	                                  next scheduled time, last run (status, duration)
//	GET  /api/v1/runs?job=J&limit=N   run history, newest first (limit default 50, at most 1000)
//	GET  /api/v1/runs/{id}            one run and its steps (kind, name, rows,
//	                                  bytes scanned, duration, error, sql); 404 if unknown
//	POST /api/v1/jobs/{name}/trigger  start a manual run now: 202 with the run
//	                                  (Location: /api/v1/runs/{id}); 404 unknown job,
//	                                  409 already running here or in another instance,
//	                                  503 while the scheduler is not running
//	GET  /api/v1/segments             segments (from [Segments]; 501 when none is given)
//	GET  /api/v1/segments/{name}      one segment
//	GET  /api/v1/segments/{name}/diff what the next publish would send
//	GET  /healthz                     200 while the process is up
//	GET  /readyz                      200 once the scheduler runs and the state store
//	                                  answers; 503 before that and during shutdown
//	GET  /metrics                     Prometheus exposition of the registry given to [New]
//
// With [Options].UI set (the web UI, package jobs/server/ui), every other
// path outside /api/ goes to it; unknown /api/ paths stay JSON 404s.
//
// # Metrics
//
// [Metrics] holds the run metrics (see its doc for the list). They are
// fed once per attempt of a run by [Metrics.RunFunc], which wraps the
// runner's scheduler RunFunc, or directly through [Metrics.Observe].
package server
