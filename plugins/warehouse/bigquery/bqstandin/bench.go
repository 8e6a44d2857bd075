//go:build duckdb_arrow

package bqstandin

import "encoding/json"

// PluginConfig is a configuration for segflow's BigQuery plugin that
// points it at this stand-in, with dataset as its default dataset.
func (s *Server) PluginConfig(dataset string) string {
	b, _ := json.Marshal(map[string]string{
		"project":          s.opts.Project,
		"dataset":          dataset,
		"location":         s.opts.Location,
		"endpoint":         s.URL,
		"storage_endpoint": s.GRPCAddr,
	})
	return string(b)
}

// StartForBench starts a stand-in with default options for a benchmark
// and returns the plugin configuration that reaches it (dataset
// "segflow") and a function that stops it. Statements for a result of n
// rows: pluginstest.KnownDialects["bigquery"].Series(n).
func StartForBench() (pluginConfig string, stop func() error, err error) {
	s, err := Start(Options{})
	if err != nil {
		return "", nil, err
	}
	return s.PluginConfig("segflow"), s.Close, nil
}
