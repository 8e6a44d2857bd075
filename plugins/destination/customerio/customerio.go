// Package customerio is the Customer.io (Journeys Track API) destination
// (shared/reference/outbound-apis.md §5). A segment is a manual segment:
//
//   - upserts identify people with POST /api/v2/batch ({"batch": [{"type":
//     "person", "identifiers": {"id": key}, "action": "identify",
//     "attributes": {...}}]}, each request under 500 KB), then add them to
//     the manual segment with POST
//     /api/v1/segments/{id}/add_customers?id_type=id (1–1000 ids);
//   - removes call /remove_customers the same way;
//   - people are identified by the write's key column ("id", the
//     default: the key is the person's id, email an attribute) or by
//     email (identifier: email; a record without one is refused with
//     missing_email). Columns become attributes by name (or as mapped by
//     attributes); NULLs are left out.
//
// The Track API answers a bad request with 400 {"meta":{"error":"…"}}
// for the whole request and has no per-record errors. So that one bad
// record does not sink its batch, a refused request is split in halves
// and each half sent again, down to single records: only the records the
// API refuses on their own fail (code invalid_record), at the cost of a
// few more requests. A 400 applies nothing, so nothing is sent twice.
//
// Auth is Basic site_id:api_key (Track API credentials). Requests are
// paced by httpdest at the documented fair-use 100 requests/s and
// retried on 429 (Customer.io sends no rate headers) with backoff.
//
// # Configuration
//
//	destinations:
//	  - name: customerio
//	    plugin: customerio
//	    config:
//	      site_id: ${CUSTOMERIO_SITE_ID}
//	      api_key: ${CUSTOMERIO_API_KEY}
//	      region: eu                 # us (default) or eu
//	      segment_id: 17             # a manual segment; every segment not in segments
//	      segments: {champions: 18}
//	      identifier: id             # or email
//	      attributes: {rfm_score: rfm, note: "-"}
package customerio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
	"github.com/segflow/segflow/plugins/destination/internal/opqueue"
	"github.com/segflow/segflow/plugins/destination/internal/rowmap"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.1.0"

// Documented limits, and this plugin's defaults.
const (
	MaxBatchBytes = 500 * 1024 // "< 500 KB" per v2 batch request
	MaxSegmentIDs = 1000
	DefaultRate   = 100
	workers       = 8
)

var hosts = map[string]string{"us": "https://track.customer.io", "eu": "https://track-eu.customer.io"}

// Config is the destination's section of segflow.yaml.
type Config struct {
	// SiteID and APIKey are the Track API credentials, from ${ENV}.
	SiteID string `json:"site_id"`
	APIKey string `json:"api_key"`
	// Region is "us" (track.customer.io, the default) or "eu"
	// (track-eu.customer.io).
	Region string `json:"region"`
	// BaseURL overrides the region's host (a stand-in, a proxy).
	BaseURL string `json:"base_url"`
	// SegmentID is the manual segment of every segment not in Segments.
	SegmentID int `json:"segment_id"`
	// Segments maps segment names to manual segment ids.
	Segments map[string]int `json:"segments"`
	// Identifier is "id" (the write's key column; the default) or
	// "email".
	Identifier string `json:"identifier"`
	// Attributes maps columns to attribute names ("-" drops a column).
	Attributes map[string]string `json:"attributes"`
	// EmailColumn is lower-cased and checked; default "email".
	EmailColumn string `json:"email_column"`
	// PhoneColumn is sent in E.164 (national numbers completed with
	// DefaultCountryCode).
	PhoneColumn        string `json:"phone_column"`
	DefaultCountryCode string `json:"default_country_code"`
	// BatchSize is the most people per batch; default and maximum 1000
	// (the segment calls' limit).
	BatchSize int `json:"batch_size"`
	// RequestsPerSecond paces requests; default 100 (fair use).
	RequestsPerSecond float64 `json:"requests_per_second"`
}

// Destination publishes segments to Customer.io manual segments.
type Destination struct {
	sdk.UnimplementedDestination
	cfg    Config
	client *httpdest.Client
}

var _ core.Destination = (*Destination)(nil)

// New returns an unconfigured Customer.io destination.
func New() *Destination { return &Destination{} }

func withDefaults(c Config) Config {
	if c.Region == "" {
		c.Region = "us"
	}
	if c.Identifier == "" {
		c.Identifier = "id"
	}
	if c.EmailColumn == "" {
		c.EmailColumn = "email"
	}
	if c.BatchSize == 0 {
		c.BatchSize = MaxSegmentIDs
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = DefaultRate
	}
	return c
}

// Info: removes supported, 1000 people per batch, 100 requests/s.
func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	c := withDefaults(d.cfg)
	return core.DestinationInfo{Name: "customerio", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(c.BatchSize),
		RateLimit:          core.RateLimit{RequestsPerSecond: c.RequestsPerSecond, Burst: 1, Concurrency: workers},
		MaxInFlightBatches: 2 * workers,
	}}, nil
}

