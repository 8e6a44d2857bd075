// Package examples embeds the example configs so that `segflow init` can
// scaffold a project from the same quickstart the README walks through.
package examples

import _ "embed"

// Quickstart is examples/quickstart/segflow.yaml.
//
//go:embed quickstart/segflow.yaml
var Quickstart []byte
