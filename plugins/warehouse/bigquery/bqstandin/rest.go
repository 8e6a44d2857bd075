//go:build duckdb_arrow

package bqstandin

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/google/uuid"
	bq "google.golang.org/api/bigquery/v2"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /projects/{p}/jobs", s.jobsInsert)
	mux.HandleFunc("GET /projects/{p}/jobs/{j}", s.jobsGet)
	mux.HandleFunc("POST /projects/{p}/jobs/{j}/cancel", s.jobsCancel)
	mux.HandleFunc("GET /projects/{p}/queries/{j}", s.getQueryResults)
	mux.HandleFunc("GET /projects/{p}/datasets/{d}", s.datasetsGet)
	mux.HandleFunc("GET /projects/{p}/datasets/{d}/tables/{t}", s.tablesGet)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The real service lives under /bigquery/v2; accept both.
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/bigquery/v2")
		mux.ServeHTTP(w, r)
	})
}

// fault answers with an injected error if one is due for route.
func (s *Server) fault(w http.ResponseWriter, route string) bool {
	f, ok := s.takeHTTP(route)
	if ok {
		writeError(w, f.status, &bq.ErrorProto{Reason: f.reason, Message: "stand-in: injected " + f.reason})
	}
	return ok
}

// project checks the project in the path: it is the only one served.
func (s *Server) project(w http.ResponseWriter, r *http.Request) bool {
	if p := r.PathValue("p"); p != s.opts.Project {
		writeError(w, http.StatusNotFound, &bq.ErrorProto{Reason: "notFound", Message: "Not found: Project " + p})
		return false
	}
	return true
}

// rawParams recovers parameter values as sent, to tell NULL from "".
type rawParams struct {
	Configuration struct {
		Query struct {
			QueryParameters []struct {
				ParameterValue *struct {
					Value *string `json:"value"`
				} `json:"parameterValue"`
			} `json:"queryParameters"`
		} `json:"query"`
	} `json:"configuration"`
}

func (s *Server) jobsInsert(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, RouteJobsInsert) || !s.project(w, r) {
		return
	}
	body, err := io.ReadAll(r.Body)
	var in bq.Job
	var raw rawParams
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err == nil {
		err = json.Unmarshal(body, &raw)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, &bq.ErrorProto{Reason: "invalid", Message: err.Error()})
		return
	}
	cfg := in.Configuration
	if cfg == nil || cfg.Query == nil {
		writeError(w, http.StatusBadRequest, &bq.ErrorProto{Reason: "invalid", Message: "the stand-in runs query jobs only"})
		return
	}
	q := cfg.Query
	if q.UseLegacySql != nil && *q.UseLegacySql {
		writeError(w, http.StatusBadRequest, &bq.ErrorProto{Reason: "invalid", Message: "the stand-in does not speak legacy SQL"})
		return
	}
	var params []any
	for i, p := range q.QueryParameters {
		if p.Name != "" {
			writeError(w, http.StatusBadRequest, &bq.ErrorProto{Reason: "invalid", Message: "the stand-in supports positional parameters only"})
			return
		}
		var value *string
		if rp := raw.Configuration.Query.QueryParameters[i].ParameterValue; rp != nil {
			value = rp.Value
		}
		v, err := paramValue(p, value)
		if err != nil {
			writeError(w, http.StatusBadRequest, &bq.ErrorProto{Reason: "invalidQuery", Message: err.Error()})
			return
		}
		params = append(params, v)
	}
	dataset := ""
	if q.DefaultDataset != nil {
		dataset = q.DefaultDataset.DatasetId
	}
	ref := in.JobReference
	if ref == nil {
		ref = &bq.JobReference{}
	}
	if ref.JobId == "" {
		ref.JobId = "job_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	ref.ProjectId = s.opts.Project
	if ref.Location == "" {
		ref.Location = s.opts.Location
	}
	if cfg.DryRun {
		s.dryRun(w, r.Context(), ref, cfg, dataset)
		return
	}
	j := s.start(ref, cfg, dataset, params)
	if j == nil {
		writeError(w, http.StatusConflict, &bq.ErrorProto{Reason: "duplicate", Message: "Already Exists: Job " + s.opts.Project + ":" + ref.Location + "." + ref.JobId})
		return
	}
	// Most jobs finish within moments; answering DONE then spares the
	// client a poll, as BigQuery does.
	select {
	case <-j.done:
	case <-time.After(20 * time.Millisecond):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, j.rest())
}

