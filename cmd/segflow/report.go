package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/sql/dialect"
)

// reports are the model reports, by model name.
var reports = map[string]func(context.Context, core.Warehouse, dialect.Dialect, string) ([]*report.Table, error){
	"rfm":         report.RFM,
	"holdout":     report.Holdout,
	"lifecycle":   report.Lifecycle,
	"cohort":      report.Cohort,
	"clv":         report.CLV,
	"attribution": report.Attribution,
	"affinity":    report.Affinity,
}

func reportNames() []string {
	names := builtinNames(reports)
	slices.Sort(names)
	return names
}

func newReportCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "report MODEL",
		Short: "Print a model's report from its materialised tables",
		Example: `  segflow report rfm -c examples/quickstart/segflow.yaml
  segflow report rfm --format csv > rfm.csv
  segflow report rfm --format json
  segflow report clv`,
		ValidArgs: reportNames(),
		Args:      cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(report.Formats, format) {
				return usageError{fmt.Errorf("--format must be one of %s", strings.Join(report.Formats, ", "))}
			}
			build, ok := reports[args[0]]
			if !ok {
				return usageError{fmt.Errorf("no report for model %q (reports: %s)", args[0], strings.Join(reportNames(), ", "))}
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			r, closeFn, err := openRunner(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			info, err := r.Warehouse.Info(cmd.Context())
			if err != nil {
				return err
			}
			d, err := dialect.Get(info.Dialect)
			if err != nil {
				return err
			}
			tables, err := build(cmd.Context(), r.Warehouse, d, cfg.Warehouse.OutputSchema)
			if err != nil {
				return fmt.Errorf("%w (has a job that builds %s run? try `segflow run`)", err, args[0])
			}
			return report.Write(cmd.OutOrStdout(), format, tables...)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, csv or json")
	return cmd
}
