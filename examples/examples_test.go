package examples

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/config"
)

// Every example config must load and validate, so the README's examples
// stay true.
func TestExampleConfigsValidate(t *testing.T) {
	for _, env := range []string{"SEGFLOW_GCP_PROJECT", "SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PRIVATE_KEY_FILE"} {
		t.Setenv(env, "example-value")
	}
	paths, err := filepath.Glob("*/segflow.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 3)
	for _, p := range paths {
		_, err := config.Load(p)
		require.NoError(t, err, p)
	}
}
