package bigquery

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/plugins/pluginstest"
)

// integrationConfig is a configuration for a real project, or skips the
// test. Credentials are the application default ones, which
// GOOGLE_APPLICATION_CREDENTIALS points at. The dataset must exist; the
// suite creates and drops a table in it.
func integrationConfig(t *testing.T) string {
	project := os.Getenv("SEGFLOW_BIGQUERY_PROJECT")
	if project == "" || os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") == "" {
		t.Skip("set SEGFLOW_BIGQUERY_PROJECT and GOOGLE_APPLICATION_CREDENTIALS (optionally SEGFLOW_BIGQUERY_DATASET, default segflow_test, and SEGFLOW_BIGQUERY_LOCATION) to run against BigQuery")
	}
	dataset := os.Getenv("SEGFLOW_BIGQUERY_DATASET")
	if dataset == "" {
		dataset = "segflow_test"
	}
	b, err := json.Marshal(map[string]any{
		"project": project, "dataset": dataset, "location": os.Getenv("SEGFLOW_BIGQUERY_LOCATION"),
		"labels": map[string]string{"purpose": "segflow-integration-test"},
	})
	require.NoError(t, err)
	return string(b)
}

func TestIntegrationBigQueryConformance(t *testing.T) {
	cfg := integrationConfig(t)
	pluginstest.RunWarehouse(t, pluginstest.Direct(New), pluginstest.Options{
		Config:    cfg,
		BadConfig: `{"project": "my-project", "dataset": "d", "priority": "urgent"}`,
		BadField:  "priority",
	})
}

func TestIntegrationBigQueryDryRunAndTypes(t *testing.T) {
	cfg := integrationConfig(t)
	w := New()
	defer w.Close()
	ctx := context.Background()
	require.NoError(t, w.Configure(ctx, json.RawMessage(cfg)))
	n, err := w.DryRun(ctx, "SELECT word FROM `bigquery-public-data.samples.shakespeare`")
	require.NoError(t, err)
	require.Positive(t, n)

	rdr, err := w.Query(ctx, "SELECT CAST(123.45 AS NUMERIC) AS d, CURRENT_TIMESTAMP() AS ts")
	require.NoError(t, err)
	defer rdr.Release()
	require.Equal(t, &arrow.Decimal128Type{Precision: 38, Scale: 9}, rdr.Schema().Field(0).Type)
	require.Equal(t, arrow.TIMESTAMP, rdr.Schema().Field(1).Type.ID())
	for rdr.Next() {
	}
	require.NoError(t, rdr.Err())
}
