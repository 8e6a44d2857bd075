// Package hubspotstandin is a local stand-in for the HubSpot CRM APIs
// segflow uses (shared/reference/outbound-apis.md §6), for tests and
// benchmarks: Bearer auth; GET /crm/v3/properties/contacts; POST
// /crm/v3/objects/contacts/batch/upsert and /batch/read of at most 100
// inputs by email, answered 200 or 207 with errors[] and numErrors;
// unknown properties fail the whole request; MANUAL lists with PUT
// /crm/v3/lists/{id}/memberships/add|remove of record ids answered with
// recordsIdsAdded (sic) / recordIdsRemoved / recordIdsMissing; a rolling
// limit of 100 requests per 10 s answered with 429, the RATE_LIMIT body,
// Retry-After and the X-HubSpot-RateLimit-* headers on every response.
//
// Choices where the reference is silent: a batch error names the inputs
// it concerns in context.ids (as HubSpot's OBJECT_NOT_FOUND errors do);
// duplicate ids in one batch fail the request with 400; an empty string
// clears a property.
package hubspotstandin

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/plugins/destination/internal/standinkit"
)

// MaxInputs is the batch endpoints' documented limit.
const MaxInputs = 100

// BuiltinProperties exist in every account.
var BuiltinProperties = []string{"email", "firstname", "lastname", "phone", "lifecyclestage", "hs_object_id"}

// Options configure a stand-in account.
type Options struct {
	// Token accepted as "Authorization: Bearer <token>".
	Token string
	// Properties are custom contact properties, besides BuiltinProperties.
	Properties []string
	// Lists are the ids of MANUAL lists.
	Lists []string
	// Per10s is the rolling limit per 10 seconds; default 100 (Free and
	// Starter). It works as a token bucket of that size refilled at
	// Per10s/10 per second.
	Per10s int
	// Storm answers the first Storm requests with 429.
	Storm int
	// RejectEmail is an email the upsert refuses (an error in the 207).
	RejectEmail string
}

// Contact is a contact as the stand-in holds it.
type Contact struct {
	ID         string
	Properties map[string]string
}

// Server is a running stand-in.
type Server struct {
	opts Options
	srv  *httptest.Server
	gate *standinkit.Gate
	standinkit.Counters

	mu       sync.Mutex
	props    map[string]bool
	lists    map[string]map[string]bool // list -> record ids
	contacts map[string]*Contact        // by email
	byID     map[string]*Contact
	next     int
}

// New starts a stand-in; Close stops it.
func New(o Options) *Server {
	if o.Per10s == 0 {
		o.Per10s = 100
	}
	s := &Server{
		opts:     o,
		gate:     standinkit.NewGate(float64(o.Per10s)/10, o.Per10s, o.Storm),
		props:    map[string]bool{},
		lists:    map[string]map[string]bool{},
		contacts: map[string]*Contact{},
		byID:     map[string]*Contact{},
		next:     100,
	}
	for _, p := range append(slices.Clone(BuiltinProperties), o.Properties...) {
		s.props[p] = true
	}
	for _, l := range o.Lists {
		s.lists[l] = map[string]bool{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crm/v3/properties/contacts", s.properties)
	mux.HandleFunc("POST /crm/v3/objects/contacts/batch/upsert", s.upsert)
	mux.HandleFunc("POST /crm/v3/objects/contacts/batch/read", s.read)
	mux.HandleFunc("GET /crm/v3/lists/{id}", s.getList)
	mux.HandleFunc("PUT /crm/v3/lists/{id}/memberships/{op}", s.membership)
	s.srv = httptest.NewServer(s.guard(mux))
	return s
}

// URL is the API's base URL (in place of https://api.hubapi.com).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Storm answers the next n requests with 429.
func (s *Server) Storm(n int) { s.gate.Storm(n) }

// StartStorm answers every request with 429 until stop is called.
func (s *Server) StartStorm() (stop func()) { return s.gate.StartStorm() }

// Refused is the number of requests answered with 429.
func (s *Server) Refused() int64 { return s.gate.Refused.Load() }

// ListMembers returns copies of the contacts in list id.
func (s *Server) ListMembers(id string) []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Contact
	for rid := range s.lists[id] {
		c := s.byID[rid]
		out = append(out, Contact{ID: c.ID, Properties: maps.Clone(c.Properties)})
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, code int, category, format string, args ...any) {
	writeJSON(w, code, map[string]any{"status": "error", "message": fmt.Sprintf(format, args...),
		"correlationId": s.correlation(), "category": category})
}

func (s *Server) correlation() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.Requests.Load())
}

