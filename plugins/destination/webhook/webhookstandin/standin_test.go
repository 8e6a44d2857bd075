package webhookstandin

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/plugins/destination/webhook"
)

func post(t *testing.T, s *Server, secret string, at time.Time, batchID, body string) int {
	ts := strconv.FormatInt(at.Unix(), 10)
	req, err := http.NewRequest("POST", s.URL(), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(webhook.HeaderTimestamp, ts)
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts, []byte(body)))
	req.Header.Set(webhook.HeaderBatchID, batchID)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestReceiver(t *testing.T) {
	s := New(Options{Secret: "right-secret"})
	defer s.Close()
	body := `{"batch_id":"b1","segment":"vip","operation":"upsert","records":[{"key":"1","attributes":{"email":"a@x.co"}}]}`
	require.Equal(t, 401, post(t, s, "wrong-secret", time.Now(), "b1", body))
	require.Equal(t, 401, post(t, s, "right-secret", time.Now().Add(-10*time.Minute), "b1", body), "outside the replay window")
	require.Equal(t, int64(2), s.BadSignatures.Load())
	require.Empty(t, s.Records("vip"))

	require.Equal(t, 200, post(t, s, "right-secret", time.Now(), "b1", body))
	require.Equal(t, 200, post(t, s, "right-secret", time.Now(), "b1", body), "a replayed batch is answered again")
	require.Equal(t, int64(1), s.Accepted.Load())
	require.Equal(t, int64(1), s.Duplicates.Load())
	require.Equal(t, map[string]map[string]any{"1": {"email": "a@x.co"}}, s.Records("vip"))

	require.Equal(t, 200, post(t, s, "right-secret", time.Now(), "b2", `{"batch_id":"b2","segment":"vip","operation":"remove","records":[{"key":"1","attributes":{}}]}`))
	require.Empty(t, s.Records("vip"))
	require.Equal(t, 400, post(t, s, "right-secret", time.Now(), "other", `{"batch_id":"b3","segment":"vip","operation":"upsert","records":[]}`), "the header names another batch")
}
