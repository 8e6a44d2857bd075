//go:build duckdb_arrow

package sfstandin

import (
	"context"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/google/uuid"
)

// Statement type IDs, as Snowflake reports them.
const (
	stmtSelect = 0x1000
	stmtInsert = 0x3100
	stmtUpdate = 0x3200
	stmtDelete = 0x3300
	stmtMerge  = 0x3400
	stmtDDL    = 0x6000
)

// query is one statement. The fields after the blank line are written by
// its run goroutine, under Server.mu.
type query struct {
	id, requestID, sql, tag string
	async                   bool
	sess                    *session
	params                  []any
	ctx                     context.Context
	cancel                  context.CancelFunc
	done                    chan struct{}
	started                 time.Time

	ended    time.Time
	status   string // RUNNING, SUCCESS, FAILED_WITH_ERROR, ABORTED
	aborted  bool
	stmtType int64
	res      *result
	json     *jsonResult
	errCode  string
	sqlState string
	errMsg   string
}

// jsonResult is a DML or DDL statement's answer, which Snowflake sends as
// a JSON rowset.
type jsonResult struct {
	rowtype []rowType
	rowset  [][]*string
}

type queryRequestBody struct {
	SQLText    string         `json:"sqlText"`
	AsyncExec  bool           `json:"asyncExec"`
	Parameters map[string]any `json:"parameters"`
	Bindings   map[string]struct {
		Type  string  `json:"type"`
		Value *string `json:"value"`
	} `json:"bindings"`
}

func (s *Server) queryRequest(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteQuery) {
		return
	}
	sess := s.authorize(w, r)
	if sess == nil {
		return
	}
	var body queryRequestBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := make([]any, len(body.Bindings))
	for k, b := range body.Bindings {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 || i > len(params) {
			replyCode(w, false, "002049", "the stand-in supports positional bindings only", nil)
			return
		}
		if params[i-1], err = bindValue(b.Type, b.Value); err != nil {
			replyCode(w, false, "002049", err.Error(), nil)
			return
		}
	}
	tag := sess.queryTag
	if t, ok := body.Parameters["QUERY_TAG"]; ok {
		tag = fmt.Sprint(t)
	}
	q := s.startQuery(sess, r.URL.Query().Get("requestId"), body.SQLText, tag, body.AsyncExec, params)
	s.answer(w, r, q)
}

// bindValue turns a binding as gosnowflake sends it into a DuckDB argument.
func bindValue(typ string, v *string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "FIXED":
		if n, err := strconv.ParseInt(*v, 10, 64); err == nil {
			return n, nil
		}
		return *v, nil
	case "REAL":
		return strconv.ParseFloat(*v, 64)
	case "BOOLEAN":
		return strconv.ParseBool(*v)
	case "TEXT":
		return *v, nil
	case "DATE":
		ms, err := strconv.ParseInt(*v, 10, 64)
		return time.UnixMilli(ms).UTC(), err
	case "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
		ns, err := strconv.ParseInt(strings.Fields(*v)[0], 10, 64)
		return time.Unix(0, ns).UTC(), err
	}
	return nil, fmt.Errorf("the stand-in does not bind %s values", typ)
}

// startQuery registers a query and runs it in the background.
func (s *Server) startQuery(sess *session, requestID, sql, tag string, async bool, params []any) *query {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	q := &query{
		id: uuid.NewString(), requestID: requestID, sql: sql, tag: tag, async: async,
		sess: sess, params: params, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		started: time.Now(), status: "RUNNING",
	}
	s.queries[q.id] = q
	s.queryList = append(s.queryList, q)
	// Forget old results; a driver only fetches chunks right after its query.
	kept := 0
	for i := len(s.queryList) - 1; i >= 0; i-- {
		if old := s.queryList[i]; old.res != nil {
			if kept++; kept > s.opts.KeepResults {
				old.res = nil
			}
		}
	}
	go s.run(q, s.delay)
	return q
}

