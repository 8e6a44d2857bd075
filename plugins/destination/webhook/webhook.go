// Package webhook is the webhook destination: it POSTs each batch of a
// segment's records as JSON to a configured URL, signed with
// HMAC-SHA256, paced and retried by the shared httpdest limiter.
//
// # Request
//
// Every request is POST <url> with Content-Type: application/json, the
// body a Batch (see its doc: batch_id, segment, operation, records of key
// and attributes) and these headers:
//
//	X-Segflow-Timestamp: 1767225600
//	X-Segflow-Signature: v1=<hex(HMAC-SHA256(secret, timestamp + "." + body))>
//	X-Segflow-Batch-Id:  <the body's batch_id>
//
// plus any configured headers (for instance an Authorization the
// receiver wants). A retry re-signs with a new timestamp; its body and
// batch_id are unchanged. A connection test (TestConnection) sends
// operation "test" with no records and no segment, which a receiver
// answers 2xx and otherwise ignores.
//
// # Verifying (receivers)
//
//  1. Read the raw body before parsing it.
//  2. Reject the request unless X-Segflow-Timestamp is within the replay
//     window (5 minutes is recommended) of your clock.
//  3. Compute hex(HMAC-SHA256(secret, timestamp + "." + body)) and compare
//     it, in constant time, with the hex after "v1=" in
//     X-Segflow-Signature (the header may list several comma-separated
//     signatures; one match suffices).
//  4. Optionally drop a batch_id already applied: retries repeat it.
//
// Verify does all of this for Go receivers. In Python:
//
//	mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
//	ok = abs(time.time() - int(ts)) <= 300 and hmac.compare_digest("v1=" + mac, sig)
//
// # Configuration
//
//	destinations:
//	  - name: crm-hook
//	    plugin: webhook
//	    config:
//	      url: https://hooks.example.com/segflow
//	      secret: ${SEGFLOW_WEBHOOK_SECRET}
//	      headers: {Authorization: "Bearer ${HOOK_TOKEN}"}
//	      batch_size: 500            # default 500, at most 10,000
//	      requests_per_second: 10    # default 10
//	      concurrency: 4             # default 4
//	      attributes: {score: rfm_score, note: "-"}
//	      phone_column: phone
//	      default_country_code: "44"
//
// # Response
//
// Any 2xx accepts the batch: every record, unless the body is a Response
// listing rejected records by key, which are then refused with the given
// reason (code default "rejected", permanent unless retryable). 429 and
// 5xx are retried with backoff (429 honouring Retry-After); when retries
// run out the batch's records fail as retryable. 401, 403, 404, 405 and
// 410 fail the write (the receiver or its URL is misconfigured); other
// 4xx refuse the batch's records permanently with the receiver's message.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
	"github.com/segflow/segflow/plugins/destination/internal/opqueue"
	"github.com/segflow/segflow/plugins/destination/internal/rowmap"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.1.0"

// Defaults and limits of the configuration.
const (
	DefaultBatchSize   = 500
	MaxBatchSize       = 10_000
	DefaultRate        = 10
	DefaultConcurrency = 4
)

// Config is the destination's section of segflow.yaml.
type Config struct {
	// URL receives the POSTs (http or https).
	URL string `json:"url"`
	// Secret signs every request; at least 16 bytes.
	Secret string `json:"secret"`
	// Headers are added to every request.
	Headers map[string]string `json:"headers"`
	// BatchSize is the most records per request; default 500, at most
	// 10,000.
	BatchSize int `json:"batch_size"`
	// RequestsPerSecond paces the requests; default 10.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Concurrency is the most requests outstanding at once; default 4.
	Concurrency int `json:"concurrency"`
	// Attributes renames columns (column -> field; "-" drops one); other
	// columns keep their names.
	Attributes map[string]string `json:"attributes"`
	// EmailColumn is lower-cased and checked; default "email".
	EmailColumn string `json:"email_column"`
	// PhoneColumn, when set, is sent in E.164, national numbers completed
	// with DefaultCountryCode.
	PhoneColumn        string `json:"phone_column"`
	DefaultCountryCode string `json:"default_country_code"`
	// Timeout bounds one request (Go duration); default 30s.
	Timeout string `json:"timeout"`
}

