//go:build duckdb_arrow

package sfstandin

// StartForBench starts a stand-in with default options for a benchmark
// and returns the plugin configuration that reaches it and a function
// that stops it. Statements for a result of n rows:
// pluginstest.KnownDialects["snowflake"].Series(n).
func StartForBench() (pluginConfig string, stop func() error, err error) {
	s, err := Start(Options{})
	if err != nil {
		return "", nil, err
	}
	return s.PluginConfig(), s.Close, nil
}
