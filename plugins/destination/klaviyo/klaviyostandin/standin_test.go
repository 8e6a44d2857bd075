package klaviyostandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func do(t *testing.T, s *Server, key, method, path, body string) (*http.Response, map[string]any) {
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Klaviyo-API-Key "+key)
	req.Header.Set("revision", "2024-10-15")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func firstError(body map[string]any) map[string]any {
	return body["errors"].([]any)[0].(map[string]any)
}

func jobBody(emails ...string) string {
	var ps []string
	for _, e := range emails {
		ps = append(ps, fmt.Sprintf(`{"type": "profile", "attributes": {"email": %q}}`, e))
	}
	return `{"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [` + strings.Join(ps, ",") +
		`]}}, "relationships": {"lists": {"data": [{"type": "list", "id": "LIST1"}]}}}}`
}

func TestContract(t *testing.T) {
	s := New(Options{RejectEmail: "bad@example.com", PollsToComplete: 2})
	defer s.Close()

	res, body := do(t, s, "pk_wrong", "GET", "/lists/LIST1", "")
	require.Equal(t, 401, res.StatusCode)
	require.Equal(t, "not_authenticated", firstError(body)["code"])

	res, body = do(t, s, s.APIKey(), "POST", "/profile-bulk-import-jobs", jobBody("a@example.com", "bad@example.com"))
	require.Equal(t, 202, res.StatusCode)
	require.NotEmpty(t, res.Header.Get("RateLimit-Remaining"))
	id := body["data"].(map[string]any)["id"].(string)

	// queued -> processing -> complete over two polls.
	_, body = do(t, s, s.APIKey(), "GET", "/profile-bulk-import-jobs/"+id, "")
	require.Equal(t, "processing", body["data"].(map[string]any)["attributes"].(map[string]any)["status"])
	require.Empty(t, s.ListProfiles("LIST1"), "nothing is imported before the job completes")
	_, body = do(t, s, s.APIKey(), "GET", "/profile-bulk-import-jobs/"+id, "")
	attrs := body["data"].(map[string]any)["attributes"].(map[string]any)
	require.Equal(t, "complete", attrs["status"])
	require.Equal(t, float64(1), attrs["completed_count"])
	require.Equal(t, float64(1), attrs["failed_count"])

	_, body = do(t, s, s.APIKey(), "GET", "/profile-bulk-import-jobs/"+id+"/import-errors", "")
	e := body["data"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
	require.Equal(t, "invalid", e["code"])
	require.Equal(t, "/data/attributes/profiles/data/1/attributes/email", e["source"].(map[string]any)["pointer"])
	require.Len(t, s.ListProfiles("LIST1"), 1)

	// Remove through the list relationship, by profile id.
	_, body = do(t, s, s.APIKey(), "GET", `/profiles?filter=`+`any(email,["a@example.com"])`, "")
	pid := body["data"].([]any)[0].(map[string]any)["id"].(string)
	res, _ = do(t, s, s.APIKey(), "DELETE", "/lists/LIST1/relationships/profiles", `{"data": [{"type": "profile", "id": "`+pid+`"}]}`)
	require.Equal(t, 204, res.StatusCode)
	require.Empty(t, s.ListProfiles("LIST1"))

	emails := make([]string, 10_001)
	for i := range emails {
		emails[i] = fmt.Sprintf("p%d@example.com", i)
	}
	res, _ = do(t, s, s.APIKey(), "POST", "/profile-bulk-import-jobs", jobBody(emails...))
	require.Equal(t, 400, res.StatusCode, "more than 10,000 profiles")
}

func TestBurstLimit(t *testing.T) {
	s := New(Options{Burst: 3, Steady: 100})
	defer s.Close()
	var codes []int
	var retry string
	for range 4 {
		res, _ := do(t, s, s.APIKey(), "POST", "/profile-bulk-import-jobs", jobBody("a@example.com"))
		codes = append(codes, res.StatusCode)
		retry = res.Header.Get("Retry-After")
	}
	require.Equal(t, []int{202, 202, 202, 429}, codes)
	require.Equal(t, "1", retry)
	// Other endpoints have buckets of their own.
	res, _ := do(t, s, s.APIKey(), "GET", "/lists/LIST1", "")
	require.Equal(t, 200, res.StatusCode)
	time.Sleep(1100 * time.Millisecond)
	res, _ = do(t, s, s.APIKey(), "POST", "/profile-bulk-import-jobs", jobBody("a@example.com"))
	require.Equal(t, 202, res.StatusCode, "the burst window has passed")
}