// Destination posts segment batches to a webhook.
type Destination struct {
	sdk.UnimplementedDestination
	cfg    Config
	client *httpdest.Client
}

var _ core.Destination = (*Destination)(nil)

// New returns an unconfigured webhook destination.
func New() *Destination { return &Destination{} }

// Info reports the configured batch size and pace (the defaults before
// Configure).
func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	c := d.cfg
	if c.BatchSize == 0 {
		c = withDefaults(c)
	}
	return core.DestinationInfo{Name: "webhook", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(c.BatchSize),
		RateLimit:          core.RateLimit{RequestsPerSecond: c.RequestsPerSecond, Burst: 1, Concurrency: c.Concurrency},
		MaxInFlightBatches: 2 * c.Concurrency,
	}}, nil
}

func withDefaults(c Config) Config {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = DefaultRate
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.EmailColumn == "" {
		c.EmailColumn = "email"
	}
	if c.Timeout == "" {
		c.Timeout = "30s"
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
	if u, err := url.Parse(cfg.URL); cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "must be an http or https URL")
	}
	if len(cfg.Secret) < 16 {
		add("secret", "must be at least 16 bytes (use ${ENV} to keep it out of the file)")
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		add("batch_size", "must be between 1 and %d", MaxBatchSize)
	}
	if cfg.RequestsPerSecond < 0 {
		add("requests_per_second", "must be positive")
	}
	if cfg.Concurrency < 1 {
		add("concurrency", "must be at least 1")
	}
	for _, p := range rowmap.CheckAttributes(cfg.Attributes) {
		add("attributes", "%s", p)
	}
	if cfg.DefaultCountryCode != "" && !httpdest.ValidCountryCode(cfg.DefaultCountryCode) {
		add("default_country_code", "must be a country calling code such as 44 or +1")
	}
	timeout, err := time.ParseDuration(cfg.Timeout)
	if err != nil || timeout <= 0 {
		add("timeout", "must be a positive Go duration such as 30s")
	}
	for k := range cfg.Headers {
		if http.CanonicalHeaderKey(k) == HeaderSignature || http.CanonicalHeaderKey(k) == HeaderTimestamp || http.CanonicalHeaderKey(k) == HeaderBatchID {
			add("headers", "%s is set by segflow", k)
		}
	}
	if len(bad) > 0 {
		return bad
	}
	h := http.Header{}
	secrets := []string{cfg.Secret}
	for k, v := range cfg.Headers {
		h.Set(k, v)
		secrets = append(secrets, v)
	}
	h.Set("User-Agent", "segflow-webhook/"+Version)
	d.cfg = cfg
	d.client = &httpdest.Client{
		BaseURL: cfg.URL,
		HTTP:    &http.Client{Timeout: timeout, Transport: &signer{secret: []byte(cfg.Secret), next: http.DefaultTransport}},
		Limiter: httpdest.NewLimiter(httpdest.Limits{RequestsPerSecond: cfg.RequestsPerSecond, Burst: 1, Concurrency: cfg.Concurrency}),
		Header:  h,
		Secrets: secrets,
	}
	return nil
}

// signer signs every attempt of a request as it is sent, so a retry
// carries a fresh timestamp; the batch id comes from the context.
type signer struct {
	secret []byte
	next   http.RoundTripper
}

type batchIDKey struct{}

func (s *signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderSignature, Sign(s.secret, ts, body))
	if id, ok := req.Context().Value(batchIDKey{}).(string); ok {
		r.Header.Set(HeaderBatchID, id)
	}
	return s.next.RoundTrip(r)
}

