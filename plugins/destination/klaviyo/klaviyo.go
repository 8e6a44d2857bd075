// Package klaviyo is the Klaviyo destination: it upserts segment members
// as Klaviyo profiles and keeps the segment's membership as a static
// Klaviyo list, through the JSON:API (revision-dated).
//
// # How records travel
//
//   - Upserts: one profile bulk import job per batch (POST
//     /api/profile-bulk-import-jobs, ≤10,000 profiles and ≤5 MB; a larger
//     payload is split into several jobs) with the segment's list in
//     its relationships, so profiles are upserted and added to the list
//     in one go. The job is polled (GET …/{id}) until complete; its
//     import errors (GET …/{id}/import-errors, pages of 100) are the
//     errors of their records (code: Klaviyo's error code, e.g.
//     "invalid"; permanent); every other record is acknowledged. A
//     cancelled job fails its records as retryable.
//   - Removes: the profiles' ids are looked up by email (GET
//     /api/profiles?filter=any(email,[…]), 100 at a time) and deleted
//     from the list (DELETE /api/lists/{id}/relationships/profiles, ≤1000
//     ids). A profile Klaviyo does not know is not in the list: it is
//     acknowledged. Removes need the email column filled.
//   - Identity: the email, trimmed and lower-cased; a record without one
//     is refused ("missing_email"), a malformed one too
//     ("invalid_email"). external_id is the key column (customer_id)
//     unless external_id_column says otherwise; phone_number is E.164
//     (see httpdest.NormalizePhone; default_country_code for national
//     numbers; a bad number is "invalid_phone").
//
// Limits: each endpoint allows a burst per second and a steady rate per
// minute (bulk import jobs and list relationships: 10/s, 150/min); the
// destination keeps to both with one limiter per endpoint and, on 429,
// waits the Retry-After and retries.
//
// # Configuration
//
//	destinations:
//	  - name: klaviyo
//	    plugin: klaviyo
//	    config:
//	      api_key: ${KLAVIYO_API_KEY}     # pk_…
//	      list_id: XyZ123                 # default list
//	      lists: {champions: AbC456}      # per-segment lists
//	      properties: {rfm_cell: rfm_cell, monetary: monetary}
//	      phone_column: phone             # optional, sent as E.164
//	      default_country_code: "44"
//	      batch_size: 10000               # ≤ 10,000 profiles per job
//	      jobs_in_flight: 8
//	      poll_interval: 1s
//	      burst_limit: 10                 # per second, per endpoint
//	      steady_limit: 150               # per steady_window (1m)
package klaviyo

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

// Klaviyo's documented limits.
const (
	MaxProfiles   = 10_000  // profiles per bulk import job
	MaxJobBytes   = 5 << 20 // bytes per bulk import job
	MaxListIDs    = 1000    // profile ids per list relationships request
	DefaultRev    = "2024-10-15"
	defaultBurst  = 10  // per second
	defaultSteady = 150 // per minute
)

// Config is the destination's configuration.
type Config struct {
	// APIKey is the private API key (pk_…); from ${ENV} in YAML.
	APIKey string `json:"api_key"`
	// Revision is the API revision header; default 2024-10-15.
	Revision string `json:"revision"`
	// ListID is the list segment members are added to; Lists overrides
	// it per segment name.
	ListID string            `json:"list_id"`
	Lists  map[string]string `json:"lists"`
	// EmailColumn holds the email (default "email"); PhoneColumn an
	// optional phone number; ExternalIDColumn the external_id (default:
	// the write's key column).
	EmailColumn      string `json:"email_column"`
	PhoneColumn      string `json:"phone_column"`
	ExternalIDColumn string `json:"external_id_column"`
	// DefaultCountryCode is put before national phone numbers ("44").
	DefaultCountryCode string `json:"default_country_code"`
	// Properties maps segment columns to custom profile properties.
	Properties map[string]string `json:"properties"`
	// BatchSize is the profiles per job, 1..10000; default 10000.
	BatchSize int `json:"batch_size"`
	// JobsInFlight is the import jobs running at once; default 8.
	JobsInFlight int `json:"jobs_in_flight"`
	// PollInterval is the wait between polls of a job; default "1s".
	PollInterval string `json:"poll_interval"`
	// BurstLimit (requests per second) and SteadyLimit (requests per
	// SteadyWindow, default "1m") are the account's per-endpoint limits;
	// defaults 10 and 150 (Klaviyo's M tier, which bulk import jobs and
	// list relationships use).
	BurstLimit   int    `json:"burst_limit"`
	SteadyLimit  int    `json:"steady_limit"`
	SteadyWindow string `json:"steady_window"`
	// ReadBurstLimit and ReadSteadyLimit are the limits of the reading
	// endpoints (job status, import errors, profiles, lists); defaults 75
	// and 700 per SteadyWindow (Klaviyo's L tier).
	ReadBurstLimit  int `json:"read_burst_limit"`
	ReadSteadyLimit int `json:"read_steady_limit"`
	// BaseURL replaces https://a.klaviyo.com/api (a stand-in).
	BaseURL string `json:"base_url"`
}

// Destination is the Klaviyo destination.
type Destination struct {
	sdk.UnimplementedDestination
	mu  sync.Mutex
	cfg Config
	api *apis
}

// apis are clients per endpoint family: Klaviyo limits each endpoint
// on its own.
type apis struct {
	jobs, polls, lists, reads *httpdest.Client
	poll                      time.Duration
}

// New returns an unconfigured destination.
func New() *Destination { return &Destination{} }

