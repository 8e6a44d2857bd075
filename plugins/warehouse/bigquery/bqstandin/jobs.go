//go:build duckdb_arrow

package bqstandin

import (
	"context"
	"database/sql/driver"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	bq "google.golang.org/api/bigquery/v2"
)

// anonDataset holds query results, as BigQuery's hidden "_..." datasets do.
const anonDataset = "_standin_anonymous"

// job is one query job. The fields after the blank line are written by
// its run goroutine, under Server.mu.
type job struct {
	ref     *bq.JobReference
	config  *bq.JobConfiguration
	dataset string // default dataset for unqualified names
	params  []any
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	created time.Time

	started, ended time.Time
	state          string
	err            *bq.ErrorProto
	cancelled      bool
	stmtType       string
	dst            *bq.TableReference
	res            *result
	dmlRows        int64
	bytes          int64
}

func (j *job) info() JobInfo {
	q := j.config.Query
	info := JobInfo{
		ID: j.ref.JobId, SQL: q.Query, State: j.state, Priority: q.Priority,
		Labels: j.config.Labels, MaximumBytesBilled: q.MaximumBytesBilled,
		DefaultDataset: j.dataset, Cancelled: j.cancelled,
	}
	if j.err != nil {
		info.ErrorReason = j.err.Reason
	}
	return info
}

// rest renders the job resource. Call with Server.mu held.
func (j *job) rest() *bq.Job {
	cfg := *j.config
	q := *cfg.Query
	q.DestinationTable = j.dst
	cfg.Query = &q
	out := &bq.Job{
		Kind:          "bigquery#job",
		Id:            j.ref.ProjectId + ":" + j.ref.Location + "." + j.ref.JobId,
		JobReference:  j.ref,
		Configuration: &cfg,
		Status:        &bq.JobStatus{State: j.state, ErrorResult: j.err},
		Statistics: &bq.JobStatistics{
			CreationTime: j.created.UnixMilli(),
			Query:        &bq.JobStatistics2{StatementType: j.stmtType},
		},
	}
	if j.err != nil {
		out.Status.Errors = []*bq.ErrorProto{j.err}
	}
	if !j.started.IsZero() {
		out.Statistics.StartTime = j.started.UnixMilli()
	}
	if j.state == "DONE" {
		out.Statistics.EndTime = j.ended.UnixMilli()
		out.Statistics.TotalBytesProcessed = j.bytes
		out.Statistics.Query.TotalBytesProcessed = j.bytes
		out.Statistics.Query.NumDmlAffectedRows = j.dmlRows
	}
	return out
}

// start registers a job and runs it in the background; it returns nil
// if a job of that ID exists.
func (s *Server) start(ref *bq.JobReference, cfg *bq.JobConfiguration, dataset string, params []any) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs[ref.JobId] != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{
		ref: ref, config: cfg, dataset: dataset, params: params,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), created: time.Now(),
		state: "PENDING",
	}
	s.jobs[ref.JobId] = j
	s.jobOrder = append(s.jobOrder, ref.JobId)
	var failReason string
	if len(s.failJobs) > 0 {
		failReason, s.failJobs = s.failJobs[0], s.failJobs[1:]
	}
	go s.run(j, s.queryDelay, failReason)
	return j
}

func (s *Server) run(j *job, delay time.Duration, failReason string) {
	defer close(j.done)
	defer j.cancel()
	s.mu.Lock()
	j.state, j.started = "RUNNING", time.Now()
	s.mu.Unlock()

	var (
		res      *result
		stmtType string
		dmlRows  int64
		errp     *bq.ErrorProto
	)
	if failReason != "" {
		errp = &bq.ErrorProto{Reason: failReason, Message: "stand-in: injected " + failReason}
	} else {
		res, stmtType, dmlRows, errp = s.execute(j, delay)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	j.state, j.ended, j.err, j.stmtType, j.dmlRows = "DONE", time.Now(), errp, stmtType, dmlRows
	if res != nil {
		j.res, j.bytes = res, res.bytes
		j.dst = &bq.TableReference{ProjectId: s.opts.Project, DatasetId: anonDataset, TableId: "anon_" + sanitize(j.ref.JobId)}
		s.keepResult(j.dst.DatasetId+"."+j.dst.TableId, res)
	}
}

// keepResult stores a result table, dropping the oldest beyond
// Options.KeepResults. Call with s.mu held.
func (s *Server) keepResult(key string, res *result) {
	s.results[key] = res
	s.resOrder = append(s.resOrder, key)
	for len(s.resOrder) > s.opts.KeepResults {
		delete(s.results, s.resOrder[0])
		s.resOrder = s.resOrder[1:]
	}
}

func (s *Server) execute(j *job, delay time.Duration) (*result, string, int64, *bq.ErrorProto) {
	ctx := j.ctx
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, "", 0, s.errorProto(ctx, ctx.Err())
		}
	}
	sql := translate(j.config.Query.Query)
	conn, err := s.conn(ctx, j.dataset)
	if err != nil {
		return nil, "", 0, s.errorProto(ctx, err)
	}
	defer conn.Close()
	returnsRows, stmtType := classify(sql)
	if !returnsRows {
		r, err := conn.ExecContext(ctx, sql, j.params...)
		if err != nil {
			return nil, stmtType, 0, s.errorProto(ctx, err)
		}
		n, _ := r.RowsAffected()
		return nil, stmtType, n, nil
	}
	var res *result
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rdr, err := ar.QueryContext(ctx, sql, j.params...)
		if err != nil {
			return err
		}
		defer rdr.Release()
		res, err = collect(rdr, s.opts.BatchRows)
		return err
	})
	if err != nil {
		return nil, stmtType, 0, s.errorProto(ctx, err)
	}
	return res, stmtType, 0, nil
}

