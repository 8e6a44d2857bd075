// Package customeriostandin is a local stand-in for the Customer.io
// Journeys Track API (shared/reference/outbound-apis.md §5), for tests and
// benchmarks: Basic auth site_id:api_key; GET /api/v1/accounts/region;
// POST /api/v2/batch of person identify actions, under 500 KB, answered
// 200 {} or 400 {"meta":{"error":"…"}} for the whole request (there are no
// per-record errors); manual segments through POST
// /api/v1/segments/{id}/add_customers and /remove_customers?id_type=id|email
// with 1–1000 ids; 429 without rate headers beyond 100 requests/s.
//
// Choices where the reference is silent: an empty string removes an
// attribute; ids of unknown people are ignored by segment calls.
package customeriostandin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/segflow/segflow/plugins/destination/internal/standinkit"
)

// Documented limits.
const (
	MaxBatchBytes = 500 * 1024
	MaxSegmentIDs = 1000
)

// Options configure a stand-in workspace.
type Options struct {
	SiteID, APIKey string
	// Segments are the ids of manual segments.
	Segments []int
	// RequestsPerSecond is the fair-use limit, a token bucket of Burst
	// (default: one second's worth); default 100.
	RequestsPerSecond float64
	Burst             int
	// Storm answers the first Storm requests with 429.
	Storm int
	// RejectEmail makes any batch carrying it fail with 400.
	RejectEmail string
	// DataCenter is the region GET /api/v1/accounts/region reports;
	// default "us".
	DataCenter string
}

// Person is a person as the stand-in holds them.
type Person struct {
	ID         string
	Email      string
	Attributes map[string]any
}

// Server is a running stand-in.
type Server struct {
	opts Options
	srv  *httptest.Server
	gate *standinkit.Gate
	standinkit.Counters

	mu       sync.Mutex
	people   map[string]*Person // by id
	byEmail  map[string]*Person
	segments map[int]map[string]bool // segment -> person ids
}

// New starts a stand-in; Close stops it.
func New(o Options) *Server {
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = 100
	}
	if o.Burst == 0 {
		o.Burst = int(o.RequestsPerSecond)
	}
	if o.DataCenter == "" {
		o.DataCenter = "us"
	}
	s := &Server{
		opts:     o,
		gate:     standinkit.NewGate(o.RequestsPerSecond, o.Burst, o.Storm),
		people:   map[string]*Person{},
		byEmail:  map[string]*Person{},
		segments: map[int]map[string]bool{},
	}
	for _, id := range o.Segments {
		s.segments[id] = map[string]bool{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/accounts/region", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"url": "https://track.customer.io", "data_center": o.DataCenter, "environment_id": 1})
	})
	mux.HandleFunc("POST /api/v2/batch", s.batch)
	mux.HandleFunc("POST /api/v1/segments/{id}/{op}", s.segment)
	s.srv = httptest.NewServer(s.guard(mux))
	return s
}

// URL is the Track API's base URL (in place of https://track.customer.io).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Storm answers the next n requests with 429.
func (s *Server) Storm(n int) { s.gate.Storm(n) }

// StartStorm answers every request with 429 until stop is called.
func (s *Server) StartStorm() (stop func()) { return s.gate.StartStorm() }

// Refused is the number of requests answered with 429.
func (s *Server) Refused() int64 { return s.gate.Refused.Load() }

// SegmentMembers returns copies of the people in a manual segment.
func (s *Server) SegmentMembers(id int) []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Person
	for pid := range s.segments[id] {
		p := s.people[pid]
		out = append(out, Person{ID: p.ID, Email: p.Email, Attributes: maps.Clone(p.Attributes)})
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]any{"meta": map[string]string{"error": fmt.Sprintf(format, args...)}})
}

