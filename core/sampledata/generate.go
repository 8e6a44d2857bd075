//go:build duckdb_arrow

package sampledata

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options controls the size and time span of the generated data.
type Options struct {
	// Customers is the number of customers simulated (default
	// DefaultCustomers). The customers table holds slightly fewer rows: the
	// orphan customers are left out of it.
	Customers int
	// Seed selects the random stream; the same Options always give the same
	// tables.
	Seed int64
	// End is the last day of the history (default DefaultEnd). Only its
	// UTC date counts: the history ends at midnight after it.
	End time.Time
	// Years is the length of the history in years (default DefaultYears).
	Years int
}

// Defaults for zero Options fields.
const (
	DefaultCustomers = 10000
	DefaultYears     = 3
)

// DefaultEnd is the last day of the history when Options.End is zero.
var DefaultEnd = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// Stats counts the rows written per table.
type Stats struct {
	Customers, Products, Stores, Orders, OrderLines, Touchpoints int64
	// Dirty counts the planted dirty order rows by rule (the Dirty*
	// constants); every dirty row falls under exactly one rule.
	Dirty   map[string]int64
	Elapsed time.Duration
}

// normalized fills in defaults and checks the options.
func (o Options) normalized() (Options, error) {
	if o.Customers == 0 {
		o.Customers = DefaultCustomers
	}
	if o.Customers < 0 {
		return o, fmt.Errorf("sampledata: Customers must be positive, got %d", o.Customers)
	}
	if o.End.IsZero() {
		o.End = DefaultEnd
	}
	e := o.End.UTC()
	o.End = time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
	if o.Years == 0 {
		o.Years = DefaultYears
	}
	if o.Years < 1 {
		return o, fmt.Errorf("sampledata: Years must be at least 1, got %d", o.Years)
	}
	return o, nil
}

// History returns the half-open time range [start, end) that regular
// (non-dirty) timestamps fall in, after defaults are applied: start is
// midnight of the day after End minus Years years, end is midnight after
// End. For the defaults: [2023-01-01, 2026-01-01).
func (o Options) History() (start, end time.Time) {
	o, _ = o.normalized()
	return o.End.AddDate(-o.Years, 0, 1), o.End.AddDate(0, 0, 1)
}

// chunkCustomers is how many customers one unit of work simulates. It
// bounds memory: at most a few chunks are in flight at any time.
const chunkCustomers = 16384

// Generate writes the sample tables (customers, products, stores, orders,
// order_lines, touchpoints) into schema main of the DuckDB database file
// at path, creating the file if needed and replacing the tables if they
// exist. The tables are replaced in one transaction: on error the previous
// tables stay as they were.
func Generate(ctx context.Context, path string, opt Options) (Stats, error) {
	began := time.Now()
	opt, err := opt.normalized()
	if err != nil {
		return Stats{}, err
	}
	g := newGenerator(opt)

	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return Stats{}, fmt.Errorf("sampledata: open %s: %w", path, err)
	}
	defer connector.Close()
	conn, err := connector.Connect(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("sampledata: connect %s: %w", path, err)
	}
	defer conn.Close()
	w, err := newWriter(ctx, conn)
	if err != nil {
		return Stats{}, err
	}

	stats, err := g.run(ctx, w)
	if err != nil {
		_ = w.exec("ROLLBACK")
		return Stats{}, err
	}
	if err := w.exec("COMMIT"); err != nil {
		return Stats{}, fmt.Errorf("sampledata: commit: %w", err)
	}
	if err := w.exec("CHECKPOINT"); err != nil {
		return Stats{}, fmt.Errorf("sampledata: checkpoint: %w", err)
	}
	stats.Elapsed = time.Since(began)
	return stats, nil
}

// writer inserts Arrow record batches into DuckDB tables through one
// connection, which is only ever used from one goroutine.
type writer struct {
	ctx   context.Context
	conn  driver.ExecerContext
	arrow *duckdb.Arrow
}

func newWriter(ctx context.Context, conn driver.Conn) (*writer, error) {
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		return nil, errors.New("sampledata: duckdb connection cannot execute statements")
	}
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		return nil, fmt.Errorf("sampledata: arrow interface: %w", err)
	}
	w := &writer{ctx: ctx, conn: ex, arrow: ar}
	if err := w.exec("BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	for _, ddl := range tableDDL {
		if err := w.exec(ddl); err != nil {
			_ = w.exec("ROLLBACK")
			return nil, err
		}
	}
	return w, nil
}

func (w *writer) exec(q string) error {
	if _, err := w.conn.ExecContext(w.ctx, q, nil); err != nil {
		return fmt.Errorf("sampledata: %s: %w", firstWords(q), err)
	}
	return nil
}

// batchRows is the size of the record batches handed to DuckDB: one
// DuckDB row group, so that its scan can spread batches over threads.
const batchRows = 122880

