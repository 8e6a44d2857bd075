// Package brazestandin is a local stand-in for Braze's /users/track, as
// the braze destination uses it, following the documented contract
// (shared/reference/outbound-apis.md §3):
//
//   - Authorization: Bearer <REST key>, else 401 {"message"}.
//   - A fixed window of Options.Limit requests per Options.Window
//     (3,000 per 3 s at Braze), counted per workspace. Every answer
//     carries X-RateLimit-Limit, -Remaining and -Reset (the window's end,
//     Unix seconds); beyond the limit the answer is 429 with those
//     headers and no Retry-After.
//   - POST /users/track with at most 75 objects in each of attributes,
//     events and purchases, else 400 {"message"}. Each attributes object
//     needs an identifier (external_id, braze_id, user_alias, email or
//     phone); it creates or updates that user unless
//     _update_existing_only is true and the user is unknown. Array
//     attributes take {"add":[…]} / {"remove":[…]}. A success is 201
//     {"message":"success","attributes_processed":N}, with "errors":[{type,
//     input_array, index}] for the objects it refused (no identifier, or
//     the email Options.RejectEmail).
//
// Counters say what was accepted; Storm makes every request a 429.
package brazestandin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a stand-in.
type Options struct {
	// APIKey is the REST key accepted; default "braze-standin-key".
	APIKey string
	// Limit requests per Window (whole seconds); default 3000 per 3 s.
	Limit  int
	Window time.Duration
	// RejectEmail is an address whose attributes objects are refused.
	RejectEmail string
}

// User is a Braze user as the stand-in holds it.
type User struct {
	ExternalID string
	Email      string
	Attributes map[string]any
}

// Counts are the stand-in's counters.
type Counts struct {
	Requests, Throttled int64
	// Accepted counts attributes objects applied; Duplicates those that
	// changed nothing.
	Accepted, Duplicates int64
}

// Server is a running stand-in.
type Server struct {
	opts Options
	srv  *httptest.Server

	requests, throttled, accepted, duplicates atomic.Int64
	storm                                     atomic.Bool

	mu          sync.Mutex
	users       map[string]*User // by external_id, or "email:" + email
	windowStart int64
	used        int
}

// New starts a stand-in; Close stops it.
func New(o Options) *Server {
	if o.APIKey == "" {
		o.APIKey = "braze-standin-key"
	}
	if o.Limit == 0 {
		o.Limit = 3000
	}
	if o.Window < time.Second {
		o.Window = 3 * time.Second
	}
	s := &Server{opts: o, users: map[string]*User{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the REST endpoint, to give as the destination's base_url.
func (s *Server) URL() string { return s.srv.URL }

// APIKey is the key the stand-in accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Storm makes every request answer 429 until stop is called.
func (s *Server) Storm() (stop func()) {
	s.storm.Store(true)
	return func() { s.storm.Store(false) }
}

// Counts returns the counters.
func (s *Server) Counts() Counts {
	return Counts{Requests: s.requests.Load(), Throttled: s.throttled.Load(), Accepted: s.accepted.Load(), Duplicates: s.duplicates.Load()}
}

// Users returns copies of the users, sorted by external id.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, u := range s.users {
		c := *u
		c.Attributes = maps.Clone(u.Attributes)
		for k, v := range c.Attributes {
			if a, ok := v.([]string); ok {
				c.Attributes[k] = slices.Clone(a)
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExternalID < out[j].ExternalID })
	return out
}

func message(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg})
}

// admit counts a request in the current fixed window and sets the rate
// headers. Windows start at multiples of Window since the Unix epoch.
func (s *Server) admit(w http.ResponseWriter, now time.Time) bool {
	win := int64(s.opts.Window / time.Second)
	start := now.Unix() / win * win
	s.mu.Lock()
	if start != s.windowStart {
		s.windowStart, s.used = start, 0
	}
	ok := s.used < s.opts.Limit && !s.storm.Load()
	if ok {
		s.used++
	}
	remaining := s.opts.Limit - s.used
	s.mu.Unlock()
	if s.storm.Load() {
		remaining = 0
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(start+win, 10))
	return ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
		message(w, http.StatusUnauthorized, "Invalid API key")
		return
	}
	if !s.admit(w, time.Now()) {
		s.throttled.Add(1)
		message(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	if r.URL.Path != "/users/track" || r.Method != http.MethodPost {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	var req struct {
		Attributes []map[string]any `json:"attributes"`
		Events     []map[string]any `json:"events"`
		Purchases  []map[string]any `json:"purchases"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		message(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	for name, n := range map[string]int{"attributes": len(req.Attributes), "events": len(req.Events), "purchases": len(req.Purchases)} {
		if n > 75 {
			message(w, http.StatusBadRequest, fmt.Sprintf("Too many objects in '%s': at most 75 per request, got %d", name, n))
			return
		}
	}
	type objErr struct {
		Type       string `json:"type"`
		InputArray string `json:"input_array"`
		Index      int    `json:"index"`
	}
	var errs []objErr
	processed := 0
	s.mu.Lock()
	for i, a := range req.Attributes {
		id, _ := a["external_id"].(string)
		email, _ := a["email"].(string)
		switch {
		case id == "" && email == "" && a["braze_id"] == nil && a["user_alias"] == nil && a["phone"] == nil:
			errs = append(errs, objErr{"'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required", "attributes", i})
			continue
		case email != "" && (!strings.Contains(email, "@") || strings.EqualFold(email, s.opts.RejectEmail)):
			errs = append(errs, objErr{"'email' is not a valid email address", "attributes", i})
			continue
		}
		key := id
		if key == "" {
			key = "email:" + strings.ToLower(email)
		}
		u, exists := s.users[key]
		if !exists {
			if b, _ := a["_update_existing_only"].(bool); b {
				processed++ // nothing to update
				continue
			}
			u = &User{ExternalID: id, Attributes: map[string]any{}}
			s.users[key] = u
		}
		same := exists
		for k, v := range a {
			switch k {
			case "external_id", "_update_existing_only":
				continue
			case "email":
				if u.Email != strings.ToLower(email) {
					same = false
				}
				u.Email = strings.ToLower(email)
				continue
			}
			if op, ok := v.(map[string]any); ok {
				cur, _ := u.Attributes[k].([]string)
				before := slices.Clone(cur)
				for _, x := range asStrings(op["add"]) {
					if !slices.Contains(cur, x) {
						cur = append(cur, x)
					}
				}
				for _, x := range asStrings(op["remove"]) {
					cur = slices.DeleteFunc(cur, func(y string) bool { return y == x })
				}
				if !slices.Equal(before, cur) {
					same = false
				}
				u.Attributes[k] = cur
				continue
			}
			if v == nil {
				if _, had := u.Attributes[k]; had {
					same = false
				}
				delete(u.Attributes, k) // null unsets a custom attribute
				continue
			}
			if old, had := u.Attributes[k]; !had || fmt.Sprint(old) != fmt.Sprint(v) {
				same = false
			}
			u.Attributes[k] = v
		}
		processed++
		s.accepted.Add(1)
		if same {
			s.duplicates.Add(1)
		}
	}
	s.mu.Unlock()
	resp := map[string]any{"message": "success", "attributes_processed": processed}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(resp)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(buf.Bytes())
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
