// Package webhookstandin is a webhook receiver for tests and benchmarks:
// it verifies each request's signature and replay window, answers 429 with
// Retry-After beyond its own rate limit, refuses records carrying a chosen
// email through the optional rejected list, deduplicates batches by
// batch_id, and holds what it was sent per segment.
package webhookstandin

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
	"sync"
	"sync/atomic"
	"time"

	"github.com/segflow/segflow/plugins/destination/internal/standinkit"
	"github.com/segflow/segflow/plugins/destination/webhook"
)

// Options configure a receiver.
type Options struct {
	// Secret the requests are signed with.
	Secret string
	// Tolerance is the replay window; default webhook.DefaultTolerance.
	Tolerance time.Duration
	// RequestsPerSecond and Burst are the receiver's own rate limit; 0 =
	// none.
	RequestsPerSecond float64
	Burst             int
	// Storm answers the first Storm requests with 429.
	Storm int
	// RejectEmail: records whose "email" attribute equals it are listed
	// as rejected with code "invalid_email".
	RejectEmail string
	// MaxBodyBytes answers larger bodies with 413; default 10 MiB.
	MaxBodyBytes int64
}

// Server is a running receiver.
type Server struct {
	opts Options
	srv  *httptest.Server
	gate *standinkit.Gate
	standinkit.Counters
	// BadSignatures counts requests refused with 401.
	BadSignatures atomic.Int64

	mu      sync.Mutex
	held    map[string]map[string]map[string]any // segment -> key -> attributes
	batches map[string]webhook.Response          // batch id -> answer given
}

// New starts a receiver; Close stops it.
func New(o Options) *Server {
	if o.Tolerance == 0 {
		o.Tolerance = webhook.DefaultTolerance
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 10 << 20
	}
	s := &Server{
		opts:    o,
		gate:    standinkit.NewGate(o.RequestsPerSecond, o.Burst, o.Storm),
		held:    map[string]map[string]map[string]any{},
		batches: map[string]webhook.Response{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is where to POST.
func (s *Server) URL() string { return s.srv.URL + "/hooks/segflow" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Storm answers the next n requests with 429.
func (s *Server) Storm(n int) { s.gate.Storm(n) }

// StartStorm answers every request with 429 until stop is called.
func (s *Server) StartStorm() (stop func()) { return s.gate.StartStorm() }

// Refused is the number of requests answered with 429.
func (s *Server) Refused() int64 { return s.gate.Refused.Load() }

// Records returns a copy of what the receiver holds for segment: key to
// attributes (numbers as json.Number).
func (s *Server) Records(segment string) map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for k, v := range s.held[segment] {
		out[k] = maps.Clone(v)
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST only"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBodyBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if int64(len(body)) > s.opts.MaxBodyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
		return
	}
	if err := webhook.Verify([]byte(s.opts.Secret), r.Header.Get(webhook.HeaderTimestamp), body,
		r.Header.Get(webhook.HeaderSignature), time.Now(), s.opts.Tolerance); err != nil {
		s.BadSignatures.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	}
	if ok, wait := s.gate.Allow(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(standinkit.RetryAfterSeconds(wait)))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate limited"})
		return
	}
	var b webhook.Batch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	if b.Operation == "test" {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if b.BatchID == "" || b.Segment == "" || (b.Operation != "upsert" && b.Operation != "remove") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("batch_id, segment and operation (upsert|remove) are required; got %q %q %q", b.BatchID, b.Segment, b.Operation)})
		return
	}
	if r.Header.Get(webhook.HeaderBatchID) != b.BatchID {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "X-Segflow-Batch-Id differs from batch_id"})
		return
	}
	writeJSON(w, http.StatusOK, s.apply(b))
}

// apply stores a batch once; a replayed batch id gets the first answer.
func (s *Server) apply(b webhook.Batch) webhook.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if resp, seen := s.batches[b.BatchID]; seen {
		if b.Operation == "upsert" {
			// A replayed batch: its records were applied once already.
			s.Duplicates.Add(int64(len(b.Records) - len(resp.Rejected)))
		}
		return resp
	}
	seg := s.held[b.Segment]
	if seg == nil {
		seg = map[string]map[string]any{}
		s.held[b.Segment] = seg
	}
	resp := webhook.Response{Rejected: []webhook.Rejection{}}
	for _, rec := range b.Records {
		if s.opts.RejectEmail != "" && rec.Attributes["email"] == s.opts.RejectEmail {
			s.Rejected.Add(1)
			resp.Rejected = append(resp.Rejected, webhook.Rejection{Key: rec.Key, Reason: "mailbox does not exist", Code: "invalid_email"})
			continue
		}
		old, had := seg[rec.Key]
		switch b.Operation {
		case "upsert":
			s.Accepted.Add(1)
			if had && reflect.DeepEqual(old, rec.Attributes) {
				s.Duplicates.Add(1)
			}
			seg[rec.Key] = rec.Attributes
		case "remove":
			delete(seg, rec.Key)
		}
	}
	s.batches[b.BatchID] = resp
	return resp
}
