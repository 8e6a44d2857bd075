// Package hubspot is the HubSpot CRM destination
// (shared/reference/outbound-apis.md §6). A segment is a MANUAL (or
// SNAPSHOT) contact list:
//
//   - upserts go to POST /crm/v3/objects/contacts/batch/upsert, at most
//     100 inputs keyed by email ({"idProperty":"email","id":...}); a 207
//     answer's errors[] refuse the inputs they name in context.ids (code:
//     the error's category in lower case, e.g. validation_error), the
//     others are acknowledged once their record ids are added to the list
//     with PUT /crm/v3/lists/{id}/memberships/add;
//   - removes look the record ids up with POST
//     /crm/v3/objects/contacts/batch/read (by email) and take them out
//     with PUT /crm/v3/lists/{id}/memberships/remove; a contact HubSpot
//     does not know is not in the list, so its remove is acknowledged;
//   - a record without an email is refused (missing_email). Columns
//     become contact properties by name (or as mapped by attributes),
//     as text (numbers at full precision, dates YYYY-MM-DD, timestamps
//     RFC 3339); NULLs are left out. Every property must exist: a write
//     first reads GET /crm/v3/properties/contacts and fails, naming them,
//     if some do not (create them in HubSpot, or map or drop the columns).
//     Use a custom property for stages: the built-in lifecyclestage only
//     moves forward.
//
// Auth is a private app token (Bearer). Requests are paced by httpdest
// within HubSpot's rolling window (100 requests per 10 s on Free and
// Starter, 190 on Professional and Enterprise: requests_per_10s) and
// retried on 429 after its Retry-After.
//
// # Configuration
//
//	destinations:
//	  - name: hubspot
//	    plugin: hubspot
//	    config:
//	      access_token: ${HUBSPOT_TOKEN}
//	      list_id: "123"             # a MANUAL list; every segment not in lists
//	      lists: {champions: "456"}
//	      attributes: {customer_id: segflow_customer_id, segment: segflow_stage, note: "-"}
//	      requests_per_10s: 100      # 190 on Professional and Enterprise
package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
	"github.com/segflow/segflow/plugins/destination/internal/opqueue"
	"github.com/segflow/segflow/plugins/destination/internal/rowmap"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.1.0"

// Limits and defaults.
const (
	MaxInputs     = 100
	DefaultPer10s = 100
	workers       = 4
)

// Config is the destination's section of segflow.yaml.
type Config struct {
	// AccessToken is a private app token (pat-...), from ${ENV}.
	AccessToken string `json:"access_token"`
	// BaseURL overrides https://api.hubapi.com (a stand-in, a proxy).
	BaseURL string `json:"base_url"`
	// ListID is the list of every segment not in Lists.
	ListID string `json:"list_id"`
	// Lists maps segment names to list ids.
	Lists map[string]string `json:"lists"`
	// Attributes maps columns to property names ("-" drops a column).
	Attributes map[string]string `json:"attributes"`
	// EmailColumn identifies contacts; default "email".
	EmailColumn string `json:"email_column"`
	// PhoneColumn is normalised to E.164 (national numbers completed with
	// DefaultCountryCode).
	PhoneColumn        string `json:"phone_column"`
	DefaultCountryCode string `json:"default_country_code"`
	// BatchSize is the most contacts per request; default and maximum 100.
	BatchSize int `json:"batch_size"`
	// RequestsPer10s is the account's rolling limit: 100 (Free, Starter;
	// the default) or 190 (Professional, Enterprise).
	RequestsPer10s int `json:"requests_per_10s"`
}

// Destination publishes segments to HubSpot lists.
type Destination struct {
	sdk.UnimplementedDestination
	cfg    Config
	client *httpdest.Client
}

var _ core.Destination = (*Destination)(nil)

// New returns an unconfigured HubSpot destination.
func New() *Destination { return &Destination{} }

func withDefaults(c Config) Config {
	if c.EmailColumn == "" {
		c.EmailColumn = "email"
	}
	if c.BatchSize == 0 {
		c.BatchSize = MaxInputs
	}
	if c.RequestsPer10s == 0 {
		c.RequestsPer10s = DefaultPer10s
	}
	if c.BaseURL == "" {
		c.BaseURL = "https://api.hubapi.com"
	}
	return c
}

