// Package sendgridstandin is a local stand-in for the SendGrid Marketing
// Campaigns contacts API (shared/reference/outbound-apis.md §4), for tests
// and benchmarks. It keeps the documented contract: Bearer auth; PUT
// /v3/marketing/contacts of at most 30,000 contacts and 6 MB, answered 202
// {"job_id"} and processed as an import job that stays "pending" for a
// few polls of GET /v3/marketing/contacts/imports/{id}; custom_fields keyed
// by field id (GET/POST /v3/marketing/field_definitions); list membership
// through list_ids, removal through POST /v3/marketing/contacts/search/emails
// then DELETE /v3/marketing/lists/{id}/contacts?contact_ids=...;
// X-RateLimit-Limit/-Remaining/-Reset on every response and 429
// {"errors":[{"field":null,"message":"too many requests"}]} beyond the
// rate, without Retry-After; errors as {"errors":[{"field","message"}]}.
//
// Choices where the reference is silent (marked "verify" there): the
// errors_url file is a CSV with the header "email,error", served without
// auth like a pre-signed download URL (a request that carries an
// Authorization header is refused, as S3 refuses a second auth mechanism);
// an empty string clears a field; search/emails takes at most 100 emails
// and answers 404 when none is found.
package sendgridstandin

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/plugins/destination/internal/standinkit"
)

// Documented limits.
const (
	MaxContacts  = 30_000
	MaxBodyBytes = 6 << 20
	MaxSearch    = 100
)

// Options configure a stand-in account.
type Options struct {
	// APIKey the account accepts as "Authorization: Bearer <key>".
	APIKey string
	// CustomFields are the account's custom fields: name -> field type
	// (Text, Number or Date).
	CustomFields map[string]string
	// Lists are the ids of the account's lists.
	Lists []string
	// RequestsPerSecond limits requests in fixed one-second windows, which
	// the X-RateLimit-* headers describe; default 1000.
	RequestsPerSecond int
	// Burst, when set, makes the limit a token bucket of that size
	// refilled at RequestsPerSecond (Remaining is the whole tokens left,
	// Reset when the next token is due), which tolerates the jitter of a
	// client pacing itself at exactly the rate: the bench uses it.
	Burst int
	// Storm answers the first Storm requests with 429.
	Storm int
	// RejectEmail is an email the import jobs refuse (listed at errors_url).
	RejectEmail string
	// PollsPending is how many polls of a job answer "pending" before it
	// finishes; default 2, negative for none.
	PollsPending int
}

// Contact is a contact as the stand-in holds it.
type Contact struct {
	ID    string
	Email string
	// Reserved fields other than email (external_id, first_name, ...).
	Reserved map[string]any
	// Custom fields by name.
	Custom map[string]any
	Lists  map[string]bool
}

type field struct{ id, name, typ string }

type job struct {
	id        string
	polls     int
	requested int
	created   int
	updated   int
	errors    [][2]string // email, reason
}

// Server is a running stand-in.
type Server struct {
	opts  Options
	srv   *httptest.Server
	gate  *standinkit.Gate
	limit int
	standinkit.Counters

	mu       sync.Mutex
	fields   []field
	lists    map[string]bool
	contacts map[string]*Contact // by email
	byID     map[string]*Contact
	jobs     map[string]*job
	next     int
}

var reserved = []string{"email", "phone_number_id", "external_id", "anonymous_id", "first_name", "last_name",
	"alternate_emails", "address_line_1", "address_line_2", "city", "state_province_region", "postal_code",
	"country", "phone_number", "whatsapp", "line", "facebook", "unique_name"}

