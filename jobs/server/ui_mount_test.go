package server_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/jobs/server"
)

// TestUIMountedAtRoot: with a UI, every path the API does not claim goes
// to it, except under /api/, which keeps answering JSON.
func TestUIMountedAtRoot(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "ui:"+r.Method+" "+r.URL.Path)
	})
	ts := newServer(t, server.Options{UI: ui})
	for path, want := range map[string]string{"/": "ui:GET /", "/reports/rfm": "ui:GET /reports/rfm", "/runs/X": "ui:GET /runs/X"} {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Equal(t, want, string(b))
	}
	resp, err := http.Post(ts.URL+"/jobs/daily/trigger", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "ui:POST /jobs/daily/trigger", string(b), "the UI's own forms")

	for _, path := range []string{"/api/v1/nope", "/api/"} {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"), path)
	}
	resp, err = http.Get(ts.URL + "/api/v1/jobs")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
}
