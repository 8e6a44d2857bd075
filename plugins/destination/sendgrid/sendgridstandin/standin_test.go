package sendgridstandin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func do(t *testing.T, s *Server, key, method, path, body string) (int, http.Header, map[string]any) {
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp.StatusCode, resp.Header, v
}

// TestContract checks the documented codes and shapes (reference §4).
func TestContract(t *testing.T) {
	s := New(Options{APIKey: "k", Lists: []string{"L"}, CustomFields: map[string]string{"rfm": "Number"}, RequestsPerSecond: 1000})
	defer s.Close()

	code, h, body := do(t, s, "wrong", "GET", "/v3/marketing/field_definitions", "")
	require.Equal(t, 401, code)
	require.Equal(t, map[string]any{"errors": []any{map[string]any{"field": nil, "message": "authorization required"}}}, body)

	code, h, body = do(t, s, "k", "GET", "/v3/marketing/field_definitions", "")
	require.Equal(t, 200, code)
	require.NotEmpty(t, h.Get("X-RateLimit-Limit"))
	require.NotEmpty(t, h.Get("X-RateLimit-Remaining"))
	require.NotEmpty(t, h.Get("X-RateLimit-Reset"))
	require.Equal(t, []any{map[string]any{"id": "e1_N", "name": "rfm", "field_type": "Number"}}, body["custom_fields"])

	var many []string
	for i := range MaxContacts + 1 {
		many = append(many, fmt.Sprintf(`{"email":"c%d@example.com"}`, i))
	}
	code, _, body = do(t, s, "k", "PUT", "/v3/marketing/contacts", `{"contacts":[`+strings.Join(many, ",")+`]}`)
	require.Equal(t, 400, code, "30,001 contacts")
	require.Equal(t, "contacts", body["errors"].([]any)[0].(map[string]any)["field"])

	code, _, _ = do(t, s, "k", "PUT", "/v3/marketing/contacts", `{"contacts":[{"email":"a@b.co","note":"`+strings.Repeat("x", MaxBodyBytes)+`"}]}`)
	require.Equal(t, 413, code, "over 6 MB")

	code, _, _ = do(t, s, "k", "PUT", "/v3/marketing/contacts", `{"contacts":[{"email":"a@b.co","custom_fields":{"e1_N":"five"}}]}`)
	require.Equal(t, 400, code, "a Number field takes numbers")

	code, _, body = do(t, s, "k", "PUT", "/v3/marketing/contacts", `{"list_ids":["L"],"contacts":[{"email":"A@b.co","custom_fields":{"e1_N":5}}]}`)
	require.Equal(t, 202, code)
	job := body["job_id"].(string)
	for _, want := range []string{"pending", "pending", "completed"} {
		_, _, body = do(t, s, "k", "GET", "/v3/marketing/contacts/imports/"+job, "")
		require.Equal(t, want, body["status"])
	}
	require.Equal(t, map[string]any{"requested_count": 1.0, "created_count": 1.0, "updated_count": 0.0, "deleted_count": 0.0, "errored_count": 0.0}, body["results"])

	_, _, body = do(t, s, "k", "POST", "/v3/marketing/contacts/search/emails", `{"emails":["a@b.co","x@y.co"]}`)
	res := body["result"].(map[string]any)
	require.Equal(t, map[string]any{"error": "contact not found"}, res["x@y.co"])
	id := res["a@b.co"].(map[string]any)["contact"].(map[string]any)["id"].(string)
	code, _, _ = do(t, s, "k", "DELETE", "/v3/marketing/lists/L/contacts?contact_ids="+id, "")
	require.Equal(t, 202, code)
	require.Empty(t, s.ListMembers("L"))

	stop := s.StartStorm()
	code, h, body = do(t, s, "k", "GET", "/v3/marketing/field_definitions", "")
	stop()
	require.Equal(t, 429, code)
	require.Equal(t, "0", h.Get("X-RateLimit-Remaining"))
	require.Empty(t, h.Get("Retry-After"), "SendGrid signals with the reset header only")
	require.Equal(t, map[string]any{"errors": []any{map[string]any{"field": nil, "message": "too many requests"}}}, body)
}
