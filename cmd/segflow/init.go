package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/segflow/segflow/examples"
)

func newInitCmd() *cobra.Command {
	var customers int
	cmd := &cobra.Command{
		Use:     "init [DIR]",
		Short:   "Scaffold a project: a segflow.yaml and a sample warehouse",
		Example: `  segflow init myproject && cd myproject && segflow run`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			cfgPath := filepath.Join(dir, "segflow.yaml")
			if _, err := os.Stat(cfgPath); err == nil {
				return usageError{fmt.Errorf("%s already exists; not overwriting it", cfgPath)}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(cfgPath, examples.Quickstart, 0o644); err != nil {
				return err
			}
			if _, err := generateSample(cmd, filepath.Join(dir, "out", "retail.duckdb"), customers, 1); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s and a sample warehouse in %s\nnext: cd %s && segflow run && segflow report rfm\n",
				cfgPath, filepath.Join(dir, "out"), dir)
			return nil
		},
	}
	cmd.Flags().IntVar(&customers, "customers", 10000, "customers in the sample warehouse")
	return cmd
}
