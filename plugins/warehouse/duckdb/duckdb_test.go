//go:build duckdb_arrow

package duckdb

import (
	"os"
	"testing"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	pluginstest.ServeIfChild(func() core.Warehouse { return New() })
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	opts := pluginstest.Options{
		Config:    `{"threads": 2}`, // in memory
		BadConfig: `{"path": "x.duckdb", "memory_limit": "lots"}`,
		BadField:  "memory_limit",
	}
	pluginstest.RunWarehouse(t, pluginstest.Direct(New), opts)
	pluginstest.RunWarehouse(t, pluginstest.InProcessGRPC(New), opts)
	pluginstest.RunWarehouse(t, pluginstest.Subprocess(), opts)
}
