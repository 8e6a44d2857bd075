package bigquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/segflow/segflow/core"
)

// Version of this plugin.
const Version = "0.1.0"

// maxAttempts bounds how often a job that failed for a transient reason
// runs; the client itself already retries the HTTP calls.
const maxAttempts = 4

// Warehouse is the BigQuery plugin.
type Warehouse struct {
	mu     sync.Mutex
	cfg    Config
	client *bigquery.Client
	conn   *grpc.ClientConn // to a stand-in's Storage Read endpoint
	log    hclog.Logger
}

// New returns an unconfigured BigQuery warehouse. It logs to stderr, which
// the plugin host forwards.
func New() *Warehouse {
	return &Warehouse{log: hclog.New(&hclog.LoggerOptions{Name: "bigquery", Output: os.Stderr, JSONFormat: true})}
}

func (w *Warehouse) Info(context.Context) (core.WarehouseInfo, error) {
	return core.WarehouseInfo{
		Name: "bigquery", Version: Version, Dialect: "bigquery",
		Capabilities: []string{core.CapDryRun, core.CapDescribeTable, core.CapCancel},
	}, nil
}

func (w *Warehouse) Configure(ctx context.Context, raw json.RawMessage) error {
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	// The clients outlive this call; only its values are theirs to keep.
	cctx := context.WithoutCancel(ctx)
	var opts, readOpts []option.ClientOption
	var conn *grpc.ClientConn
	switch {
	case cfg.Endpoint != "":
		opts = append(opts, option.WithEndpoint(cfg.Endpoint), option.WithoutAuthentication())
		// WithoutAuthentication still dials TLS; a stand-in speaks plaintext.
		conn, err = grpc.NewClient(cfg.StorageEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return core.FieldErrors{{Field: "storage_endpoint", Message: err.Error()}}
		}
		readOpts = []option.ClientOption{option.WithGRPCConn(conn)}
	case cfg.CredentialsFile != "":
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, cfg.CredentialsFile))
		readOpts = opts
	}
	client, err := bigquery.NewClient(cctx, cfg.Project, opts...)
	if err == nil {
		client.Location = cfg.Location
		err = client.EnableStorageReadClient(cctx, readOpts...)
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		if client != nil {
			client.Close()
		}
		if cfg.CredentialsFile == "" && cfg.Endpoint == "" {
			return core.FieldErrors{{Field: "credentials_file", Message: "not set, and no application default credentials were found: " + err.Error()}}
		}
		return fmt.Errorf("bigquery: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
	w.cfg, w.client, w.conn = cfg, client, conn
	return nil
}

// state returns the current client and configuration.
func (w *Warehouse) state() (*bigquery.Client, Config, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.client == nil {
		return nil, Config{}, errors.New("bigquery: not configured")
	}
	return w.client, w.cfg, nil
}

// TestConnection reads the default dataset's metadata: that needs working
// credentials, the project and the dataset.
func (w *Warehouse) TestConnection(ctx context.Context) error {
	c, cfg, err := w.state()
	if err != nil {
		return err
	}
	_, err = c.Dataset(cfg.Dataset).Metadata(ctx)
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) && apiErr.Code == 404 {
		return fmt.Errorf("bigquery: dataset %s.%s not found, or not visible to these credentials: %s", cfg.Project, cfg.Dataset, apiErr.Message)
	}
	return w.translate(ctx, err)
}

func (w *Warehouse) Execute(ctx context.Context, sql string, params ...any) (int64, error) {
	c, cfg, err := w.state()
	if err != nil {
		return 0, err
	}
	job, err := w.run(ctx, c, cfg, sql, params)
	if err != nil {
		return 0, w.translate(ctx, err)
	}
	if qs, ok := job.LastStatus().Statistics.Details.(*bigquery.QueryStatistics); ok {
		switch qs.StatementType {
		case "INSERT", "UPDATE", "DELETE", "MERGE":
			return qs.NumDMLAffectedRows, nil
		}
	}
	return 0, nil
}

// Query runs sql as a job and reads its result as Arrow through the
// Storage Read API (q.Run then job.Read: q.Read would stay on REST for
// small results).
func (w *Warehouse) Query(ctx context.Context, sql string, params ...any) (array.RecordReader, error) {
	c, cfg, err := w.state()
	if err != nil {
		return nil, err
	}
	job, err := w.run(ctx, c, cfg, sql, params)
	if err != nil {
		return nil, w.translate(ctx, err)
	}
	// Releasing the reader early must stop the read streams.
	rctx, cancel := context.WithCancel(ctx)
	it, err := job.Read(rctx)
	if err != nil {
		cancel()
		return nil, w.translate(ctx, err)
	}
	if !it.IsAccelerated() {
		// job.Read falls back to REST silently when it cannot open a read
		// session; that is only bearable for a small result.
		defer cancel()
		return w.restReader(ctx, it)
	}
	ai, err := it.ArrowIterator()
	if err != nil {
		cancel()
		return nil, w.translate(ctx, err)
	}
	src := &batchStream{ai: ai, buf: ai.SerializedArrowSchema()}
	rdr, err := ipc.NewReader(src, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bigquery: decode Arrow schema: %w", err)
	}
	count := func(ctx context.Context) (int64, error) {
		j, err := c.JobFromIDLocation(ctx, job.ID(), job.Location())
		if err != nil {
			return 0, err
		}
		jc, err := j.Config()
		if err != nil {
			return 0, err
		}
		qc, ok := jc.(*bigquery.QueryConfig)
		if !ok || qc.Dst == nil {
			return 0, errors.New("job has no destination table")
		}
		md, err := qc.Dst.Metadata(ctx)
		if err != nil {
			return 0, err
		}
		return int64(md.NumRows), nil
	}
	return &storageReader{
		Reader: rdr, ctx: ctx, cancel: cancel, src: src, w: w,
		estimated: int64(it.TotalRows), count: count,
	}, nil
}

