// Package sendgrid is the SendGrid Marketing Campaigns destination
// (shared/reference/outbound-apis.md §4). A segment is a SendGrid list:
//
//   - upserts go to PUT /v3/marketing/contacts with the segment's list in
//     list_ids, at most 30,000 contacts and 6 MB per request. SendGrid
//     answers 202 {"job_id"}; the destination polls GET
//     /v3/marketing/contacts/imports/{job_id} until the job is completed
//     (every record acknowledged), errored (the records named in the
//     errors_url file are refused, the others acknowledged) or failed;
//   - removes find the contacts' ids with POST
//     /v3/marketing/contacts/search/emails (100 emails per call) and take
//     them out of the list with DELETE
//     /v3/marketing/lists/{id}/contacts?contact_ids=... (202, async;
//     acknowledged on acceptance). A contact SendGrid does not know is not
//     in the list: its remove is acknowledged;
//   - contacts are keyed by email (lower-cased): a record without one is
//     refused (missing_email). Columns become fields by name (or as
//     mapped by attributes): SendGrid's reserved fields (first_name,
//     external_id, ...) go at the top level, others are custom fields,
//     sent by the field ids GET /v3/marketing/field_definitions gives. A
//     custom field the account lacks fails the write with a message
//     naming it, or is created (create_missing_fields) with a type from
//     the column: Number for numbers, Date for dates and timestamps, Text
//     otherwise. NULLs are left out, so they never clear a field.
//
// Requests are paced and retried by httpdest, which honours SendGrid's
// X-RateLimit-Remaining/-Reset headers (SendGrid sends no Retry-After).
// The errors_url file is downloaded without the API key (it is a
// pre-signed URL) and read as CSV with an email column and an error
// column (its exact layout is not documented).
//
// # Configuration
//
//	destinations:
//	  - name: sendgrid
//	    plugin: sendgrid
//	    config:
//	      api_key: ${SENDGRID_API_KEY}
//	      region: us                 # or eu (api.eu.sendgrid.com)
//	      list_id: 0f4c7a5e-...      # every segment not in lists
//	      lists: {champions: 8b1d...}
//	      attributes: {customer_id: external_id, first_name: first_name, rfm_score: rfm}
//	      create_missing_fields: false
//	      batch_size: 30000          # default and maximum
//	      poll_interval: 5s
package sendgrid

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

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
	MaxContacts   = 30_000
	MaxBodyBytes  = 6 << 20
	maxSearch     = 100 // search/emails (verify)
	maxRemoveIDs  = 100
	DefaultRate   = 5
	DefaultWorker = 4
)

// Hosts by region.
var hosts = map[string]string{"us": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}

// Reserved are SendGrid's reserved contact fields, sent at the top level.
var Reserved = []string{"phone_number_id", "external_id", "anonymous_id", "first_name", "last_name",
	"alternate_emails", "address_line_1", "address_line_2", "city", "state_province_region", "postal_code",
	"country", "phone_number", "whatsapp", "line", "facebook", "unique_name"}

// Config is the destination's section of segflow.yaml.
type Config struct {
	// APIKey is the SendGrid API key (SG....), from ${ENV}.
	APIKey string `json:"api_key"`
	// Region is "us" (api.sendgrid.com, the default) or "eu"
	// (api.eu.sendgrid.com).
	Region string `json:"region"`
	// BaseURL overrides the region's host (a stand-in, a proxy).
	BaseURL string `json:"base_url"`
	// OnBehalfOf sends the on-behalf-of header (a subuser).
	OnBehalfOf string `json:"on_behalf_of"`
	// ListID is the list of every segment not in Lists.
	ListID string `json:"list_id"`
	// Lists maps segment names to list ids.
	Lists map[string]string `json:"lists"`
	// Attributes maps columns to field names ("-" drops a column).
	Attributes map[string]string `json:"attributes"`
	// EmailColumn identifies contacts; default "email".
	EmailColumn string `json:"email_column"`
	// PhoneColumn is normalised to E.164 (national numbers completed with
	// DefaultCountryCode).
	PhoneColumn        string `json:"phone_column"`
	DefaultCountryCode string `json:"default_country_code"`
	// CreateMissingFields creates custom fields the account lacks.
	CreateMissingFields bool `json:"create_missing_fields"`
	// BatchSize is the most contacts per request; default and maximum
	// 30,000.
	BatchSize int `json:"batch_size"`
	// RequestsPerSecond paces requests (SendGrid does not publish these
	// limits; its rate headers are honoured too); default 5.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// PollInterval between import job status checks; default 5s.
	PollInterval string `json:"poll_interval"`
	// JobTimeout gives up waiting for a job (its records fail as
	// retryable); default 30m.
	JobTimeout string `json:"job_timeout"`
}

