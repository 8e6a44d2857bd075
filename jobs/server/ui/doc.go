// Package ui is the web UI of `segflow serve`: HTML pages for the people
// who look at what segflow computed — the jobs and their runs, the
// segments with their size over time and their destinations, and the
// model reports a marketer reads (RFM matrix, decile views, lifecycle
// funnel, cohort retention, attribution comparison, product affinity,
// next best category, CLV).
//
// cmd/segflow mounts [UI] at / next to the JSON API (/api/v1, package
// jobs/server). Every page reads small aggregates of the materialised
// model tables through the warehouse plugin (core/report), never the
// source transactions, so a page answers in milliseconds whatever the
// data's size.
//
// # Pages
//
//	GET  /                              jobs (schedule, last run, next run, trigger form), recent runs
//	POST /jobs/{name}/trigger           start a run (form field "token" or a bearer token); 303 to the run
//	GET  /runs/{id}                     a run's steps: status, rows, bytes scanned, duration, error, SQL
//	GET  /segments                      segments with size, churn of the last run and destinations
//	GET  /segments/{name}[?unmask=1]    size over time (joined/left per run), destinations, members
//	                                    (emails masked; ?unmask=1 needs the token: POST it in a form
//	                                    field, or send it as a bearer token)
//	GET  /reports/rfm                   R × F heatmap (customers and revenue per cell), RFM segments
//	GET  /reports/rfm/customers?r=&f=   one cell's customers (or ?segment=NAME)
//	GET  /reports/deciles               equal-count, equal-revenue and RFM-score deciles; loyalty classes
//	GET  /reports/lifecycle             stage funnel and stage transitions
//	GET  /reports/cohort                retention heatmap over 15 months, buyer mix
//	GET  /reports/attribution           revenue share per channel, every model side by side
//	GET  /reports/affinity              rules sortable by lift, confidence, ... (?sort=&dir=),
//	                                    filtered by level and segment (?level=&segment=); next best category
//	GET  /reports/clv                   CLV fit, churn-risk groups, CLV deciles
//	GET  /static/style.css              the one stylesheet
//
// # Why server-rendered HTML with SVG made in Go
//
// The pages are html/template documents and the charts are SVG written by
// this package's Go code. There is no JavaScript build, no npm step and no
// CDN: every asset is embedded in the segflow binary (go:embed), so the UI
// works offline and behind a firewall exactly as it does in a demo, and
// the same binary serves it that runs the jobs. Tables and charts work
// with JavaScript disabled; the UI has no script at all (a trigger is a
// form POST carrying the token). Because the output is plain HTML and SVG
// generated from typed values, tests can assert on the numbers in the
// markup (each chart element carries its raw figures in data-*
// attributes) with httptest or a headless browser, without a JavaScript
// test harness.
package ui
