//go:build duckdb_arrow

package bqstandin

import (
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Options configure a stand-in. The zero value is usable.
type Options struct {
	// Project is the one project served; default "standin-project".
	Project string
	// Location reported for jobs and datasets; default "US".
	Location string
	// Datasets to create at start; default just "segflow".
	Datasets []string
	// BatchRows is the row count of each ReadRows message; default 32768.
	BatchRows int
	// PageRows is getQueryResults' default page size; default 10000.
	PageRows int
	// KeepResults is how many query results stay readable; default 4.
	KeepResults int
	// WaitForJob bounds how long one getQueryResults call waits for its
	// job (BigQuery waits up to 10s); default 2s.
	WaitForJob time.Duration
}

// REST routes and RPC methods, as named by FailNext, FailNextRPC and Count.
const (
	RouteJobsInsert         = "jobs.insert"
	RouteJobsGet            = "jobs.get"
	RouteJobsCancel         = "jobs.cancel"
	RouteGetQueryResults    = "jobs.getQueryResults"
	RouteDatasetsGet        = "datasets.get"
	RouteTablesGet          = "tables.get"
	MethodCreateReadSession = "CreateReadSession"
	MethodReadRows          = "ReadRows"
	// CountReadRowsMessages counts the record-batch messages ReadRows sent.
	CountReadRowsMessages = "ReadRows messages"
)

// Server is a running stand-in.
type Server struct {
	// URL is the REST endpoint (for option.WithEndpoint), GRPCAddr the
	// Storage Read endpoint (host:port, plaintext).
	URL, GRPCAddr string

	opts      Options
	connector *duckdb.Connector
	db        *gosql.DB
	httpSrv   *http.Server
	grpcSrv   *grpc.Server

	mu          sync.Mutex
	jobs        map[string]*job
	jobOrder    []string
	results     map[string]*result // anonymous tables, by "dataset.table"
	resOrder    []string
	streams     map[string][]arrow.RecordBatch // read streams, by name
	streamOrder []string
	seq         int

	// what was asked for and what was seen
	failHTTP   map[string][]httpFault
	failRPC    map[string][]codes.Code
	failJobs   []string
	drops      []streamDrop
	queryDelay time.Duration
	counts     map[string]int
	offsets    []int64
}

type httpFault struct {
	status int
	reason string
}

type streamDrop struct {
	after int
	code  codes.Code
}

// Start starts a stand-in on free local ports.
func Start(opts Options) (*Server, error) {
	if opts.Project == "" {
		opts.Project = "standin-project"
	}
	if opts.Location == "" {
		opts.Location = "US"
	}
	if opts.Datasets == nil {
		opts.Datasets = []string{"segflow"}
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 32768
	}
	if opts.PageRows <= 0 {
		opts.PageRows = 10000
	}
	if opts.KeepResults <= 0 {
		opts.KeepResults = 4
	}
	if opts.WaitForJob <= 0 {
		opts.WaitForJob = 2 * time.Second
	}
	s := &Server{
		opts:     opts,
		jobs:     map[string]*job{},
		results:  map[string]*result{},
		streams:  map[string][]arrow.RecordBatch{},
		failHTTP: map[string][]httpFault{},
		failRPC:  map[string][]codes.Code{},
		counts:   map[string]int{},
	}
	if err := s.openDuckDB(); err != nil {
		return nil, err
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.db.Close()
		return nil, err
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		httpLn.Close()
		s.db.Close()
		return nil, err
	}
	s.URL = "http://" + httpLn.Addr().String()
	s.GRPCAddr = grpcLn.Addr().String()
	s.httpSrv = &http.Server{Handler: s.routes()}
	// Read API messages may be up to 128 MiB.
	s.grpcSrv = grpc.NewServer(grpc.MaxSendMsgSize(129 << 20))
	storagepb.RegisterBigQueryReadServer(s.grpcSrv, &readServer{s: s})
	go s.httpSrv.Serve(httpLn)
	go s.grpcSrv.Serve(grpcLn)
	return s, nil
}

// openDuckDB attaches the project as a catalog and creates the datasets
// as its schemas, so that dataset.table and project.dataset.table names
// resolve as in BigQuery.
func (s *Server) openDuckDB() error {
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return err
	}
	s.connector, s.db = c, gosql.OpenDB(c)
	stmts := []string{fmt.Sprintf("ATTACH ':memory:' AS %s", quote(s.opts.Project))}
	for _, d := range s.opts.Datasets {
		stmts = append(stmts, fmt.Sprintf("CREATE SCHEMA %s.%s", quote(s.opts.Project), quote(d)))
	}
	for _, q := range stmts {
		if _, err := s.db.Exec(q); err != nil {
			s.db.Close()
			return fmt.Errorf("bqstandin: %s: %w", q, err)
		}
	}
	return nil
}