// Destination publishes segments to SendGrid lists.
type Destination struct {
	sdk.UnimplementedDestination
	cfg          Config
	client       *httpdest.Client
	download     *httpdest.Client
	pollInterval time.Duration
	jobTimeout   time.Duration
}

type fieldDef struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	FieldType string `json:"field_type"`
}

var _ core.Destination = (*Destination)(nil)

// New returns an unconfigured SendGrid destination.
func New() *Destination { return &Destination{} }

// Info: removes supported, 30,000 contacts per batch, async jobs.
func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	c := withDefaults(d.cfg)
	return core.DestinationInfo{Name: "sendgrid", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(c.BatchSize),
		RateLimit:          core.RateLimit{RequestsPerSecond: c.RequestsPerSecond, Burst: 1},
		Async:              true,
		MaxInFlightBatches: DefaultWorker * 2,
	}}, nil
}

func withDefaults(c Config) Config {
	if c.Region == "" {
		c.Region = "us"
	}
	if c.EmailColumn == "" {
		c.EmailColumn = "email"
	}
	if c.BatchSize == 0 {
		c.BatchSize = MaxContacts
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = DefaultRate
	}
	if c.PollInterval == "" {
		c.PollInterval = "5s"
	}
	if c.JobTimeout == "" {
		c.JobTimeout = "30m"
	}
	return c
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
	if cfg.APIKey == "" {
		add("api_key", "is required (use ${SENDGRID_API_KEY})")
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
	if cfg.ListID == "" && len(cfg.Lists) == 0 {
		add("list_id", "is required unless lists maps every segment to a list id")
	}
	for seg, id := range cfg.Lists {
		if id == "" {
			add("lists", "segment %q has an empty list id", seg)
		}
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxContacts {
		add("batch_size", "must be between 1 and %d (SendGrid's limit)", MaxContacts)
	}
	if cfg.RequestsPerSecond < 0 {
		add("requests_per_second", "must be positive")
	}
	for _, p := range rowmap.CheckAttributes(cfg.Attributes) {
		add("attributes", "%s", p)
	}
	if cfg.DefaultCountryCode != "" && !httpdest.ValidCountryCode(cfg.DefaultCountryCode) {
		add("default_country_code", "must be a country calling code such as 44 or +1")
	}
	poll, err := time.ParseDuration(cfg.PollInterval)
	if err != nil || poll <= 0 {
		add("poll_interval", "must be a positive Go duration such as 5s")
	}
	timeout, err := time.ParseDuration(cfg.JobTimeout)
	if err != nil || timeout <= 0 {
		add("job_timeout", "must be a positive Go duration such as 30m")
	}
	if len(bad) > 0 {
		return bad
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+cfg.APIKey)
	if cfg.OnBehalfOf != "" {
		h.Set("On-Behalf-Of", cfg.OnBehalfOf)
	}
	d.cfg, d.pollInterval, d.jobTimeout = cfg, poll, timeout
	d.client = &httpdest.Client{
		BaseURL: host,
		Limiter: httpdest.NewLimiter(httpdest.Limits{RequestsPerSecond: cfg.RequestsPerSecond, Burst: 1}),
		Header:  h,
		Secrets: []string{cfg.APIKey},
	}
	// errors_url is a pre-signed download: never send it the key.
	d.download = &httpdest.Client{Secrets: []string{cfg.APIKey}}
	return nil
}

func (d *Destination) listFor(segment string) (string, error) {
	id, ok := d.targets().For(segment)
	if !ok {
		return "", fmt.Errorf("sendgrid: no list for segment %q: add it to lists or set list_id", segment)
	}
	return id, nil
}

func (d *Destination) targets() httpdest.Targets[string] {
	return httpdest.Targets[string]{Default: d.cfg.ListID, BySegment: d.cfg.Lists}
}

// TestConnection reads the field definitions (authenticated, changes
// nothing) and checks every configured list exists.
func (d *Destination) TestConnection(ctx context.Context) error {
	if d.client == nil {
		return errors.New("sendgrid: not configured")
	}
	if _, err := d.fieldDefs(ctx); err != nil {
		return err
	}
	for _, id := range d.targets().All() {
		if _, err := d.client.Do(ctx, http.MethodGet, "/v3/marketing/lists/"+url.PathEscape(id), nil, nil); err != nil {
			return fmt.Errorf("sendgrid: list %s: %w", id, err)
		}
	}
	return nil
}

// Outputs names the segment's list.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	id, err := d.listFor(segment)
	if err != nil {
		return nil, err
	}
	return []string{"SendGrid list " + id}, nil
}

func (d *Destination) fieldDefs(ctx context.Context) (map[string]fieldDef, error) {
	var defs struct {
		Custom []fieldDef `json:"custom_fields"`
	}
	if _, err := d.client.Do(ctx, http.MethodGet, "/v3/marketing/field_definitions", nil, &defs); err != nil {
		return nil, fmt.Errorf("sendgrid: %w", err)
	}
	out := map[string]fieldDef{}
	for _, f := range defs.Custom {
		out[f.Name] = f
	}
	return out, nil
}

// resolve looks up (or creates) the custom fields a write sends.
func (d *Destination) resolve(ctx context.Context, b *rowmap.Bound) (map[string]fieldDef, error) {
	defs, err := d.fieldDefs(ctx)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range b.Fields {
		if _, ok := defs[f]; !ok && !slices.Contains(Reserved, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 && !d.cfg.CreateMissingFields {
		return nil, fmt.Errorf("sendgrid: the account has no custom field %s; create them (Marketing > Custom Fields), map the columns to existing fields with attributes (\"-\" drops a column), or set create_missing_fields: true",
			strings.Join(missing, ", "))
	}
	for _, name := range missing {
		var f fieldDef
		if _, err := d.client.Do(ctx, http.MethodPost, "/v3/marketing/field_definitions",
			map[string]string{"name": name, "field_type": fieldType(b.Types[name])}, &f); err != nil {
			return nil, fmt.Errorf("sendgrid: create custom field %s: %w", name, err)
		}
		defs[name] = f
	}
	return defs, nil
}

// fieldType is the custom field type for a column.
func fieldType(t arrow.DataType) string {
	switch {
	case arrow.IsInteger(t.ID()) || arrow.IsFloating(t.ID()) || arrow.IsDecimal(t.ID()):
		return "Number"
	case t.ID() == arrow.DATE32 || t.ID() == arrow.DATE64 || t.ID() == arrow.TIMESTAMP:
		return "Date"
	}
	return "Text"
}

// Write sends each batch as import jobs (upserts) or list removals,
// several batches at once.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	if d.client == nil {
		return core.WriteSummary{}, errors.New("sendgrid: not configured")
	}
	list, err := d.listFor(h.Segment)
	if err != nil {
		return core.WriteSummary{}, err
	}
	spec := rowmap.Spec{Attributes: d.cfg.Attributes, EmailColumn: d.cfg.EmailColumn, PhoneColumn: d.cfg.PhoneColumn,
		DefaultCountryCode: d.cfg.DefaultCountryCode, EmailRequired: true, Skip: []string{d.cfg.EmailColumn}}
	bound, err := spec.Bind(h)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("sendgrid: %w", err)
	}
	defs, err := d.resolve(ctx, bound)
	if err != nil {
		return core.WriteSummary{}, err
	}
	w := &writer{d: d, list: list, bound: bound, defs: defs, ack: ack}
	err = opqueue.Run(ctx, ops, DefaultWorker, func(ctx context.Context, op core.Op) (opqueue.Send, error) {
		if op.Kind == core.Remove {
			return w.remove(op), nil
		}
		return w.upsert(op), nil
	})
	if err != nil {
		return core.WriteSummary{}, err
	}
	return core.WriteSummary{Outputs: []string{"SendGrid list " + list}}, nil
}