// New starts a stand-in; Close stops it.
func New(o Options) *Server {
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = 1000
	}
	if o.PollsPending == 0 {
		o.PollsPending = 2
	}
	o.PollsPending = max(o.PollsPending, 0)
	s := &Server{
		opts:     o,
		gate:     standinkit.NewWindowGate(o.RequestsPerSecond, time.Second, o.Storm),
		limit:    o.RequestsPerSecond,
		lists:    map[string]bool{},
		contacts: map[string]*Contact{},
		byID:     map[string]*Contact{},
		jobs:     map[string]*job{},
	}
	if o.Burst > 0 {
		s.gate = standinkit.NewGate(float64(o.RequestsPerSecond), o.Burst, o.Storm)
	}
	for _, l := range o.Lists {
		s.lists[l] = true
	}
	for _, name := range slices.Sorted(maps.Keys(o.CustomFields)) {
		s.addField(name, o.CustomFields[name])
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/marketing/field_definitions", s.getFields)
	mux.HandleFunc("POST /v3/marketing/field_definitions", s.createField)
	mux.HandleFunc("GET /v3/marketing/lists/{id}", s.getList)
	mux.HandleFunc("PUT /v3/marketing/contacts", s.upsert)
	mux.HandleFunc("GET /v3/marketing/contacts/imports/{id}", s.getJob)
	mux.HandleFunc("POST /v3/marketing/contacts/search/emails", s.search)
	mux.HandleFunc("DELETE /v3/marketing/lists/{id}/contacts", s.removeFromList)
	s.srv = httptest.NewServer(s.guard(mux))
	return s
}

// URL is the API's base URL (in place of https://api.sendgrid.com).
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
	for _, c := range s.contacts {
		if c.Lists[id] {
			out = append(out, Contact{ID: c.ID, Email: c.Email, Reserved: maps.Clone(c.Reserved), Custom: maps.Clone(c.Custom), Lists: maps.Clone(c.Lists)})
		}
	}
	return out
}

// Contacts is the number of contacts in the account.
func (s *Server) Contacts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts)
}

func (s *Server) addField(name, typ string) field {
	s.next++
	f := field{id: fmt.Sprintf("e%d_%s", s.next, typ[:1]), name: name, typ: typ}
	s.fields = append(s.fields, f)
	return f
}

type apiError struct {
	Field   any    `json:"field"`
	Message string `json:"message"`
}

func fail(w http.ResponseWriter, code int, field any, format string, args ...any) {
	writeJSON(w, code, map[string][]apiError{"errors": {{Field: field, Message: fmt.Sprintf(format, args...)}}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// guard serves errors_url downloads, then checks auth and the rate limit
// and sets the rate headers on every response.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		if strings.HasPrefix(r.URL.Path, "/downloads/") {
			s.download(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
			fail(w, http.StatusUnauthorized, nil, "authorization required")
			return
		}
		ok, wait := s.gate.Allow()
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.gate.Remaining()))
		reset := s.gate.Reset()
		if reset.IsZero() { // token bucket: when the next token is due
			reset = time.Now().Add(time.Duration(float64(time.Second) / float64(s.limit)))
		}
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(reset), 10))
		if !ok {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(time.Now().Add(wait)), 10))
			fail(w, http.StatusTooManyRequests, nil, "too many requests")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) getFields(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type def struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		FieldType string `json:"field_type"`
	}
	custom := []def{}
	for _, f := range s.fields {
		custom = append(custom, def{f.id, f.name, f.typ})
	}
	res := []def{}
	for i, name := range reserved {
		res = append(res, def{fmt.Sprintf("_rf%d_T", i), name, "Text"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"custom_fields": custom, "reserved_fields": res})
}

