// Package braze is the Braze destination: it upserts segment members as
// Braze users through POST /users/track and keeps segment membership as
// a custom array attribute.
//
// # How records travel
//
//   - Identity: external_id is the key column (customer_id) unless
//     external_id_column says otherwise; a record without one is refused
//     ("missing_external_id"). email (trimmed, lower-cased; malformed:
//     "invalid_email") and phone (E.164 via httpdest.NormalizePhone with
//     default_country_code; bad: "invalid_phone") are sent when present.
//   - Upserts: up to 75 attributes objects per request (Braze's limit per
//     array), each {external_id, email, phone, mapped attributes,
//     <membership_attribute>: {"add": [segment]}}. NULL columns are left
//     out, so they never unset a Braze attribute.
//   - Membership: Braze has no static list API (segments are dashboard
//     filters), so membership is the custom array attribute
//     membership_attribute (default "segflow_segments"): a member gets
//     the segment's name added, a removed member has it removed
//     ({"remove": [segment]} with _update_existing_only, so a removal
//     never creates a user). A Braze segment filtering on
//     "segflow_segments includes <name>" then mirrors the segment.
//   - Per-record errors: a 201 answer's errors[] ({type, input_array,
//     index}) fail the objects at those indexes (code "invalid_email"
//     when the type is about the email, else "invalid_object";
//     permanent); every other object is acknowledged.
//
// Limits: /users/track allows 3,000 requests per 3 s per workspace
// (rate_limit per rate_window); the destination keeps to it and, on 429,
// waits for X-RateLimit-Reset (Braze sends no Retry-After).
//
// TestConnection: Braze has no read endpoint a users.track-scoped key
// may call, so it posts an empty /users/track ({"attributes": []}),
// which authenticates the key and changes nothing (verify against a
// real workspace: the shape of Braze's answer to an empty request is not
// in the reference).
//
// # Configuration
//
//	destinations:
//	  - name: braze
//	    plugin: braze
//	    config:
//	      api_key: ${BRAZE_API_KEY}
//	      endpoint: https://rest.iad-01.braze.com
//	      attributes: {rfm_cell: rfm_cell, segment: lifecycle_stage}
//	      membership_attribute: segflow_segments
//	      phone_column: phone             # optional, sent as E.164
//	      default_country_code: "1"
//	      batch_size: 75                  # ≤ 75 objects per request
//	      concurrency: 8
//	      rate_limit: 3000                # requests per rate_window
//	      rate_window: 3s
package braze

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.1.0"

// MaxObjects is the most attributes objects one /users/track takes.
const MaxObjects = 75

// Config is the destination's configuration.
type Config struct {
	// APIKey is the REST API key (users.track permission); from ${ENV}.
	APIKey string `json:"api_key"`
	// Endpoint is the instance's REST endpoint, e.g.
	// https://rest.iad-01.braze.com or https://rest.fra-01.braze.eu.
	Endpoint string `json:"endpoint"`
	// ExternalIDColumn (default: the key column), EmailColumn (default
	// "email" when the segment has it; "-" for none) and PhoneColumn
	// (optional) name the identity columns.
	ExternalIDColumn string `json:"external_id_column"`
	EmailColumn      string `json:"email_column"`
	PhoneColumn      string `json:"phone_column"`
	// DefaultCountryCode is put before national phone numbers ("44").
	DefaultCountryCode string `json:"default_country_code"`
	// Attributes maps segment columns to custom attributes.
	Attributes map[string]string `json:"attributes"`
	// MembershipAttribute is the array attribute holding segment names;
	// default "segflow_segments".
	MembershipAttribute string `json:"membership_attribute"`
	// BatchSize is objects per request, 1..75; default 75.
	BatchSize int `json:"batch_size"`
	// Concurrency is requests in flight; default 8.
	Concurrency int `json:"concurrency"`
	// RateLimit requests per RateWindow (default 3000 per "3s").
	RateLimit  int    `json:"rate_limit"`
	RateWindow string `json:"rate_window"`
}

// Destination is the Braze destination.
type Destination struct {
	sdk.UnimplementedDestination
	mu     sync.Mutex
	cfg    Config
	client *httpdest.Client
}

// New returns an unconfigured destination.
func New() *Destination { return &Destination{} }

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func window(c Config) time.Duration {
	if d, err := time.ParseDuration(c.RateWindow); err == nil && d > 0 {
		return d
	}
	return 3 * time.Second
}