type writer struct {
	d     *Destination
	list  string
	bound *rowmap.Bound
	defs  map[string]fieldDef
	ack   func(...core.Ack)
}

// group is one email's records in a request: SendGrid holds one contact
// per email, so records sharing an email share the outcome.
type group struct {
	email string
	rows  []int
}

// upsert builds the contacts of op (refusing records without a usable
// email at once) and sends them in requests within the limits.
func (w *writer) upsert(op core.Op) opqueue.Send {
	contacts := map[string]json.RawMessage{}
	var groups []*group
	byEmail := map[string]*group{}
	for i := 0; i < int(op.Batch.NumRows()); i++ {
		r, rerr := w.bound.Row(op.Batch, i)
		if rerr != nil {
			w.ack(core.Ack{Seq: op.Seq, Index: i, Err: rerr})
			continue
		}
		c, err := w.contact(op.Batch, r)
		if err != nil {
			w.ack(core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr("invalid_value", false, "%v", err)})
			continue
		}
		g := byEmail[r.Email]
		if g == nil {
			g = &group{email: r.Email}
			byEmail[r.Email] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, i)
		contacts[r.Email] = c // the last record of an email wins
	}
	seq := op.Seq
	op.Batch.Release()
	if len(groups) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		// Requests within 30,000 contacts and 6 MB (less a margin for
		// the envelope).
		const envelope = 1024
		var chunk []*group
		size := envelope
		for _, g := range groups {
			n := len(contacts[g.email]) + 1
			if len(chunk) > 0 && (len(chunk) == MaxContacts || size+n > MaxBodyBytes) {
				if err := w.importJob(ctx, seq, chunk, contacts); err != nil {
					return err
				}
				chunk, size = nil, envelope
			}
			chunk = append(chunk, g)
			size += n
		}
		return w.importJob(ctx, seq, chunk, contacts)
	}
}

