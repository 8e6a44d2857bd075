package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	"github.com/segflow/segflow/plugins/destination/braze"
	"github.com/segflow/segflow/plugins/destination/customerio"
	"github.com/segflow/segflow/plugins/destination/file"
	"github.com/segflow/segflow/plugins/destination/hubspot"
	"github.com/segflow/segflow/plugins/destination/klaviyo"
	"github.com/segflow/segflow/plugins/destination/mailchimp"
	"github.com/segflow/segflow/plugins/destination/sendgrid"
	"github.com/segflow/segflow/plugins/destination/webhook"
	"github.com/segflow/segflow/plugins/sdk"
	"github.com/segflow/segflow/plugins/warehouse/bigquery"
	"github.com/segflow/segflow/plugins/warehouse/duckdb"
	"github.com/segflow/segflow/plugins/warehouse/snowflake"
)

// builtinWarehouses are served by `segflow plugin serve NAME`.
var builtinWarehouses = map[string]func() core.Warehouse{
	"duckdb":    func() core.Warehouse { return duckdb.New() },
	"bigquery":  func() core.Warehouse { return bigquery.New() },
	"snowflake": func() core.Warehouse { return snowflake.New() },
}

// builtinDestinations are served by `segflow plugin serve NAME` too. The
// host starts plugins in the config's directory, which relative paths in
// their configs resolve against.
var builtinDestinations = map[string]func() core.Destination{
	"file":       func() core.Destination { return file.New("") },
	"mailchimp":  func() core.Destination { return mailchimp.New() },
	"klaviyo":    func() core.Destination { return klaviyo.New() },
	"braze":      func() core.Destination { return braze.New() },
	"sendgrid":   func() core.Destination { return sendgrid.New() },
	"hubspot":    func() core.Destination { return hubspot.New() },
	"customerio": func() core.Destination { return customerio.New() },
	"webhook":    func() core.Destination { return webhook.New() },
}

// builtinNames lists a map's plugin names, sorted, so that listings and
// messages come out the same every time.
func builtinNames[T any](m map[string]T) []string {
	return slices.Sorted(maps.Keys(m))
}

// newHost returns the plugin host for a config (nil config: built-ins only).
func newHost(cfg *config.Config) (*pluginhost.Host, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	h := &pluginhost.Host{Self: self, Builtins: builtinNames(builtinWarehouses), BuiltinDestinations: builtinNames(builtinDestinations), External: map[string]pluginhost.External{}}
	if cfg != nil {
		h.Dir = cfg.Dir
		h.Logger = newLogger(cfg)
		for _, p := range cfg.Plugins {
			h.External[p.Name] = pluginhost.External{Name: p.Name, Kind: p.Kind, Path: cfg.Resolve(p.Path), SHA256: p.SHA256}
		}
	}
	return h, nil
}

// destinationOpener launches destination plugins for a config.
func destinationOpener(cfg *config.Config) func(string) (core.Destination, error) {
	return func(name string) (core.Destination, error) {
		host, err := newHost(cfg)
		if err != nil {
			return nil, err
		}
		return host.Destination(name)
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
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Name, l.Kind, l.Version(), l.Info.Dialect, l.Source, status)
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
			if newWarehouse, ok := builtinWarehouses[args[0]]; ok {
				sdk.Serve(sdk.ServeOpts{Warehouse: newWarehouse()})
				return nil
			}
			if newDestination, ok := builtinDestinations[args[0]]; ok {
				sdk.Serve(sdk.ServeOpts{Destination: newDestination()})
				return nil
			}
			return usageError{fmt.Errorf("no built-in plugin %q", args[0])}
		},
	})
	return cmd
}