func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != s.opts.SiteID || pass != s.opts.APIKey {
			fail(w, http.StatusUnauthorized, "Unauthorized request")
			return
		}
		if ok, _ := s.gate.Allow(); !ok {
			fail(w, http.StatusTooManyRequests, "rate limit exceeded")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBatchBytes+1))
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if len(body) >= MaxBatchBytes {
		fail(w, http.StatusBadRequest, "batch request must be smaller than 500KB")
		return
	}
	var req struct {
		Batch []struct {
			Type        string            `json:"type"`
			Identifiers map[string]string `json:"identifiers"`
			Action      string            `json:"action"`
			Attributes  map[string]any    `json:"attributes"`
		} `json:"batch"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "invalid JSON: %v", err)
		return
	}
	if len(req.Batch) == 0 {
		fail(w, http.StatusBadRequest, "batch must not be empty")
		return
	}
	// Validate the whole request first: a bad item fails all of it.
	for i, it := range req.Batch {
		if it.Type != "person" || it.Action != "identify" {
			fail(w, http.StatusBadRequest, "batch[%d]: only person identify is supported here; got %s %s", i, it.Type, it.Action)
			return
		}
		if len(it.Identifiers) != 1 || (it.Identifiers["id"] == "" && it.Identifiers["email"] == "") {
			fail(w, http.StatusBadRequest, "batch[%d]: identifiers must hold exactly one of id or email", i)
			return
		}
		if len(it.Attributes) > 300 {
			fail(w, http.StatusBadRequest, "batch[%d]: more than 300 attributes", i)
			return
		}
		for k := range it.Attributes {
			if len(k) > 150 {
				fail(w, http.StatusBadRequest, "batch[%d]: attribute name longer than 150 bytes", i)
				return
			}
		}
		if e, _ := it.Attributes["email"].(string); s.opts.RejectEmail != "" && (e == s.opts.RejectEmail || it.Identifiers["email"] == s.opts.RejectEmail) {
			s.Rejected.Add(1)
			fail(w, http.StatusBadRequest, "batch[%d]: invalid email address %s", i, s.opts.RejectEmail)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range req.Batch {
		s.Accepted.Add(1)
		var p *Person
		if id := it.Identifiers["id"]; id != "" {
			p = s.people[id]
			if p == nil {
				p = &Person{ID: id, Attributes: map[string]any{}}
				s.people[id] = p
			}
		} else {
			email := strings.ToLower(it.Identifiers["email"])
			p = s.byEmail[email]
			if p == nil {
				p = &Person{ID: email, Email: email, Attributes: map[string]any{}}
				s.people[p.ID] = p
				s.byEmail[email] = p
			}
		}
		before := maps.Clone(p.Attributes)
		for k, v := range it.Attributes {
			if v == "" || v == nil {
				delete(p.Attributes, k)
			} else {
				p.Attributes[k] = v
			}
		}
		if e, ok := p.Attributes["email"].(string); ok && e != p.Email {
			delete(s.byEmail, p.Email)
			p.Email = e
			s.byEmail[e] = p
		}
		if reflect.DeepEqual(before, p.Attributes) {
			s.Duplicates.Add(1)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) segment(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || (op != "add_customers" && op != "remove_customers") {
		fail(w, http.StatusNotFound, "not found")
		return
	}
	idType := r.URL.Query().Get("id_type")
	if idType == "" {
		idType = "id"
	}
	if idType != "id" && idType != "email" && idType != "cio_id" {
		fail(w, http.StatusBadRequest, "id_type must be id, email or cio_id")
		return
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "invalid JSON: %v", err)
		return
	}
	if len(req.IDs) < 1 || len(req.IDs) > MaxSegmentIDs {
		fail(w, http.StatusBadRequest, "ids must hold between 1 and %d values; got %d", MaxSegmentIDs, len(req.IDs))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	members := s.segments[id]
	if members == nil {
		fail(w, http.StatusNotFound, "segment %d not found or not a manual segment", id)
		return
	}
	for _, v := range req.IDs {
		var p *Person
		if idType == "email" {
			p = s.byEmail[strings.ToLower(v)]
		} else {
			p = s.people[v]
		}
		if p == nil || members[p.ID] == (op == "add_customers") {
			continue
		}
		if op == "add_customers" {
			members[p.ID] = true
		} else {
			delete(members, p.ID)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
