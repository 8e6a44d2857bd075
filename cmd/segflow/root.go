package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/segflow/segflow/config"
)

// Exit codes.
const (
	exitOK        = 0
	exitRunFailed = 1
	exitUsage     = 2
)

// usageError marks errors that exit with code 2: bad flags, bad config.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func execute(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitRunFailed
}

type globals struct {
	configPath string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "segflow",
		Short: "Warehouse-native marketing intelligence: customer models as SQL in your warehouse, segments to your tools",
		Long: `segflow renders customer models (RFM, ...) as SQL, runs them inside your
warehouse (DuckDB embedded by default), and publishes customer segments
to outbound tools.

Exit codes: 0 success, 1 a run failed, 2 usage or config error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", "segflow.yaml", "config file")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newInitCmd(),
		newSampleDataCmd(),
		newValidateCmd(g),
		newCompileCmd(g),
		newRunCmd(g),
		newReportCmd(g),
		newPluginsCmd(g),
		newRunsCmd(g),
		newSegmentsCmd(g),
		newRetryCmd(g),
		newServeCmd(g),
		newPluginServeCmd(),
	)
	for _, c := range root.Commands() {
		if c.Args == nil {
			c.Args = noArgs
		}
	}
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

// loadConfig loads and validates the config; failures are usage errors.
func (g *globals) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger logs structured JSON lines when stderr is not a terminal and
// stays quiet (warnings only) on a terminal, where progress is shown.
func newLogger(cfg *config.Config) *slog.Logger {
	if isTerminal(os.Stderr) {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if cfg != nil && a.Value.Kind() == slog.KindString {
				a.Value = slog.StringValue(cfg.Redact(a.Value.String()))
			}
			return a
		},
	})
	return slog.New(h)
}