func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
			s.fail(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
			return
		}
		ok, wait := s.gate.Allow()
		h := w.Header()
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.opts.Per10s))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(s.gate.Remaining()))
		h.Set("X-HubSpot-RateLimit-Daily", "250000")
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.FormatInt(max(0, 250000-s.Requests.Load()), 10))
		if !ok {
			h.Set("Retry-After", strconv.Itoa(standinkit.RetryAfterSeconds(wait)))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error",
				"message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
				"correlationId": s.correlation(), "policyName": "TEN_SECONDLY_ROLLING", "groupName": "publicapi:private-app"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) properties(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res []map[string]string
	for _, p := range slices.Sorted(maps.Keys(s.props)) {
		res = append(res, map[string]string{"name": p, "label": p, "type": "string", "fieldType": "text", "groupName": "contactinformation"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}

type batchError struct {
	Status   string         `json:"status"`
	Category string         `json:"category"`
	Message  string         `json:"message"`
	Context  map[string]any `json:"context"`
}

func (s *Server) batchResult(w http.ResponseWriter, results []map[string]any, errs []batchError) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	body := map[string]any{"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
	if results == nil {
		body["results"] = []any{}
	}
	if len(errs) > 0 {
		body["numErrors"] = len(errs)
		body["errors"] = errs
		writeJSON(w, http.StatusMultiStatus, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) upsert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Inputs []struct {
			IDProperty string         `json:"idProperty"`
			ID         string         `json:"id"`
			Properties map[string]any `json:"properties"`
		} `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1: %v", err)
		return
	}
	if len(req.Inputs) == 0 || len(req.Inputs) > MaxInputs {
		s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input size must be between 1 and %d; got %d", MaxInputs, len(req.Inputs))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var missing []string
	for _, in := range req.Inputs {
		id := strings.ToLower(in.ID)
		if in.IDProperty != "email" || id == "" {
			s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "idProperty must be email and id non-empty")
			return
		}
		if seen[id] {
			s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Duplicate IDs found in batch input: [%s]. IDs must be unique", id)
			return
		}
		seen[id] = true
		for p := range in.Properties {
			if !s.props[p] && !slices.Contains(missing, p) {
				missing = append(missing, p)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property values were not valid: properties %s do not exist (PROPERTY_DOESNT_EXIST)", strings.Join(missing, ", "))
		return
	}
	var results []map[string]any
	var errs []batchError
	for _, in := range req.Inputs {
		email := strings.ToLower(in.ID)
		if (s.opts.RejectEmail != "" && email == strings.ToLower(s.opts.RejectEmail)) || !strings.Contains(email, "@") {
			s.Rejected.Add(1)
			errs = append(errs, batchError{Status: "error", Category: "VALIDATION_ERROR",
				Message: fmt.Sprintf("Email address %s is invalid", in.ID), Context: map[string]any{"ids": []string{in.ID}}})
			continue
		}
		s.Accepted.Add(1)
		c := s.contacts[email]
		isNew := c == nil
		if isNew {
			s.next++
			c = &Contact{ID: strconv.Itoa(s.next), Properties: map[string]string{"email": email}}
			c.Properties["hs_object_id"] = c.ID
			s.contacts[email] = c
			s.byID[c.ID] = c
		}
		changed := isNew
		for k, v := range in.Properties {
			str := fmt.Sprint(v)
			if v == nil {
				str = ""
			}
			if c.Properties[k] != str && !(str == "" && c.Properties[k] == "") {
				changed = true
			}
			if str == "" {
				delete(c.Properties, k)
			} else {
				c.Properties[k] = str
			}
		}
		if !changed {
			s.Duplicates.Add(1)
		}
		results = append(results, map[string]any{"id": c.ID, "new": isNew, "properties": map[string]string{"email": email, "hs_object_id": c.ID}})
	}
	s.batchResult(w, results, errs)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDProperty string              `json:"idProperty"`
		Inputs     []map[string]string `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: %v", err)
		return
	}
	if len(req.Inputs) == 0 || len(req.Inputs) > MaxInputs || req.IDProperty != "email" {
		s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "between 1 and %d inputs by idProperty email", MaxInputs)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var results []map[string]any
	var notFound []string
	for _, in := range req.Inputs {
		c := s.contacts[strings.ToLower(in["id"])]
		if c == nil {
			notFound = append(notFound, in["id"])
			continue
		}
		results = append(results, map[string]any{"id": c.ID, "properties": map[string]string{"email": c.Properties["email"], "hs_object_id": c.ID}})
	}
	var errs []batchError
	if len(notFound) > 0 {
		errs = append(errs, batchError{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
			Context: map[string]any{"ids": notFound}})
	}
	s.batchResult(w, results, errs)
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.lists[id] == nil {
		s.fail(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "List %s does not exist.", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"list": map[string]any{"listId": id, "name": "list " + id,
		"processingType": "MANUAL", "objectTypeId": "0-1", "size": len(s.lists[id])}})
}

func (s *Server) membership(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	if op != "add" && op != "remove" {
		s.fail(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "unknown membership operation %s", op)
		return
	}
	var ids []string
	if err := json.NewDecoder(r.Body).Decode(&ids); err != nil {
		s.fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "body must be a JSON array of record ids: %v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	members := s.lists[r.PathValue("id")]
	if members == nil {
		s.fail(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "List %s does not exist.", r.PathValue("id"))
		return
	}
	done, missingIDs := []string{}, []string{}
	for _, id := range ids {
		if s.byID[id] == nil {
			missingIDs = append(missingIDs, id)
			continue
		}
		if members[id] == (op == "add") {
			continue
		}
		if op == "add" {
			members[id] = true
		} else {
			delete(members, id)
		}
		done = append(done, id)
	}
	if op == "add" {
		writeJSON(w, http.StatusOK, map[string]any{"recordsIdsAdded": done, "recordIdsMissing": missingIDs})
	} else {
		writeJSON(w, http.StatusOK, map[string]any{"recordIdsRemoved": done, "recordIdsMissing": missingIDs})
	}
}
