package snowflake

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/plugins/pluginstest"
)

// integrationConfig is a configuration for a real account, or skips the
// test: SEGFLOW_SNOWFLAKE_ACCOUNT and _USER, one of _PASSWORD,
// _PRIVATE_KEY_FILE and _TOKEN, and optionally _WAREHOUSE, _ROLE,
// _DATABASE and _SCHEMA (the suite creates and drops a table there).
func integrationConfig(t *testing.T) string {
	env := func(name string) string { return os.Getenv("SEGFLOW_SNOWFLAKE_" + name) }
	if env("ACCOUNT") == "" || env("USER") == "" || env("PASSWORD")+env("PRIVATE_KEY_FILE")+env("TOKEN") == "" {
		t.Skip("set SEGFLOW_SNOWFLAKE_ACCOUNT, SEGFLOW_SNOWFLAKE_USER and one of SEGFLOW_SNOWFLAKE_PASSWORD, _PRIVATE_KEY_FILE or _TOKEN (optionally _WAREHOUSE, _ROLE, _DATABASE, _SCHEMA) to run against Snowflake")
	}
	cfg := map[string]any{"account": env("ACCOUNT"), "user": env("USER"), "query_tag": "segflow-integration-test"}
	for _, k := range []string{"password", "private_key_file", "token", "warehouse", "role", "database", "schema"} {
		if v := env(strings.ToUpper(k)); v != "" {
			cfg[k] = v
		}
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	return string(b)
}

func TestIntegrationSnowflakeConformance(t *testing.T) {
	cfg := integrationConfig(t)
	pluginstest.RunWarehouse(t, pluginstest.Direct(New), pluginstest.Options{
		Config:    cfg,
		BadConfig: `{"account": "a", "user": "u", "password": "p", "token": "t"}`,
		BadField:  "token",
	})
}