func (s *Server) createField(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string `json:"name"`
		FieldType string `json:"field_type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, nil, "invalid JSON: %v", err)
		return
	}
	if req.FieldType != "Text" && req.FieldType != "Number" && req.FieldType != "Date" {
		fail(w, http.StatusBadRequest, "field_type", "field_type must be Text, Number or Date")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fields {
		if f.name == req.Name {
			fail(w, http.StatusBadRequest, "name", "field name %q already exists", req.Name)
			return
		}
	}
	f := s.addField(req.Name, req.FieldType)
	writeJSON(w, http.StatusOK, map[string]string{"id": f.id, "name": f.name, "field_type": f.typ})
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if !s.lists[id] {
		fail(w, http.StatusNotFound, "id", "list not found")
		return
	}
	n := 0
	for _, c := range s.contacts {
		if c.Lists[id] {
			n++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": "list " + id, "contact_count": n})
}

func (s *Server) upsert(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		fail(w, http.StatusBadRequest, nil, "%v", err)
		return
	}
	if len(body) > MaxBodyBytes {
		fail(w, http.StatusRequestEntityTooLarge, nil, "request body is larger than 6 MB")
		return
	}
	var req struct {
		ListIDs  []string                     `json:"list_ids"`
		Contacts []map[string]json.RawMessage `json:"contacts"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, nil, "invalid JSON: %v", err)
		return
	}
	switch {
	case len(req.Contacts) == 0:
		fail(w, http.StatusBadRequest, "contacts", "at least one contact is required")
		return
	case len(req.Contacts) > MaxContacts:
		fail(w, http.StatusBadRequest, "contacts", "at most %d contacts per request; got %d", MaxContacts, len(req.Contacts))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range req.ListIDs {
		if !s.lists[l] {
			fail(w, http.StatusBadRequest, "list_ids", "list %s does not exist", l)
			return
		}
	}
	// Validate every contact before applying any: validation fails the
	// whole request.
	type parsed struct {
		email    string
		reserved map[string]any
		custom   map[string]any
	}
	var contacts []parsed
	for i, raw := range req.Contacts {
		p := parsed{reserved: map[string]any{}, custom: map[string]any{}}
		for k, v := range raw {
			var val any
			d := json.NewDecoder(bytes.NewReader(v))
			d.UseNumber()
			if err := d.Decode(&val); err != nil {
				fail(w, http.StatusBadRequest, fmt.Sprintf("contacts[%d].%s", i, k), "invalid value")
				return
			}
			switch {
			case k == "email":
				e, _ := val.(string)
				p.email = strings.ToLower(strings.TrimSpace(e))
			case k == "custom_fields":
				m, ok := val.(map[string]any)
				if !ok {
					fail(w, http.StatusBadRequest, fmt.Sprintf("contacts[%d].custom_fields", i), "must be an object")
					return
				}
				for id, cv := range m {
					f, ok := s.fieldByID(id)
					if !ok {
						fail(w, http.StatusBadRequest, fmt.Sprintf("contacts[%d].custom_fields.%s", i, id), "custom field id %s does not exist", id)
						return
					}
					if !typeOK(f.typ, cv) {
						fail(w, http.StatusBadRequest, fmt.Sprintf("contacts[%d].custom_fields.%s", i, id), "value %v is not of type %s", cv, f.typ)
						return
					}
					p.custom[f.name] = cv
				}
			case slices.Contains(reserved, k):
				p.reserved[k] = val
			default:
				fail(w, http.StatusBadRequest, fmt.Sprintf("contacts[%d].%s", i, k), "unknown field %s", k)
				return
			}
		}
		if p.email == "" {
			fail(w, http.StatusBadRequest, fmt.Sprintf("contacts[%d]", i), "contact must have an email")
			return
		}
		contacts = append(contacts, p)
	}
	s.next++
	j := &job{id: fmt.Sprintf("job-%06d", s.next), requested: len(contacts)}
	for _, p := range contacts {
		if s.opts.RejectEmail != "" && p.email == strings.ToLower(s.opts.RejectEmail) {
			s.Rejected.Add(1)
			j.errors = append(j.errors, [2]string{p.email, "email address is not valid"})
			continue
		}
		s.Accepted.Add(1)
		c := s.contacts[p.email]
		if c == nil {
			s.next++
			c = &Contact{ID: fmt.Sprintf("c%08d", s.next), Email: p.email, Reserved: map[string]any{}, Custom: map[string]any{}, Lists: map[string]bool{}}
			s.contacts[p.email] = c
			s.byID[c.ID] = c
			j.created++
		} else {
			j.updated++
		}
		before := Contact{Reserved: maps.Clone(c.Reserved), Custom: maps.Clone(c.Custom), Lists: maps.Clone(c.Lists)}
		set(c.Reserved, p.reserved)
		set(c.Custom, p.custom)
		for _, l := range req.ListIDs {
			c.Lists[l] = true
		}
		if reflect.DeepEqual(before, Contact{Reserved: c.Reserved, Custom: c.Custom, Lists: c.Lists}) {
			s.Duplicates.Add(1)
		}
	}
	s.jobs[j.id] = j
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": j.id})
}

