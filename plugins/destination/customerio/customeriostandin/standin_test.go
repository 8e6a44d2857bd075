package customeriostandin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func do(t *testing.T, s *Server, method, path, body string) (int, http.Header, map[string]any) {
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("site", "key")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp.StatusCode, resp.Header, v
}

// TestContract checks the documented codes and shapes (reference §5).
func TestContract(t *testing.T) {
	s := New(Options{SiteID: "site", APIKey: "key", Segments: []int{4}})
	defer s.Close()
	big := `{"batch":[{"type":"person","identifiers":{"id":"1"},"action":"identify","attributes":{"x":"` + strings.Repeat("y", MaxBatchBytes) + `"}}]}`
	code, _, body := do(t, s, "POST", "/api/v2/batch", big)
	require.Equal(t, 400, code, "500 KB or more")
	require.Contains(t, body["meta"].(map[string]any)["error"], "500KB")

	code, _, _ = do(t, s, "POST", "/api/v2/batch", `{"batch":[{"type":"person","identifiers":{"id":"1"},"action":"identify","attributes":{"email":"a@x.co"}}]}`)
	require.Equal(t, 200, code)
	var ids []string
	for i := range MaxSegmentIDs + 1 {
		ids = append(ids, fmt.Sprintf(`"%d"`, i))
	}
	code, _, _ = do(t, s, "POST", "/api/v1/segments/4/add_customers?id_type=id", `{"ids":[`+strings.Join(ids, ",")+`]}`)
	require.Equal(t, 400, code, "1,001 ids")
	code, _, _ = do(t, s, "POST", "/api/v1/segments/4/add_customers?id_type=email", `{"ids":["A@x.co"]}`)
	require.Equal(t, 200, code)
	require.Len(t, s.SegmentMembers(4), 1)
	code, _, _ = do(t, s, "POST", "/api/v1/segments/5/add_customers", `{"ids":["1"]}`)
	require.Equal(t, 404, code, "not a manual segment")

	stop := s.StartStorm()
	code, h, _ := do(t, s, "GET", "/api/v1/accounts/region", "")
	stop()
	require.Equal(t, 429, code)
	require.Empty(t, h.Get("Retry-After"), "Customer.io sends no rate headers")
}