// contact is one contact's JSON: email, reserved fields, custom fields
// by id, each custom value of the field's type.
func (w *writer) contact(rec arrow.RecordBatch, r rowmap.Row) (json.RawMessage, error) {
	c := map[string]any{"email": r.Email}
	custom := map[string]any{}
	for field, v := range w.bound.Values(rec, r) {
		if slices.Contains(Reserved, field) {
			c[field] = rowmap.Text(v)
			continue
		}
		def := w.defs[field]
		switch def.FieldType {
		case "Number":
			n, err := number(v)
			if err != nil {
				return nil, fmt.Errorf("field %s is a Number field: %w", field, err)
			}
			custom[def.ID] = n
		default:
			custom[def.ID] = rowmap.Text(v)
		}
	}
	if len(custom) > 0 {
		c["custom_fields"] = custom
	}
	return json.Marshal(c)
}

func number(v any) (any, error) {
	switch x := v.(type) {
	case int64, float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%v is not a number", v)
}

// importJob PUTs the contacts of chunk and acknowledges them from the
// job's outcome.
func (w *writer) importJob(ctx context.Context, seq int64, chunk []*group, contacts map[string]json.RawMessage) error {
	body := struct {
		ListIDs  []string          `json:"list_ids"`
		Contacts []json.RawMessage `json:"contacts"`
	}{ListIDs: []string{w.list}}
	var rows []int
	for _, g := range chunk {
		body.Contacts = append(body.Contacts, contacts[g.email])
		rows = append(rows, g.rows...)
	}
	var started struct {
		JobID string `json:"job_id"`
	}
	if _, err := w.d.client.Do(ctx, http.MethodPut, "/v3/marketing/contacts", body, &started); err != nil {
		return w.requestFailed(ctx, seq, rows, err)
	}
	errs, err := w.d.awaitJob(ctx, started.JobID)
	if err != nil {
		var rerr *core.RecordError
		if errors.As(err, &rerr) {
			w.ack(httpdest.Acks(seq, rows, rerr)...)
			return nil
		}
		return err
	}
	var acks []core.Ack
	for _, g := range chunk {
		var rerr *core.RecordError
		if msg, bad := errs[g.email]; bad {
			rerr = httpdest.RecordErr("invalid_contact", false, "SendGrid refused %s: %s", g.email, msg)
		}
		acks = append(acks, httpdest.Acks(seq, g.rows, rerr)...)
	}
	w.ack(acks...)
	return nil
}

// requestFailed settles the records of a request SendGrid refused: bad
// credentials fail the write; a 4xx refuses the records; retries run
// out make them retryable.
func (w *writer) requestFailed(ctx context.Context, seq int64, rows []int, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if s := httpdest.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
		return fmt.Errorf("sendgrid: %w", err)
	}
	w.ack(httpdest.Acks(seq, rows, httpdest.RequestFailed(err))...)
	return nil
}

