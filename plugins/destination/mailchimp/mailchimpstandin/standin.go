// Package mailchimpstandin is a local stand-in for the parts of the
// Mailchimp Marketing API v3 the mailchimp destination uses, following
// the documented contract (shared/reference/outbound-apis.md §1):
//
//   - Basic auth with the API key as password (any user name); otherwise
//     401 problem+json "API Key Invalid".
//   - At most Options.MaxConcurrent (10) requests in flight per key; one
//     more is answered 429 problem+json, without rate headers, as
//     Mailchimp does.
//   - GET /3.0/lists/{id}: the audience, or 404 "Resource Not Found".
//   - POST /3.0/lists/{id}: batch upsert of at most 500 members
//     ({members, update_existing, sync_tags}); more is a 400. The answer
//     is 200 even with failures: new_members, updated_members, errors[]
//     ({email_address, error, error_code, field, field_message}). The
//     member whose email is Options.RejectEmail fails with error_code
//     ERROR_GENERIC, as Mailchimp answers an address it deems fake.
//     Tags listed on a member are added (sync_tags false).
//   - GET /3.0/lists/{id}/segments?type=static: tags are static segments.
//   - POST /3.0/lists/{id}/segments/{seg}: members_to_add /
//     members_to_remove (≤500 each); unknown emails are ignored.
//
// Members are keyed by subscriber hash, the MD5 of the lower-cased email.
// Counters say what was accepted; Storm makes every request a 429.
package mailchimpstandin

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a stand-in.
type Options struct {
	// APIKey is the key the stand-in accepts; default "standin-key-us6".
	APIKey string
	// Lists are the audiences that exist; default {"list1"}.
	Lists []string
	// MaxConcurrent is the connection limit; default 10.
	MaxConcurrent int
	// Latency is added to every request, so concurrency matters.
	Latency time.Duration
	// RejectEmail is an address every upsert of fails.
	RejectEmail string
}

// Member is a list member as the stand-in holds it.
type Member struct {
	Email       string
	Status      string
	MergeFields map[string]string
	Tags        map[string]bool
}

// Counts are the stand-in's counters.
type Counts struct {
	Requests, Throttled int64
	// Accepted counts member upserts applied; Duplicates those that
	// changed nothing (the member was held with the same values and tags).
	Accepted, Duplicates int64
	// PeakConcurrent is the most requests seen in flight at once.
	PeakConcurrent int64
}

// Server is a running stand-in.
type Server struct {
	opts Options
	srv  *httptest.Server

	inflight, peak                            atomic.Int64
	requests, throttled, accepted, duplicates atomic.Int64
	storm                                     atomic.Bool

	mu       sync.Mutex
	lists    map[string]map[string]*Member // list -> hash -> member
	segments map[string]map[int]string     // list -> segment id -> tag name
	nextSeg  int
}

