//go:build duckdb_arrow

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/plugins/destination/mailchimp/mailchimpstandin"
)

// segflowEnv runs the CLI in dir as segflow does, with env added to the
// process's environment.
func segflowEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(segflowBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

// mailchimpConfig is a config on the quickstart's sample warehouse whose
// one segment publishes to Mailchimp (a stand-in at baseURL), the key
// taken from ${MAILCHIMP_API_KEY}.
func mailchimpConfig(baseURL, listID string) string {
	return `version: 1
warehouse:
  plugin: duckdb
  config: { path: out/retail.duckdb }
sources:
  customers: { table: customers }
  orders: { table: orders }
models:
  as_of: "2025-12-31"
segments:
  - name: champions
    model: rfm
    filter: segment == 'Champions'
    attributes: [rfm_cell]
    destinations: [mailchimp]
destinations:
  - name: mailchimp
    plugin: mailchimp
    config:
      api_key: ${MAILCHIMP_API_KEY}
      list_id: ` + listID + `
      base_url: ` + baseURL + `
jobs:
  - name: daily
    models: [rfm]
    segments: [champions]
`
}

// TestValidateConnectTestsDestinations: validate --connect launches the
// built-in mailchimp plugin and tests its key and audience against the
// stand-in; a refused key or an unknown audience is one line naming the
// destination, and the key never appears in the output.
func TestValidateConnectTestsDestinations(t *testing.T) {
	const goodKey, wrongKey = "mc-good-5f1e9c0d2a7b-us6", "mc-wrong-8d3a6e4f0b1c-us6"
	s := mailchimpstandin.New(mailchimpstandin.Options{APIKey: goodKey, Lists: []string{"aud42"}})
	defer s.Close()
	dir := quickstart(t)
	write := func(listID string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(mailchimpConfig(s.URL(), listID)), 0o644))
	}
	noKeys := func(r result) {
		t.Helper()
		for _, key := range []string{goodKey, wrongKey} {
			require.NotContains(t, r.stdout+r.stderr, key)
		}
	}

	write("aud42")
	ok := segflowEnv(t, dir, []string{"MAILCHIMP_API_KEY=" + goodKey}, "validate", "--connect")
	require.Equal(t, 0, ok.code, ok.stdout+ok.stderr)
	require.Equal(t, "warehouse duckdb: connected\nsources: every mapped column exists\ndestination mailchimp: connected\nsegflow.yaml: ok\n", ok.stdout)
	noKeys(ok)

	r := segflowEnv(t, dir, []string{"MAILCHIMP_API_KEY=" + wrongKey}, "validate", "--connect")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	msg := lastLines(r.stderr)
	t.Log(msg)
	require.NotContains(t, msg, "\n", "one line: %q", r.stderr)
	require.True(t, strings.HasPrefix(msg, "error: destination mailchimp: the API key was refused"), msg)
	require.Contains(t, msg, "HTTP 401")
	noKeys(r)

	// An audience the key cannot see is named, with the same key.
	write("nope")
	r = segflowEnv(t, dir, []string{"MAILCHIMP_API_KEY=" + goodKey}, "validate", "--connect")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	msg = lastLines(r.stderr)
	t.Log(msg)
	require.NotContains(t, msg, "\n", "one line: %q", r.stderr)
	require.True(t, strings.HasPrefix(msg, `error: destination mailchimp: audience list_id "nope" not found`), msg)
	noKeys(r)

	// Without --connect no destination is contacted.
	requests := s.Counts().Requests
	r = segflowEnv(t, dir, []string{"MAILCHIMP_API_KEY=" + wrongKey}, "validate")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Equal(t, requests, s.Counts().Requests)
}

// TestValidateConnectNamesDestinationConfigField: a destination config
// its plugin refuses is a usage error at the field's line.
func TestValidateConnectNamesDestinationConfigField(t *testing.T) {
	dir := quickstart(t)
	cfg := strings.Replace(mailchimpConfig("ftp://example.com", "aud42"), "      list_id: aud42\n", "", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "segflow.yaml"), []byte(cfg), 0o644))
	r := segflowEnv(t, dir, []string{"MAILCHIMP_API_KEY=mc-some-key-us6"}, "validate", "--connect")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	t.Log(r.stderr)
	// Lines counted in mailchimpConfig without its list_id line:
	// destinations[0].config is line 19, base_url line 21; the missing
	// list_id is placed at config.
	require.Contains(t, r.stderr, "segflow.yaml:21:7: destinations[0].config.base_url: must be an http(s) URL")
	require.Contains(t, r.stderr, "segflow.yaml:19:5: destinations[0].config.list_id: required: the audience id")
	require.NotContains(t, r.stderr, "mc-some-key-us6")
}

func TestPluginsListShowsBuiltinDestinations(t *testing.T) {
	r := segflow(t, t.TempDir(), "plugins", "list")
	require.Equal(t, 0, r.code, r.stderr)
	for _, name := range []string{"file", "mailchimp", "klaviyo", "braze", "sendgrid", "hubspot", "customerio", "webhook"} {
		require.Regexp(t, `(?m)^`+name+`\s+destination\s+\S+\s+built-in\s+ok$`, r.stdout)
	}
}
