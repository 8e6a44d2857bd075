package httpdest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Retry says how often and how long a request is retried. A request is
// retried on a network error, 429, 408 and 5xx; other statuses are the
// caller's to handle.
type Retry struct {
	// MaxAttempts bounds the tries that failed with a network error, 408
	// or 5xx; default 10. A 429 is the server pacing the client, not a
	// failure: 429s are retried for as long as MaxElapsed allows.
	MaxAttempts int
	// MaxElapsed bounds the time from the first try to the start of the
	// last; default 5 minutes.
	MaxElapsed time.Duration
	// BaseDelay is the first backoff, doubled per retry up to MaxDelay,
	// with full jitter; defaults 200ms and 30s. A 429 waits its
	// Retry-After or rate-limit reset instead, when the server gives one.
	BaseDelay, MaxDelay time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 10
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = 5 * time.Minute
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 200 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 30 * time.Second
	}
	return r
}

// backoff is the delay before retry number n (1 = the first retry):
// uniformly random in [d/2, d] where d = BaseDelay·2^(n-1), capped.
func (r Retry) backoff(n int) time.Duration {
	d := r.BaseDelay
	for i := 1; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.MaxDelay)
	return d/2 + rand.N(d/2+1)
}

// Client sends JSON requests to one vendor API with one key: paced by
// Limiter, retried by Retry, with errors that never contain the key.
// It is safe for concurrent use.
type Client struct {
	// BaseURL is prefixed to every path ("https://a.klaviyo.com/api").
	BaseURL string
	// HTTP defaults to a client with a 60 s timeout.
	HTTP *http.Client
	// Limiter may be nil (no pacing).
	Limiter *Limiter
	Retry   Retry
	// Header is added to every request (auth, revision, content type).
	Header http.Header
	// Secrets are cut out of every error text (the API key, its
	// base64 in a Basic header).
	Secrets []string

	requests, throttled atomic.Int64
}

// Response is a completed request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Stats counts a client's requests: sent (every attempt) and answered
// 429.
func (c *Client) Stats() (requests, throttled int64) {
	return c.requests.Load(), c.throttled.Load()
}

// Error is a request that failed: a status the caller did not accept,
// or retries exhausted. It holds no credentials.
type Error struct {
	Method, Path string
	// Status is 0 for a network error.
	Status int
	// Message is the vendor's error text, from its error body.
	Message  string
	Attempts int
	// Retryable: a later try may succeed (429, 408, 5xx, network).
	Retryable bool
	Body      []byte
	err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.err != nil {
		fmt.Fprintf(&b, ": %v", e.err)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.err }

// StatusOf returns the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var he *Error
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// Do sends method path with body (marshalled as JSON unless it is nil
// or []byte) and, on a 2xx answer, decodes the response body into out
// when out is not nil and the body is not empty. Any other final status
// is an *Error whose Message comes from the vendor's error body.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (*Response, error) {
	resp, err := c.Send(ctx, method, path, body)
	if err != nil {
		return resp, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp, c.statusError(method, path, resp, 1)
	}
	if out != nil && len(bytes.TrimSpace(resp.Body)) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, &Error{Method: method, Path: path, Status: resp.Status, Message: "cannot decode the response: " + c.redact(err.Error())}
		}
	}
	return resp, nil
}

