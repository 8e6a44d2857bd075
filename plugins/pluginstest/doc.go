// Package pluginstest is the conformance suite every warehouse plugin
// runs, built-in or third-party. Call RunWarehouse from a test with a
// function that opens the plugin; run it three ways to prove the plugin
// behaves the same in-process and across the plugin boundary:
//
//	func TestMain(m *testing.M) {
//		pluginstest.ServeIfChild(func() core.Warehouse { return mine.New() })
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		opts := pluginstest.Options{Config: `{"dsn": "..."}`}
//		pluginstest.RunWarehouse(t, pluginstest.Direct(mine.New), opts)
//		pluginstest.RunWarehouse(t, pluginstest.InProcessGRPC(mine.New), opts)
//		pluginstest.RunWarehouse(t, pluginstest.Subprocess(), opts)
//	}
package pluginstest
