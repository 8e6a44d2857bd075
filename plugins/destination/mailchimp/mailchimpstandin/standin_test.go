package mailchimpstandin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func do(t *testing.T, s *Server, key, method, path, body string) (int, map[string]any) {
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("anyone", key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestContract(t *testing.T) {
	s := New(Options{RejectEmail: "bad@example.com"})
	defer s.Close()

	code, body := do(t, s, "wrong", "GET", "/lists/list1", "")
	require.Equal(t, 401, code)
	require.Equal(t, "API Key Invalid", body["title"], "problem+json")

	code, _ = do(t, s, s.APIKey(), "GET", "/lists/nope", "")
	require.Equal(t, 404, code)

	var members bytes.Buffer
	members.WriteString(`{"members": [`)
	for i := range 501 {
		if i > 0 {
			members.WriteString(",")
		}
		fmt.Fprintf(&members, `{"email_address": "m%d@example.com", "status_if_new": "subscribed"}`, i)
	}
	members.WriteString(`], "update_existing": true}`)
	code, body = do(t, s, s.APIKey(), "POST", "/lists/list1", members.String())
	require.Equal(t, 400, code, "more than 500 members")
	require.Equal(t, float64(400), body["status"])

	// 200 with the failure in errors[]; the hash is of the lower-cased
	// email.
	code, body = do(t, s, s.APIKey(), "POST", "/lists/list1", `{"members": [
		{"email_address": "John.Doe@Example.com", "status_if_new": "subscribed", "merge_fields": {"RFM": "555"}, "tags": ["vip"]},
		{"email_address": "bad@example.com", "status_if_new": "subscribed"}], "update_existing": true}`)
	require.Equal(t, 200, code)
	require.Equal(t, float64(1), body["total_created"])
	require.Equal(t, float64(1), body["error_count"])
	require.Equal(t, "ERROR_GENERIC", body["errors"].([]any)[0].(map[string]any)["error_code"])
	require.Equal(t, "8eb1b522f60d11fa897de1dc6351b7e8", body["new_members"].([]any)[0].(map[string]any)["id"])

	// The tag is a static segment; removal through it.
	code, body = do(t, s, s.APIKey(), "GET", "/lists/list1/segments?type=static", "")
	require.Equal(t, 200, code)
	seg := body["segments"].([]any)[0].(map[string]any)
	require.Equal(t, "vip", seg["name"])
	code, body = do(t, s, s.APIKey(), "POST", fmt.Sprintf("/lists/list1/segments/%v", seg["id"]), `{"members_to_remove": ["john.doe@example.com", "unknown@example.com"]}`)
	require.Equal(t, 200, code)
	require.Equal(t, float64(1), body["total_removed"], "unknown emails are ignored")
	require.Empty(t, s.Members("list1")[0].Tags)
	c := s.Counts()
	require.Equal(t, int64(1), c.Accepted)
}

func TestConcurrencyLimit(t *testing.T) {
	s := New(Options{Latency: 300 * time.Millisecond})
	defer s.Close()
	codes := make(chan int, 12)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := do(t, s, s.APIKey(), "GET", "/lists/list1", "")
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	require.Equal(t, map[int]int{200: 10, 429: 2}, n, "10 simultaneous connections, the 11th and 12th refused")
}
