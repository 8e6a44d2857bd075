// Package memdest is a small destination for tests: it keeps the records
// it receives in memory and, optionally, in a journal file, and it can be
// told to refuse records, to acknowledge late and out of order, and to
// crash. The conformance suite tests itself with it; the publish engine's
// tests use it as a destination whose behaviour they control, including
// SIGKILL mid-write (crash_after_batches, in a plugin subprocess).
//
// # Behaviour
//
// A record is identified by the write's key column. An upsert stores the
// record's values (formatted with core.FormatValue, "" for NULL); a remove
// deletes it. A record is refused, not stored, when
//   - its key is listed under fail in the config (with that code, message
//     and retryable flag), or
//   - the batch has an "email" column whose value for the record is not
//     NULL and has no "@": code invalid_email, not retryable, as an email
//     API would answer.
//
// Every batch is acknowledged in two ack calls (the first half of its
// records, then the rest), so hosts see batches settled in parts.
//
// With a journal, every applied operation is appended to the file and the
// file synced before the operation's record is acknowledged, so the
// journal holds exactly what the destination durably processed, even
// across a crash; Read replays it.
package memdest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "1.0.0"

// Config is the destination's configuration.
type Config struct {
	// Journal is a file that receives every applied operation, synced
	// before the acknowledgement; empty keeps records in memory only.
	Journal string `json:"journal"`
	// Capabilities to announce, and to keep: the destination checks them.
	MaxBatchRecords    int64 `json:"max_batch_records"`
	MaxBatchBytes      int64 `json:"max_batch_bytes"`
	SupportsRemove     bool  `json:"supports_remove"`
	MaxInFlightBatches int   `json:"max_in_flight_batches"`
	// Async holds the acks of every other batch until the next batch has
	// been acknowledged (or the write ends), as an API with import jobs
	// would: acks come late and out of order. It needs a window of at
	// least 2.
	Async bool `json:"async"`
	// Fail refuses the records with these keys.
	Fail map[string]Failure `json:"fail"`
	// CrashAfterBatches, when positive, kills the process (SIGKILL) right
	// after the acks of that many batches have been sent, counted over
	// the process's life. Use it only in a plugin subprocess.
	CrashAfterBatches int `json:"crash_after_batches"`
	// AckDelayMS delays every batch's processing, to make writes slow
	// (cancellation tests).
	AckDelayMS int `json:"ack_delay_ms"`
}

// Failure is how a record is refused.
type Failure struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Destination is the test destination.
type Destination struct {
	sdk.UnimplementedDestination

	mu      sync.Mutex
	cfg     Config
	records map[string]map[string]string // key -> column -> value
	journal *os.File
	batches int // processed over the process's life, for CrashAfterBatches
	maxSeen int64
}

var _ core.Destination = (*Destination)(nil)

// New returns an unconfigured test destination.
func New() *Destination {
	return &Destination{records: map[string]map[string]string{}}
}

func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return core.DestinationInfo{
		Name:    "memdest",
		Version: Version,
		Capabilities: core.DestinationCapabilities{
			SupportsRemove:     d.cfg.SupportsRemove,
			MaxBatchRecords:    d.cfg.MaxBatchRecords,
			MaxBatchBytes:      d.cfg.MaxBatchBytes,
			MaxInFlightBatches: d.cfg.MaxInFlightBatches,
			Async:              d.cfg.Async,
			RateLimit:          core.RateLimit{RequestsPerSecond: 100, Burst: 10, Concurrency: 4},
		},
	}, nil
}

func (d *Destination) Configure(_ context.Context, raw json.RawMessage) error {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	var bad core.FieldErrors
	if cfg.MaxBatchRecords < 0 {
		bad = append(bad, &core.FieldError{Field: "max_batch_records", Message: "must not be negative"})
	}
	if cfg.MaxInFlightBatches < 0 {
		bad = append(bad, &core.FieldError{Field: "max_in_flight_batches", Message: "must not be negative"})
	}
	if cfg.Async && cfg.MaxInFlightBatches == 1 {
		bad = append(bad, &core.FieldError{Field: "async", Message: "needs a window of at least 2 batches"})
	}
	if len(bad) > 0 {
		return bad
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal != nil {
		d.journal.Close()
		d.journal = nil
	}
	if cfg.Journal != "" {
		f, err := os.OpenFile(cfg.Journal, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return core.FieldErrors{{Field: "journal", Message: err.Error()}}
		}
		d.journal = f
	}
	d.cfg = cfg
	return nil
}

func (d *Destination) TestConnection(context.Context) error { return nil }

func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	return []string{"memdest:" + segment}, nil
}

func (d *Destination) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal != nil {
		err := d.journal.Close()
		d.journal = nil
		return err
	}
	return nil
}

// Records returns what the destination holds, in key order.
func (d *Destination) Records() []map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sorted(d.records)
}

// MaxBatchSeen is the largest batch Write received, in records.
func (d *Destination) MaxBatchSeen() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxSeen
}

// entry is one journal line.
type entry struct {
	Op     string            `json:"op"`
	Key    string            `json:"key"`
	Record map[string]string `json:"record,omitempty"`
}

