package pluginstest

import (
	"os"
	"os/exec"
	"sync"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

// DestinationOpener opens a fresh, unconfigured destination plugin for one
// test.
type DestinationOpener struct {
	Name string
	Open func(t testing.TB) core.Destination
	// Kill, set only for plugins in a process of their own, kills the
	// process serving d (SIGKILL), as a crash would.
	Kill func(d core.Destination)
}

// destinationChildEnv tells a test binary started by SubprocessDestination
// to serve the destination.
const destinationChildEnv = "SEGFLOW_PLUGINSTEST_DESTINATION_CHILD"

// ServeDestinationIfChild serves the destination and exits when the test
// binary was started by SubprocessDestination; otherwise it returns at
// once. Call it first in TestMain.
func ServeDestinationIfChild(newDestination func() core.Destination) {
	if os.Getenv(destinationChildEnv) == "" {
		return
	}
	sdk.Serve(sdk.ServeOpts{Destination: newDestination()})
	os.Exit(0)
}

// DirectDestination calls the implementation without any plugin
// machinery, behind core.SplitBatches: the batching contract the host
// keeps with every destination.
func DirectDestination[D core.Destination](newDestination func() D) DestinationOpener {
	return DestinationOpener{Name: "direct", Open: func(t testing.TB) core.Destination {
		d := core.SplitBatches(newDestination())
		t.Cleanup(func() { d.Close() })
		return d
	}}
}

// InProcessGRPCDestination serves the implementation over an in-memory
// gRPC connection: the whole protocol, no subprocess.
func InProcessGRPCDestination[D core.Destination](newDestination func() D) DestinationOpener {
	return DestinationOpener{Name: "grpc", Open: func(t testing.TB) core.Destination {
		impl := newDestination()
		ps := map[string]goplugin.Plugin{sdk.DestinationPluginName: &sdk.DestinationPlugin{Impl: impl}}
		client, _ := goplugin.TestPluginGRPCConn(t, false, ps)
		raw, err := client.Dispense(sdk.DestinationPluginName)
		if err != nil {
			t.Fatal(err)
		}
		d := pluginhost.NewDestinationClient(raw.(destinationv1.DestinationClient), nil)
		t.Cleanup(func() { d.Close(); impl.Close(); client.Close() })
		return d
	}}
}

// SubprocessDestination starts the test binary itself as a real plugin
// process (see ServeDestinationIfChild) and talks to it over go-plugin's
// gRPC transport. env is added to the child's environment.
func SubprocessDestination(env ...string) DestinationOpener {
	var mu sync.Mutex
	procs := map[core.Destination]*exec.Cmd{}
	return DestinationOpener{
		Name: "subprocess",
		Open: func(t testing.TB) core.Destination {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(append(os.Environ(), destinationChildEnv+"=1"), env...)
			d, err := pluginhost.LaunchDestination(cmd, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			procs[d] = cmd
			mu.Unlock()
			t.Cleanup(func() {
				d.Close()
				mu.Lock()
				delete(procs, d)
				mu.Unlock()
			})
			return d
		},
		Kill: func(d core.Destination) {
			mu.Lock()
			cmd := procs[d]
			mu.Unlock()
			if cmd != nil && cmd.Process != nil {
				cmd.Process.Kill()
			}
		},
	}
}
