// Package mailchimp is the Mailchimp destination: it upserts segment
// members into one Mailchimp audience (list) and keeps the segment's
// membership as a tag on each member, through the Marketing API v3.
//
// # How records travel
//
//   - Upserts: POST /lists/{list_id} (batch subscribe, ≤500 members,
//     update_existing true, sync_tags false) with the member's email,
//     status_if_new, the mapped merge fields and the segment's tag. The
//     answer is 200 even when members fail: each entry of its errors[] is
//     the error of that member's record (code: Mailchimp's error_code
//     lower-cased, e.g. "error_generic"; permanent).
//   - Removes: the tag is a static segment; the member leaves it through
//     POST /lists/{list_id}/segments/{segment_id} members_to_remove
//     (≤500). The member stays in the audience. The segment id is looked
//     up by the tag's name (GET /lists/{list_id}/segments?type=static);
//     if no member was ever tagged there is nothing to remove. Removes
//     need the email column filled.
//   - Identity: the email, trimmed and lower-cased (Mailchimp's
//     subscriber hash is the MD5 of that, see SubscriberHash). A record
//     with no email is refused with code "missing_email", a malformed one
//     with "invalid_email", both permanent and never sent.
//
// Limits: Mailchimp allows 10 concurrent connections per key and answers
// 429 beyond; the destination keeps at most `concurrency` (≤10) requests
// in flight and retries 429s, 5xx and network errors with backoff.
//
// The API key's suffix after the last "-" is the data centre:
// "…-us6" talks to https://us6.api.mailchimp.com/3.0.
//
// # Configuration
//
//	destinations:
//	  - name: mailchimp
//	    plugin: mailchimp
//	    config:
//	      api_key: ${MAILCHIMP_API_KEY}   # "…-us6"; dc from the suffix
//	      list_id: a1b2c3d4e5             # the audience
//	      tag_prefix: "segflow: "         # tag = prefix + segment name
//	      merge_fields: {rfm_cell: RFM, segment: STAGE}  # must exist
//	      status_if_new: subscribed       # mind consent: or transactional
//	      batch_size: 500                 # ≤ 500
//	      concurrency: 10                 # ≤ 10
package mailchimp

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
	"github.com/segflow/segflow/plugins/sdk"
)

// Version of this plugin.
const Version = "0.1.0"

// MaxBatch is the most members one batch subscribe takes.
const MaxBatch = 500

// MaxConcurrent is Mailchimp's connection limit per key.
const MaxConcurrent = 10

// Config is the destination's configuration.
type Config struct {
	// APIKey is the Marketing API key ("…-us6"); from ${ENV} in YAML.
	APIKey string `json:"api_key"`
	// DC overrides the data centre taken from the key's suffix.
	DC string `json:"dc"`
	// ListID is the audience members are upserted into.
	ListID string `json:"list_id"`
	// TagPrefix is put before the segment name to make its tag; default
	// "" (tag = segment name).
	TagPrefix string `json:"tag_prefix"`
	// EmailColumn is the segment column holding the email; default
	// "email".
	EmailColumn string `json:"email_column"`
	// MergeFields maps segment columns to merge tags ("rfm_cell": "RFM");
	// the merge fields must exist in the audience.
	MergeFields map[string]string `json:"merge_fields"`
	// StatusIfNew is the status of members new to the audience:
	// subscribed (default), pending, unsubscribed, cleaned or
	// transactional.
	StatusIfNew string `json:"status_if_new"`
	// BatchSize is the members per request, 1..500; default 500.
	BatchSize int `json:"batch_size"`
	// Concurrency is the requests in flight, 1..10; default 10.
	Concurrency int `json:"concurrency"`
	// BaseURL replaces https://{dc}.api.mailchimp.com/3.0 (a stand-in).
	BaseURL string `json:"base_url"`
}

// Destination is the Mailchimp destination.
type Destination struct {
	sdk.UnimplementedDestination
	mu     sync.Mutex
	cfg    Config
	client *httpdest.Client
}

// New returns an unconfigured destination.
func New() *Destination { return &Destination{} }

// SubscriberHash is Mailchimp's member id: the hex MD5 of the lower-cased
// email.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:])
}

var (
	dcPattern       = regexp.MustCompile(`^[a-z]+[0-9]+$`)
	mergeTagPattern = regexp.MustCompile(`^[A-Z0-9_]{1,10}$`)
	statuses        = map[string]bool{"subscribed": true, "pending": true, "unsubscribed": true, "cleaned": true, "transactional": true}
)