// Info: removes supported, 100 contacts per batch, the rolling rate.
// An upsert batch takes two requests (upsert, list add).
func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	c := withDefaults(d.cfg)
	return core.DestinationInfo{Name: "hubspot", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(c.BatchSize),
		RateLimit:          core.RateLimit{RequestsPerSecond: float64(c.RequestsPer10s) / 10, Burst: c.RequestsPer10s, Concurrency: workers},
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
	if cfg.AccessToken == "" {
		add("access_token", "is required (a private app token; use ${HUBSPOT_TOKEN})")
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("base_url", "must be an http or https URL")
	}
	if cfg.ListID == "" && len(cfg.Lists) == 0 {
		add("list_id", "is required unless lists maps every segment to a list id")
	}
	for seg, id := range cfg.Lists {
		if id == "" {
			add("lists", "segment %q has an empty list id", seg)
		}
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxInputs {
		add("batch_size", "must be between 1 and %d (HubSpot's batch limit)", MaxInputs)
	}
	if cfg.RequestsPer10s < 1 {
		add("requests_per_10s", "must be at least 1 (100 on Free and Starter, 190 on Professional and Enterprise)")
	}
	for _, p := range rowmap.CheckAttributes(cfg.Attributes) {
		add("attributes", "%s", p)
	}
	if cfg.DefaultCountryCode != "" && !httpdest.ValidCountryCode(cfg.DefaultCountryCode) {
		add("default_country_code", "must be a country calling code such as 44 or +1")
	}
	if len(bad) > 0 {
		return bad
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+cfg.AccessToken)
	d.cfg = cfg
	d.client = &httpdest.Client{
		BaseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		Limiter: httpdest.NewLimiter(httpdest.Limits{Concurrency: workers,
			Windows: []httpdest.Window{{Requests: cfg.RequestsPer10s, Per: 10 * time.Second}}}),
		Header:  h,
		Secrets: []string{cfg.AccessToken},
	}
	return nil
}

func (d *Destination) listFor(segment string) (string, error) {
	id, ok := d.targets().For(segment)
	if !ok {
		return "", fmt.Errorf("hubspot: no list for segment %q: add it to lists or set list_id", segment)
	}
	return id, nil
}

func (d *Destination) targets() httpdest.Targets[string] {
	return httpdest.Targets[string]{Default: d.cfg.ListID, BySegment: d.cfg.Lists}
}

// TestConnection reads the contact properties (authenticated, changes
// nothing) and checks every configured list exists and takes manual
// membership.
func (d *Destination) TestConnection(ctx context.Context) error {
	if d.client == nil {
		return errors.New("hubspot: not configured")
	}
	if _, err := d.properties(ctx); err != nil {
		return err
	}
	for _, id := range d.targets().All() {
		var got struct {
			List struct {
				ProcessingType string `json:"processingType"`
			} `json:"list"`
		}
		if _, err := d.client.Do(ctx, http.MethodGet, "/crm/v3/lists/"+url.PathEscape(id), nil, &got); err != nil {
			return fmt.Errorf("hubspot: list %s: %w", id, err)
		}
		if t := got.List.ProcessingType; t != "MANUAL" && t != "SNAPSHOT" {
			return fmt.Errorf("hubspot: list %s is %s; segflow needs a MANUAL or SNAPSHOT list", id, t)
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
	return []string{"HubSpot list " + id}, nil
}

func (d *Destination) properties(ctx context.Context) (map[string]bool, error) {
	var got struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	if _, err := d.client.Do(ctx, http.MethodGet, "/crm/v3/properties/contacts", nil, &got); err != nil {
		return nil, fmt.Errorf("hubspot: %w", err)
	}
	out := map[string]bool{}
	for _, p := range got.Results {
		out[p.Name] = true
	}
	return out, nil
}

// Write upserts or removes each batch, several at once.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	if d.client == nil {
		return core.WriteSummary{}, errors.New("hubspot: not configured")
	}
	list, err := d.listFor(h.Segment)
	if err != nil {
		return core.WriteSummary{}, err
	}
	spec := rowmap.Spec{Attributes: d.cfg.Attributes, EmailColumn: d.cfg.EmailColumn, PhoneColumn: d.cfg.PhoneColumn,
		DefaultCountryCode: d.cfg.DefaultCountryCode, EmailRequired: true, Skip: []string{d.cfg.EmailColumn}}
	bound, err := spec.Bind(h)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("hubspot: %w", err)
	}
	props, err := d.properties(ctx)
	if err != nil {
		return core.WriteSummary{}, err
	}
	var missing []string
	for _, f := range bound.Fields {
		if !props[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return core.WriteSummary{}, fmt.Errorf("hubspot: contact properties %s do not exist; create them in HubSpot (Settings > Properties) or map the columns to existing properties with attributes (\"-\" drops a column)",
			strings.Join(missing, ", "))
	}
	w := &writer{d: d, list: list, bound: bound, ack: ack}
	err = opqueue.Run(ctx, ops, workers, func(ctx context.Context, op core.Op) (opqueue.Send, error) {
		return w.prepare(op), nil
	})
	if err != nil {
		return core.WriteSummary{}, err
	}
	return core.WriteSummary{Outputs: []string{"HubSpot list " + list}}, nil
}

type writer struct {
	d     *Destination
	list  string
	bound *rowmap.Bound
	ack   func(...core.Ack)
}

// input is one email's contact: HubSpot refuses a batch naming an id
// twice, so records sharing an email share the input and its outcome.
type input struct {
	email string
	props map[string]string
	rows  []int
}

// prepare reads op's records into inputs, refusing those without a
// usable email at once.
func (w *writer) prepare(op core.Op) opqueue.Send {
	var inputs []*input
	byEmail := map[string]*input{}
	for i := 0; i < int(op.Batch.NumRows()); i++ {
		r, rerr := w.bound.Row(op.Batch, i)
		if rerr != nil {
			w.ack(core.Ack{Seq: op.Seq, Index: i, Err: rerr})
			continue
		}
		in := byEmail[r.Email]
		if in == nil {
			in = &input{email: r.Email}
			byEmail[r.Email] = in
			inputs = append(inputs, in)
		}
		in.rows = append(in.rows, i)
		if op.Kind == core.Upsert {
			// The last record of an email wins. email is sent as a
			// property too, so that the answer's results name it.
			in.props = w.bound.TextValues(op.Batch, r)
			in.props["email"] = r.Email
		}
	}
	seq, kind := op.Seq, op.Kind
	op.Batch.Release()
	if len(inputs) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		var outcome map[*input]*core.RecordError
		var err error
		if kind == core.Remove {
			outcome, err = w.remove(ctx, inputs)
		} else {
			outcome, err = w.upsert(ctx, inputs)
		}
		if err != nil {
			return err
		}
		var acks []core.Ack
		for _, in := range inputs {
			acks = append(acks, httpdest.Acks(seq, in.rows, outcome[in])...)
		}
		w.ack(acks...)
		return nil
	}
}

