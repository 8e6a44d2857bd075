package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/core/sampledata"
)

func newSampleDataCmd() *cobra.Command {
	var out string
	var customers int
	var seed int64
	cmd := &cobra.Command{
		Use:   "sample-data",
		Short: "Generate a realistic retail data set into a DuckDB file",
		Long: `sample-data writes customers, products, stores, orders, order_lines and
touchpoints into a DuckDB database. Customers buy and drop out following a
purchase-rate / dropout process; co-purchased product pairs and a channel
effect are planted, and a few percent of rows are dirty (see the README).
The same --seed gives the same data.`,
		Example: `  segflow sample-data --out retail.duckdb
  segflow sample-data --out big.duckdb --customers 1000000 --seed 7`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out is required")}
			}
			if customers < 1 {
				return usageError{fmt.Errorf("--customers must be at least 1")}
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			stats, err := generateSample(cmd, out, customers, seed)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %s in %s: %d customers, %d products, %d orders, %d order lines, %d touchpoints\n",
				out, stats.Elapsed.Round(time.Millisecond), stats.Customers, stats.Products, stats.Orders, stats.OrderLines, stats.Touchpoints)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "DuckDB file to write (replaced if it exists)")
	cmd.Flags().IntVar(&customers, "customers", 10000, "number of customers")
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed")
	return cmd
}

func generateSample(cmd *cobra.Command, out string, customers int, seed int64) (sampledata.Stats, error) {
	if isTerminal(os.Stderr) {
		fmt.Fprintf(os.Stderr, "generating %d customers into %s ...\n", customers, out)
	}
	return sampledata.Generate(cmd.Context(), out, sampledata.Options{Customers: customers, Seed: seed})
}
