package zetasql

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates zetasqlpb into a temporary directory
// and compares it with the checked-in files: editing a .proto without
// `make proto` fails here.
func TestGeneratedCodeIsFresh(t *testing.T) {
	for _, tool := range []string{"protoc", "protoc-gen-go", "protoc-gen-go-grpc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not found: CI must install it (.ci/run, make tools)", tool)
			}
			t.Skipf("%s not found; run the tests through `make test`", tool)
		}
	}
	out := t.TempDir()
	// The same command as the go:generate line in generate.go.
	args := []string{"-I", "proto",
		"--go_out=" + out, "--go_opt=paths=source_relative",
		"--go-grpc_out=" + out, "--go-grpc_opt=paths=source_relative",
		"zetasql.proto", "local_service.proto"}
	if msg, err := exec.Command("protoc", args...).CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}
	generated, _ := filepath.Glob(filepath.Join(out, "*.go"))
	checkedIn, _ := filepath.Glob(filepath.Join("zetasqlpb", "*.go"))
	if len(generated) == 0 {
		t.Fatal("protoc generated nothing")
	}
	if len(checkedIn) != len(generated) {
		t.Errorf("zetasqlpb holds %d files, protoc generates %d: run make proto", len(checkedIn), len(generated))
	}
	for _, g := range generated {
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		rel := filepath.Join("zetasqlpb", filepath.Base(g))
		have, err := os.ReadFile(rel)
		if err != nil {
			t.Fatalf("%s is generated but not checked in: run make proto", rel)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("%s is stale: run make proto and commit the result", rel)
		}
	}
}
