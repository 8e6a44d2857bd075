package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/sql/dialect"
)

func newValidateCmd(g *globals) *cobra.Command {
	var connect bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config; --connect also tests the plugin connections",
		Long: `Validate loads the config strictly (unknown keys are errors), expands
${ENV} references and checks every field. Errors name the field and its
line. With --connect it also launches the warehouse plugin, tests the
connection and checks that every mapped source column exists.`,
		Example: `  segflow validate -c segflow.yaml
  segflow validate -c segflow.yaml --connect`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			// Render every job offline for a built-in warehouse's dialect:
			// segment filters are type-checked and models' options checked
			// without connecting.
			if _, err := dialect.Get(cfg.Warehouse.Plugin); err == nil {
				offline := &jobs.Runner{Config: cfg, Dialect: cfg.Warehouse.Plugin}
				for _, j := range cfg.Jobs {
					if _, err := offline.Plan(cmd.Context(), j.Name); err != nil {
						return usageError{err}
					}
				}
			}
			if !connect {
				fmt.Fprintf(out, "%s: ok\n", g.configPath)
				return nil
			}
			// Clients retry unreachable hosts for a long time; a check
			// should answer promptly.
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			r, closeFn, err := openRunner(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := r.Warehouse.TestConnection(ctx); err != nil {
				// The plugin may see the propagated deadline a moment
				// before this process does.
				if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("warehouse %s: no answer within %s: %s", cfg.Warehouse.Plugin, timeout, oneLine(err))
				}
				return fmt.Errorf("warehouse %s: %s", cfg.Warehouse.Plugin, oneLine(err))
			}
			fmt.Fprintf(out, "warehouse %s: connected\n", cfg.Warehouse.Plugin)
			for _, j := range cfg.Jobs {
				if _, err := r.Plan(cmd.Context(), j.Name); err != nil {
					return usageError{err}
				}
			}
			fmt.Fprintf(out, "sources: every mapped column exists\n%s: ok\n", g.configPath)
			return nil
		},
	}
	cmd.Flags().BoolVar(&connect, "connect", false, "also test the warehouse connection and the source mapping")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "with --connect: give up on a warehouse that does not answer after this long")
	return cmd
}

// oneLine folds a multi-line error message onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
