package hubspotstandin

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
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp.StatusCode, resp.Header, v
}

// TestContract checks the documented codes and shapes (reference §6).
func TestContract(t *testing.T) {
	s := New(Options{Token: "t", Properties: []string{"rfm"}, Lists: []string{"9"}, RejectEmail: "bad@x.co"})
	defer s.Close()
	var inputs []string
	for i := range MaxInputs + 1 {
		inputs = append(inputs, fmt.Sprintf(`{"idProperty":"email","id":"c%d@x.co","properties":{}}`, i))
	}
	code, _, body := do(t, s, "POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[`+strings.Join(inputs, ",")+`]}`)
	require.Equal(t, 400, code, "101 inputs")
	require.Equal(t, "VALIDATION_ERROR", body["category"])

	code, _, body = do(t, s, "POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"idProperty":"email","id":"a@x.co","properties":{"nope":"1"}}]}`)
	require.Equal(t, 400, code, "unknown property")
	require.Contains(t, body["message"], "nope")

	code, h, body := do(t, s, "POST", "/crm/v3/objects/contacts/batch/upsert",
		`{"inputs":[{"idProperty":"email","id":"a@x.co","properties":{"rfm":"555"}},{"idProperty":"email","id":"bad@x.co","properties":{}}]}`)
	require.Equal(t, 207, code)
	require.Equal(t, "100", h.Get("X-HubSpot-RateLimit-Max"))
	require.Equal(t, 1.0, body["numErrors"])
	require.Equal(t, []any{"bad@x.co"}, body["errors"].([]any)[0].(map[string]any)["context"].(map[string]any)["ids"])
	id := body["results"].([]any)[0].(map[string]any)["id"].(string)

	code, _, body = do(t, s, "PUT", "/crm/v3/lists/9/memberships/add", `["`+id+`","999"]`)
	require.Equal(t, 200, code)
	require.Equal(t, map[string]any{"recordsIdsAdded": []any{id}, "recordIdsMissing": []any{"999"}}, body)
	code, _, body = do(t, s, "PUT", "/crm/v3/lists/9/memberships/remove", `["`+id+`"]`)
	require.Equal(t, 200, code)
	require.Equal(t, map[string]any{"recordIdsRemoved": []any{id}, "recordIdsMissing": []any{}}, body)

	stop := s.StartStorm()
	code, h, body = do(t, s, "GET", "/crm/v3/properties/contacts", "")
	stop()
	require.Equal(t, 429, code)
	require.Equal(t, "1", h.Get("Retry-After"))
	require.Equal(t, "RATE_LIMIT", body["errorType"])
	require.Equal(t, "TEN_SECONDLY_ROLLING", body["policyName"])
}
