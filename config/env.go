package config

import (
	"fmt"
	"strings"
)

// expandEnv replaces ${NAME} and ${NAME:-default} in s. "$$" stands for
// a literal "$", and a "$" not followed by "{" or "$" is kept as is. It
// returns the values taken from the environment (not defaults, which
// are written in the file anyway) so that they can be redacted.
//
// ${NAME:-default} uses default when NAME is unset or empty, as in the
// shell; ${NAME} with NAME unset is an error, and with NAME set to ""
// expands to "".
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string, error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	var secrets []string
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$$") {
			b.WriteByte('$')
			i += 2
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf(`unterminated "${" (write "$$" for a literal "$")`)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !isEnvName(name) {
			return "", nil, fmt.Errorf(`invalid variable name %q in "${%s}" (write "$$" for a literal "$")`, name, expr)
		}
		switch val, ok := lookup(name); {
		case ok && (val != "" || !hasDef):
			b.WriteString(val)
			secrets = append(secrets, val)
		case hasDef:
			b.WriteString(def)
		default:
			return "", nil, fmt.Errorf("environment variable %s is not set (use ${%s:-default} to give a default)", name, name)
		}
		i += end + 1
	}
	return b.String(), secrets, nil
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Redact replaces every value that came from ${ENV} expansion (and is at
// least 4 bytes long, so that "1" or "yes" do not blank out half a log
// line) with "***". Use it on anything printed that may echo config
// values: logs, errors from plugins, dry-run output.
func (c *Config) Redact(s string) string {
	if c == nil {
		return s
	}
	for _, secret := range c.secrets { // sorted longest first by parse
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return s
}