// Send sends the request with pacing and retries and returns the last
// response whatever its status (a non-retryable 4xx, a 2xx), or an
// *Error when retries ran out or ctx ended. The response body is read
// in full.
func (c *Client) Send(ctx context.Context, method, path string, body any) (*Response, error) {
	var payload []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = b
	default:
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s %s: encode the request: %w", method, path, err)
		}
	}
	r := c.Retry.withDefaults()
	start := time.Now()
	// failures count network errors and 5xx, which MaxAttempts bounds;
	// a 429 is the server pacing us, bounded by MaxElapsed only.
	failures, throttles := 0, 0
	for tries := 1; ; tries++ {
		resp, err := c.once(ctx, method, path, payload)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, ctxErr)
		}
		var wait time.Duration
		now := time.Now()
		switch {
		case err != nil:
			failures++
			wait = r.backoff(failures)
		case resp.Status == http.StatusTooManyRequests:
			c.throttled.Add(1)
			throttles++
			wait = r.backoff(throttles)
			if d, ok := RetryAfter(resp.Header.Get("Retry-After"), now); ok {
				wait = d
			} else if t := ResetFromHeaders(resp.Header, now); !t.IsZero() {
				wait = t.Sub(now)
			} else if t := resetAny(resp.Header, now); !t.IsZero() {
				wait = t.Sub(now)
			}
		case retryableStatus(resp.Status):
			failures++
			wait = r.backoff(failures)
		default:
			return resp, nil
		}
		if failures >= r.MaxAttempts || now.Add(wait).Sub(start) > r.MaxElapsed {
			if err != nil {
				return nil, &Error{Method: method, Path: path, Attempts: tries, Retryable: true, err: errors.New(c.redact(err.Error()))}
			}
			return resp, c.statusError(method, path, resp, tries)
		}
		if resp != nil && resp.Status == http.StatusTooManyRequests && c.Limiter != nil {
			// Every sender of this key waits, not only this one; the
			// next Acquire holds this request until the pause ends.
			c.Limiter.Pause(now.Add(wait))
			wait = 0
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
}

// resetAny reads a reset header when no Remaining header came with the
// 429 (Braze sends them with it; the 429 says none remain).
func resetAny(h http.Header, now time.Time) time.Time {
	for _, name := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if t, ok := parseReset(v, now); ok && t.After(now) {
				return t
			}
		}
	}
	return time.Time{}
}

func (c *Client) once(ctx context.Context, method, path string, payload []byte) (*Response, error) {
	release, err := c.Limiter.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if payload != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	c.requests.Add(1)
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	c.Limiter.Observe(res.Header, time.Now())
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

var defaultHTTP = &http.Client{Timeout: 60 * time.Second}

func (c *Client) statusError(method, path string, resp *Response, attempts int) *Error {
	return &Error{
		Method: method, Path: path, Status: resp.Status, Attempts: attempts,
		Message:   c.redact(ErrorMessage(resp.Body)),
		Retryable: retryableStatus(resp.Status),
		Body:      resp.Body,
	}
}

func (c *Client) redact(s string) string {
	for _, secret := range c.Secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// Redact returns s with every secret replaced by [redacted].
func Redact(s string, secrets ...string) string {
	return (&Client{Secrets: secrets}).redact(s)
}

// ErrorMessage extracts a readable message from a vendor error body:
//   - problem+json {"title","detail"} (Mailchimp);
//   - {"errors":[{"title","detail"} or {"message"}]} (Klaviyo JSON:API,
//     SendGrid, HubSpot's errors[]);
//   - {"message"} (Braze, HubSpot);
//   - {"meta":{"error"}} (Customer.io).
//
// Anything else is returned as its first 200 bytes of text.
func ErrorMessage(body []byte) string {
	var v struct {
		Title   string `json:"title"`
		Detail  string `json:"detail"`
		Message string `json:"message"`
		Error   any    `json:"error"`
		Errors  []struct {
			Title   string `json:"title"`
			Detail  string `json:"detail"`
			Message string `json:"message"`
		} `json:"errors"`
		Meta struct {
			Error string `json:"error"`
		} `json:"meta"`
	}
	if json.Unmarshal(body, &v) == nil {
		var parts []string
		add := func(s string) {
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
		add(v.Title)
		add(v.Detail)
		add(v.Message)
		if s, ok := v.Error.(string); ok {
			add(s)
		}
		add(v.Meta.Error)
		for i, e := range v.Errors {
			if i == 3 {
				add(fmt.Sprintf("and %d more", len(v.Errors)-3))
				break
			}
			add(e.Title)
			add(e.Detail)
			add(e.Message)
		}
		if len(parts) > 0 {
			return strings.Join(parts, ": ")
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