// batchResponse is the answer of the batch endpoints (200 or 207).
type batchResponse struct {
	Results []struct {
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	} `json:"results"`
	NumErrors int `json:"numErrors"`
	Errors    []struct {
		Category string `json:"category"`
		Message  string `json:"message"`
		Context  struct {
			IDs []string `json:"ids"`
		} `json:"context"`
	} `json:"errors"`
}

// send posts a batch request and sorts the outcome: record ids by email,
// and errors by email.
func (w *writer) send(ctx context.Context, path string, body any, inputs []*input) (ids map[string]string, failed map[string]*core.RecordError, err error) {
	resp, err := w.d.client.Send(ctx, http.MethodPost, path, body)
	if err != nil {
		err = w.requestFailed(ctx, err, inputs, &failed)
		return nil, failed, err
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusMultiStatus {
		herr := &httpdest.Error{Method: http.MethodPost, Path: path, Status: resp.Status,
			Message: httpdest.Redact(httpdest.ErrorMessage(resp.Body), w.d.client.Secrets...)}
		err = w.requestFailed(ctx, herr, inputs, &failed)
		return nil, failed, err
	}
	var br batchResponse
	if err := json.Unmarshal(resp.Body, &br); err != nil {
		return nil, nil, fmt.Errorf("hubspot: POST %s: cannot decode the response: %v", path, err)
	}
	ids, failed = map[string]string{}, map[string]*core.RecordError{}
	for i, r := range br.Results {
		email := strings.ToLower(r.Properties["email"])
		if email == "" && len(br.Results) == len(inputs) && len(br.Errors) == 0 {
			email = inputs[i].email // all succeeded: results follow the inputs
		}
		ids[email] = r.ID
	}
	for _, e := range br.Errors {
		rerr := httpdest.RecordErr(strings.ToLower(e.Category), false, "HubSpot: %s", e.Message)
		for _, id := range e.Context.IDs {
			failed[strings.ToLower(id)] = rerr
		}
	}
	return ids, failed, nil
}

// requestFailed: bad credentials fail the write; any other refusal of
// the whole request refuses its records (permanent for a 4xx, retryable
// when retries ran out).
func (w *writer) requestFailed(ctx context.Context, err error, inputs []*input, failed *map[string]*core.RecordError) error {
	if ctx.Err() != nil {
		return err
	}
	if s := httpdest.StatusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
		return fmt.Errorf("hubspot: %w", err)
	}
	rerr := httpdest.RequestFailed(err)
	*failed = map[string]*core.RecordError{}
	for _, in := range inputs {
		(*failed)[in.email] = rerr
	}
	return nil
}

