// Command journal-destination is an external destination plugin built as
// its own binary: the smallest real one. It serves the test destination
// of plugins/pluginstest/memdest, which appends every operation to a
// journal file and syncs it before acknowledging, so the file holds
// exactly what the destination durably took, even across crashes. The
// publish engine's crash tests use it; plugin authors can read it as an
// example of sdk.Serve.
//
//	go build -o journal-destination ./examples/journal-destination
//	sha256sum journal-destination   # goes into the config's plugins entry
package main

import (
	"github.com/segflow/segflow/plugins/pluginstest/memdest"
	"github.com/segflow/segflow/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.ServeOpts{Destination: memdest.New()})
}
