package pluginstest

import (
	"os"
	"os/exec"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

// Opener opens a fresh, unconfigured plugin for one test.
type Opener struct {
	Name string
	Open func(t testing.TB) core.Warehouse
}

// childEnv tells a test binary started by Subprocess to serve the plugin.
const childEnv = "SEGFLOW_PLUGINSTEST_CHILD"

// ServeIfChild serves the plugin and exits when the test binary was
// started by Subprocess; otherwise it returns at once. Call it first in
// TestMain.
func ServeIfChild(newWarehouse func() core.Warehouse) {
	if os.Getenv(childEnv) == "" {
		return
	}
	sdk.Serve(sdk.ServeOpts{Warehouse: newWarehouse()})
	os.Exit(0)
}

// Direct calls the implementation without any plugin machinery.
func Direct[W core.Warehouse](newWarehouse func() W) Opener {
	return Opener{Name: "direct", Open: func(t testing.TB) core.Warehouse {
		w := newWarehouse()
		t.Cleanup(func() { w.Close() })
		return w
	}}
}

// InProcessGRPC serves the implementation over an in-memory gRPC
// connection: the whole protocol, no subprocess.
func InProcessGRPC[W core.Warehouse](newWarehouse func() W) Opener {
	return Opener{Name: "grpc", Open: func(t testing.TB) core.Warehouse {
		impl := newWarehouse()
		ps := map[string]goplugin.Plugin{sdk.WarehousePluginName: &sdk.WarehousePlugin{Impl: impl}}
		client, _ := goplugin.TestPluginGRPCConn(t, false, ps)
		raw, err := client.Dispense(sdk.WarehousePluginName)
		if err != nil {
			t.Fatal(err)
		}
		w := pluginhost.NewWarehouseClient(raw.(warehousev1.WarehouseClient), nil)
		t.Cleanup(func() { w.Close(); impl.Close(); client.Close() })
		return w
	}}
}

// Subprocess starts the test binary itself as a real plugin process (see
// ServeIfChild) and talks to it over go-plugin's gRPC transport.
func Subprocess() Opener {
	return Opener{Name: "subprocess", Open: func(t testing.TB) core.Warehouse {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"=1")
		w, err := pluginhost.LaunchWarehouse(cmd, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		return w
	}}
}