// dryRun validates the statement without running it and estimates the
// bytes it would read.
func (s *Server) dryRun(w http.ResponseWriter, ctx context.Context, ref *bq.JobReference, cfg *bq.JobConfiguration, dataset string) {
	sql := translate(cfg.Query.Query)
	conn, err := s.conn(ctx, dataset)
	if err == nil {
		var stmt interface{ Close() error }
		stmt, err = conn.PrepareContext(ctx, sql)
		if err == nil {
			stmt.Close()
		}
		conn.Close()
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, s.errorProto(ctx, err))
		return
	}
	_, stmtType := classify(sql)
	n := s.estimateBytes(ctx, sql)
	writeJSON(w, &bq.Job{
		Kind: "bigquery#job", JobReference: ref, Configuration: cfg,
		Status: &bq.JobStatus{State: "DONE"},
		Statistics: &bq.JobStatistics{
			TotalBytesProcessed: n,
			Query:               &bq.JobStatistics2{TotalBytesProcessed: n, StatementType: stmtType},
		},
	})
}

// estimateBytes is a rough stand-in for BigQuery's estimate: 8 bytes for
// every cell of every table whose name appears in the statement.
func (s *Server) estimateBytes(ctx context.Context, sql string) int64 {
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, estimated_size, column_count FROM duckdb_tables() WHERE database_name = ?`, s.opts.Project)
	if err != nil {
		return 0
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var name string
		var size, cols int64
		if rows.Scan(&name, &size, &cols) == nil &&
			regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(name)+`\b`).MatchString(sql) {
			total += size * cols * 8
		}
	}
	return total
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *job {
	id := r.PathValue("j")
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		writeError(w, http.StatusNotFound, &bq.ErrorProto{Reason: "notFound", Message: "Not found: Job " + s.opts.Project + ":" + id})
	}
	return j
}

func (s *Server) jobsGet(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, RouteJobsGet) || !s.project(w, r) {
		return
	}
	if j := s.lookup(w, r); j != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(w, j.rest())
	}
}

func (s *Server) jobsCancel(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, RouteJobsCancel) || !s.project(w, r) {
		return
	}
	j := s.lookup(w, r)
	if j == nil {
		return
	}
	s.mu.Lock()
	if j.state != "DONE" {
		j.cancelled = true
		j.cancel()
	}
	s.mu.Unlock()
	// Like BigQuery, answer at once; the job stops shortly after.
	select {
	case <-j.done:
	case <-time.After(100 * time.Millisecond):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, &bq.JobCancelResponse{Kind: "bigquery#jobCancelResponse", Job: j.rest()})
}

func (s *Server) getQueryResults(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, RouteGetQueryResults) || !s.project(w, r) {
		return
	}
	j := s.lookup(w, r)
	if j == nil {
		return
	}
	wait := s.opts.WaitForJob
	if ms, err := strconv.Atoi(r.URL.Query().Get("timeoutMs")); err == nil && time.Duration(ms)*time.Millisecond < wait {
		wait = time.Duration(ms) * time.Millisecond
	}
	select {
	case <-j.done:
	case <-time.After(wait):
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &bq.GetQueryResultsResponse{Kind: "bigquery#getQueryResultsResponse", JobReference: j.ref}
	if j.state != "DONE" {
		writeJSON(w, out)
		return
	}
	if j.err != nil {
		status := http.StatusBadRequest
		if j.err.Reason == "backendError" || j.err.Reason == "internalError" {
			status = http.StatusInternalServerError
		}
		writeError(w, status, j.err)
		return
	}
	out.JobComplete = true
	out.TotalBytesProcessed = j.bytes
	out.NumDmlAffectedRows = j.dmlRows
	if j.res == nil {
		writeJSON(w, out)
		return
	}
	out.Schema = j.res.restSchema()
	out.TotalRows = uint64(j.res.rows)
	if max := r.URL.Query().Get("maxResults"); max != "0" {
		page := int64(s.opts.PageRows)
		if n, err := strconv.ParseInt(max, 10, 64); err == nil && n > 0 {
			page = n
		}
		from, _ := strconv.ParseInt(r.URL.Query().Get("startIndex"), 10, 64)
		if tok := r.URL.Query().Get("pageToken"); tok != "" {
			from, _ = strconv.ParseInt(tok, 10, 64)
		}
		out.Rows = j.res.restRows(from, page)
		if next := from + page; next < j.res.rows {
			out.PageToken = strconv.FormatInt(next, 10)
		}
	}
	writeJSON(w, out)
}

func (s *Server) datasetsGet(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, RouteDatasetsGet) || !s.project(w, r) {
		return
	}
	d := r.PathValue("d")
	var n int
	err := s.db.QueryRowContext(r.Context(),
		`SELECT count(*) FROM information_schema.schemata WHERE catalog_name = ? AND schema_name = ?`, s.opts.Project, d).Scan(&n)
	if err != nil || (n == 0 && d != anonDataset) {
		writeError(w, http.StatusNotFound, &bq.ErrorProto{Reason: "notFound", Message: fmt.Sprintf("Not found: Dataset %s:%s", s.opts.Project, d)})
		return
	}
	writeJSON(w, &bq.Dataset{
		Kind:             "bigquery#dataset",
		Id:               s.opts.Project + ":" + d,
		DatasetReference: &bq.DatasetReference{ProjectId: s.opts.Project, DatasetId: d},
		Location:         s.opts.Location,
	})
}

func (s *Server) tablesGet(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, RouteTablesGet) || !s.project(w, r) {
		return
	}
	d, t := r.PathValue("d"), r.PathValue("t")
	res, err := s.table(r.Context(), d, t)
	if err != nil {
		writeError(w, http.StatusNotFound, &bq.ErrorProto{Reason: "notFound", Message: fmt.Sprintf("Not found: Table %s:%s.%s", s.opts.Project, d, t)})
		return
	}
	writeJSON(w, &bq.Table{
		Kind:           "bigquery#table",
		Id:             fmt.Sprintf("%s:%s.%s", s.opts.Project, d, t),
		TableReference: &bq.TableReference{ProjectId: s.opts.Project, DatasetId: d, TableId: t},
		Schema:         res.restSchema(),
		NumRows:        uint64(res.rows),
		NumBytes:       res.bytes,
		Type:           "TABLE",
		Location:       s.opts.Location,
	})
}

// table finds a query result, or reads a DuckDB table whole.
func (s *Server) table(ctx context.Context, dataset, table string) (*result, error) {
	s.mu.Lock()
	res := s.results[dataset+"."+table]
	s.mu.Unlock()
	if res != nil {
		return res, nil
	}
	if dataset == anonDataset {
		return nil, fmt.Errorf("no result table %s", table)
	}
	conn, err := s.conn(ctx, dataset)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rdr, err := ar.QueryContext(ctx, "SELECT * FROM "+quote(table))
		if err != nil {
			return err
		}
		defer rdr.Release()
		res, err = collect(rdr, s.opts.BatchRows)
		return err
	})
	return res, err
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

// writeError answers as Google APIs do, so that the client builds a
// googleapi.Error carrying the reason.
func writeError(w http.ResponseWriter, status int, e *bq.ErrorProto) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code":    status,
		"message": e.Message,
		"errors":  []map[string]string{{"message": e.Message, "domain": "global", "reason": e.Reason, "location": e.Location}},
	}})
}