func (s *Server) run(q *query, delay time.Duration) {
	defer close(q.done)
	defer q.cancel()
	res, js, stmtType, err := s.execute(q, delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	q.ended, q.stmtType, q.res, q.json = time.Now(), stmtType, res, js
	switch {
	case err == nil:
		q.status = "SUCCESS"
	case q.ctx.Err() != nil:
		q.status, q.errCode, q.sqlState, q.errMsg = "ABORTED", "000604", "57014", "SQL execution canceled"
	default:
		q.status = "FAILED_WITH_ERROR"
		q.errCode, q.sqlState, q.errMsg = snowflakeError(err)
	}
}

func (s *Server) execute(q *query, delay time.Duration) (*result, *jsonResult, int64, error) {
	ctx := q.ctx
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, nil, 0, ctx.Err()
		}
	}
	sql := translate(q.sql)
	conn, err := s.conn(ctx, q.sess.database, q.sess.schema)
	if err != nil {
		return nil, nil, 0, err
	}
	defer conn.Close()
	stmtType, countName := classify(sql)
	if stmtType != stmtSelect {
		r, err := conn.ExecContext(ctx, sql, q.params...)
		if err != nil {
			return nil, nil, stmtType, err
		}
		if stmtType == stmtDDL {
			msg := "Statement executed successfully."
			return nil, &jsonResult{rowtype: []rowType{{Name: "status", Type: "text", Length: 16777216, Nullable: true}}, rowset: [][]*string{{&msg}}}, stmtType, nil
		}
		n, _ := r.RowsAffected()
		count := strconv.FormatInt(n, 10)
		return nil, &jsonResult{rowtype: []rowType{{Name: countName, Type: "fixed", Precision: 19}}, rowset: [][]*string{{&count}}}, stmtType, nil
	}
	var res *result
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rdr, err := ar.QueryContext(ctx, sql, q.params...)
		if err != nil {
			return err
		}
		defer rdr.Release()
		res, err = collect(rdr, s.opts.FirstChunkRows, s.opts.ChunkRows, s.opts.GzipChunks)
		return err
	})
	return res, nil, stmtType, err
}

var firstWord = regexp.MustCompile(`^[\s(]*([A-Za-z]+)`)

// classify names the statement type and, for DML, the count column.
func classify(sql string) (int64, string) {
	var code strings.Builder
	for _, seg := range segments(sql) {
		if seg.code || !(strings.HasPrefix(seg.text, "--") || strings.HasPrefix(seg.text, "//") || strings.HasPrefix(seg.text, "/*")) {
			code.WriteString(seg.text)
		}
	}
	m := firstWord.FindStringSubmatch(code.String())
	if m == nil {
		return stmtDDL, ""
	}
	switch strings.ToUpper(m[1]) {
	case "SELECT", "WITH", "VALUES", "FROM", "TABLE", "SHOW", "DESCRIBE", "DESC", "EXPLAIN":
		return stmtSelect, ""
	case "INSERT":
		return stmtInsert, "number of rows inserted"
	case "UPDATE":
		return stmtUpdate, "number of rows updated"
	case "DELETE":
		return stmtDelete, "number of rows deleted"
	case "MERGE":
		return stmtMerge, "number of rows merged"
	}
	return stmtDDL, ""
}

var linePattern = regexp.MustCompile(`(?m)^LINE (\d+): (.*)\n(\s*)\^`)

// snowflakeError gives a DuckDB error Snowflake's code, SQL state and
// message; compilation errors start with Snowflake's position phrase.
func snowflakeError(err error) (code, sqlState, msg string) {
	msg = err.Error()
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return "100000", "22000", msg
	}
	switch de.Type {
	case duckdb.ErrorTypeParser:
		code, sqlState = "001003", "42000"
	case duckdb.ErrorTypeBinder:
		code, sqlState = "000904", "42000"
	case duckdb.ErrorTypeCatalog:
		code, sqlState = "002003", "42S02"
	case duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput:
		return "100038", "22018", msg
	case duckdb.ErrorTypeInterrupt:
		return "000604", "57014", "SQL execution canceled"
	default:
		return "100000", "22000", msg
	}
	line, col := 1, 1
	if m := linePattern.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		prefix := len("LINE ") + (m[3] - m[2]) + len(": ")
		col = (m[7] - m[6]) - prefix + 1
		msg = strings.TrimSpace(msg[:m[0]])
	}
	return code, sqlState, fmt.Sprintf("SQL compilation error: error line %d at position %d\n%s", line, col-1, msg)
}

