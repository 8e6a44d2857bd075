package snowflake

import (
	"context"
	gosql "database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	sf "github.com/snowflakedb/gosnowflake"

	"github.com/segflow/segflow/core"
)

// Version of this plugin.
const Version = "0.1.0"

func init() {
	// The driver logs every request at info level to stderr, which the
	// plugin host would forward; its errors reach the caller anyway.
	sf.GetLogger().SetLogLevel("fatal")
}

// Warehouse is the Snowflake plugin.
type Warehouse struct {
	mu  sync.Mutex
	cfg Config
	db  *gosql.DB
}

// New returns an unconfigured Snowflake warehouse.
func New() *Warehouse { return &Warehouse{} }

func (w *Warehouse) Info(context.Context) (core.WarehouseInfo, error) {
	return core.WarehouseInfo{
		Name: "snowflake", Version: Version, Dialect: "snowflake",
		Capabilities: []string{core.CapDescribeTable, core.CapCancel},
	}, nil
}

func (w *Warehouse) Configure(_ context.Context, raw json.RawMessage) error {
	cfg, key, err := parseConfig(raw)
	if err != nil {
		return err
	}
	dc := sf.Config{
		Account: cfg.Account, User: cfg.User,
		Warehouse: cfg.Warehouse, Role: cfg.Role, Database: cfg.Database, Schema: cfg.Schema,
		Host: cfg.Host, Port: cfg.Port, Protocol: cfg.Protocol,
	}
	switch {
	case cfg.Password != "":
		dc.Authenticator, dc.Password = sf.AuthTypeSnowflake, cfg.Password
	case key != nil:
		dc.Authenticator, dc.PrivateKey = sf.AuthTypeJwt, key
	default:
		dc.Authenticator, dc.Token = sf.AuthTypeOAuth, cfg.Token
	}
	if cfg.QueryTag != "" {
		tag := cfg.QueryTag
		dc.Params = map[string]*string{"query_tag": &tag}
	}
	// Connections (sessions) open lazily, on first use.
	db := gosql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, dc))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db != nil {
		w.db.Close()
	}
	w.cfg, w.db = cfg, db
	return nil
}

func (w *Warehouse) state() (*gosql.DB, Config, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.db == nil {
		return nil, Config{}, errors.New("snowflake: not configured")
	}
	return w.db, w.cfg, nil
}

// TestConnection logs in (if no session is open yet) and runs SELECT 1.
func (w *Warehouse) TestConnection(ctx context.Context) error {
	db, _, err := w.state()
	if err != nil {
		return err
	}
	return translate(ctx, db.PingContext(ctx))
}

func (w *Warehouse) Execute(ctx context.Context, sql string, params ...any) (int64, error) {
	db, _, err := w.state()
	if err != nil {
		return 0, err
	}
	args, err := bindArgs(params)
	if err != nil {
		return 0, err
	}
	res, err := db.ExecContext(ctx, sql, args...)
	if err != nil {
		return 0, translate(ctx, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, nil // DDL: nothing counted
	}
	return n, nil
}

// Query runs sql and streams its result as Arrow batches, read straight
// from the driver (WithArrowBatches) and downloaded chunk by chunk. The
// driver waits for long statements by polling the result URL Snowflake
// gives while a statement runs, renews an expired session, and sends
// abort-request when ctx is cancelled while it waits.
func (w *Warehouse) Query(ctx context.Context, sql string, params ...any) (array.RecordReader, error) {
	db, cfg, err := w.state()
	if err != nil {
		return nil, err
	}
	args, err := bindArgs(params)
	if err != nil {
		return nil, err
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, translate(ctx, err)
	}
	// Decimals stay exact (WithHigherPrecision hands over the unscaled
	// integers), timestamps come as microseconds: nanoseconds overflow
	// for dates past 2262, common as "forever" in dimension tables.
	qctx := sf.WithArrowBatches(sf.WithHigherPrecision(
		sf.WithArrowBatchesTimestampOption(ctx, sf.UseMicrosecondTimestamp)))
	var rows driver.Rows
	err = conn.Raw(func(dc any) error {
		var err error
		rows, err = dc.(driver.QueryerContext).QueryContext(qctx, sql, named)
		return err
	})
	if err != nil {
		conn.Close()
		return nil, translate(ctx, err)
	}
	closeAll := func() {
		rows.Close()
		conn.Close()
	}
	batches, err := rows.(sf.SnowflakeRows).GetArrowBatches()
	if err != nil {
		closeAll()
		var se *sf.SnowflakeError
		if errors.As(err, &se) && se.Number == sf.ErrNonArrowResponseInArrowBatches {
			return nil, fmt.Errorf("snowflake: the statement returned rows as JSON, not Arrow (SHOW, DESCRIBE and the like do); query the result with RESULT_SCAN(LAST_QUERY_ID()) instead")
		}
		return nil, translate(ctx, err)
	}
	cols, err := columns(rows, cfg.PreserveColumnCase)
	if err != nil {
		closeAll()
		return nil, err
	}
	return newBatchReader(ctx, cols, batches, closeAll), nil
}

// bindArgs checks the parameters core allows and widens int to int64,
// which the driver binds as NUMBER.
func bindArgs(params []any) ([]any, error) {
	out := make([]any, len(params))
	for i, p := range params {
		switch v := p.(type) {
		case int:
			out[i] = int64(v)
		case int32:
			out[i] = int64(v)
		case time.Time:
			out[i] = v.UTC()
		case nil, bool, int64, float64, string:
			out[i] = v
		default:
			return nil, fmt.Errorf("parameter %d: unsupported type %T", i+1, p)
		}
	}
	return out, nil
}

func (w *Warehouse) DryRun(context.Context, string, ...any) (int64, error) {
	return 0, core.ErrNotImplemented
}

// DescribeTable returns a table's columns, in the types its query
// results arrive in.
func (w *Warehouse) DescribeTable(ctx context.Context, table string) (*arrow.Schema, error) {
	if strings.ContainsAny(table, ";'") {
		return nil, fmt.Errorf("snowflake: %q is not a table name", table)
	}
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
	var err error
	if w.db != nil {
		err = w.db.Close()
	}
	w.db = nil
	return err
}