// Close stops the servers, cancels running jobs and closes DuckDB.
func (s *Server) Close() error {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		j.cancel()
		jobs = append(jobs, j)
	}
	s.results, s.streams = map[string]*result{}, map[string][]arrow.RecordBatch{}
	s.mu.Unlock()
	// DuckDB must not close under a running statement.
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-time.After(5 * time.Second):
		}
	}
	s.grpcSrv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	return errors.Join(err, s.db.Close(), s.connector.Close())
}

// Project is the project the stand-in serves.
func (s *Server) Project() string { return s.opts.Project }

// Exec runs a statement on the stand-in's DuckDB directly (to set up
// tables for a test), with the given dataset as the default schema.
func (s *Server) Exec(ctx context.Context, dataset, sql string, args ...any) error {
	conn, err := s.conn(ctx, dataset)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, translate(sql), args...)
	return err
}

// conn opens a DuckDB connection whose default schema is dataset.
func (s *Server) conn(ctx context.Context, dataset string) (*gosql.Conn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	use := "USE " + quote(s.opts.Project)
	if dataset != "" {
		use += "." + quote(dataset)
	}
	if _, err := conn.ExecContext(ctx, use); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func quote(name string) string { return backquoted("`" + name + "`") }

// FailNext makes the next n requests to a REST route (RouteJobsInsert,
// ...) fail with the HTTP status and error reason given, such as 503
// "backendError" or 403 "accessDenied".
func (s *Server) FailNext(route string, n, status int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failHTTP[route] = append(s.failHTTP[route], httpFault{status, reason})
	}
}

// FailNextRPC makes the next n calls of a Storage Read method
// (MethodCreateReadSession, MethodReadRows) fail with code.
func (s *Server) FailNextRPC(method string, n int, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failRPC[method] = append(s.failRPC[method], code)
	}
}

// FailNextJobs makes the next n jobs finish with an error result of the
// given reason (such as "backendError") without running.
func (s *Server) FailNextJobs(n int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failJobs = append(s.failJobs, reason)
	}
}

// DropReadRows makes the next n ReadRows streams end with code after
// sending `after` messages. codes.Unavailable is retryable (the client
// reconnects at its offset); codes.DataLoss is not.
func (s *Server) DropReadRows(n, after int, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.drops = append(s.drops, streamDrop{after, code})
	}
}

// SetQueryDelay makes every job wait d, cancellably, before it runs.
func (s *Server) SetQueryDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queryDelay = d
}

// Count reports how many requests a route or method received.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// ReadRowsOffsets lists the offset of every ReadRows request, in order.
func (s *Server) ReadRowsOffsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.offsets...)
}

// JobInfo is what the stand-in knows about one job.
type JobInfo struct {
	ID, SQL, State, Priority string
	Labels                   map[string]string
	MaximumBytesBilled       int64
	DefaultDataset           string
	Cancelled                bool
	ErrorReason              string
}

// Jobs lists the jobs run so far, oldest first.
func (s *Server) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.jobOrder))
	for _, id := range s.jobOrder {
		out = append(out, s.jobs[id].info())
	}
	return out
}

// take records a request and returns the fault to inject, if any.
func (s *Server) takeHTTP(route string) (httpFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	q := s.failHTTP[route]
	if len(q) == 0 {
		return httpFault{}, false
	}
	s.failHTTP[route] = q[1:]
	return q[0], true
}

func (s *Server) takeRPC(method string) (codes.Code, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[method]++
	q := s.failRPC[method]
	if len(q) == 0 {
		return codes.OK, false
	}
	s.failRPC[method] = q[1:]
	return q[0], true
}
