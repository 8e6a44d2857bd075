package httpdest

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/segflow/segflow/core"
)

// Column finds a column of schema by name.
func Column(schema *arrow.Schema, name string) (int, error) {
	idx := schema.FieldIndices(name)
	if len(idx) != 1 {
		return -1, fmt.Errorf("the segment has no column %q", name)
	}
	return idx[0], nil
}

// StringAt returns row i of col formatted with core.FormatValue, and
// false for NULL.
func StringAt(col arrow.Array, i int) (string, bool) {
	v := core.ValueAt(col, i)
	if v == nil {
		return "", false
	}
	return core.FormatValue(v), true
}

// JSONValueAt returns row i of col as a value for a JSON body: numbers,
// strings and booleans as they are (core.ValueAt), dates as
// "2006-01-02", timestamps as RFC 3339 in UTC, NULL as nil.
func JSONValueAt(col arrow.Array, i int) any {
	v := core.ValueAt(col, i)
	if t, ok := v.(time.Time); ok {
		if col.DataType().ID() == arrow.DATE32 || col.DataType().ID() == arrow.DATE64 {
			return t.Format(time.DateOnly)
		}
		return t.Format(time.RFC3339)
	}
	return v
}

// Mapping sends segment columns as vendor fields: column name to field
// name, as a destination's config gives it ("attributes": {"rfm_score":
// "RFM"}).
type Mapping map[string]string

// Bind resolves the mapping against a write's schema; a mapped column
// the segment lacks is an error naming it.
func (m Mapping) Bind(schema *arrow.Schema) (*BoundMapping, error) {
	b := &BoundMapping{}
	for col, field := range m {
		i, err := Column(schema, col)
		if err != nil {
			return nil, fmt.Errorf("attribute mapping %s -> %s: %w", col, field, err)
		}
		b.cols = append(b.cols, i)
		b.fields = append(b.fields, field)
	}
	return b, nil
}

// BoundMapping is a Mapping bound to column positions.
type BoundMapping struct {
	cols   []int
	fields []string
}

// Values returns the vendor fields of row i: NULL columns are left out,
// so they never clear a value the vendor holds (many APIs ignore nulls;
// leaving them out makes all of them behave alike).
func (b *BoundMapping) Values(rec arrow.RecordBatch, i int) map[string]any {
	out := make(map[string]any, len(b.cols))
	for k, c := range b.cols {
		if v := JSONValueAt(rec.Column(c), i); v != nil {
			out[b.fields[k]] = v
		}
	}
	return out
}

// StringValues is Values with every value formatted as a string
// (core.FormatValue), for APIs whose fields are text (Mailchimp merge
// fields, HubSpot properties).
func (b *BoundMapping) StringValues(rec arrow.RecordBatch, i int) map[string]string {
	out := make(map[string]string, len(b.cols))
	for k, c := range b.cols {
		if v, ok := StringAt(rec.Column(c), i); ok {
			out[b.fields[k]] = v
		}
	}
	return out
}

// NormalizeEmail trims and lower-cases an address and checks its shape:
// one "@", a non-empty local part of at most 64 bytes, a domain with a
// dot that neither starts nor ends the domain, no spaces or control
// characters, at most 254 bytes in all (RFC 5321's limits). Lower-casing
// the local part is what the vendors do to match addresses (Mailchimp's
// subscriber hash is the MD5 of the lower-cased address).
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", fmt.Errorf("empty email address")
	}
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case !ok || strings.Contains(domain, "@"):
		return "", fmt.Errorf("email address %q must have exactly one @", e)
	case local == "" || len(local) > 64:
		return "", fmt.Errorf("email address %q has an empty or too long local part", e)
	case len(e) > 254:
		return "", fmt.Errorf("email address is longer than 254 bytes")
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return "", fmt.Errorf("email address %q has no valid domain", e)
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", fmt.Errorf("email address %q contains a space or control character", e)
		}
	}
	return e, nil
}

// NormalizePhone returns a phone number in E.164: "+", the country
// calling code and the subscriber number, 8 to 15 digits in all, the
// first not 0. The rule:
//   - spaces, dashes, dots, slashes and parentheses are dropped;
//   - a leading "+" or international prefix "00" means the number
//     carries its country code;
//   - otherwise the number is national: one leading trunk "0" is
//     dropped and defaultCC (digits, e.g. "44", "+44" accepted) is put in
//     front; without a defaultCC a national number is an error;
//   - any other character (letters, "ext") is an error.
//
// So with defaultCC "44", "020 7946 0018" becomes "+442079460018"; with
// any defaultCC, "+1 (415) 555-2671" becomes "+14155552671".
func NormalizePhone(s, defaultCC string) (string, error) {
	var digits strings.Builder
	raw := strings.TrimSpace(s)
	international := false
	switch {
	case strings.HasPrefix(raw, "+"):
		international, raw = true, raw[1:]
	case strings.HasPrefix(raw, "00"):
		international, raw = true, raw[2:]
	}
	for _, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune(" -./()", r):
		default:
			return "", fmt.Errorf("phone number %q contains %q", s, r)
		}
	}
	d := digits.String()
	if !international {
		cc := strings.TrimPrefix(strings.TrimSpace(defaultCC), "+")
		if cc == "" {
			return "", fmt.Errorf("phone number %q has no country code and no default country code is configured", s)
		}
		d = cc + strings.TrimPrefix(d, "0")
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("phone number %q is not a valid E.164 number (8-15 digits, not starting with 0)", s)
	}
	return "+" + d, nil
}

// ValidCountryCode checks a configured default country calling code:
// 1 to 3 digits, optionally after "+", not starting with 0.
func ValidCountryCode(cc string) bool {
	cc = strings.TrimPrefix(cc, "+")
	if len(cc) < 1 || len(cc) > 3 || cc[0] == '0' {
		return false
	}
	for _, r := range cc {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
