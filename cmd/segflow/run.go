package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/schedule"
)

// openRunner launches the configured warehouse plugin and configures it.
func openRunner(ctx context.Context, cfg *config.Config) (*jobs.Runner, func(), error) {
	host, err := newHost(cfg)
	if err != nil {
		return nil, nil, err
	}
	wh, err := host.Warehouse(cfg.Warehouse.Plugin)
	if err != nil {
		return nil, nil, err
	}
	raw, err := cfg.PluginConfigJSON(cfg.Warehouse.Config)
	if err != nil {
		wh.Close()
		return nil, nil, err
	}
	if err := wh.Configure(ctx, raw); err != nil {
		wh.Close()
		var fields core.FieldErrors
		if errors.As(err, &fields) {
			var errs []error
			for _, f := range fields {
				errs = append(errs, cfg.Errorf("warehouse.config."+f.Field, "%s", f.Message))
			}
			return nil, nil, usageError{errors.Join(errs...)}
		}
		return nil, nil, fmt.Errorf("configure warehouse: %w", err)
	}
	r := &jobs.Runner{Config: cfg, Warehouse: wh, NewDestination: destinationOpener(cfg), Logger: newLogger(cfg)}
	return r, func() { wh.Close() }, nil
}

func newRunCmd(g *globals) *cobra.Command {
	var job string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run jobs once, now",
		Long: `Run materialises the job's models and segments in the warehouse's output
schema and writes the segments to their destinations. Without --job every
job in the config runs, in order. --dry-run prints the SQL and what would
be written, and changes nothing.`,
		Example: `  segflow run -c examples/quickstart/segflow.yaml
  segflow run -c segflow.yaml --job daily --dry-run`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			names := []string{job}
			if job == "" {
				names = nil
				for _, j := range cfg.Jobs {
					names = append(names, j.Name)
				}
			} else if cfg.Job(job) == nil {
				return usageError{fmt.Errorf("no job named %q in %s", job, g.configPath)}
			}
			r, closeFn, err := openRunner(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			out := cmd.OutOrStdout()
			if dryRun {
				for _, name := range names {
					sum, err := r.Run(cmd.Context(), name, true)
					printDryRun(out, sum)
					if err != nil {
						return runError(name, err)
					}
				}
				return nil
			}
			if isTerminal(os.Stderr) {
				r.OnStep = func(s jobs.Step) { printProgress(os.Stderr, s) }
			}
			// Runs go through the scheduler's path so that they take the
			// job's lock (no overlap with a running `segflow serve`) and
			// land in the run history.
			sched, store, err := newScheduler(cmd.Context(), cfg, r, func(sum *jobs.Summary, _ error) {
				if sum != nil {
					printSummary(out, sum)
				}
			})
			if err != nil {
				return err
			}
			defer store.Close()
			for _, name := range names {
				run, err := sched.RunNow(cmd.Context(), name, "cli")
				if err != nil {
					return runError(name, err)
				}
				fmt.Fprintf(out, "run %s recorded (segflow runs show %s)\n", run.ID, run.ID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&job, "job", "", "run only this job")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the SQL and what would be written; change nothing")
	return cmd
}

// newScheduler opens the state store and builds a scheduler that runs
// jobs with r. The caller closes the store.
func newScheduler(ctx context.Context, cfg *config.Config, r *jobs.Runner, onSummary func(*jobs.Summary, error)) (*schedule.Scheduler, state.Store, error) {
	sjobs, err := jobs.ScheduleJobs(cfg)
	if err != nil {
		return nil, nil, usageError{err}
	}
	store, err := jobs.OpenState(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	sched, err := schedule.New(schedule.Config{Store: store, Run: r.RunFunc(store, onSummary), Jobs: sjobs, Logger: r.Logger})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return sched, store, nil
}

func runError(job string, err error) error {
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return usageError{err}
	}
	return fmt.Errorf("job %s failed: %w", job, err)
}

func printProgress(w io.Writer, s jobs.Step) {
	mark := "✓"
	if s.Err != "" {
		mark = "✗"
	}
	fmt.Fprintf(w, "  %s %-8s %-40s %8s  %s\n", mark, s.Kind, s.Name, s.Duration.Round(time.Millisecond), rowsText(s))
}

func rowsText(s jobs.Step) string {
	switch {
	case s.Kind == "publish":
		return fmt.Sprintf("%d records", s.Rows)
	case s.Rows >= 0:
		return fmt.Sprintf("%d rows", s.Rows)
	}
	return ""
}

func printSummary(w io.Writer, sum *jobs.Summary) {
	fmt.Fprintf(w, "job %s (as of %s) finished in %s\n", sum.Job, sum.AsOf, sum.Duration.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tNAME\tROWS\tDURATION\tRESULT")
	for _, s := range sum.Steps {
		result := "ok"
		if s.Err != "" {
			result = "FAILED: " + s.Err
		} else if len(s.Outputs) > 0 {
			result = strings.Join(s.Outputs, ", ")
		}
		if s.Sync != nil {
			result = s.Sync.String() + "; " + result
		}
		if s.Note != "" {
			result += "; " + s.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Kind, s.Name, s.Rows, s.Duration.Round(time.Millisecond), result)
	}
	tw.Flush()
	if len(sum.DataQuality) > 0 {
		fmt.Fprintln(w, "\ndata quality (source rows per rule):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tROWS\tACTION\tWHAT IT MEANS")
		for _, d := range sum.DataQuality {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", d.Rule, d.Rows, d.Action, d.Description)
		}
		tw.Flush()
	}
}

func printDryRun(w io.Writer, sum *jobs.Summary) {
	fmt.Fprintf(w, "-- dry run of job %s (as of %s): nothing is executed or written\n", sum.Job, sum.AsOf)
	var total int64
	estimated := false
	for _, s := range sum.Steps {
		switch s.Kind {
		case "publish":
			fmt.Fprintf(w, "-- would publish %s\n", s.Name)
			if c := s.Sync; c != nil && s.Note == "" || c != nil && strings.HasPrefix(s.Note, "snapshot") {
				fmt.Fprintf(w, "--   %s\n", planText(c))
			}
			if s.Note != "" {
				fmt.Fprintf(w, "--   %s\n", s.Note)
			}
			for _, o := range s.Outputs {
				fmt.Fprintf(w, "--   writes %s\n", o)
			}
		default:
			fmt.Fprintf(w, "\n-- %s %s\n", s.Kind, s.Name)
			switch {
			case s.BytesScanned > 0:
				estimated = true
				total += s.BytesScanned
				fmt.Fprintf(w, "-- scans about %s\n", humanBytes(s.BytesScanned))
			case s.BytesScanned < 0:
				estimated = true
				fmt.Fprintf(w, "-- bytes to scan unknown: %s\n", s.Note)
			}
			fmt.Fprintf(w, "%s;\n", strings.TrimRight(s.SQL, ";\n "))
			if len(s.Params) > 0 {
				fmt.Fprintf(w, "-- bound parameters, in order: %s\n", formatParams(s.Params))
			}
		}
	}
	if estimated {
		fmt.Fprintf(w, "\n-- total bytes the statements that could be estimated scan: %s\n", humanBytes(total))
	}
}

// planText says what a dry run's publish would send and what it costs.
func planText(c *jobs.SyncCounts) string {
	t := fmt.Sprintf("%d adds, %d updates, %d removes (%d held out); %d API calls", c.Adds, c.Updates, c.Removes, c.Holdout, c.Calls)
	if c.Estimated > 0 {
		t += fmt.Sprintf(", about %s under the destination's rate limit", c.Estimated.Round(time.Second))
	}
	return t
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func formatParams(params []any) string {
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = fmt.Sprintf("%#v", p)
	}
	return strings.Join(parts, ", ")
}