// set applies values; an empty string clears the field.
func set(dst, src map[string]any) {
	for k, v := range src {
		if v == "" || v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func typeOK(typ string, v any) bool {
	if v == "" {
		return true
	}
	switch typ {
	case "Number":
		_, ok := v.(json.Number)
		return ok
	case "Date":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339, s)
		if err != nil {
			_, err = time.Parse(time.DateOnly, s)
		}
		return err == nil
	}
	_, ok := v.(string)
	return ok
}

func (s *Server) fieldByID(id string) (field, bool) {
	for _, f := range s.fields {
		if f.id == id {
			return f, true
		}
	}
	return field{}, false
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[r.PathValue("id")]
	if j == nil {
		fail(w, http.StatusNotFound, "id", "job not found")
		return
	}
	j.polls++
	results := map[string]any{"requested_count": j.requested, "created_count": j.created,
		"updated_count": j.updated, "deleted_count": 0, "errored_count": len(j.errors)}
	status := "pending"
	if j.polls > s.opts.PollsPending {
		switch {
		case len(j.errors) == 0:
			status = "completed"
		case len(j.errors) == j.requested:
			status = "failed"
		default:
			status = "errored"
		}
		if len(j.errors) > 0 {
			results["errors_url"] = s.srv.URL + "/downloads/errors/" + j.id + ".csv"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.id, "status": status, "job_type": "upsert",
		"results": results, "started_at": time.Now().UTC().Format(time.RFC3339)})
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "only one auth mechanism allowed", http.StatusBadRequest)
		return
	}
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/downloads/errors/"), ".csv")
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/csv")
	cw := csv.NewWriter(w)
	cw.Write([]string{"email", "error"})
	for _, e := range j.errors {
		cw.Write(e[:])
	}
	cw.Flush()
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Emails []string `json:"emails"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, nil, "invalid JSON: %v", err)
		return
	}
	if len(req.Emails) == 0 || len(req.Emails) > MaxSearch {
		fail(w, http.StatusBadRequest, "emails", "between 1 and %d emails; got %d", MaxSearch, len(req.Emails))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	result := map[string]any{}
	found := 0
	for _, e := range req.Emails {
		if c := s.contacts[strings.ToLower(e)]; c != nil {
			found++
			result[e] = map[string]any{"contact": map[string]any{"id": c.ID, "email": c.Email, "list_ids": slices.Sorted(maps.Keys(c.Lists))}}
		} else {
			result[e] = map[string]any{"error": "contact not found"}
		}
	}
	if found == 0 {
		fail(w, http.StatusNotFound, nil, "no contacts found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

func (s *Server) removeFromList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := r.PathValue("id")
	if !s.lists[list] {
		fail(w, http.StatusNotFound, "id", "list not found")
		return
	}
	ids := r.URL.Query().Get("contact_ids")
	if ids == "" {
		fail(w, http.StatusBadRequest, "contact_ids", "contact_ids is required")
		return
	}
	for _, id := range strings.Split(ids, ",") {
		c := s.byID[id]
		if c == nil || !c.Lists[list] {
			continue
		}
		delete(c.Lists, list)
	}
	s.next++
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": fmt.Sprintf("job-%06d", s.next)})
}

// ceilUnix is t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}
