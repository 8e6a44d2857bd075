// Package klaviyostandin is a local stand-in for the parts of Klaviyo's
// JSON:API the klaviyo destination uses, following the documented
// contract (shared/reference/outbound-apis.md §2):
//
//   - Authorization: Klaviyo-API-Key <key>, else 401; a revision header
//     on every request, else 400. Errors are {"errors":[{id, status,
//     code, title, detail, source}]}.
//   - Rate limits per endpoint, burst (per second) plus steady (per
//     Options.SteadyWindow, a minute at Klaviyo): beyond either, 429 with
//     Retry-After (whole seconds); other answers carry RateLimit-Limit,
//     -Remaining and -Reset (seconds).
//   - POST /api/profile-bulk-import-jobs: ≤10,000 profiles and ≤5 MB,
//     else 400/413; 202 with a queued job. The job goes queued →
//     processing → complete over Options.PollsToComplete polls of GET
//     /api/profile-bulk-import-jobs/{id}; on completion its profiles are
//     upserted (by email; nulls do not clear) and added to the job's
//     lists. A profile with Options.RejectEmail fails: an import error
//     (code "invalid") at GET …/{id}/import-errors, paged (≤100).
//   - GET /api/lists/{id}; GET /api/profiles?filter=any(email,[...]);
//     POST/DELETE /api/lists/{id}/relationships/profiles (≤1000 ids, 204).
//
// Counters say what was accepted; Storm makes every request a 429.
package klaviyostandin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a stand-in.
type Options struct {
	// APIKey is the private key accepted; default "pk_standin".
	APIKey string
	// Lists that exist; default {"LIST1"}.
	Lists []string
	// Burst is requests per second per endpoint (default 10); Steady
	// requests per SteadyWindow (default 150 per minute): Klaviyo's M
	// tier, which bulk import job creation and list relationships use.
	Burst, Steady int
	SteadyWindow  time.Duration
	// ReadBurst and ReadSteady are the limits of the reading endpoints
	// (jobs, import errors, profiles, lists); default 75 and 700 per
	// SteadyWindow (the L tier).
	ReadBurst, ReadSteady int
	// PollsToComplete is how many polls a job takes to complete; default 2.
	PollsToComplete int
	// RejectEmail is an address whose profiles fail to import.
	RejectEmail string
}

// Profile is a profile as the stand-in holds it.
type Profile struct {
	ID, Email, Phone, ExternalID string
	Properties                   map[string]any
}

// Counts are the stand-in's counters.
type Counts struct {
	Requests, Throttled int64
	// Accepted counts profiles imported; Duplicates those that changed
	// nothing (held with the same values, already in the job's lists).
	Accepted, Duplicates int64
	JobsCreated          int64
}

type job struct {
	id       string
	profiles []map[string]any
	lists    []string
	polls    int
	status   string
	errors   []map[string]any
	failed   int
}

// Server is a running stand-in.
type Server struct {
	opts Options
	srv  *httptest.Server

	requests, throttled, accepted, duplicates, jobsCreated atomic.Int64
	storm                                                  atomic.Bool

	mu       sync.Mutex
	profiles map[string]*Profile // by id
	byEmail  map[string]string
	lists    map[string]map[string]bool // list -> profile ids
	jobs     map[string]*job
	buckets  map[string]*bucket
	nextID   int
}