// run runs a statement as a job and waits for it to finish, running it
// again when it failed for a transient reason (the client retries the
// HTTP calls, not a job that failed inside BigQuery).
func (w *Warehouse) run(ctx context.Context, c *bigquery.Client, cfg Config, sql string, params []any) (*bigquery.Job, error) {
	pause := time.Second
	for attempt := 1; ; attempt++ {
		job, err := w.runOnce(ctx, c, cfg, sql, params)
		var jobErr *bigquery.Error
		if err == nil || attempt == maxAttempts || !errors.As(err, &jobErr) || !transientReasons[jobErr.Reason] {
			return job, err
		}
		w.log.Warn("job failed for a transient reason; running it again", "reason", jobErr.Reason, "attempt", attempt)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

func (w *Warehouse) runOnce(ctx context.Context, c *bigquery.Client, cfg Config, sql string, params []any) (*bigquery.Job, error) {
	q, err := newQuery(c, cfg, sql, params)
	if err != nil {
		return nil, err
	}
	job, err := q.Run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// The job may exist even though the insert did not answer.
			w.cancelJob(ctx, c, q.JobID, cfg.Location, nil)
		}
		return nil, err
	}
	// Poll jobs.get rather than waiting in getQueryResults: the client
	// retries getQueryResults on backendError forever, even when that is
	// how the job itself failed.
	status, pause := job.LastStatus(), 50*time.Millisecond
	for status == nil || !status.Done() {
		select {
		case <-ctx.Done():
			w.cancelJob(ctx, c, job.ID(), job.Location(), job)
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*3/2, time.Second)
		if status, err = job.Status(ctx); err != nil {
			if ctx.Err() != nil {
				w.cancelJob(ctx, c, job.ID(), job.Location(), job)
			}
			return nil, err
		}
	}
	return job, status.Err()
}

// cancelJob asks BigQuery to stop a job whose caller went away. It uses a
// fresh deadline: the caller's context is already done.
func (w *Warehouse) cancelJob(ctx context.Context, c *bigquery.Client, id, location string, job *bigquery.Job) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var err error
	if job == nil {
		job, err = c.JobFromIDLocation(cctx, id, location)
	}
	if err == nil {
		err = job.Cancel(cctx)
	}
	if err != nil {
		w.log.Warn("could not cancel job", "job", id, "error", err)
	}
}

func newQuery(c *bigquery.Client, cfg Config, sql string, params []any) (*bigquery.Query, error) {
	sql, qp, err := bind(sql, params)
	if err != nil {
		return nil, err
	}
	q := c.Query(sql)
	q.Parameters = qp
	q.DefaultProjectID, q.DefaultDatasetID = cfg.Project, cfg.Dataset
	q.Labels = cfg.Labels
	q.MaxBytesBilled = cfg.MaximumBytesBilled
	q.Priority = bigquery.InteractivePriority
	if cfg.Priority == "batch" {
		q.Priority = bigquery.BatchPriority
	}
	// Our own job ID is known before jobs.insert answers, so a job whose
	// insert was interrupted can still be cancelled.
	q.JobID = "segflow_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	q.Location = cfg.Location
	return q, nil
}

// DryRun asks BigQuery to validate sql and estimate the bytes it would
// process, which is what on-demand pricing bills.
func (w *Warehouse) DryRun(ctx context.Context, sql string, params ...any) (int64, error) {
	c, cfg, err := w.state()
	if err != nil {
		return 0, err
	}
	q, err := newQuery(c, cfg, sql, params)
	if err != nil {
		return 0, err
	}
	q.DryRun = true
	job, err := q.Run(ctx)
	if err != nil {
		return 0, w.translate(ctx, err)
	}
	if err := job.LastStatus().Err(); err != nil {
		return 0, w.translate(ctx, err)
	}
	return job.LastStatus().Statistics.TotalBytesProcessed, nil
}

// DescribeTable returns a table's columns in the Arrow types its query
// results arrive in. table is table, dataset.table or
// project.dataset.table, optionally in backquotes.
func (w *Warehouse) DescribeTable(ctx context.Context, table string) (*arrow.Schema, error) {
	c, cfg, err := w.state()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.ReplaceAll(table, "`", ""), ".")
	project, dataset := cfg.Project, cfg.Dataset
	switch len(parts) {
	case 1:
	case 2:
		dataset = parts[0]
	case 3:
		project, dataset = parts[0], parts[1]
	default:
		return nil, fmt.Errorf("bigquery: %q is not a table name", table)
	}
	md, err := c.DatasetInProject(project, dataset).Table(parts[len(parts)-1]).Metadata(ctx)
	if err != nil {
		return nil, w.translate(ctx, err)
	}
	return arrowSchema(md.Schema), nil
}

func (w *Warehouse) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeLocked()
}

func (w *Warehouse) closeLocked() error {
	var err error
	if w.client != nil {
		err = w.client.Close()
	}
	if w.conn != nil {
		err = errors.Join(err, w.conn.Close())
	}
	w.client, w.conn = nil, nil
	return err
}