func (d *Destination) Info(context.Context) (core.DestinationInfo, error) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	batch, conc := cmpOr(cfg.BatchSize, MaxBatch), cmpOr(cfg.Concurrency, MaxConcurrent)
	return core.DestinationInfo{Name: "mailchimp", Version: Version, Capabilities: core.DestinationCapabilities{
		SupportsRemove:     true,
		MaxBatchRecords:    int64(batch),
		RateLimit:          core.RateLimit{Concurrency: conc},
		MaxInFlightBatches: conc + 2,
	}}, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
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
		bad("api_key", "required: the Marketing API key (use ${MAILCHIMP_API_KEY})")
	}
	if c.DC == "" && c.APIKey != "" {
		if i := strings.LastIndex(c.APIKey, "-"); i >= 0 {
			c.DC = c.APIKey[i+1:]
		}
	}
	if c.BaseURL == "" {
		if !dcPattern.MatchString(c.DC) {
			bad("dc", "cannot tell the data centre: the API key has no \"-us6\"-style suffix; set dc")
		}
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("base_url", "must be an http(s) URL")
	}
	if c.ListID == "" {
		bad("list_id", "required: the audience id")
	}
	c.EmailColumn = cmpOrStr(c.EmailColumn, "email")
	for col, tag := range c.MergeFields {
		if !mergeTagPattern.MatchString(tag) {
			bad("merge_fields."+col, "merge tag %q must be 1-10 upper-case letters, digits or _", tag)
		}
	}
	c.StatusIfNew = cmpOrStr(c.StatusIfNew, "subscribed")
	if !statuses[c.StatusIfNew] {
		bad("status_if_new", "must be subscribed, pending, unsubscribed, cleaned or transactional")
	}
	if c.BatchSize < 0 || c.BatchSize > MaxBatch {
		bad("batch_size", "must be 1..%d (Mailchimp's batch limit)", MaxBatch)
	}
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrent {
		bad("concurrency", "must be 1..%d (Mailchimp's connection limit)", MaxConcurrent)
	}
	if len(fe) > 0 {
		return fe
	}
	c.BatchSize, c.Concurrency = cmpOr(c.BatchSize, MaxBatch), cmpOr(c.Concurrency, MaxConcurrent)
	base := strings.TrimSuffix(c.BaseURL, "/")
	if base == "" {
		base = "https://" + c.DC + ".api.mailchimp.com/3.0"
	}
	basic := base64.StdEncoding.EncodeToString([]byte("segflow:" + c.APIKey))
	client := &httpdest.Client{
		BaseURL: base,
		Header:  http.Header{"Authorization": {"Basic " + basic}},
		Limiter: httpdest.NewLimiter(httpdest.Limits{Concurrency: c.Concurrency}),
		Retry:   httpdest.Retry{MaxDelay: 10 * time.Second},
		Secrets: []string{c.APIKey, basic},
	}
	d.mu.Lock()
	d.cfg, d.client = c, client
	d.mu.Unlock()
	return nil
}

func cmpOrStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (d *Destination) state() (Config, *httpdest.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return Config{}, nil, errors.New("mailchimp: not configured")
	}
	return d.cfg, d.client, nil
}

// TestConnection reads the audience: a bad key or an unknown list_id is
// a one-line error saying which.
func (d *Destination) TestConnection(ctx context.Context) error {
	cfg, c, err := d.state()
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, http.MethodGet, "/lists/"+url.PathEscape(cfg.ListID)+"?fields=id,name", nil, nil)
	switch httpdest.StatusOf(err) {
	case 0:
		if err != nil {
			return fmt.Errorf("mailchimp: cannot reach the API: %w", err)
		}
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("mailchimp: the API key was refused (check api_key and its data centre): %w", err)
	case http.StatusNotFound:
		return fmt.Errorf("mailchimp: audience list_id %q not found: %w", cfg.ListID, err)
	}
	return fmt.Errorf("mailchimp: %w", err)
}

// Outputs names the audience and the segment's tag.
func (d *Destination) Outputs(_ context.Context, segment string) ([]string, error) {
	cfg, _, err := d.state()
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("mailchimp audience %s, tag %q", cfg.ListID, cfg.TagPrefix+segment)}, nil
}

func (d *Destination) Close() error { return nil }
