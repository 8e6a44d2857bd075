package brazestandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func do(t *testing.T, s *Server, key, body string) (*http.Response, map[string]any) {
	req, err := http.NewRequest("POST", s.URL()+"/users/track", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func TestContract(t *testing.T) {
	s := New(Options{RejectEmail: "bad@example.com"})
	defer s.Close()
	res, body := do(t, s, "wrong", `{"attributes": []}`)
	require.Equal(t, 401, res.StatusCode)
	require.NotEmpty(t, body["message"])

	res, body = do(t, s, s.APIKey(), `{"attributes": [
		{"external_id": "u1", "email": "a@example.com", "rfm": 555, "segs": {"add": ["vip", "new"]}},
		{"email": "bad@example.com"},
		{"rfm": 1}]}`)
	require.Equal(t, 201, res.StatusCode)
	require.Equal(t, "success", body["message"])
	require.Equal(t, float64(1), body["attributes_processed"])
	errs := body["errors"].([]any)
	require.Len(t, errs, 2)
	require.Equal(t, float64(1), errs[0].(map[string]any)["index"])
	require.Equal(t, float64(2), errs[1].(map[string]any)["index"])

	_, _ = do(t, s, s.APIKey(), `{"attributes": [{"external_id": "u1", "segs": {"remove": ["vip"]}},
		{"external_id": "ghost", "_update_existing_only": true, "segs": {"remove": ["vip"]}}]}`)
	users := s.Users()
	require.Len(t, users, 1, "update-only never creates a user")
	require.Equal(t, []string{"new"}, users[0].Attributes["segs"])

	var objs []string
	for i := range 76 {
		objs = append(objs, fmt.Sprintf(`{"external_id": "x%d"}`, i))
	}
	res, _ = do(t, s, s.APIKey(), `{"attributes": [`+strings.Join(objs, ",")+`]}`)
	require.Equal(t, 400, res.StatusCode, "more than 75 attributes objects")
}

func TestRateLimitHeaders(t *testing.T) {
	s := New(Options{Limit: 2, Window: time.Second})
	defer s.Close()
	// Start just after a window opens, so all three land in one.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	var last *http.Response
	codes := []int{}
	for range 3 {
		res, _ := do(t, s, s.APIKey(), `{"attributes": []}`)
		codes = append(codes, res.StatusCode)
		last = res
	}
	require.Equal(t, []int{201, 201, 429}, codes)
	require.Equal(t, "2", last.Header.Get("X-RateLimit-Limit"))
	require.Equal(t, "0", last.Header.Get("X-RateLimit-Remaining"))
	reset, err := strconv.ParseInt(last.Header.Get("X-RateLimit-Reset"), 10, 64)
	require.NoError(t, err)
	require.Equal(t, time.Now().Unix()+1, reset, "the window's end, Unix seconds")
	require.Empty(t, last.Header.Get("Retry-After"), "Braze sends no Retry-After")
}