func (d *Destination) Configure(_ context.Context, raw json.RawMessage) error {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	cfg = withDefaults(cfg)
	var bad core.FieldErrors
	add := func(field, format string, args ...any) {
		bad = append(bad, &core.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if cfg.SiteID == "" {
		add("site_id", "is required (Track API credentials; use ${CUSTOMERIO_SITE_ID})")
	}
	if cfg.APIKey == "" {
		add("api_key", "is required (Track API credentials; use ${CUSTOMERIO_API_KEY})")
	}
	host, ok := hosts[cfg.Region]
	if !ok {
		add("region", "must be us or eu")
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("base_url", "must be an http or https URL")
		}
		host = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	if cfg.SegmentID == 0 && len(cfg.Segments) == 0 {
		add("segment_id", "is required unless segments maps every segment to a manual segment id")
	}
	if cfg.SegmentID < 0 {
		add("segment_id", "must be a manual segment's id")
	}
	for seg, id := range cfg.Segments {
		if id <= 0 {
			add("segments", "segment %q has no valid manual segment id", seg)
		}
	}
	if cfg.Identifier != "id" && cfg.Identifier != "email" {
		add("identifier", "must be id or email")
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxSegmentIDs {
		add("batch_size", "must be between 1 and %d (the segment calls' limit)", MaxSegmentIDs)
	}
	if cfg.RequestsPerSecond < 0 {
		add("requests_per_second", "must be positive")
	}
	for _, p := range rowmap.CheckAttributes(cfg.Attributes) {
		add("attributes", "%s", p)
	}
	for col, name := range cfg.Attributes {
		if len(name) > 150 {
			add("attributes", "%s: attribute names are at most 150 bytes", col)
		}
	}
	if cfg.DefaultCountryCode != "" && !httpdest.ValidCountryCode(cfg.DefaultCountryCode) {
		add("default_country_code", "must be a country calling code such as 44 or +1")
	}
	if len(bad) > 0 {
		return bad
	}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(cfg.SiteID, cfg.APIKey)
	auth := req.Header.Get("Authorization")
	h := http.Header{}
	h.Set("Authorization", auth)
	d.cfg = cfg
	d.client = &httpdest.Client{
		BaseURL: host,
		Limiter: httpdest.NewLimiter(httpdest.Limits{RequestsPerSecond: cfg.RequestsPerSecond, Burst: 1, Concurrency: workers}),
		Header:  h,
		// The Basic header carries the key in base64: redact both.
		Secrets: []string{cfg.APIKey, strings.TrimPrefix(auth, "Basic ")},
	}
	return nil
}

func (d *Destination) segmentFor(segment string) (int, error) {
	id, ok := d.targets().For(segment)
	if !ok {
		return 0, fmt.Errorf("customerio: no manual segment for segment %q: add it to segments or set segment_id", segment)
	}
	return id, nil
}

func (d *Destination) targets() httpdest.Targets[int] {
	return httpdest.Targets[int]{Default: d.cfg.SegmentID, BySegment: d.cfg.Segments}
}

// TestConnection asks the Track API for the account's region
// (authenticated, changes nothing) and checks it matches region.
func (d *Destination) TestConnection(ctx context.Context) error {
	if d.client == nil {
		return errors.New("customerio: not configured")
	}
	var got struct {
		DataCenter string `json:"data_center"`
	}
	if _, err := d.client.Do(ctx, http.MethodGet, "/api/v1/accounts/region", nil, &got); err != nil {
		return fmt.Errorf("customerio: %w", err)
	}
	if got.DataCenter != "" && got.DataCenter != d.cfg.Region {
		return fmt.Errorf("customerio: the account is in region %s; set region: %s", got.DataCenter, got.DataCenter)
	}
	return nil
}

// Outputs names the segment's manual segment.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	id, err := d.segmentFor(segment)
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("Customer.io manual segment %d", id)}, nil
}

// Write identifies people and sets segment membership, several batches
// at once.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	if d.client == nil {
		return core.WriteSummary{}, errors.New("customerio: not configured")
	}
	seg, err := d.segmentFor(h.Segment)
	if err != nil {
		return core.WriteSummary{}, err
	}
	spec := rowmap.Spec{Attributes: d.cfg.Attributes, EmailColumn: d.cfg.EmailColumn, PhoneColumn: d.cfg.PhoneColumn,
		DefaultCountryCode: d.cfg.DefaultCountryCode, Skip: []string{h.KeyColumn}}
	if d.cfg.Identifier == "email" {
		spec.EmailRequired, spec.Skip = true, []string{d.cfg.EmailColumn}
	}
	bound, err := spec.Bind(h)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("customerio: %w", err)
	}
	if len(bound.Fields) > 300 {
		return core.WriteSummary{}, fmt.Errorf("customerio: the segment sends %d attributes; Customer.io takes at most 300 per person (drop columns with attributes: {column: \"-\"})", len(bound.Fields))
	}
	for _, f := range bound.Fields {
		if len(f) > 150 {
			return core.WriteSummary{}, fmt.Errorf("customerio: attribute name %.40q… is longer than Customer.io's 150 bytes; rename it with attributes", f)
		}
	}
	w := &writer{d: d, segment: seg, bound: bound, ack: ack}
	err = opqueue.Run(ctx, ops, workers, func(ctx context.Context, op core.Op) (opqueue.Send, error) {
		return w.prepare(op)
	})
	if err != nil {
		return core.WriteSummary{}, err
	}
	return core.WriteSummary{Outputs: []string{fmt.Sprintf("Customer.io manual segment %d", seg)}}, nil
}