// insert appends rec to table through a temporary Arrow view and releases
// rec. The statement always selects every column of the view unchanged:
// DuckDB 1.4 can crash when an Arrow view is scanned with a projection of
// only some of its columns (duckdb/duckdb-go#28).
func (w *writer) insert(table string, rec arrow.RecordBatch) error {
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	var batches []arrow.RecordBatch
	for lo := int64(0); lo < rec.NumRows(); lo += batchRows {
		b := rec.NewSlice(lo, min(lo+batchRows, rec.NumRows()))
		defer b.Release()
		batches = append(batches, b)
	}
	rdr, err := array.NewRecordReader(rec.Schema(), batches)
	if err != nil {
		return err
	}
	defer rdr.Release()
	view := "sampledata_in_" + table
	release, err := w.arrow.RegisterView(rdr, view)
	if err != nil {
		return fmt.Errorf("sampledata: register view for %s: %w", table, err)
	}
	defer release()
	return w.exec(fmt.Sprintf("INSERT INTO main.%s SELECT * FROM %s", table, view))
}

// withOffset returns rec with offset added to its first column (the local
// order id) and releases rec.
func withOffset(rec arrow.RecordBatch, offset int64) arrow.RecordBatch {
	defer rec.Release()
	local := rec.Column(0).(*array.Int64).Int64Values()
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Reserve(len(local))
	for _, v := range local {
		b.UnsafeAppend(v + offset)
	}
	ids := b.NewArray()
	defer ids.Release()
	cols := append([]arrow.Array{ids}, rec.Columns()[1:]...)
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
}

func firstWords(q string) string {
	if len(q) > 40 {
		return q[:40] + "…"
	}
	return q
}

var tableDDL = []string{
	`CREATE OR REPLACE TABLE main.customers (customer_id BIGINT, email VARCHAR, first_name VARCHAR, last_name VARCHAR,
		phone VARCHAR, created_at TIMESTAMP, birth_date DATE, gender VARCHAR, country VARCHAR)`,
	`CREATE OR REPLACE TABLE main.products (product_id BIGINT, name VARCHAR, department VARCHAR, category VARCHAR,
		subcategory VARCHAR, brand VARCHAR, price DECIMAL(10,2))`,
	`CREATE OR REPLACE TABLE main.stores (store_id BIGINT, name VARCHAR, city VARCHAR, country VARCHAR)`,
	`CREATE OR REPLACE TABLE main.orders (order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP,
		revenue DECIMAL(12,2), sales_channel VARCHAR, store_id BIGINT, status VARCHAR)`,
	`CREATE OR REPLACE TABLE main.order_lines (order_id BIGINT, product_id BIGINT, quantity INTEGER, revenue DECIMAL(12,2))`,
	`CREATE OR REPLACE TABLE main.touchpoints (customer_id BIGINT, occurred_at TIMESTAMP, channel VARCHAR,
		campaign VARCHAR, cost DECIMAL(10,4))`,
}

// run writes the fixed tables, then simulates the customers chunk by
// chunk. Workers simulate chunks concurrently, each customer from its own
// seed, and the writer inserts the chunks in index order, so the output
// does not depend on scheduling. Order ids are chunk-local in the records
// and made global here, when the preceding chunks' order counts are known.
func (g *generator) run(ctx context.Context, w *writer) (Stats, error) {
	st := Stats{Dirty: map[string]int64{}}
	for _, k := range DirtyRules {
		st.Dirty[k] = 0
	}
	if err := w.insert("products", productsRecord()); err != nil {
		return st, err
	}
	if err := w.insert("stores", storesRecord()); err != nil {
		return st, err
	}
	st.Products, st.Stores = int64(len(products)), int64(len(stores))

	nChunks := (g.n + chunkCustomers - 1) / chunkCustomers
	workers := max(1, runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(ctx)

	// inFlight bounds the chunks generated but not yet written.
	inFlight := make(chan struct{}, workers+1)
	jobs := make(chan int)
	results := make([]chan *chunk, nChunks)
	for i := range results {
		results[i] = make(chan *chunk, 1)
	}
	var wg sync.WaitGroup
	go func() {
		defer close(jobs)
		for i := 0; i < nChunks; i++ {
			select {
			case inFlight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sim := newSimulator(g)
			for i := range jobs {
				lo := i * chunkCustomers
				hi := min(g.n, lo+chunkCustomers)
				results[i] <- sim.chunk(lo, hi)
			}
		}()
	}
	// On an early return, cancelling first unblocks the dispatcher, which
	// closes jobs and so lets the workers finish.
	defer func() {
		cancel()
		wg.Wait()
	}()

	var orderOffset int64
	for i := 0; i < nChunks; i++ {
		var c *chunk
		select {
		case c = <-results[i]:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		st.Customers += c.customers.NumRows()
		st.Orders += c.orders.NumRows()
		st.OrderLines += c.lines.NumRows()
		st.Touchpoints += c.touches.NumRows()
		for k, v := range c.dirty {
			st.Dirty[DirtyRules[k]] += v
		}
		err := errors.Join(
			w.insert("customers", c.customers),
			w.insert("orders", withOffset(c.orders, orderOffset+1)),
			w.insert("order_lines", withOffset(c.lines, orderOffset+1)),
			w.insert("touchpoints", c.touches),
		)
		orderOffset += c.orderIDs
		<-inFlight
		if err != nil {
			return st, err
		}
	}
	return st, nil
}