func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	burst, steady, window := limits(cfg)
	inFlight := or(cfg.JobsInFlight, 8)
	return core.DestinationInfo{Name: "klaviyo", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(or(cfg.BatchSize, MaxProfiles)),
		RateLimit:          core.RateLimit{RequestsPerSecond: min(float64(burst), float64(steady)/window.Seconds()), Burst: burst},
		Async:              true,
		MaxInFlightBatches: inFlight + 2,
	}}, nil
}

func limits(c Config) (burst, steady int, window time.Duration) {
	window = time.Minute
	if d, err := time.ParseDuration(c.SteadyWindow); err == nil && d > 0 {
		window = d
	}
	return or(c.BurstLimit, defaultBurst), or(c.SteadyLimit, defaultSteady), window
}

func or(v, def int) int {
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
		bad("api_key", "required: a private API key (use ${KLAVIYO_API_KEY})")
	}
	if c.ListID == "" && len(c.Lists) == 0 {
		bad("list_id", "required: the list segment members are added to (or lists per segment)")
	}
	c.Revision = orStr(c.Revision, DefaultRev)
	if _, err := time.Parse(time.DateOnly, c.Revision); err != nil {
		bad("revision", "must be a date, YYYY-MM-DD")
	}
	if c.DefaultCountryCode != "" && !httpdest.ValidCountryCode(c.DefaultCountryCode) {
		bad("default_country_code", "must be a country calling code such as 44 or +1")
	}
	for col, prop := range c.Properties {
		if strings.TrimSpace(prop) == "" {
			bad("properties."+col, "property name is empty")
		}
	}
	if c.BatchSize < 0 || c.BatchSize > MaxProfiles {
		bad("batch_size", "must be 1..%d (Klaviyo's bulk import limit)", MaxProfiles)
	}
	if c.JobsInFlight < 0 || c.JobsInFlight > 100 {
		bad("jobs_in_flight", "must be 1..100")
	}
	for field, v := range map[string]string{"poll_interval": c.PollInterval, "steady_window": c.SteadyWindow} {
		if d, err := time.ParseDuration(v); v != "" && (err != nil || d <= 0) {
			bad(field, "must be a positive duration such as 1s")
		}
	}
	if c.BurstLimit < 0 || c.SteadyLimit < 0 || c.ReadBurstLimit < 0 || c.ReadSteadyLimit < 0 {
		bad("burst_limit", "limits must be positive")
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base_url", "must be an http(s) URL")
		}
	}
	if len(fe) > 0 {
		return fe
	}
	c.EmailColumn = orStr(c.EmailColumn, "email")
	c.BatchSize, c.JobsInFlight = or(c.BatchSize, MaxProfiles), or(c.JobsInFlight, 8)
	poll := time.Second
	if c.PollInterval != "" {
		poll, _ = time.ParseDuration(c.PollInterval)
	}
	base := strings.TrimSuffix(orStr(c.BaseURL, "https://a.klaviyo.com/api"), "/")
	burst, steady, window := limits(c)
	client := func(burst, steady int) *httpdest.Client {
		return &httpdest.Client{
			BaseURL: base,
			Header: http.Header{
				"Authorization": {"Klaviyo-API-Key " + c.APIKey},
				"Revision":      {c.Revision},
				"Accept":        {"application/vnd.api+json"},
				"Content-Type":  {"application/vnd.api+json"},
			},
			// Sliding windows, not a token bucket: Klaviyo counts the
			// burst per second and the steady rate per minute.
			Limiter: httpdest.NewLimiter(httpdest.Limits{Windows: []httpdest.Window{
				{Requests: burst, Per: time.Second}, {Requests: steady, Per: window},
			}}),
			Retry:   httpdest.Retry{MaxDelay: 20 * time.Second},
			Secrets: []string{c.APIKey},
		}
	}
	rb, rs := or(c.ReadBurstLimit, 75), or(c.ReadSteadyLimit, 700)
	a := &apis{jobs: client(burst, steady), polls: client(rb, rs), lists: client(burst, steady), reads: client(rb, rs), poll: poll}
	d.mu.Lock()
	d.cfg, d.api = c, a
	d.mu.Unlock()
	return nil
}

func (d *Destination) state() (Config, *apis, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.api == nil {
		return Config{}, nil, errors.New("klaviyo: not configured")
	}
	return d.cfg, d.api, nil
}

func (c Config) list(segment string) string { return orStr(c.Lists[segment], c.ListID) }

// TestConnection reads the configured lists: a bad key or an unknown
// list is a one-line error saying which.
func (d *Destination) TestConnection(ctx context.Context) error {
	cfg, a, err := d.state()
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	if cfg.ListID != "" {
		ids[cfg.ListID] = true
	}
	for _, id := range cfg.Lists {
		ids[id] = true
	}
	for id := range ids {
		_, err := a.reads.Do(ctx, http.MethodGet, "/lists/"+url.PathEscape(id), nil, nil)
		switch httpdest.StatusOf(err) {
		case 0:
			if err != nil {
				return fmt.Errorf("klaviyo: cannot reach the API: %w", err)
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("klaviyo: the API key was refused (check api_key and its scopes): %w", err)
		case http.StatusNotFound:
			return fmt.Errorf("klaviyo: list %q not found: %w", id, err)
		default:
			return fmt.Errorf("klaviyo: %w", err)
		}
	}
	return nil
}

// Outputs names the segment's list.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	cfg, _, err := d.state()
	if err != nil {
		return nil, err
	}
	return []string{"klaviyo list " + cfg.list(segment)}, nil
}

func (d *Destination) Close() error { return nil }