// New starts a stand-in; Close stops it.
func New(o Options) *Server {
	if o.APIKey == "" {
		o.APIKey = "standin-key-us6"
	}
	if len(o.Lists) == 0 {
		o.Lists = []string{"list1"}
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 10
	}
	s := &Server{opts: o, lists: map[string]map[string]*Member{}, segments: map[string]map[int]string{}, nextSeg: 1000}
	for _, l := range o.Lists {
		s.lists[l] = map[string]*Member{}
		s.segments[l] = map[int]string{}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API base, to give as the destination's base_url.
func (s *Server) URL() string { return s.srv.URL + "/3.0" }

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
	return Counts{
		Requests: s.requests.Load(), Throttled: s.throttled.Load(),
		Accepted: s.accepted.Load(), Duplicates: s.duplicates.Load(),
		PeakConcurrent: s.peak.Load(),
	}
}

// Members returns copies of a list's members, sorted by email.
func (s *Server) Members(list string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Member
	for _, m := range s.lists[list] {
		out = append(out, Member{Email: m.Email, Status: m.Status, MergeFields: maps.Clone(m.MergeFields), Tags: maps.Clone(m.Tags)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

// SubscriberHash is Mailchimp's member id: the hex MD5 of the lower-cased
// email.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:])
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type":     "https://mailchimp.com/developer/marketing/docs/errors/",
		"title":    title,
		"status":   status,
		"detail":   detail,
		"instance": strconv.FormatInt(time.Now().UnixNano(), 16),
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	if _, pass, ok := r.BasicAuth(); !ok || pass != s.opts.APIKey {
		problem(w, http.StatusUnauthorized, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
		return
	}
	if s.storm.Load() || n > int64(s.opts.MaxConcurrent) {
		s.throttled.Add(1)
		problem(w, http.StatusTooManyRequests, "Too Many Requests", fmt.Sprintf("You have exceeded the limit of %d simultaneous connections.", s.opts.MaxConcurrent))
		return
	}
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/3.0"), "/"), "/")
	if len(parts) < 2 || parts[0] != "lists" {
		problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	list := parts[1]
	s.mu.Lock()
	_, known := s.lists[list]
	s.mu.Unlock()
	if !known {
		problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.mu.Lock()
		count := len(s.lists[list])
		s.mu.Unlock()
		writeJSON(w, map[string]any{"id": list, "name": "Audience " + list, "stats": map[string]any{"member_count": count}})
	case len(parts) == 2 && r.Method == http.MethodPost:
		s.batchUpsert(w, r, list)
	case len(parts) == 3 && parts[2] == "segments" && r.Method == http.MethodGet:
		s.listSegments(w, list)
	case len(parts) == 4 && parts[2] == "segments" && r.Method == http.MethodPost:
		s.segmentMembers(w, r, list, parts[3])
	default:
		problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

type memberIn struct {
	EmailAddress string            `json:"email_address"`
	Status       string            `json:"status"`
	StatusIfNew  string            `json:"status_if_new"`
	MergeFields  map[string]string `json:"merge_fields"`
	Tags         []string          `json:"tags"`
}

type batchError struct {
	EmailAddress string `json:"email_address"`
	Error        string `json:"error"`
	ErrorCode    string `json:"error_code"`
	Field        string `json:"field"`
	FieldMessage string `json:"field_message"`
}

func (s *Server) batchUpsert(w http.ResponseWriter, r *http.Request, list string) {
	var req struct {
		Members        []memberIn `json:"members"`
		UpdateExisting bool       `json:"update_existing"`
		SyncTags       bool       `json:"sync_tags"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, "Invalid Resource", "The resource submitted could not be validated: "+err.Error())
		return
	}
	if len(req.Members) > 500 {
		problem(w, http.StatusBadRequest, "Invalid Resource", fmt.Sprintf("The resource submitted could not be validated. For field-specific details, see the 'errors' array. members: Schema describes array, maximum 500 items, %d given.", len(req.Members)))
		return
	}
	type out struct {
		ID           string `json:"id"`
		EmailAddress string `json:"email_address"`
		Status       string `json:"status"`
	}
	resp := struct {
		NewMembers     []out        `json:"new_members"`
		UpdatedMembers []out        `json:"updated_members"`
		Errors         []batchError `json:"errors"`
		TotalCreated   int          `json:"total_created"`
		TotalUpdated   int          `json:"total_updated"`
		ErrorCount     int          `json:"error_count"`
	}{NewMembers: []out{}, UpdatedMembers: []out{}, Errors: []batchError{}}
	s.mu.Lock()
	members := s.lists[list]
	for _, m := range req.Members {
		email := strings.ToLower(m.EmailAddress)
		fail := func(msg, code string) {
			resp.Errors = append(resp.Errors, batchError{EmailAddress: m.EmailAddress, Error: msg, ErrorCode: code})
		}
		if !strings.Contains(email, "@") || (s.opts.RejectEmail != "" && email == strings.ToLower(s.opts.RejectEmail)) {
			fail(m.EmailAddress+" looks fake or invalid, please enter a real email address.", "ERROR_GENERIC")
			continue
		}
		hash := SubscriberHash(email)
		cur, exists := members[hash]
		if exists && !req.UpdateExisting {
			fail(m.EmailAddress+" is already a list member.", "ERROR_CONTACT_EXISTS")
			continue
		}
		if !exists {
			status := m.Status
			if status == "" {
				status = m.StatusIfNew
			}
			if status == "" {
				fail("Invalid Resource: status or status_if_new is required", "ERROR_GENERIC")
				continue
			}
			cur = &Member{Email: email, Status: status, MergeFields: map[string]string{}, Tags: map[string]bool{}}
			members[hash] = cur
		}
		same := exists && (m.Status == "" || m.Status == cur.Status)
		if m.Status != "" {
			cur.Status = m.Status
		}
		for k, v := range m.MergeFields {
			if cur.MergeFields[k] != v {
				same = false
			}
			cur.MergeFields[k] = v
		}
		if req.SyncTags {
			if len(cur.Tags) != len(m.Tags) {
				same = false
			}
			clear(cur.Tags)
		}
		for _, t := range m.Tags {
			if !cur.Tags[t] {
				same = false
			}
			cur.Tags[t] = true
			s.segmentFor(list, t)
		}
		s.accepted.Add(1)
		if same {
			s.duplicates.Add(1)
		}
		o := out{ID: hash, EmailAddress: email, Status: cur.Status}
		if exists {
			resp.UpdatedMembers = append(resp.UpdatedMembers, o)
		} else {
			resp.NewMembers = append(resp.NewMembers, o)
		}
	}
	s.mu.Unlock()
	resp.TotalCreated, resp.TotalUpdated, resp.ErrorCount = len(resp.NewMembers), len(resp.UpdatedMembers), len(resp.Errors)
	writeJSON(w, resp)
}

// segmentFor returns the static segment id of a tag, creating it as
// Mailchimp does when a tag is first used. Callers hold mu.
func (s *Server) segmentFor(list, tag string) int {
	for id, name := range s.segments[list] {
		if name == tag {
			return id
		}
	}
	s.nextSeg++
	s.segments[list][s.nextSeg] = tag
	return s.nextSeg
}

func (s *Server) listSegments(w http.ResponseWriter, list string) {
	s.mu.Lock()
	type seg struct {
		ID          int    `json:"id"`
		Name        string `json:"name"`
		Type        string `json:"type"`
		MemberCount int    `json:"member_count"`
	}
	segs := []seg{}
	for id, name := range s.segments[list] {
		n := 0
		for _, m := range s.lists[list] {
			if m.Tags[name] {
				n++
			}
		}
		segs = append(segs, seg{ID: id, Name: name, Type: "static", MemberCount: n})
	}
	s.mu.Unlock()
	sort.Slice(segs, func(i, j int) bool { return segs[i].ID < segs[j].ID })
	writeJSON(w, map[string]any{"segments": segs, "total_items": len(segs)})
}

func (s *Server) segmentMembers(w http.ResponseWriter, r *http.Request, list, segID string) {
	var req struct {
		Add    []string `json:"members_to_add"`
		Remove []string `json:"members_to_remove"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, "Invalid Resource", err.Error())
		return
	}
	if len(req.Add) > 500 || len(req.Remove) > 500 {
		problem(w, http.StatusBadRequest, "Invalid Resource", "members_to_add and members_to_remove take at most 500 emails each.")
		return
	}
	id, _ := strconv.Atoi(segID)
	s.mu.Lock()
	defer s.mu.Unlock()
	tag, ok := s.segments[list][id]
	if !ok {
		problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
		return
	}
	added, removed := []string{}, []string{}
	for _, e := range req.Add {
		if m := s.lists[list][SubscriberHash(e)]; m != nil {
			m.Tags[tag] = true
			added = append(added, e)
		}
	}
	for _, e := range req.Remove {
		if m := s.lists[list][SubscriberHash(e)]; m != nil && m.Tags[tag] {
			delete(m.Tags, tag)
			removed = append(removed, e)
		}
	}
	writeJSON(w, map[string]any{
		"members_added": added, "members_removed": removed, "errors": []any{},
		"total_added": len(added), "total_removed": len(removed), "error_count": 0,
	})
}
