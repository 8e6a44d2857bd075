package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs"
)

func newRunsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "Run history"}
	var job string
	var limit int
	var format string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List recent runs, newest first",
		Example: "  segflow runs list\n  segflow runs list --job daily --limit 5",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := g.openState(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			runs, err := store.ListRuns(cmd.Context(), state.RunFilter{Job: job, Limit: limit})
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), runs)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tJOB\tTRIGGER\tSTATUS\tSTARTED\tDURATION\tERROR")
			for _, r := range runs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Job, r.Trigger, r.Status,
					r.StartedAt.Format(time.DateTime), runDuration(r), r.Error)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&job, "job", "", "only this job")
	list.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	list.Flags().StringVar(&format, "format", "table", "table or json")
	show := &cobra.Command{
		Use:     "show ID",
		Short:   "Show a run and its steps: rows, bytes scanned, duration, errors",
		Example: "  segflow runs show 01JD8Y3Q5Z2N7W4X6R8T0V2B4C",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.openState(cmd)
			if err != nil {
				return err
			}
			defer store.Close()
			run, steps, err := store.GetRun(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("run %s: %w", args[0], err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"run": run, "steps": steps})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "run %s: job %s, %s (%s), started %s, took %s\n", run.ID, run.Job, run.Status, run.Trigger,
				run.StartedAt.Format(time.DateTime), runDuration(run))
			if run.Error != "" {
				fmt.Fprintf(out, "error: %s\n", run.Error)
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "STEP\tNAME\tROWS\tBYTES SCANNED\tDURATION\tRESULT")
			for _, s := range steps {
				result := strings.Join(slices.DeleteFunc([]string{s.Detail, s.Error}, func(v string) bool { return v == "" }), "; ")
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", s.Kind, s.Name, s.Rows, s.BytesScanned,
					(time.Duration(s.DurationMs) * time.Millisecond).String(), result)
			}
			return w.Flush()
		},
	}
	show.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.AddCommand(list, show)
	return cmd
}

func runDuration(r state.Run) string {
	if r.FinishedAt.IsZero() {
		return "running"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func (g *globals) openState(cmd *cobra.Command) (state.Store, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	return jobs.OpenState(cmd.Context(), cfg)
}
