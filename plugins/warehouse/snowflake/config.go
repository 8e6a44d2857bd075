package snowflake

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/sdk"
)

// Config is the plugin's section of segflow.yaml.
type Config struct {
	// Account identifier, such as "myorg-myaccount" or "xy12345.eu-west-1".
	Account string `json:"account"`
	// User to log in as.
	User string `json:"user"`
	// Exactly one way to authenticate: a password, a key-pair private key
	// (PEM, PKCS#8 or PKCS#1, unencrypted) or an OAuth access token.
	Password       string `json:"password"`
	PrivateKeyFile string `json:"private_key_file"`
	Token          string `json:"token"`
	// Session defaults; empty leaves the user's defaults.
	Warehouse string `json:"warehouse"`
	Role      string `json:"role"`
	Database  string `json:"database"`
	Schema    string `json:"schema"`
	// QueryTag is set on the session, so every statement carries it.
	QueryTag string `json:"query_tag"`
	// PreserveColumnCase keeps result column names as Snowflake reports
	// them. By default names in upper case only (Snowflake's folding of
	// unquoted names) are lower-cased, so that `SELECT id` yields a
	// column "id" as in the other warehouses; quoted mixed-case names
	// are always kept.
	PreserveColumnCase bool `json:"preserve_column_case"`

	// Host, Port and Protocol point the plugin at a local stand-in, for
	// tests and benchmarks. Not for users.
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
}

// parseConfig decodes raw strictly and validates it; every problem is
// reported as a core.FieldError naming the field. It also loads the
// private key, if any.
func parseConfig(raw json.RawMessage) (Config, *rsa.PrivateKey, error) {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return cfg, nil, err
	}

	var bad core.FieldErrors
	add := func(field, format string, args ...any) {
		bad = append(bad, &core.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if cfg.Account == "" {
		add("account", "is required")
	} else if strings.Contains(cfg.Account, "snowflakecomputing.com") || strings.Contains(cfg.Account, "/") {
		add("account", "%q should be the account identifier (such as myorg-myaccount), not a URL", cfg.Account)
	}
	if cfg.User == "" && cfg.Token == "" {
		add("user", "is required")
	}
	var methods []string
	for _, m := range []struct{ field, value string }{{"password", cfg.Password}, {"private_key_file", cfg.PrivateKeyFile}, {"token", cfg.Token}} {
		if m.value != "" {
			methods = append(methods, m.field)
		}
	}
	switch len(methods) {
	case 0:
		add("password", "one of password, private_key_file or token is required")
	case 1:
	default:
		add(methods[1], "give only one of password, private_key_file and token (also set: %s)", methods[0])
	}
	var key *rsa.PrivateKey
	if cfg.PrivateKeyFile != "" {
		var err error
		if key, err = loadPrivateKey(cfg.PrivateKeyFile); err != nil {
			add("private_key_file", "%v", err)
		}
	}
	switch cfg.Protocol {
	case "", "http", "https":
	default:
		add("protocol", "%q is not http or https", cfg.Protocol)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		add("port", "%d is not a port", cfg.Port)
	}
	if len(bad) > 0 {
		return cfg, nil, bad
	}
	return cfg, key, nil
}

// loadPrivateKey reads an unencrypted RSA key in PEM, PKCS#8 or PKCS#1.
func loadPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s is not a PEM file", path)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%s is encrypted; segflow needs an unencrypted key (openssl pkcs8 -topk8 -nocrypt)", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s holds no RSA private key: %v", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T key; Snowflake key-pair authentication uses RSA", path, k)
	}
	return rk, nil
}