// answer replies to a query request or a result poll: the result if the
// query finishes within ProgressAfter, else "still running".
func (s *Server) answer(w http.ResponseWriter, r *http.Request, q *query) {
	select {
	case <-q.done:
	case <-time.After(s.opts.ProgressAfter):
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	base := map[string]any{"queryId": q.id}
	switch q.status {
	case "RUNNING":
		code := "333333"
		if q.async {
			code = "333334"
		}
		base["getResultUrl"] = "/queries/" + q.id + "/result"
		base["queryAbortsAfterSecs"] = 300
		replyCode(w, true, code, "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.", base)
		return
	case "SUCCESS":
	default:
		base["sqlState"] = q.sqlState
		replyCode(w, false, q.errCode, q.errMsg, base)
		return
	}
	data := map[string]any{
		"queryId": q.id, "statementTypeId": q.stmtType, "version": 1,
		"finalDatabaseName": q.sess.database, "finalSchemaName": q.sess.schema,
		"finalWarehouseName": q.sess.warehouse, "finalRoleName": q.sess.role,
		"parameters": []map[string]any{{"name": "TIMEZONE", "value": "UTC"}},
	}
	if q.json != nil {
		data["rowtype"], data["rowset"], data["queryResultFormat"] = q.json.rowtype, q.json.rowset, "json"
		data["total"], data["returned"] = len(q.json.rowset), len(q.json.rowset)
		reply(w, data)
		return
	}
	if q.res == nil {
		replyCode(w, false, "000709", "Statement "+q.id+" not found (result expired)", base)
		return
	}
	res := q.res
	data["rowtype"], data["queryResultFormat"] = res.rowtype, "arrow"
	data["total"], data["returned"] = res.total, res.total
	data["rowsetBase64"] = ""
	if len(res.chunks) > 0 {
		data["rowsetBase64"] = base64.StdEncoding.EncodeToString(res.chunks[0])
	}
	var chunks []map[string]any
	for i := 1; i < len(res.chunks); i++ {
		chunks = append(chunks, map[string]any{
			"url":      fmt.Sprintf("%s/chunk/%s/%d", s.url, q.id, i),
			"rowCount": res.rows[i], "uncompressedSize": res.sizes[i], "compressedSize": len(res.chunks[i]),
		})
	}
	if chunks != nil {
		data["chunks"], data["qrmk"] = chunks, "standin-qrmk"
	}
	reply(w, data)
}

func (s *Server) lookup(w http.ResponseWriter, id string) *query {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queries[id]
	if q == nil {
		replyCode(w, false, "000709", "Statement "+id+" not found", nil)
	}
	return q
}

func (s *Server) queryResult(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteResult) || s.authorize(w, r) == nil {
		return
	}
	if q := s.lookup(w, r.PathValue("id")); q != nil {
		s.answer(w, r, q)
	}
}

// abort cancels the query that a request ID started; gosnowflake sends
// it when the caller's context ends while it waits.
func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteAbort) || s.authorize(w, r) == nil {
		return
	}
	var body struct {
		RequestID string `json:"requestId"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	var found *query
	for _, q := range s.queryList {
		if q.requestID == body.RequestID && body.RequestID != "" {
			found = q
		}
	}
	if found != nil && found.status == "RUNNING" {
		found.aborted = true
		found.cancel()
	}
	s.mu.Unlock()
	if found == nil {
		replyCode(w, false, "000605", "Identified SQL statement is not currently executing.", nil)
		return
	}
	reply(w, nil)
}

func (s *Server) monitor(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteMonitor) || s.authorize(w, r) == nil {
		return
	}
	q := s.lookup(w, r.PathValue("id"))
	if q == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := map[string]any{
		"id": q.id, "status": q.status, "sqlText": q.sql, "startTime": q.started.UnixMilli(),
		"errorCode": q.errCode, "errorMessage": q.errMsg,
	}
	if !q.ended.IsZero() {
		st["endTime"] = q.ended.UnixMilli()
	}
	if q.res != nil {
		st["stats"] = map[string]any{"producedRows": q.res.total}
	}
	reply(w, map[string]any{"queries": []any{st}})
}

func (s *Server) chunk(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteChunk) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	s.mu.Lock()
	var body []byte
	if q := s.queries[r.PathValue("id")]; q != nil && q.res != nil && err == nil && n > 0 && n < len(q.res.chunks) {
		body = q.res.chunks[n]
	}
	s.mu.Unlock()
	if body == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(body)
}
