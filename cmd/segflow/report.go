package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/sql/dialect"
)

func newReportCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "report MODEL",
		Short: "Print a model's report from its materialised tables",
		Example: `  segflow report rfm -c examples/quickstart/segflow.yaml
  segflow report rfm --format csv > rfm.csv
  segflow report rfm --format json`,
		ValidArgs: []string{"rfm"},
		Args:      cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(report.Formats, format) {
				return usageError{fmt.Errorf("--format must be one of %s", strings.Join(report.Formats, ", "))}
			}
			if args[0] != "rfm" {
				return usageError{fmt.Errorf("no report for model %q (reports: rfm)", args[0])}
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
			tables, err := report.RFM(cmd.Context(), r.Warehouse, d, cfg.Warehouse.OutputSchema)
			if err != nil {
				return fmt.Errorf("%w (has the job that builds rfm run? try `segflow run`)", err)
			}
			return report.Write(cmd.OutOrStdout(), format, tables...)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, csv or json")
	return cmd
}