type writer struct {
	d       *Destination
	segment int
	bound   *rowmap.Bound
	ack     func(...core.Ack)
}

// person is one record to send.
type person struct {
	row  int
	id   string          // the identifier's value
	item json.RawMessage // its v2 batch item (upserts)
}

func (w *writer) prepare(op core.Op) (opqueue.Send, error) {
	var people []person
	for i := 0; i < int(op.Batch.NumRows()); i++ {
		r, rerr := w.bound.Row(op.Batch, i)
		if rerr != nil {
			w.ack(core.Ack{Seq: op.Seq, Index: i, Err: rerr})
			continue
		}
		p := person{row: i, id: r.Key}
		if w.d.cfg.Identifier == "email" {
			p.id = r.Email
		}
		if op.Kind == core.Upsert {
			item, err := json.Marshal(map[string]any{"type": "person", "identifiers": map[string]string{w.d.cfg.Identifier: p.id},
				"action": "identify", "attributes": w.bound.Values(op.Batch, r)})
			if err != nil {
				return nil, fmt.Errorf("customerio: %w", err)
			}
			if len(item)+len(`{"batch":[]}`) >= MaxBatchBytes {
				w.ack(core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr("too_large", false, "the record is %d bytes; a Track API request must be under 500 KB", len(item))})
				continue
			}
			p.item = item
		}
		people = append(people, p)
	}
	seq, kind := op.Seq, op.Kind
	op.Batch.Release()
	if len(people) == 0 {
		return nil, nil
	}
	return func(ctx context.Context) error {
		failed := map[int]*core.RecordError{}
		if kind == core.Upsert {
			// Requests under 500 KB.
			var chunk []person
			size := len(`{"batch":[]}`)
			for _, p := range people {
				if len(chunk) > 0 && size+len(p.item)+1 >= MaxBatchBytes {
					if err := w.identify(ctx, chunk, failed); err != nil {
						return err
					}
					chunk, size = nil, len(`{"batch":[]}`)
				}
				chunk = append(chunk, p)
				size += len(p.item) + 1
			}
			if err := w.identify(ctx, chunk, failed); err != nil {
				return err
			}
		}
		var ids []string
		var rows []int
		for _, p := range people {
			if failed[p.row] == nil {
				ids, rows = append(ids, p.id), append(rows, p.row)
			}
		}
		if len(ids) > 0 {
			op := "add_customers"
			if kind == core.Remove {
				op = "remove_customers"
			}
			path := fmt.Sprintf("/api/v1/segments/%d/%s?id_type=%s", w.segment, op, w.d.cfg.Identifier)
			if _, err := w.d.client.Do(ctx, http.MethodPost, path, map[string][]string{"ids": ids}, nil); err != nil {
				rerr, err := w.refused(ctx, err)
				if err != nil {
					return err
				}
				for _, r := range rows {
					failed[r] = rerr
				}
			}
		}
		acks := make([]core.Ack, 0, len(people))
		for _, p := range people {
			acks = append(acks, core.Ack{Seq: seq, Index: p.row, Err: failed[p.row]})
		}
		w.ack(acks...)
		return nil
	}, nil
}

// identify sends people in one v2 batch request; when the API refuses
// the request (400, or 413), it bisects to find the records it refuses.
func (w *writer) identify(ctx context.Context, people []person, failed map[int]*core.RecordError) error {
	body := []byte(`{"batch":[`)
	for i, p := range people {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, p.item...)
	}
	body = append(body, "]}"...)
	_, err := w.d.client.Do(ctx, http.MethodPost, "/api/v2/batch", body, nil)
	if err == nil {
		return nil
	}
	if s := httpdest.StatusOf(err); s == http.StatusBadRequest || s == http.StatusRequestEntityTooLarge {
		if len(people) == 1 {
			var he *httpdest.Error
			errors.As(err, &he)
			failed[people[0].row] = httpdest.RecordErr("invalid_record", false, "Customer.io refused the record: %s", he.Message)
			return nil
		}
		half := len(people) / 2
		if err := w.identify(ctx, people[:half], failed); err != nil {
			return err
		}
		return w.identify(ctx, people[half:], failed)
	}
	rerr, err := w.refused(ctx, err)
	if err != nil {
		return err
	}
	for _, p := range people {
		failed[p.row] = rerr
	}
	return nil
}

// refused sorts a failed request: cancellation and bad credentials fail
// the write; anything else fails the request's records.
func (w *writer) refused(ctx context.Context, err error) (*core.RecordError, error) {
	if ctx.Err() != nil {
		return nil, err
	}
	if s := httpdest.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound {
		return nil, fmt.Errorf("customerio: %w", err)
	}
	return httpdest.RequestFailed(err), nil
}

func (d *Destination) Close() error { return nil }
