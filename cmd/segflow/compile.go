package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

func newCompileCmd(g *globals) *cobra.Command {
	var model, format, dialectName string
	cmd := &cobra.Command{
		Use:   "compile",
		Short: "Print the SQL that would run",
		Long: `Compile renders the SQL of the config's models and segments for the
configured warehouse, without running it. Source tables are described
through the warehouse so that the SQL is exactly what a run executes.
With --dialect the SQL is rendered for that dialect offline, assuming
every mapped column exists.`,
		Example: `  segflow compile -c examples/quickstart/segflow.yaml --model rfm
  segflow compile -c segflow.yaml --format json
  segflow compile -c segflow.yaml --dialect duckdb --model rfm`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "sql" && format != "json" {
				return usageError{fmt.Errorf("--format must be sql or json, not %q", format)}
			}
			if model != "" && !slices.Contains(models.Models(), model) {
				return usageError{fmt.Errorf("unknown model %q (models: %s)", model, strings.Join(models.Models(), ", "))}
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			r := &jobs.Runner{Config: cfg, Dialect: dialectName}
			if dialectName == "" {
				var closeFn func()
				if r, closeFn, err = openRunner(cmd.Context(), cfg); err != nil {
					return err
				}
				defer closeFn()
			} else if _, err := dialect.Get(dialectName); err != nil {
				return usageError{err}
			}
			type compiled struct {
				Model string `json:"model"`
				Name  string `json:"name"`
				SQL   string `json:"sql"`
			}
			var out []compiled
			seen := map[string]bool{}
			for _, j := range cfg.Jobs {
				plan, err := r.Plan(cmd.Context(), j.Name)
				if err != nil {
					return usageError{err}
				}
				for _, s := range plan.Statements {
					if (model == "" || s.Model == model) && !seen[s.Model+"."+s.Name] {
						seen[s.Model+"."+s.Name] = true
						out = append(out, compiled{s.Model, s.Name, s.SQL})
					}
				}
				for _, sp := range plan.Segments {
					if model == "" && !seen["segment."+sp.Segment.Name] {
						seen["segment."+sp.Segment.Name] = true
						out = append(out, compiled{"segment", sp.Statement.Name, sp.Statement.SQL})
					}
				}
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			for _, c := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "-- %s: %s\n%s;\n\n", c.Model, c.Name, strings.TrimRight(c.SQL, ";\n "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "only this model")
	cmd.Flags().StringVar(&format, "format", "sql", "sql or json (an array of {model, name, sql})")
	cmd.Flags().StringVar(&dialectName, "dialect", "", "render for this dialect instead of the warehouse's, without connecting (duckdb, bigquery, snowflake)")
	return cmd
}