// New starts a stand-in; Close stops it.
func New(o Options) *Server {
	if o.APIKey == "" {
		o.APIKey = "pk_standin"
	}
	if len(o.Lists) == 0 {
		o.Lists = []string{"LIST1"}
	}
	if o.Burst == 0 {
		o.Burst = 10
	}
	if o.Steady == 0 {
		o.Steady = 150
	}
	if o.ReadBurst == 0 {
		o.ReadBurst = 75
	}
	if o.ReadSteady == 0 {
		o.ReadSteady = 700
	}
	if o.SteadyWindow == 0 {
		o.SteadyWindow = time.Minute
	}
	if o.PollsToComplete == 0 {
		o.PollsToComplete = 2
	}
	s := &Server{opts: o, profiles: map[string]*Profile{}, byEmail: map[string]string{},
		lists: map[string]map[string]bool{}, jobs: map[string]*job{}, buckets: map[string]*bucket{}}
	for _, l := range o.Lists {
		s.lists[l] = map[string]bool{}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API base ("…/api"), to give as the destination's base_url.
func (s *Server) URL() string { return s.srv.URL + "/api" }

// APIKey is the key the stand-in accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Storm makes every request answer 429 (Retry-After: 1) until stop.
func (s *Server) Storm() (stop func()) {
	s.storm.Store(true)
	return func() { s.storm.Store(false) }
}

// Counts returns the counters.
func (s *Server) Counts() Counts {
	return Counts{Requests: s.requests.Load(), Throttled: s.throttled.Load(),
		Accepted: s.accepted.Load(), Duplicates: s.duplicates.Load(), JobsCreated: s.jobsCreated.Load()}
}

// ListProfiles returns copies of a list's profiles, sorted by email.
func (s *Server) ListProfiles(list string) []Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Profile
	for id := range s.lists[list] {
		p := *s.profiles[id]
		p.Properties = maps.Clone(p.Properties)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

// bucket is one endpoint's burst and steady windows, as send times.
type bucket struct{ times []time.Time }

// take admits a request now, or says how long until one would be.
func (s *Server) take(endpoint string, now time.Time) (ok bool, retry time.Duration, remaining int, reset time.Duration) {
	burst, steady := s.opts.Burst, s.opts.Steady
	if endpoint != "bulk-import-create" && endpoint != "list-relationships" {
		burst, steady = s.opts.ReadBurst, s.opts.ReadSteady
	}
	b := s.buckets[endpoint]
	if b == nil {
		b = &bucket{}
		s.buckets[endpoint] = b
	}
	// Keep the steady window's history.
	keep := b.times[:0]
	for _, t := range b.times {
		if now.Sub(t) < s.opts.SteadyWindow {
			keep = append(keep, t)
		}
	}
	b.times = keep
	inSecond := 0
	for _, t := range b.times {
		if now.Sub(t) < time.Second {
			inSecond++
		}
	}
	if inSecond >= burst {
		retry = b.times[len(b.times)-inSecond].Add(time.Second).Sub(now)
		return false, retry, 0, retry
	}
	if len(b.times) >= steady {
		retry = b.times[len(b.times)-steady].Add(s.opts.SteadyWindow).Sub(now)
		return false, retry, 0, retry
	}
	b.times = append(b.times, now)
	return true, 0, min(burst-inSecond-1, steady-len(b.times)), time.Second
}

func writeErr(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"id": strconv.FormatInt(time.Now().UnixNano(), 36), "status": status, "code": code,
		"title": title, "detail": detail, "source": map[string]any{"pointer": "/data/"},
	}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// endpoint names the rate-limit bucket of a request.
func endpoint(r *http.Request, parts []string) string {
	switch {
	case len(parts) >= 1 && parts[0] == "profile-bulk-import-jobs" && r.Method == http.MethodPost:
		return "bulk-import-create"
	case len(parts) >= 1 && parts[0] == "profile-bulk-import-jobs":
		return "bulk-import-get"
	case len(parts) >= 3 && parts[0] == "lists":
		return "list-relationships"
	}
	return r.Method + " " + strings.Join(parts[:min(len(parts), 1)], "/")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.Header.Get("Authorization") != "Klaviyo-API-Key "+s.opts.APIKey {
		writeErr(w, http.StatusUnauthorized, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid private key.")
		return
	}
	if r.Header.Get("revision") == "" {
		writeErr(w, http.StatusBadRequest, "invalid", "Invalid input.", "The 'revision' header is required.")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api"), "/"), "/")
	now := time.Now()
	if s.storm.Load() {
		s.throttled.Add(1)
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusTooManyRequests, "throttled", "Request was throttled.", "Request was throttled. Expected available in 1 second.")
		return
	}
	s.mu.Lock()
	ep := endpoint(r, parts)
	ok, retry, remaining, reset := s.take(ep, now)
	limit := s.opts.Burst
	if ep != "bulk-import-create" && ep != "list-relationships" {
		limit = s.opts.ReadBurst
	}
	s.mu.Unlock()
	if !ok {
		s.throttled.Add(1)
		secs := int(math.Ceil(retry.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeErr(w, http.StatusTooManyRequests, "throttled", "Request was throttled.", fmt.Sprintf("Request was throttled. Expected available in %d second.", secs))
		return
	}
	w.Header().Set("RateLimit-Limit", strconv.Itoa(limit))
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset.Seconds()))))
	switch {
	case len(parts) == 2 && parts[0] == "lists" && r.Method == http.MethodGet:
		s.mu.Lock()
		_, found := s.lists[parts[1]]
		s.mu.Unlock()
		if !found {
			writeErr(w, http.StatusNotFound, "not_found", "Not found.", "A list with id "+parts[1]+" does not exist.")
			return
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{"type": "list", "id": parts[1], "attributes": map[string]any{"name": "List " + parts[1]}}})
	case len(parts) == 4 && parts[0] == "lists" && parts[2] == "relationships" && parts[3] == "profiles":
		s.listRelationships(w, r, parts[1])
	case len(parts) == 1 && parts[0] == "profile-bulk-import-jobs" && r.Method == http.MethodPost:
		s.createJob(w, r)
	case len(parts) == 2 && parts[0] == "profile-bulk-import-jobs" && r.Method == http.MethodGet:
		s.getJob(w, parts[1])
	case len(parts) == 3 && parts[0] == "profile-bulk-import-jobs" && parts[2] == "import-errors" && r.Method == http.MethodGet:
		s.importErrors(w, r, parts[1])
	case len(parts) == 1 && parts[0] == "profiles" && r.Method == http.MethodGet:
		s.findProfiles(w, r)
	default:
		writeErr(w, http.StatusNotFound, "not_found", "Not found.", r.Method+" "+r.URL.Path+" is not an endpoint.")
	}
}

const maxJobBytes = 5 << 20

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJobBytes+1))
	if err != nil {
		writeErr(w, 400, "invalid", "Invalid input.", err.Error())
		return
	}
	if len(body) > maxJobBytes {
		writeErr(w, http.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large.", "The payload must be at most 5 MB.")
		return
	}
	var req struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profiles struct {
					Data []struct {
						Type       string         `json:"type"`
						Attributes map[string]any `json:"attributes"`
					} `json:"data"`
				} `json:"profiles"`
			} `json:"attributes"`
			Relationships struct {
				Lists struct {
					Data []struct {
						Type string `json:"type"`
						ID   string `json:"id"`
					} `json:"data"`
				} `json:"lists"`
			} `json:"relationships"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil || req.Data.Type != "profile-bulk-import-job" {
		writeErr(w, 400, "invalid", "Invalid input.", "The body must be a profile-bulk-import-job.")
		return
	}
	profiles := req.Data.Attributes.Profiles.Data
	if len(profiles) == 0 || len(profiles) > 10_000 {
		writeErr(w, 400, "invalid", "Invalid input.", fmt.Sprintf("A job takes 1 to 10000 profiles, not %d.", len(profiles)))
		return
	}
	j := &job{status: "queued"}
	for _, p := range profiles {
		j.profiles = append(j.profiles, p.Attributes)
	}
	s.mu.Lock()
	for _, l := range req.Data.Relationships.Lists.Data {
		if _, ok := s.lists[l.ID]; !ok {
			s.mu.Unlock()
			writeErr(w, 400, "invalid", "Invalid input.", "List "+l.ID+" does not exist.")
			return
		}
		j.lists = append(j.lists, l.ID)
	}
	s.nextID++
	j.id = fmt.Sprintf("JOB%06d", s.nextID)
	s.jobs[j.id] = j
	resp := s.jobJSON(j)
	s.mu.Unlock()
	s.jobsCreated.Add(1)
	writeJSON(w, http.StatusAccepted, resp)
}

// jobJSON renders a job. Callers hold mu.
func (s *Server) jobJSON(j *job) map[string]any {
	completed := 0
	if j.status == "complete" {
		completed = len(j.profiles) - j.failed
	}
	return map[string]any{"data": map[string]any{
		"type": "profile-bulk-import-job", "id": j.id,
		"attributes": map[string]any{
			"status": j.status, "total_count": len(j.profiles),
			"completed_count": completed, "failed_count": j.failed,
		},
	}}
}

func (s *Server) getJob(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		writeErr(w, http.StatusNotFound, "not_found", "Not found.", "No job "+id+".")
		return
	}
	if j.status != "complete" {
		j.polls++
		switch {
		case j.polls >= s.opts.PollsToComplete:
			s.run(j)
			j.status = "complete"
		case j.polls >= 1:
			j.status = "processing"
		}
	}
	writeJSON(w, 200, s.jobJSON(j))
}

// run imports a job's profiles. Callers hold mu.
func (s *Server) run(j *job) {
	for i, attrs := range j.profiles {
		email, _ := attrs["email"].(string)
		email = strings.ToLower(email)
		if email == "" || !strings.Contains(email, "@") || (s.opts.RejectEmail != "" && email == strings.ToLower(s.opts.RejectEmail)) {
			j.failed++
			j.errors = append(j.errors, map[string]any{
				"code": "invalid", "title": "Invalid input.", "detail": "Invalid email address: " + email,
				"source":           map[string]any{"pointer": fmt.Sprintf("/data/attributes/profiles/data/%d/attributes/email", i)},
				"original_payload": attrs,
			})
			continue
		}
		id, exists := s.byEmail[email]
		if !exists {
			s.nextID++
			id = fmt.Sprintf("01HPROFILE%08d", s.nextID)
			s.byEmail[email] = id
			s.profiles[id] = &Profile{ID: id, Email: email, Properties: map[string]any{}}
		}
		p := s.profiles[id]
		same := exists
		set := func(dst *string, key string) {
			if v, ok := attrs[key].(string); ok && v != "" {
				if *dst != v {
					same = false
				}
				*dst = v
			}
		}
		set(&p.Phone, "phone_number")
		set(&p.ExternalID, "external_id")
		if props, ok := attrs["properties"].(map[string]any); ok {
			for k, v := range props {
				if v == nil {
					continue // nulls do not clear
				}
				if fmt.Sprint(p.Properties[k]) != fmt.Sprint(v) {
					same = false
				}
				p.Properties[k] = v
			}
		}
		for _, l := range j.lists {
			if !s.lists[l][id] {
				same = false
			}
			s.lists[l][id] = true
		}
		s.accepted.Add(1)
		if same {
			s.duplicates.Add(1)
		}
	}
}

func (s *Server) importErrors(w http.ResponseWriter, r *http.Request, id string) {
	size := 100
	if v := r.URL.Query().Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeErr(w, 400, "invalid", "Invalid input.", "page[size] must be 1..100.")
			return
		}
		size = n
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("page[cursor]"))
	s.mu.Lock()
	j := s.jobs[id]
	if j == nil {
		s.mu.Unlock()
		writeErr(w, http.StatusNotFound, "not_found", "Not found.", "No job "+id+".")
		return
	}
	errs := j.errors[min(from, len(j.errors)):min(from+size, len(j.errors))]
	data := []any{}
	for k, e := range errs {
		data = append(data, map[string]any{"type": "import-error", "id": fmt.Sprintf("%s-%d", id, from+k), "attributes": e})
	}
	var next any
	if from+size < len(j.errors) {
		q := url.Values{"page[size]": {strconv.Itoa(size)}, "page[cursor]": {strconv.Itoa(from + size)}}
		next = s.URL() + "/profile-bulk-import-jobs/" + id + "/import-errors?" + q.Encode()
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"data": data, "links": map[string]any{"next": next}})
}

// findProfiles answers filter=any(email,["a","b"]) (≤100 emails).
func (s *Server) findProfiles(w http.ResponseWriter, r *http.Request) {
	f := r.URL.Query().Get("filter")
	inner, ok := strings.CutPrefix(f, "any(email,")
	if !ok || !strings.HasSuffix(inner, ")") {
		writeErr(w, 400, "invalid", "Invalid input.", "Unsupported filter "+f+".")
		return
	}
	var emails []string
	if err := json.Unmarshal([]byte(strings.TrimSuffix(inner, ")")), &emails); err != nil || len(emails) > 100 {
		writeErr(w, 400, "invalid", "Invalid input.", "any(email, [...]) takes a JSON list of at most 100 emails.")
		return
	}
	s.mu.Lock()
	data := []any{}
	for _, e := range emails {
		if id, ok := s.byEmail[strings.ToLower(e)]; ok {
			data = append(data, map[string]any{"type": "profile", "id": id, "attributes": map[string]any{"email": s.profiles[id].Email}})
		}
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"data": data, "links": map[string]any{"next": nil}})
}

func (s *Server) listRelationships(w http.ResponseWriter, r *http.Request, list string) {
	var req struct {
		Data []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, 400, "invalid", "Invalid input.", err.Error())
		return
	}
	if len(req.Data) > 1000 {
		writeErr(w, 400, "invalid", "Invalid input.", "At most 1000 profiles per request.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	members, ok := s.lists[list]
	if !ok {
		writeErr(w, http.StatusNotFound, "not_found", "Not found.", "A list with id "+list+" does not exist.")
		return
	}
	for _, p := range req.Data {
		if s.profiles[p.ID] == nil {
			writeErr(w, 400, "invalid", "Invalid input.", "Profile "+p.ID+" does not exist.")
			return
		}
	}
	for _, p := range req.Data {
		switch r.Method {
		case http.MethodPost:
			members[p.ID] = true
		case http.MethodDelete:
			delete(members, p.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
