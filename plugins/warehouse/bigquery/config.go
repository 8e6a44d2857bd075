package bigquery

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/sdk"
)

// Config is the plugin's section of segflow.yaml.
type Config struct {
	// Project runs the jobs and is billed for them. Required.
	Project string `json:"project"`
	// Dataset is the default dataset: unqualified table names in
	// statements resolve there. Required.
	Dataset string `json:"dataset"`
	// Location of the jobs, such as "US" or "europe-west1"; empty lets
	// BigQuery infer it from the tables a statement reads.
	Location string `json:"location"`
	// CredentialsFile is a service-account key (JSON). Empty uses
	// application default credentials (GOOGLE_APPLICATION_CREDENTIALS,
	// gcloud's login, or the metadata server).
	CredentialsFile string `json:"credentials_file"`
	// Labels are attached to every job, for cost attribution.
	Labels map[string]string `json:"labels"`
	// MaximumBytesBilled makes BigQuery refuse any statement that would
	// bill more; 0 leaves the project's default.
	MaximumBytesBilled int64 `json:"maximum_bytes_billed"`
	// Priority is "interactive" (default) or "batch".
	Priority string `json:"priority"`

	// Endpoint (REST) and StorageEndpoint (Storage Read gRPC, host:port,
	// plaintext) point the plugin at a local stand-in, for tests and
	// benchmarks; authentication is then off. Not for users.
	Endpoint        string `json:"endpoint"`
	StorageEndpoint string `json:"storage_endpoint"`
}

var (
	// https://cloud.google.com/resource-manager/docs/creating-managing-projects
	projectPattern = regexp.MustCompile(`^([a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	datasetPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// https://cloud.google.com/bigquery/docs/labels-intro#requirements
	labelKeyPattern   = regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	labelValuePattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
)

// parseConfig decodes raw strictly and validates it; every problem is
// reported as a core.FieldError naming the field.
func parseConfig(raw json.RawMessage) (Config, error) {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return cfg, err
	}

	var bad core.FieldErrors
	add := func(field, format string, args ...any) {
		bad = append(bad, &core.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case cfg.Project == "":
		add("project", "is required")
	case !projectPattern.MatchString(cfg.Project):
		add("project", "%q is not a project ID (6-30 lower-case letters, digits and hyphens)", cfg.Project)
	}
	switch {
	case cfg.Dataset == "":
		add("dataset", "is required: unqualified table names resolve there")
	case !datasetPattern.MatchString(cfg.Dataset):
		add("dataset", "%q is not a dataset ID (letters, digits and underscores)", cfg.Dataset)
	}
	switch cfg.Priority {
	case "", "interactive", "batch":
	default:
		add("priority", "%q is not interactive or batch", cfg.Priority)
	}
	if cfg.MaximumBytesBilled < 0 {
		add("maximum_bytes_billed", "must not be negative")
	}
	keys := make([]string, 0, len(cfg.Labels))
	for k := range cfg.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !labelKeyPattern.MatchString(k) {
			add("labels."+k, "a label key starts with a lower-case letter and has at most 63 lower-case letters, digits, _ or -")
		}
		if !labelValuePattern.MatchString(cfg.Labels[k]) {
			add("labels."+k, "a label value has at most 63 lower-case letters, digits, _ or -")
		}
	}
	if cfg.CredentialsFile != "" {
		if msg := checkServiceAccount(cfg.CredentialsFile); msg != "" {
			add("credentials_file", "%s", msg)
		}
	}
	if cfg.Endpoint != "" {
		if u, err := url.Parse(cfg.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("endpoint", "%q is not an http(s) URL", cfg.Endpoint)
		}
		if cfg.StorageEndpoint == "" {
			add("storage_endpoint", "is required with endpoint, or results would be read from Google")
		}
	}
	if cfg.StorageEndpoint != "" {
		if _, _, err := net.SplitHostPort(cfg.StorageEndpoint); err != nil {
			add("storage_endpoint", "%q is not host:port", cfg.StorageEndpoint)
		}
		if cfg.Endpoint == "" {
			add("endpoint", "is required with storage_endpoint")
		}
	}
	if len(bad) > 0 {
		return cfg, bad
	}
	return cfg, nil
}

// checkServiceAccount explains what is wrong with a key file, if anything.
func checkServiceAccount(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("cannot read %s: %v", path, err)
	}
	var key struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(b, &key); err != nil {
		return fmt.Sprintf("%s is not JSON: %v", path, err)
	}
	if key.Type != "service_account" || key.ClientEmail == "" || key.PrivateKey == "" {
		return fmt.Sprintf("%s is not a service-account key (type %q); leave credentials_file empty to use application default credentials", path, key.Type)
	}
	return ""
}
