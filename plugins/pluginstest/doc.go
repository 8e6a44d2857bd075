// Package pluginstest is the conformance suite every plugin runs, built-in
// or third-party: RunWarehouse for warehouses, RunDestination for
// destinations. Call it from a test with a function that opens the plugin;
// run it three ways to prove the plugin behaves the same in-process and
// across the plugin boundary:
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
//
// Destinations do the same with ServeDestinationIfChild,
// DirectDestination, InProcessGRPCDestination and SubprocessDestination;
// DestinationOptions.Read tells the suite how to read back what the
// destination holds (its files, its stand-in server's state). The suite
// checks info, configuration errors, that every upsert is acknowledged
// exactly once with the caller's batch, row and key, updates or snapshot
// replacement, removes (or their clear rejection), batches beyond the
// limits split by the host, per-record errors, cancellation, a large
// write in bounded memory with every batch released, and, for the
// subprocess, a plugin killed mid-write.
//
// Destinations that talk to a vendor API test against a stand-in server
// and can ask for more: with Counts (the stand-in's accepted, duplicate
// and 429 counters) and Storm (make the stand-in answer 429 for a while)
// the suite writes through a 429 storm and checks every record is
// acknowledged and accepted exactly once; with Counts and Reject it checks
// that a partly failed write's good records are not sent again and that
// the failed ones, fixed and sent alone, are accepted once. EmailKeyed
// tells the suite the destination must refuse records with a NULL email
// (code MissingEmailCode) instead of acknowledging them.
//
// Package memdest is a destination for tests that can refuse records,
// acknowledge late and out of order, and crash after N batches.
package pluginstest