func (w *writer) upsert(ctx context.Context, inputs []*input) (map[*input]*core.RecordError, error) {
	type upsertInput struct {
		IDProperty string            `json:"idProperty"`
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	}
	body := struct {
		Inputs []upsertInput `json:"inputs"`
	}{}
	for _, in := range inputs {
		body.Inputs = append(body.Inputs, upsertInput{IDProperty: "email", ID: in.email, Properties: in.props})
	}
	ids, failed, err := w.send(ctx, "/crm/v3/objects/contacts/batch/upsert", body, inputs)
	if err != nil {
		return nil, err
	}
	out := map[*input]*core.RecordError{}
	var add []string
	for _, in := range inputs {
		switch {
		case failed[in.email] != nil:
			out[in] = failed[in.email]
		case ids[in.email] == "":
			out[in] = httpdest.RecordErr("unconfirmed", true, "HubSpot's answer names neither a record nor an error for %s", in.email)
		default:
			add = append(add, ids[in.email])
		}
	}
	if len(add) == 0 {
		return out, nil
	}
	var added struct {
		Missing []string `json:"recordIdsMissing"`
	}
	path := "/crm/v3/lists/" + url.PathEscape(w.list) + "/memberships/add"
	if _, err := w.d.client.Do(ctx, http.MethodPut, path, add, &added); err != nil {
		var failed map[string]*core.RecordError
		if err := w.requestFailed(ctx, err, inputs, &failed); err != nil {
			return nil, err
		}
		for _, in := range inputs {
			if out[in] == nil {
				out[in] = failed[in.email]
			}
		}
		return out, nil
	}
	for _, in := range inputs {
		if out[in] == nil && slices.Contains(added.Missing, ids[in.email]) {
			out[in] = httpdest.RecordErr("not_added", true, "HubSpot did not find record %s (%s) to add to list %s", ids[in.email], in.email, w.list)
		}
	}
	return out, nil
}

func (w *writer) remove(ctx context.Context, inputs []*input) (map[*input]*core.RecordError, error) {
	body := map[string]any{"idProperty": "email", "properties": []string{"email"}}
	var ins []map[string]string
	for _, in := range inputs {
		ins = append(ins, map[string]string{"id": in.email})
	}
	body["inputs"] = ins
	ids, failed, err := w.send(ctx, "/crm/v3/objects/contacts/batch/read", body, inputs)
	if err != nil {
		return nil, err
	}
	out := map[*input]*core.RecordError{}
	var remove []string
	for _, in := range inputs {
		if id := ids[in.email]; id != "" {
			remove = append(remove, id)
		} else if e := failed[in.email]; e != nil && e.Code != "object_not_found" {
			out[in] = e // not found: not in the list, so removed
		}
	}
	if len(remove) == 0 {
		return out, nil
	}
	path := "/crm/v3/lists/" + url.PathEscape(w.list) + "/memberships/remove"
	if _, err := w.d.client.Do(ctx, http.MethodPut, path, remove, nil); err != nil {
		var failed map[string]*core.RecordError
		if err := w.requestFailed(ctx, err, inputs, &failed); err != nil {
			return nil, err
		}
		for _, in := range inputs {
			if out[in] == nil && ids[in.email] != "" {
				out[in] = failed[in.email]
			}
		}
	}
	return out, nil
}

func (d *Destination) Close() error { return nil }