// TestConnection posts a signed "test" batch with no records.
func (d *Destination) TestConnection(ctx context.Context) error {
	if d.client == nil {
		return fmt.Errorf("webhook: not configured")
	}
	id := "test-" + randomID()
	ctx = context.WithValue(ctx, batchIDKey{}, id)
	resp, err := d.client.Send(ctx, http.MethodPost, "", Batch{BatchID: id, Operation: "test", Records: []Record{}})
	if err != nil {
		return fmt.Errorf("webhook %s: %w", d.where(), err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return fmt.Errorf("webhook %s: HTTP %d: %s", d.where(), resp.Status, httpdest.Redact(httpdest.ErrorMessage(resp.Body), d.client.Secrets...))
	}
	return nil
}

// where is the URL without credentials or query, for messages.
func (d *Destination) where() string {
	u, err := url.Parse(d.cfg.URL)
	if err != nil {
		return "(url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Outputs names the receiving URL.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	return []string{fmt.Sprintf("%s (segment %q)", d.where(), segment)}, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Write posts each batch as one request, several at once within the
// configured concurrency.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	if d.client == nil {
		return core.WriteSummary{}, fmt.Errorf("webhook: not configured")
	}
	spec := rowmap.Spec{Attributes: d.cfg.Attributes, EmailColumn: d.cfg.EmailColumn, PhoneColumn: d.cfg.PhoneColumn, DefaultCountryCode: d.cfg.DefaultCountryCode}
	bound, err := spec.Bind(h)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("webhook: %w", err)
	}
	writeID := randomID()
	err = opqueue.Run(ctx, ops, d.cfg.Concurrency, func(ctx context.Context, op core.Op) (opqueue.Send, error) {
		batch, rows := d.build(h.Segment, writeID, op, bound, ack)
		op.Batch.Release()
		if len(rows) == 0 {
			return nil, nil
		}
		return func(ctx context.Context) error { return d.send(ctx, op.Seq, batch, rows, ack) }, nil
	})
	if err != nil {
		return core.WriteSummary{}, err
	}
	return core.WriteSummary{Outputs: []string{d.where()}}, nil
}

// build makes op's request body; records refused before sending (an
// invalid email or phone) are acknowledged with their error at once.
// rows maps the body's records to their indexes in the batch.
func (d *Destination) build(segment, writeID string, op core.Op, b *rowmap.Bound, ack func(...core.Ack)) (Batch, []int) {
	batch := Batch{BatchID: fmt.Sprintf("%s-%d", writeID, op.Seq), Segment: segment, Operation: op.Kind.String()}
	var rows []int
	for i := 0; i < int(op.Batch.NumRows()); i++ {
		r, rerr := b.Row(op.Batch, i)
		if rerr != nil {
			ack(core.Ack{Seq: op.Seq, Index: i, Err: rerr})
			continue
		}
		batch.Records = append(batch.Records, Record{Key: r.Key, Attributes: b.Values(op.Batch, r)})
		rows = append(rows, i)
	}
	return batch, rows
}

// send posts one batch and acknowledges its records from the answer.
func (d *Destination) send(ctx context.Context, seq int64, batch Batch, rows []int, ack func(...core.Ack)) error {
	resp, err := d.client.Send(context.WithValue(ctx, batchIDKey{}, batch.BatchID), http.MethodPost, "", batch)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		// Retries ran out (429, 5xx, network): the records may succeed later.
		ack(httpdest.Acks(seq, rows, httpdest.RequestFailed(err))...)
		return nil
	}
	switch s := resp.Status; {
	case s >= 200 && s <= 299:
	case s == 401 || s == 403 || s == 404 || s == 405 || s == 410:
		return fmt.Errorf("webhook %s refused the request: HTTP %d: %s", d.where(), s, httpdest.Redact(httpdest.ErrorMessage(resp.Body), d.client.Secrets...))
	default:
		e := httpdest.RecordErr(fmt.Sprintf("http_%d", s), false, "webhook answered HTTP %d: %s", s, httpdest.Redact(httpdest.ErrorMessage(resp.Body), d.client.Secrets...))
		ack(httpdest.Acks(seq, rows, e)...)
		return nil
	}
	var answer Response
	if json.Unmarshal(resp.Body, &answer) != nil {
		answer = Response{} // not our JSON: everything accepted
	}
	rejected := map[string]Rejection{}
	for _, r := range answer.Rejected {
		rejected[r.Key] = r
	}
	acks := make([]core.Ack, len(rows))
	for k, i := range rows {
		acks[k] = core.Ack{Seq: seq, Index: i}
		if r, ok := rejected[batch.Records[k].Key]; ok {
			code := r.Code
			if code == "" {
				code = "rejected"
			}
			reason := r.Reason
			if reason == "" {
				reason = "rejected by the webhook receiver"
			}
			acks[k].Err = &core.RecordError{Code: code, Message: reason, Retryable: r.Retryable}
		}
	}
	ack(acks...)
	return nil
}

func (d *Destination) Close() error { return nil }
