//go:build duckdb_arrow

// Package duckdb is the embedded warehouse plugin, segflow's default: a
// DuckDB database file (or memory) driven through duckdb-go, with results
// read as Arrow straight from DuckDB.
package duckdb

import (
	"context"
	gosql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.1.0"

// Config is the plugin's section of segflow.yaml.
type Config struct {
	// Path of the database file; empty means an in-memory database.
	// Relative paths resolve against the config file's directory.
	Path string `json:"path"`
	// Threads limits DuckDB's worker threads; 0 leaves DuckDB's default.
	Threads int `json:"threads"`
	// MemoryLimit such as "4GB"; empty leaves DuckDB's default.
	MemoryLimit string `json:"memory_limit"`
	// Create allows starting a new, empty database when Path does not
	// exist. Off by default: a mistyped path should be an error, not an
	// empty warehouse.
	Create bool `json:"create"`
}

// Warehouse is the DuckDB plugin.
type Warehouse struct {
	mu        sync.Mutex
	connector *duckdb.Connector
	db        *gosql.DB
}

// New returns an unconfigured DuckDB warehouse.
func New() *Warehouse { return &Warehouse{} }

func (w *Warehouse) Info(context.Context) (core.WarehouseInfo, error) {
	return core.WarehouseInfo{
		Name: "duckdb", Version: Version, Dialect: "duckdb",
		Capabilities: []string{core.CapDescribeTable, core.CapCancel},
	}, nil
}

func (w *Warehouse) Configure(ctx context.Context, raw json.RawMessage) error {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	var bad core.FieldErrors
	if cfg.Threads < 0 {
		bad = append(bad, &core.FieldError{Field: "threads", Message: "must not be negative"})
	}
	if cfg.MemoryLimit != "" && !regexp.MustCompile(`^\d+(\.\d+)?\s*[KMGT]i?B$`).MatchString(cfg.MemoryLimit) {
		bad = append(bad, &core.FieldError{Field: "memory_limit", Message: fmt.Sprintf("%q is not a size such as 4GB", cfg.MemoryLimit)})
	}
	if cfg.Path != "" && !cfg.Create {
		if _, err := os.Stat(cfg.Path); err != nil {
			abs, _ := filepath.Abs(cfg.Path)
			bad = append(bad, &core.FieldError{Field: "path", Message: fmt.Sprintf("database file %s does not exist (set create: true to start an empty one)", abs)})
		}
	}
	if len(bad) > 0 {
		return bad
	}
	// Settings travel in the DSN so that every connection DuckDB opens
	// gets them.
	settings := url.Values{}
	if cfg.Threads > 0 {
		settings.Set("threads", strconv.Itoa(cfg.Threads))
	}
	if cfg.MemoryLimit != "" {
		settings.Set("memory_limit", cfg.MemoryLimit)
	}
	dsn := cfg.Path
	if len(settings) > 0 {
		dsn += "?" + settings.Encode()
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return &core.FieldError{Field: "path", Message: fmt.Sprintf("cannot open %q: %v", cfg.Path, err)}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
	w.connector = connector
	w.db = gosql.OpenDB(connector)
	return nil
}

func (w *Warehouse) database() (*gosql.DB, *duckdb.Connector, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db == nil {
		return nil, nil, errors.New("duckdb: not configured")
	}
	return w.db, w.connector, nil
}

func (w *Warehouse) TestConnection(ctx context.Context) error {
	db, _, err := w.database()
	if err != nil {
		return err
	}
	return db.PingContext(ctx)
}

func (w *Warehouse) Execute(ctx context.Context, sql string, params ...any) (int64, error) {
	db, _, err := w.database()
	if err != nil {
		return 0, err
	}
	res, err := db.ExecContext(ctx, sql, params...)
	if err != nil {
		return 0, translate(ctx, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return -1, nil
	}
	return n, nil
}

// Query runs sql on a connection of its own (Arrow connections are not
// safe for concurrent use) and streams DuckDB's Arrow result.
func (w *Warehouse) Query(ctx context.Context, sql string, params ...any) (array.RecordReader, error) {
	_, connector, err := w.database()
	if err != nil {
		return nil, err
	}
	conn, err := connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	rdr, err := ar.QueryContext(ctx, sql, params...)
	if err != nil {
		conn.Close()
		return nil, translate(ctx, err)
	}
	return &connReader{RecordReader: rdr, ctx: ctx, close: conn.Close}, nil
}

// connReader closes the query's connection with the reader and reports
// DuckDB errors as core errors.
type connReader struct {
	array.RecordReader
	ctx   context.Context
	close func() error
	once  sync.Once
}

func (r *connReader) Err() error {
	if err := r.RecordReader.Err(); err != nil {
		return translate(r.ctx, err)
	}
	return nil
}

func (r *connReader) Release() {
	r.once.Do(func() {
		r.RecordReader.Release()
		r.close()
	})
}

func (w *Warehouse) DryRun(context.Context, string, ...any) (int64, error) {
	return 0, core.ErrNotImplemented
}

func (w *Warehouse) DescribeTable(ctx context.Context, table string) (*arrow.Schema, error) {
	rdr, err := w.Query(ctx, "SELECT * FROM "+table+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	return rdr.Schema(), nil
}

func (w *Warehouse) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeLocked()
}

func (w *Warehouse) closeLocked() error {
	var err error
	if w.db != nil {
		err = w.db.Close()
	}
	if w.connector != nil {
		err = errors.Join(err, w.connector.Close())
	}
	w.db, w.connector = nil, nil
	return err
}

// linePattern finds DuckDB's "LINE n:" marker; the caret line below it
// gives the column.
var linePattern = regexp.MustCompile(`(?m)^LINE (\d+): (.*)\n(\s*)\^`)

// translate turns DuckDB's errors into core errors: statement errors
// become *core.SQLError with the position DuckDB reports, cancellation
// becomes the context's error.
func translate(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: %v", ctxErr, err)
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return err
	}
	switch de.Type {
	case duckdb.ErrorTypeInterrupt:
		return fmt.Errorf("%w: %v", context.Canceled, err)
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog, duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput:
	default:
		return err
	}
	msg := de.Msg
	se := &core.SQLError{Message: msg}
	if m := linePattern.FindStringSubmatchIndex(msg); m != nil {
		se.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		// The caret sits under the offending character of the echoed
		// line, which is printed after "LINE n: ".
		prefix := len("LINE ") + (m[3] - m[2]) + len(": ")
		se.Column = (m[7] - m[6]) - prefix + 1
		se.Message = strings.TrimSpace(msg[:m[0]])
	}
	return se
}
