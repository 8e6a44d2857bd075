package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/schedule"
	"github.com/segflow/segflow/jobs/server"
	"github.com/segflow/segflow/jobs/server/ui"
)

// defaultTokenEnv holds the API token unless --token-env names another
// variable. The token is never read from a flag, where `ps` would show it.
const defaultTokenEnv = "SEGFLOW_API_TOKEN"

func newServeCmd(g *globals) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the scheduler daemon with its web UI, HTTP API, health checks and /metrics",
		Long: `Serve runs every job on its schedule and serves a web UI at / (jobs,
runs, segments and the model reports), a JSON API under /api/v1 (jobs,
runs, manual triggers), /healthz, /readyz and Prometheus /metrics.

Writes (POST /api/v1/jobs/NAME/trigger) need "Authorization: Bearer TOKEN",
where TOKEN is the value of $SEGFLOW_API_TOKEN (or of the variable
--token-env names); without one, writes are refused.

Several instances may share a PostgreSQL state store (state.dsn): each
scheduled time then runs once, in one of them.

On SIGTERM or SIGINT serve stops taking requests and scheduling, lets
running jobs finish for up to --grace (then cancels them), and exits 0.`,
		Example: `  SEGFLOW_API_TOKEN=s3cret segflow serve -c segflow.yaml --addr :8080
  curl -X POST -H "Authorization: Bearer s3cret" localhost:8080/api/v1/jobs/daily/trigger`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if o.grace < 0 {
				return usageError{fmt.Errorf("--grace cannot be negative, not %s", o.grace)}
			}
			o.token = strings.TrimSpace(os.Getenv(o.tokenEnv))
			return serve(cmd.Context(), cfg, o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.addr, "addr", ":8080", "address to listen on (host:port; port 0 picks a free one)")
	cmd.Flags().StringVar(&o.tokenEnv, "token-env", defaultTokenEnv, "environment variable holding the API token that writes need")
	cmd.Flags().DurationVar(&o.grace, "grace", 5*time.Minute, "on shutdown, how long running jobs may take to finish before they are cancelled")
	return cmd
}

type serveOptions struct {
	addr            string
	token, tokenEnv string // the API token, and the variable it came from
	grace           time.Duration
}

// serve runs the scheduler and the HTTP server until ctx is done (a
// signal), then shuts both down gracefully.
func serve(ctx context.Context, cfg *config.Config, o serveOptions, stdout io.Writer) error {
	log := serveLogger(cfg)
	sjobs, err := jobs.ScheduleJobs(cfg)
	if err != nil {
		return usageError{err}
	}
	// Listen first: a taken port fails before any plugin is launched.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	r, closeRunner, err := openRunner(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeRunner()
	r.Logger = log
	store, err := jobs.OpenState(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	// A private registry: only what segflow serve means to expose.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := server.NewMetrics(reg)
	sched, err := schedule.New(schedule.Config{Store: store, Run: metrics.RunFunc(r, store), Jobs: sjobs, Logger: log})
	if err != nil {
		return err
	}
	if o.token == "" {
		log.Warn("no API token: writes (manual triggers) are refused; set " + o.tokenEnv + " to allow them")
	}
	// The web UI reads the model tables through the runner's warehouse,
	// and the segments' status from the runner once it provides it.
	segs, _ := any(r).(ui.Segments)
	pages, err := ui.New(ui.Options{Config: cfg, Store: store, Scheduler: sched, Warehouse: r.Warehouse, Segments: segs, Token: o.token, Logger: log})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Scheduler: sched, Store: store, Config: cfg, Token: o.token, Gatherer: reg, Logger: log, UI: pages, Segments: segmentsAPI{r}})
	if err != nil {
		return err
	}

	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	if err := sched.Start(ctx); err != nil {
		httpSrv.Close()
		return err
	}
	srv.SetReady(true)
	log.Info("serving", "addr", ln.Addr().String(), "jobs", len(sjobs))
	fmt.Fprintf(stdout, "segflow serve: listening on http://%s\n", ln.Addr())

	var failed error
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new requests or runs; waiting for running jobs", "grace", o.grace.String())
	case err := <-serveErr:
		failed = fmt.Errorf("http server: %w", err)
		log.Error("http server failed; shutting down", "err", err)
	}

	// Order: tell probes we are going, stop taking requests (in-flight
	// ones finish), then let running jobs finish within the grace period.
	srv.SetReady(false)
	httpCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if err := httpSrv.Shutdown(httpCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	cancel()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.grace)
	defer cancel()
	if err := sched.Stop(stopCtx); err != nil {
		// The runs were cancelled and recorded so; what destinations
		// acknowledged is kept, and the next run sends the rest.
		log.Warn("grace period over; running jobs were cancelled", "grace", o.grace.String(), "err", err)
	}
	log.Info("stopped")
	return failed
}

// serveLogger logs JSON lines off a terminal, as every command does; on a
// terminal it logs text at info level, since a daemon has no progress
// output to show instead.
func serveLogger(cfg *config.Config) *slog.Logger {
	if !isTerminal(os.Stderr) {
		return newLogger(cfg)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(cfg.Redact(a.Value.String()))
			}
			return a
		},
	}))
}