func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	limit, conc := orInt(cfg.RateLimit, 3000), orInt(cfg.Concurrency, 8)
	return core.DestinationInfo{Name: "braze", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(orInt(cfg.BatchSize, MaxObjects)),
		RateLimit:          core.RateLimit{RequestsPerSecond: float64(limit) / window(cfg).Seconds(), Burst: limit, Concurrency: conc},
		MaxInFlightBatches: conc + 2,
	}}, nil
}

func (d *Destination) Configure(_ context.Context, raw json.RawMessage) error {
	var c Config
	if err := sdk.DecodeConfig(raw, &c); err != nil {
		return err
	}
	var fe core.FieldErrors
	bad := func(field, format string, args ...any) {
		fe = append(fe, &core.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.APIKey == "" {
		bad("api_key", "required: a REST API key with users.track (use ${BRAZE_API_KEY})")
	}
	if u, err := url.Parse(c.Endpoint); c.Endpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("endpoint", "required: the instance's REST endpoint URL, e.g. https://rest.iad-01.braze.com")
	}
	if c.DefaultCountryCode != "" && !httpdest.ValidCountryCode(c.DefaultCountryCode) {
		bad("default_country_code", "must be a country calling code such as 44 or +1")
	}
	c.MembershipAttribute = orStr(c.MembershipAttribute, "segflow_segments")
	for col, attr := range c.Attributes {
		switch {
		case strings.TrimSpace(attr) == "" || strings.HasPrefix(attr, "$"):
			bad("attributes."+col, "attribute name must be non-empty and not start with $")
		case attr == c.MembershipAttribute || attr == "external_id":
			bad("attributes."+col, "%q is used by segflow itself", attr)
		}
	}
	if c.BatchSize < 0 || c.BatchSize > MaxObjects {
		bad("batch_size", "must be 1..%d (Braze's objects per request)", MaxObjects)
	}
	if c.Concurrency < 0 || c.Concurrency > 64 {
		bad("concurrency", "must be 1..64")
	}
	if c.RateLimit < 0 {
		bad("rate_limit", "must be positive")
	}
	if d, err := time.ParseDuration(c.RateWindow); c.RateWindow != "" && (err != nil || d < time.Second) {
		bad("rate_window", "must be a duration of at least 1s")
	}
	if len(fe) > 0 {
		return fe
	}
	c.BatchSize, c.Concurrency, c.RateLimit = orInt(c.BatchSize, MaxObjects), orInt(c.Concurrency, 8), orInt(c.RateLimit, 3000)
	client := &httpdest.Client{
		BaseURL: strings.TrimSuffix(c.Endpoint, "/"),
		Header:  http.Header{"Authorization": {"Bearer " + c.APIKey}},
		// A sliding window keeps within any fixed window Braze counts.
		Limiter: httpdest.NewLimiter(httpdest.Limits{Concurrency: c.Concurrency, Windows: []httpdest.Window{{Requests: c.RateLimit, Per: window(c)}}}),
		Retry:   httpdest.Retry{MaxDelay: 10 * time.Second},
		Secrets: []string{c.APIKey},
	}
	d.mu.Lock()
	d.cfg, d.client = c, client
	d.mu.Unlock()
	return nil
}

func (d *Destination) state() (Config, *httpdest.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return Config{}, nil, errors.New("braze: not configured")
	}
	return d.cfg, d.client, nil
}

// TestConnection posts an empty /users/track: it checks the key and
// changes nothing.
func (d *Destination) TestConnection(ctx context.Context) error {
	_, c, err := d.state()
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, http.MethodPost, "/users/track", map[string]any{"attributes": []any{}}, nil)
	switch httpdest.StatusOf(err) {
	case 0:
		if err != nil {
			return fmt.Errorf("braze: cannot reach the endpoint: %w", err)
		}
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("braze: the API key was refused (check api_key, its users.track permission and the endpoint's instance): %w", err)
	case http.StatusNotFound:
		return fmt.Errorf("braze: endpoint has no /users/track (check endpoint): %w", err)
	}
	return fmt.Errorf("braze: %w", err)
}

// Outputs names the membership attribute value that mirrors the segment.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	cfg, _, err := d.state()
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("braze %s: users with %s includes %q", cfg.Endpoint, cfg.MembershipAttribute, segment)}, nil
}

func (d *Destination) Close() error { return nil }
