package zetasql

import (
	"context"
	"errors"
	"os"
	"testing"
)

// StartForTest starts an analyzer for f that is closed when t ends. If the
// servers are not installed it skips t, or fails it when the CI environment
// variable is set, so that CI never passes without the check.
func StartForTest(t testing.TB, f Flavor) *Analyzer {
	t.Helper()
	a, err := Start(context.Background(), f)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; CI must install it (make test)", err)
		}
		t.Skip("run make test to install ZetaSQL")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
