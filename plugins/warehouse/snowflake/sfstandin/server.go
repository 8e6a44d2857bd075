//go:build duckdb_arrow

package sfstandin

import (
	"context"
	"crypto/rsa"
	gosql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options configure a stand-in. The zero value accepts any login.
type Options struct {
	// Account the stand-in answers for; logins naming another fail.
	// Default "standin".
	Account string
	// Password, if set, is required of SNOWFLAKE (password) logins.
	Password string
	// PublicKey, if set, verifies SNOWFLAKE_JWT (key-pair) logins.
	PublicKey *rsa.PublicKey
	// OAuthToken, if set, is required of OAUTH logins.
	OAuthToken string
	// Database and Schema created at start and used when a login names
	// none; default SEGFLOW and PUBLIC.
	Database, Schema string
	// FirstChunkRows travel inline in rowsetBase64 (default 4096); the
	// rest in chunks of ChunkRows (default 131072).
	FirstChunkRows, ChunkRows int64
	// GzipChunks compresses chunks, as Snowflake's storage does.
	GzipChunks bool
	// ProgressAfter is how long a request waits for its query before
	// answering "still running" (Snowflake: about 45s); default 2s.
	ProgressAfter time.Duration
	// KeepResults is how many query results stay readable; default 4.
	KeepResults int
}

// Routes, as named by FailNext and Count.
const (
	RouteLogin     = "login-request"
	RouteToken     = "token-request"
	RouteQuery     = "query-request"
	RouteResult    = "result"
	RouteAbort     = "abort-request"
	RouteMonitor   = "monitoring"
	RouteChunk     = "chunk"
	RouteSession   = "session-delete"
	RouteHeartbeat = "heartbeat"
	RouteTelemetry = "telemetry"
)

// Server is a running stand-in.
type Server struct {
	// Host and Port to give the driver (protocol http).
	Host string
	Port int
	url  string

	opts      Options
	connector *duckdb.Connector
	db        *gosql.DB
	httpSrv   *http.Server

	mu        sync.Mutex
	sessions  map[string]*session // by session token
	masters   map[string]*session // by master token
	expired   map[string]bool     // session tokens answered with 390112
	queries   map[string]*query   // by query ID
	queryList []*query
	seq       int64
	logins    []LoginInfo
	fail      map[string][]int
	delay     time.Duration
	counts    map[string]int
}

type session struct {
	id                                int64
	token, master                     string
	database, schema, warehouse, role string
	queryTag                          string
}

// Start starts a stand-in on a free local port.
func Start(opts Options) (*Server, error) {
	if opts.Account == "" {
		opts.Account = "standin"
	}
	if opts.Database == "" {
		opts.Database = "SEGFLOW"
	}
	if opts.Schema == "" {
		opts.Schema = "PUBLIC"
	}
	if opts.FirstChunkRows <= 0 {
		opts.FirstChunkRows = 4096
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = 131072
	}
	if opts.ProgressAfter <= 0 {
		opts.ProgressAfter = 2 * time.Second
	}
	if opts.KeepResults <= 0 {
		opts.KeepResults = 4
	}
	s := &Server{
		opts: opts, sessions: map[string]*session{}, masters: map[string]*session{},
		expired: map[string]bool{}, queries: map[string]*query{}, fail: map[string][]int{},
		counts: map[string]int{},
	}
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, err
	}
	s.connector, s.db = c, gosql.OpenDB(c)
	if err := s.createDatabase(opts.Database, opts.Schema); err != nil {
		s.db.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.db.Close()
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port, s.url = "127.0.0.1", addr.Port, "http://"+addr.String()
	s.httpSrv = &http.Server{Handler: s.routes()}
	go s.httpSrv.Serve(ln)
	return s, nil
}

// createDatabase attaches a Snowflake database as a DuckDB catalog.
func (s *Server) createDatabase(db, schema string) error {
	for _, q := range []string{
		fmt.Sprintf(`ATTACH ':memory:' AS %s`, quote(db)),
		fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %s.%s`, quote(db), quote(schema)),
	} {
		if _, err := s.db.Exec(q); err != nil {
			return fmt.Errorf("sfstandin: %s: %w", q, err)
		}
	}
	return nil
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// Close stops the server, cancels running queries and closes DuckDB.
func (s *Server) Close() error {
	s.mu.Lock()
	queries := append([]*query(nil), s.queryList...)
	for _, q := range queries {
		q.cancel()
	}
	s.mu.Unlock()
	// DuckDB must not close under a running statement.
	for _, q := range queries {
		select {
		case <-q.done:
		case <-time.After(5 * time.Second):
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	return errors.Join(err, s.db.Close(), s.connector.Close())
}

// Account is the account name the stand-in answers for.
func (s *Server) Account() string { return s.opts.Account }

// Exec runs a statement on the stand-in's DuckDB directly, in the default
// database and schema (to set up tables for a test).
func (s *Server) Exec(ctx context.Context, sql string, args ...any) error {
	conn, err := s.conn(ctx, s.opts.Database, s.opts.Schema)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, translate(sql), args...)
	return err
}

func (s *Server) conn(ctx context.Context, database, schema string) (*gosql.Conn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "USE "+quote(database)+"."+quote(schema)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// FailNext makes the next n requests to route (RouteQuery, ...) answer
// with the HTTP status, such as 503.
func (s *Server) FailNext(route string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail[route] = append(s.fail[route], status)
	}
}

// ExpireSessions makes every current session token expire: requests that
// carry one are answered with 390112 until the driver renews it.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.sessions {
		s.expired[tok] = true
	}
}

// SetQueryDelay makes every query wait d, cancellably, before it runs.
func (s *Server) SetQueryDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Count reports how many requests a route received.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// LoginInfo is one login the stand-in accepted or refused.
type LoginInfo struct {
	Authenticator, Account, User                string
	Database, Schema, Warehouse, Role, QueryTag string
	OK                                          bool
}

// Logins lists the logins so far, oldest first.
func (s *Server) Logins() []LoginInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LoginInfo(nil), s.logins...)
}

// QueryInfo is what the stand-in knows about one query.
type QueryInfo struct {
	ID, RequestID, SQL, Status, QueryTag string
	Async, Aborted                       bool
}

// Queries lists the queries so far, oldest first.
func (s *Server) Queries() []QueryInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]QueryInfo, len(s.queryList))
	for i, q := range s.queryList {
		out[i] = QueryInfo{ID: q.id, RequestID: q.requestID, SQL: q.sql, Status: q.status,
			QueryTag: q.tag, Async: q.async, Aborted: q.aborted}
	}
	return out
}

// DriverConfig is the part of a driver configuration that reaches the
// stand-in: host, port and protocol.
func (s *Server) DriverConfig() (host string, port int, protocol string) {
	return s.Host, s.Port, "http"
}

// PluginConfig is a configuration for segflow's Snowflake plugin that
// points it at this stand-in, logging in with a password.
func (s *Server) PluginConfig() string {
	password := s.opts.Password
	if password == "" {
		password = "any" // any password is accepted
	}
	b, _ := json.Marshal(map[string]any{
		"account": s.opts.Account, "user": "segflow", "password": password,
		"warehouse": "STANDIN_WH", "database": s.opts.Database, "schema": s.opts.Schema,
		"host": s.Host, "port": s.Port, "protocol": "http",
	})
	return string(b)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session/v1/login-request", s.login)
	mux.HandleFunc("POST /session/token-request", s.renew)
	mux.HandleFunc("POST /session", s.deleteSession)
	mux.HandleFunc("POST /session/heartbeat", s.ok(RouteHeartbeat))
	mux.HandleFunc("POST /telemetry/send", s.ok(RouteTelemetry))
	mux.HandleFunc("POST /queries/v1/query-request", s.queryRequest)
	mux.HandleFunc("GET /queries/{id}/result", s.queryResult)
	mux.HandleFunc("POST /queries/v1/abort-request", s.abort)
	mux.HandleFunc("GET /monitoring/queries/{id}", s.monitor)
	mux.HandleFunc("GET /chunk/{id}/{n}", s.chunk)
	return mux
}

// take records a request to route and says whether to fail it.
func (s *Server) take(w http.ResponseWriter, route string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[route]++
	if q := s.fail[route]; len(q) > 0 {
		s.fail[route] = q[1:]
		http.Error(w, "stand-in: injected failure", q[0])
		return true
	}
	return false
}

func (s *Server) ok(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.take(w, route) {
			reply(w, nil)
		}
	}
}

// envelope is every answer's shape.
type envelope struct {
	Data    any     `json:"data"`
	Code    *string `json:"code"`
	Message *string `json:"message"`
	Success bool    `json:"success"`
}

func reply(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(envelope{Data: data, Success: true})
}

func replyCode(w http.ResponseWriter, success bool, code, message string, data any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(envelope{Data: data, Code: &code, Message: &message, Success: success})
}

// authorize finds the session of the request's token, answering 390112
// for an expired token and 390111 for an unknown one.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *session {
	tok := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Authorization"), `Snowflake Token="`), `"`)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expired[tok] {
		replyCode(w, false, "390112", "Your session has expired. Please login again.", nil)
		return nil
	}
	sess := s.sessions[tok]
	if sess == nil {
		replyCode(w, false, "390111", "Session no longer exists. New login required to access the service.", nil)
	}
	return sess
}

func (s *Server) newSessionTokens(sess *session) {
	s.seq++
	sess.token = "session-" + strconv.FormatInt(s.seq, 10) + "-" + randomHex()
	s.sessions[sess.token] = sess
}
