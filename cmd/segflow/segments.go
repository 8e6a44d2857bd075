package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/server"
)

func newSegmentsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "segments", Short: "Segments: size, churn, sync state and pending diffs"}
	var format string
	// withRunner opens the warehouse for one command.
	withRunner := func(cmd *cobra.Command, f func(*jobs.Runner) error) error {
		cfg, err := g.loadConfig()
		if err != nil {
			return err
		}
		r, closeFn, err := openRunner(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer closeFn()
		return f(r)
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List segments with their size and each destination's sync state",
		Example: "  segflow segments list\n  segflow segments list --format json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRunner(cmd, func(r *jobs.Runner) error {
				segs, err := r.Segments(cmd.Context())
				if err != nil {
					return err
				}
				if format == "json" {
					return writeJSON(cmd.OutOrStdout(), segs)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SEGMENT\tMODEL\tMEMBERS\tHELD OUT\tDESTINATION\tSYNCED\tLAST SYNC\tDEAD LETTERS")
				for _, s := range segs {
					members, held := "not built", ""
					if s.Built {
						members, held = fmt.Sprint(s.Members), fmt.Sprint(s.HoldoutMembers)
					}
					if len(s.Destinations) == 0 {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t-\t\t\t\n", s.Name, s.Model, members, held)
					}
					for _, d := range s.Destinations {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\n", s.Name, s.Model, members, held, d.Name, d.Synced, when(d.LastSync), d.DeadLetters)
					}
				}
				return w.Flush()
			})
		},
	}
	show := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a segment: definition, size over time (joined, left per run), destinations",
		Example: "  segflow segments show champions",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRunner(cmd, func(r *jobs.Runner) error {
				s, err := r.Segment(cmd.Context(), args[0])
				if err != nil {
					return segmentError(err)
				}
				if format == "json" {
					return writeJSON(cmd.OutOrStdout(), s)
				}
				printSegment(cmd.OutOrStdout(), s)
				return nil
			})
		},
	}
	diff := &cobra.Command{
		Use:   "diff NAME",
		Short: "Count what publishing the segment now would send to each destination",
		Long: `Diff runs the segment's query against the current model tables and
compares it with what each destination last acknowledged. Nothing is
written. API calls and time follow the destination's declared limits.`,
		Example: "  segflow segments diff champions",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRunner(cmd, func(r *jobs.Runner) error {
				plans, err := r.Diff(cmd.Context(), args[0])
				if err != nil {
					return segmentError(err)
				}
				if format == "json" {
					return writeJSON(cmd.OutOrStdout(), plans)
				}
				for _, p := range plans {
					fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s: %s\n", p.Segment, p.Destination, planText(&p.SyncCounts))
					if p.Note != "" {
						fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", p.Note)
					}
				}
				return nil
			})
		},
	}
	for _, c := range []*cobra.Command{list, show, diff} {
		c.Flags().StringVar(&format, "format", "table", "table or json")
		cmd.AddCommand(c)
	}
	return cmd
}

func newRetryCmd(g *globals) *cobra.Command {
	var destination string
	cmd := &cobra.Command{
		Use:   "retry SEGMENT",
		Short: "Send again the records destinations refused permanently (dead letters)",
		Long: `Retry releases the segment's dead letters (sync_dead_letters rows not yet
retried) and publishes the segment as last built: those records are sent
with their current attributes, together with any other pending change.
Records refused again land in the dead-letter table again.`,
		Example: "  segflow retry champions\n  segflow retry champions --destination mailchimp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			r, closeFn, err := openRunner(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			sum, err := r.Retry(cmd.Context(), args[0], destination)
			printSummary(cmd.OutOrStdout(), sum)
			if errors.Is(err, jobs.ErrNoSegment) {
				return usageError{err}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&destination, "destination", "", "only this destination")
	return cmd
}

func segmentError(err error) error {
	if errors.Is(err, jobs.ErrNoSegment) {
		return usageError{err}
	}
	return err
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.DateTime)
}

func printSegment(w io.Writer, s *jobs.SegmentStatus) {
	fmt.Fprintf(w, "segment %s (model %s)\n", s.Name, s.Model)
	if s.Filter != "" {
		fmt.Fprintf(w, "  filter:  %s\n", s.Filter)
	}
	if s.Where != "" {
		fmt.Fprintf(w, "  where:   %s\n", s.Where)
	}
	if s.Holdout > 0 {
		fmt.Fprintf(w, "  holdout: %g of members (control group)\n", s.Holdout)
	}
	if !s.Built {
		fmt.Fprintln(w, "  not built yet: run a job that includes it")
		return
	}
	fmt.Fprintf(w, "  members: %d (%d held out)\n\nhistory:\n", s.Members, s.HoldoutMembers)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RUN\tAT\tMEMBERS\tJOINED\tLEFT")
	for _, h := range s.History {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", h.RunID, when(h.At), h.Members, h.Joined, h.Left)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ndestinations:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tPLUGIN\tSYNCED\tLAST SYNC\tDEAD LETTERS")
	for _, d := range s.Destinations {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\n", d.Name, d.Plugin, d.Synced, when(d.LastSync), d.DeadLetters)
	}
	tw.Flush()
}

// segmentsAPI answers the HTTP API's segment endpoints from a runner.
type segmentsAPI struct{ r *jobs.Runner }

var _ server.Segments = segmentsAPI{}

func (a segmentsAPI) List(ctx context.Context) (any, error) { return a.r.Segments(ctx) }

func (a segmentsAPI) Show(ctx context.Context, name string) (any, error) {
	return notFound(a.r.Segment(ctx, name))
}

func (a segmentsAPI) Diff(ctx context.Context, name string) (any, error) {
	return notFound(a.r.Diff(ctx, name))
}

func notFound[T any](v T, err error) (any, error) {
	if errors.Is(err, jobs.ErrNoSegment) {
		return nil, fmt.Errorf("%w: %w", server.ErrNotFound, err)
	}
	return v, err
}