// awaitJob polls an import job to its end and returns the refused
// emails with their reasons. A job that cannot be settled returns a
// *core.RecordError for all its records.
func (d *Destination) awaitJob(ctx context.Context, id string) (map[string]string, error) {
	deadline := time.Now().Add(d.jobTimeout)
	for {
		var job struct {
			Status  string `json:"status"`
			Results struct {
				ErroredCount int    `json:"errored_count"`
				ErrorsURL    string `json:"errors_url"`
			} `json:"results"`
		}
		if _, err := d.client.Do(ctx, http.MethodGet, "/v3/marketing/contacts/imports/"+url.PathEscape(id), nil, &job); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, httpdest.RecordErr("job_unknown", true, "SendGrid import job %s: %v", id, err)
		}
		switch job.Status {
		case "completed":
			return nil, nil
		case "errored", "failed":
			errs, err := d.jobErrors(ctx, job.Results.ErrorsURL)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				return nil, httpdest.RecordErr("job_"+job.Status, job.Status == "errored",
					"SendGrid import job %s %s (%d errors) and its errors file could not be read: %v", id, job.Status, job.Results.ErroredCount, err)
			}
			return errs, nil
		}
		if time.Now().After(deadline) {
			return nil, httpdest.RecordErr("job_timeout", true, "SendGrid import job %s still %s after %s", id, job.Status, d.jobTimeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d.pollInterval):
		}
	}
}

// jobErrors downloads an errors file: CSV, a header row naming an email
// column and an error (or message, reason) column.
func (d *Destination) jobErrors(ctx context.Context, link string) (map[string]string, error) {
	if link == "" {
		return nil, errors.New("no errors_url")
	}
	resp, err := d.download.Send(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.Status)
	}
	rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("errors file is not CSV: %v", err)
	}
	emailCol, msgCol := -1, -1
	for i, h := range rows[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case strings.Contains(h, "email") && emailCol < 0:
			emailCol = i
		case (strings.Contains(h, "error") || strings.Contains(h, "message") || strings.Contains(h, "reason")) && msgCol < 0:
			msgCol = i
		}
	}
	if emailCol < 0 {
		return nil, fmt.Errorf("errors file has no email column (header %q)", rows[0])
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		if emailCol >= len(r) {
			continue
		}
		msg := "refused"
		if msgCol >= 0 && msgCol < len(r) {
			msg = r[msgCol]
		}
		out[strings.ToLower(strings.TrimSpace(r[emailCol]))] = msg
	}
	return out, nil
}

// remove takes op's records out of the list: search their contact ids
// by email, then DELETE them from the list.
func (w *writer) remove(op core.Op) opqueue.Send {
	byEmail := map[string][]int{}
	var emails []string
	for i := 0; i < int(op.Batch.NumRows()); i++ {
		r, rerr := w.bound.Row(op.Batch, i)
		if rerr != nil {
			w.ack(core.Ack{Seq: op.Seq, Index: i, Err: rerr})
			continue
		}
		if byEmail[r.Email] == nil {
			emails = append(emails, r.Email)
		}
		byEmail[r.Email] = append(byEmail[r.Email], i)
	}
	seq := op.Seq
	op.Batch.Release()
	if len(emails) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		for from := 0; from < len(emails); from += maxSearch {
			chunk := emails[from:min(from+maxSearch, len(emails))]
			var rows []int
			for _, e := range chunk {
				rows = append(rows, byEmail[e]...)
			}
			if err := w.removeChunk(ctx, chunk); err != nil {
				if err := w.requestFailed(ctx, seq, rows, err); err != nil {
					return err
				}
				continue
			}
			w.ack(httpdest.Acks(seq, rows, nil)...)
		}
		return nil
	}
}

// removeChunk removes up to 100 emails' contacts from the list.
func (w *writer) removeChunk(ctx context.Context, emails []string) error {
	var found struct {
		Result map[string]struct {
			Contact *struct {
				ID string `json:"id"`
			} `json:"contact"`
		} `json:"result"`
	}
	_, err := w.d.client.Do(ctx, http.MethodPost, "/v3/marketing/contacts/search/emails", map[string][]string{"emails": emails}, &found)
	if httpdest.StatusOf(err) == http.StatusNotFound {
		return nil // none of them exists, so none is in the list
	}
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range emails {
		if c := found.Result[e].Contact; c != nil {
			ids = append(ids, c.ID)
		}
	}
	for k := 0; k < len(ids); k += maxRemoveIDs {
		part := ids[k:min(k+maxRemoveIDs, len(ids))]
		path := fmt.Sprintf("/v3/marketing/lists/%s/contacts?contact_ids=%s", url.PathEscape(w.list), url.QueryEscape(strings.Join(part, ",")))
		if _, err := w.d.client.Do(ctx, http.MethodDelete, path, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

func (d *Destination) Close() error { return nil }