// errorProto reports a failed statement as BigQuery does.
func (s *Server) errorProto(ctx context.Context, err error) *bq.ErrorProto {
	if ctx.Err() != nil {
		return &bq.ErrorProto{Reason: "stopped", Message: "Job execution was cancelled: User requested cancellation"}
	}
	return &bq.ErrorProto{Reason: "invalidQuery", Location: "query", Message: bigQueryMessage(err.Error())}
}

// linePattern finds DuckDB's "LINE n:" marker; the caret below it gives
// the column.
var linePattern = regexp.MustCompile(`(?m)^LINE (\d+): (.*)\n(\s*)\^`)

// bigQueryMessage rewrites a DuckDB error in BigQuery's shape: one line,
// ending with the position as "at [line:column]".
func bigQueryMessage(msg string) string {
	pos := ""
	if m := linePattern.FindStringSubmatchIndex(msg); m != nil {
		line := msg[m[2]:m[3]]
		prefix := len("LINE ") + len(line) + len(": ")
		pos = fmt.Sprintf(" at [%s:%d]", line, (m[7]-m[6])-prefix+1)
		msg = msg[:m[0]]
	}
	return strings.Join(strings.Fields(msg), " ") + pos
}

var firstWords = regexp.MustCompile(`^[\s(]*([A-Za-z]+)(?:\s+(?:OR\s+REPLACE\s+|TEMP\s+|TEMPORARY\s+)?([A-Za-z]+))?`)

// classify tells statements that return rows from the rest and names the
// statement type as BigQuery's statistics.query.statementType does.
func classify(sql string) (returnsRows bool, stmtType string) {
	sql = stripComments(sql)
	m := firstWords.FindStringSubmatch(sql)
	if m == nil {
		return false, "SCRIPT"
	}
	first, second := strings.ToUpper(m[1]), strings.ToUpper(m[2])
	switch first {
	case "SELECT", "WITH", "VALUES", "FROM", "TABLE", "SHOW", "DESCRIBE", "EXPLAIN":
		return true, "SELECT"
	case "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE":
		return false, first
	case "CREATE", "DROP", "ALTER":
		return false, first + "_" + second
	}
	return false, first
}

func stripComments(sql string) string {
	var b strings.Builder
	for _, seg := range segments(sql) {
		if !seg.code && (strings.HasPrefix(seg.text, "--") || strings.HasPrefix(seg.text, "#") || strings.HasPrefix(seg.text, "/*")) {
			b.WriteByte(' ')
			continue
		}
		b.WriteString(seg.text)
	}
	return b.String()
}

func sanitize(id string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_]`).ReplaceAllString(id, "_")
}

// paramValue turns a BigQuery query parameter into a DuckDB argument;
// value is nil for a NULL.
func paramValue(p *bq.QueryParameter, value *string) (any, error) {
	if p.ParameterType == nil {
		return nil, fmt.Errorf("parameter without a type")
	}
	if value == nil {
		return nil, nil
	}
	v := *value
	switch p.ParameterType.Type {
	case "INT64":
		return strconv.ParseInt(v, 10, 64)
	case "FLOAT64":
		return strconv.ParseFloat(v, 64)
	case "BOOL":
		return strconv.ParseBool(v)
	case "STRING", "NUMERIC", "BIGNUMERIC":
		return v, nil
	case "TIMESTAMP":
		return time.Parse("2006-01-02 15:04:05.999999-07:00", v)
	case "DATE":
		return time.Parse(time.DateOnly, v)
	case "DATETIME":
		return time.Parse("2006-01-02 15:04:05.999999", v)
	}
	return nil, fmt.Errorf("parameter type %s is not supported by the stand-in", p.ParameterType.Type)
}
