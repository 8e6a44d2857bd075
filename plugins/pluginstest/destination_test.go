package pluginstest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/pluginhost"
	"github.com/segflow/segflow/plugins/pluginstest"
	"github.com/segflow/segflow/plugins/pluginstest/memdest"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

func TestMain(m *testing.M) {
	pluginstest.ServeDestinationIfChild(func() core.Destination { return memdest.New() })
	os.Exit(m.Run())
}

// memdestOptions runs the suite on memdest with extra config settings.
func memdestOptions(extra map[string]any) pluginstest.DestinationOptions {
	return pluginstest.DestinationOptions{
		Config: func(t testing.TB) string {
			cfg := map[string]any{"journal": filepath.Join(t.TempDir(), "journal.jsonl")}
			for k, v := range extra {
				cfg[k] = v
			}
			b, _ := json.Marshal(cfg)
			return string(b)
		},
		BadConfig: `{"max_batch_records": -1}`,
		BadField:  "max_batch_records",
		Read: func(t testing.TB, config, _ string) []pluginstest.Record {
			var cfg memdest.Config
			require.NoError(t, json.Unmarshal([]byte(config), &cfg))
			recs, err := memdest.Read(cfg.Journal)
			require.NoError(t, err)
			return recs
		},
		Reject:       &pluginstest.Reject{Email: "not-an-email", Code: "invalid_email", Retryable: false},
		LargeRecords: 100_000,
	}
}

func TestDestinationConformance(t *testing.T) {
	// Mailchimp-like: small batches, removes.
	opts := memdestOptions(map[string]any{"max_batch_records": 500, "supports_remove": true})
	pluginstest.RunDestination(t, pluginstest.DirectDestination(memdest.New), opts)
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(memdest.New), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

func TestDestinationConformanceAsync(t *testing.T) {
	// Klaviyo-like: acks late and out of order, no removes, a small
	// window.
	opts := memdestOptions(map[string]any{"max_batch_records": 1000, "async": true, "max_in_flight_batches": 2})
	pluginstest.RunDestination(t, pluginstest.InProcessGRPCDestination(memdest.New), opts)
	pluginstest.RunDestination(t, pluginstest.SubprocessDestination(), opts)
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func batch(from, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for id := from; id < from+n; id++ {
		b.Field(0).(*array.Int64Builder).Append(int64(id))
		b.Field(1).(*array.StringBuilder).Append("c" + strconv.Itoa(id) + "@example.com")
	}
	return b.NewRecordBatch()
}

// write sends batches of size records, nBatches of them (0: until the
// write ends), and collects the acks.
func write(ctx context.Context, d core.Destination, size, nBatches int) (core.WriteSummary, []core.Ack, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ops := make(chan core.Op)
	go func() {
		for i := 0; nBatches == 0 || i < nBatches; i++ {
			rec := batch(i*size, size)
			select {
			case ops <- core.Op{Kind: core.Upsert, Seq: int64(i + 1), Batch: rec}:
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
		close(ops)
	}()
	var acks []core.Ack
	sum, err := d.Write(ctx, core.WriteHeader{Segment: "s", Schema: schema, KeyColumn: "customer_id"}, ops, func(a ...core.Ack) {
		acks = append(acks, a...)
	})
	return sum, acks, err
}

// TestKilledPluginAcksAreExactlyWhatItProcessed kills a plugin process
// mid-write (memdest's crash_after_batches: SIGKILL right after the acks of
// its fourth batch). The host must see an error, and the records it saw
// acknowledged must be exactly those the plugin durably processed (its
// journal): nothing acknowledged was lost, nothing processed was left
// unacknowledged at this deterministic crash point.
func TestKilledPluginAcksAreExactlyWhatItProcessed(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "journal.jsonl")
	d := pluginstest.SubprocessDestination().Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, _ := json.Marshal(memdest.Config{Journal: journal, MaxBatchRecords: 100, CrashAfterBatches: 4})
	require.NoError(t, d.Configure(ctx, cfg))

	// Batches of 250 are split into 100, 100, 50: the crash comes after
	// the first 100 records of the second caller batch.
	sum, acks, err := write(ctx, d, 250, 40)
	require.ErrorIs(t, err, core.ErrPluginExited)
	require.NoError(t, ctx.Err(), "the write fails fast, it does not hang")

	var acked []string
	for _, a := range acks {
		require.Nil(t, a.Err)
		acked = append(acked, a.Key)
	}
	processed, err := memdest.ReadKeys(journal)
	require.NoError(t, err)
	sort.Strings(acked)
	sort.Strings(processed)
	require.Len(t, acked, 350)
	require.Equal(t, processed, acked)
	require.Equal(t, int64(350), sum.Acknowledged)
}

// TestHostSplitsToMaxBatchRecords watches the implementation behind the
// protocol: it never receives more than max_batch_records.
func TestHostSplitsToMaxBatchRecords(t *testing.T) {
	impl := memdest.New()
	client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		sdk.DestinationPluginName: &sdk.DestinationPlugin{Impl: impl},
	})
	defer client.Close()
	raw, err := client.Dispense(sdk.DestinationPluginName)
	require.NoError(t, err)
	d := pluginhost.NewDestinationClient(raw.(destinationv1.DestinationClient), nil)
	ctx := context.Background()
	require.NoError(t, d.Configure(ctx, []byte(`{"max_batch_records": 64}`)))

	sum, acks, err := write(ctx, d, 1000, 3)
	require.NoError(t, err)
	require.Equal(t, int64(3000), sum.Acknowledged)
	require.Len(t, acks, 3000)
	require.Equal(t, int64(64), impl.MaxBatchSeen())
	require.Len(t, impl.Records(), 3000)
}

// TestRetryableFailuresAreReported checks memdest's configured failures
// through the protocol.
func TestRetryableFailuresAreReported(t *testing.T) {
	d := pluginstest.InProcessGRPCDestination(memdest.New).Open(t)
	ctx := context.Background()
	require.NoError(t, d.Configure(ctx, []byte(`{"fail": {"5": {"code": "rate_limited", "message": "429 after 3 retries", "retryable": true}}}`)))
	sum, acks, err := write(ctx, d, 10, 1)
	require.NoError(t, err)
	require.Equal(t, int64(9), sum.Acknowledged)
	require.Equal(t, int64(1), sum.Failed)
	for _, a := range acks {
		if a.Key == "5" {
			require.Equal(t, &core.RecordError{Code: "rate_limited", Message: "429 after 3 retries", Retryable: true}, a.Err)
			require.Equal(t, 5, a.Index)
		} else {
			require.Nil(t, a.Err)
		}
	}
	// UpsertAll turns refused records into a failed write.
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{batch(0, 10)})
	require.NoError(t, err)
	_, err = core.UpsertAll(ctx, d, "s", "customer_id", rdr)
	require.ErrorContains(t, err, "1 of 10 records were refused; first: key 5: rate_limited (retryable)")
}
