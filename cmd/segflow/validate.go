package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
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
connection and checks that every mapped source column exists, then
launches each destination's plugin and tests its credentials and target
(list, audience, segment or URL). A failure is one line naming the
warehouse or destination; secrets from ${ENV} never appear in it.`,
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
			fmt.Fprintln(out, "sources: every mapped column exists")
			if err := testDestinations(cmd.Context(), cfg, out, timeout); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s: ok\n", g.configPath)
			return nil
		},
	}
	cmd.Flags().BoolVar(&connect, "connect", false, "also test the warehouse connection, the source mapping and every destination's credentials and target")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "with --connect: give up on a warehouse or destination that does not answer after this long")
	return cmd
}

// testDestinations launches every configured destination's plugin,
// configures it and tests its connection (credentials and target list),
// giving each destination timeout. Each destination is tested even when
// an earlier one fails; every
// failure is one line naming the destination, with ${ENV} values
// redacted. A configuration the plugin refuses is a usage error naming
// the config field.
func testDestinations(parent context.Context, cfg *config.Config, out io.Writer, timeout time.Duration) error {
	open := destinationOpener(cfg)
	var usage, failed []error
	for i, d := range cfg.Destinations {
		ctx, cancel := context.WithTimeout(parent, timeout)
		label := "destination " + d.Name
		if d.Name != d.Plugin {
			label += " (" + d.Plugin + ")"
		}
		// fail words a plugin's error for one line: the plugin's own
		// "mailchimp: " prefix is dropped when the label already says it.
		fail := func(err error) error {
			msg := strings.TrimPrefix(cfg.Redact(oneLine(err)), d.Plugin+": ")
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("%s: no answer within %s: %s", label, timeout, msg)
			}
			return fmt.Errorf("%s: %s", label, msg)
		}
		err := func() error {
			defer cancel()
			dest, err := open(d.Plugin)
			if err != nil {
				return fail(err)
			}
			defer dest.Close()
			raw, err := cfg.PluginConfigJSON(d.Config)
			if err != nil {
				return err
			}
			if err := dest.Configure(ctx, raw); err != nil {
				var fields core.FieldErrors
				if !errors.As(err, &fields) {
					return fail(err)
				}
				for _, f := range fields {
					usage = append(usage, cfg.Errorf(fmt.Sprintf("destinations[%d].config.%s", i, f.Field), "%s", strings.Join(strings.Fields(f.Message), " ")))
				}
				return nil
			}
			if err := dest.TestConnection(ctx); err != nil {
				if errors.Is(err, core.ErrNotImplemented) {
					fmt.Fprintf(out, "%s: configured (the plugin has no connection test)\n", label)
					return nil
				}
				return fail(err)
			}
			fmt.Fprintf(out, "%s: connected\n", label)
			return nil
		}()
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(usage) > 0 {
		return usageError{errors.Join(append(usage, failed...)...)}
	}
	return errors.Join(failed...)
}

// oneLine folds a multi-line error message onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
