package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	"github.com/segflow/segflow/plugins/destination/file"
	"github.com/segflow/segflow/plugins/sdk"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
)

// builtinWarehouses are served by `segflow plugin serve NAME`.
var builtinWarehouses = map[string]func() core.Warehouse{
	"duckdb": func() core.Warehouse { return duckdb.New() },
}

// builtinDestinations run in-process; baseDir is the config's directory.
var builtinDestinations = map[string]func(baseDir string) core.Destination{
	"file": func(baseDir string) core.Destination { return file.New(baseDir) },
}

func builtinNames[T any](m map[string]T) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	return names
}

// newHost returns the plugin host for a config (nil config: built-ins only).
func newHost(cfg *config.Config) (*pluginhost.Host, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	h := &pluginhost.Host{Self: self, Builtins: builtinNames(builtinWarehouses), External: map[string]pluginhost.External{}}
	if cfg != nil {
		h.Dir = cfg.Dir
		h.Logger = newLogger(cfg)
		for _, p := range cfg.Plugins {
			h.External[p.Name] = pluginhost.External{Name: p.Name, Kind: p.Kind, Path: cfg.Resolve(p.Path), SHA256: p.SHA256}
		}
	}
	return h, nil
}

// destinationOpener opens built-in destinations for a config.
func destinationOpener(cfg *config.Config) func(string) (core.Destination, error) {
	return func(name string) (core.Destination, error) {
		if f, ok := builtinDestinations[name]; ok {
			return f(cfg.Dir), nil
		}
		return nil, fmt.Errorf("unknown destination plugin %q (built-in: %s)", name, strings.Join(builtinNames(builtinDestinations), ", "))
	}
}

func newPluginsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plugins", Short: "Inspect plugins"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List built-in plugins and the external plugins the config declares",
		Example: `  segflow plugins list
  segflow plugins list -c examples/quickstart/segflow.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Config
			if _, err := os.Stat(g.configPath); err == nil {
				if cfg, err = g.loadConfig(); err != nil {
					return err
				}
			}
			host, err := newHost(cfg)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tVERSION\tDIALECT\tSOURCE\tSTATUS")
			for _, l := range host.List(cmd.Context()) {
				status := "ok"
				if l.Err != nil {
					status = l.Err.Error()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Name, l.Kind, l.Info.Version, l.Info.Dialect, l.Source, status)
			}
			for _, name := range builtinNames(builtinDestinations) {
				fmt.Fprintf(w, "%s\tdestination\t\t\tbuilt-in (in-process)\tok\n", name)
			}
			return w.Flush()
		},
	})
	return cmd
}

// newPluginServeCmd is how the segflow binary serves its own built-in
// plugins as subprocesses; the plugin host runs it, people don't.
func newPluginServeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Plugin process entry points (internal)", Hidden: true}
	cmd.AddCommand(&cobra.Command{
		Use:  "serve NAME",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			newWarehouse, ok := builtinWarehouses[args[0]]
			if !ok {
				return usageError{fmt.Errorf("no built-in plugin %q", args[0])}
			}
			sdk.Serve(sdk.ServeOpts{Warehouse: newWarehouse()})
			return nil
		},
	})
	return cmd
}