// Write applies the ops; see the package doc.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	keyCol := h.Schema.FieldIndices(h.KeyColumn)
	if len(keyCol) != 1 {
		return core.WriteSummary{}, fmt.Errorf("key column %q is not in the schema", h.KeyColumn)
	}
	var pending []core.Ack // async: the previous batch's acks
	for {
		var op core.Op
		var ok bool
		select {
		case <-ctx.Done():
			return core.WriteSummary{}, ctx.Err()
		case op, ok = <-ops:
		}
		if !ok {
			if err := ctx.Err(); err != nil {
				return core.WriteSummary{}, err
			}
			d.report(ack, pending)
			return core.WriteSummary{Outputs: []string{"memdest:" + h.Segment}}, nil
		}
		if cfg.AckDelayMS > 0 {
			select {
			case <-time.After(time.Duration(cfg.AckDelayMS) * time.Millisecond):
			case <-ctx.Done():
				op.Batch.Release()
				return core.WriteSummary{}, ctx.Err()
			}
		}
		acks, err := d.apply(cfg, keyCol[0], op)
		op.Batch.Release()
		if err != nil {
			return core.WriteSummary{}, err
		}
		if cfg.Async {
			// Hold every other batch's acks and report them after the
			// next batch's: acks come late and out of order.
			if pending == nil {
				pending = acks
				continue
			}
			d.report(ack, acks)
			d.report(ack, pending)
			pending = nil
			continue
		}
		d.report(ack, acks)
	}
}

// report sends acks in two parts, counting batches for CrashAfterBatches.
func (d *Destination) report(ack func(...core.Ack), acks []core.Ack) {
	if len(acks) == 0 {
		return
	}
	half := len(acks) / 2
	if half > 0 {
		ack(acks[:half]...)
	}
	ack(acks[half:]...)
	d.mu.Lock()
	d.batches++
	crash := d.cfg.CrashAfterBatches > 0 && d.batches >= d.cfg.CrashAfterBatches
	d.mu.Unlock()
	if crash {
		// Let the acks leave, then die as a SIGKILL would have it.
		time.Sleep(300 * time.Millisecond)
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	}
}

// apply applies one batch and returns its acks; with a journal, the
// applied operations are synced before it returns.
func (d *Destination) apply(cfg Config, keyCol int, op core.Op) ([]core.Ack, error) {
	rec := op.Batch
	n := int(rec.NumRows())
	if cfg.MaxBatchRecords > 0 && int64(n) > cfg.MaxBatchRecords {
		return nil, fmt.Errorf("batch %d has %d records, more than max_batch_records %d", op.Seq, n, cfg.MaxBatchRecords)
	}
	if op.Kind == core.Remove && !cfg.SupportsRemove {
		return nil, core.ErrRemoveNotSupported
	}
	emailCol := rec.Schema().FieldIndices("email")
	var lines bytes.Buffer
	acks := make([]core.Ack, n)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.maxSeen = max(d.maxSeen, int64(n))
	for i := 0; i < n; i++ {
		key := core.FormatValue(core.ValueAt(rec.Column(keyCol), i))
		acks[i] = core.Ack{Seq: op.Seq, Index: i}
		if f, ok := cfg.Fail[key]; ok {
			acks[i].Err = &core.RecordError{Code: f.Code, Message: f.Message, Retryable: f.Retryable}
			continue
		}
		if len(emailCol) == 1 && op.Kind == core.Upsert {
			if v, ok := core.ValueAt(rec.Column(emailCol[0]), i).(string); ok && !strings.Contains(v, "@") {
				acks[i].Err = &core.RecordError{Code: "invalid_email", Message: fmt.Sprintf("%q is not an email address", v)}
				continue
			}
		}
		e := entry{Key: key}
		switch op.Kind {
		case core.Upsert:
			e.Op, e.Record = "upsert", row(rec, i)
			d.records[key] = e.Record
		case core.Remove:
			e.Op = "remove"
			delete(d.records, key)
		}
		if d.journal != nil {
			b, _ := json.Marshal(e)
			lines.Write(b)
			lines.WriteByte('\n')
		}
	}
	if d.journal != nil && lines.Len() > 0 {
		if _, err := d.journal.Write(lines.Bytes()); err != nil {
			return nil, err
		}
		if err := d.journal.Sync(); err != nil {
			return nil, err
		}
	}
	return acks, nil
}

func row(rec arrow.RecordBatch, i int) map[string]string {
	r := make(map[string]string, rec.NumCols())
	for c, f := range rec.Schema().Fields() {
		r[f.Name] = core.FormatValue(core.ValueAt(rec.Column(c), i))
	}
	return r
}

// Read replays a journal and returns the records it leaves, in key order.
// A missing journal holds nothing.
func Read(journal string) ([]map[string]string, error) {
	f, err := os.Open(journal)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	records := map[string]map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("journal %s: %w", journal, err)
		}
		switch e.Op {
		case "upsert":
			records[e.Key] = e.Record
		case "remove":
			delete(records, e.Key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return sorted(records), nil
}

// ReadKeys replays a journal and returns the keys of every record an
// operation was applied to, in journal order (what the destination
// durably processed, removes included).
func ReadKeys(journal string) ([]string, error) {
	b, err := os.ReadFile(journal)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("journal %s: %w", journal, err)
		}
		keys = append(keys, e.Key)
	}
	return keys, nil
}

func sorted(records map[string]map[string]string) []map[string]string {
	keys := make([]string, 0, len(records))
	for k := range records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]map[string]string, len(keys))
	for i, k := range keys {
		out[i] = records[k]
	}
	return out
}
