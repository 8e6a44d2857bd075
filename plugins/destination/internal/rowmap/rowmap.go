// Package rowmap turns a segment's rows into what the HTTP destinations
// (webhook, sendgrid, hubspot, customerio) send: the record's key, its
// normalised identities (email lower-cased, phone in E.164, both through
// httpdest) and its attributes under the configured vendor field names.
//
// Every column is sent, under its own name unless the attribute mapping
// renames it ("score": "rfm_score") or drops it ("note": "-"); a
// destination may keep identity columns out of the attributes (Skip)
// when its API carries them elsewhere. NULL attributes are left out
// (httpdest.BoundMapping), so they never clear what the vendor holds.
package rowmap

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
)

// MissingEmailCode is the RecordError code of a record without the email
// an email-keyed destination needs (pluginstest.MissingEmailCode).
const MissingEmailCode = "missing_email"

// Drop as a mapping's field name keeps a column out of the attributes.
const Drop = "-"

// Spec says how columns become fields.
type Spec struct {
	// Attributes maps column -> vendor field; Drop drops the column.
	Attributes map[string]string
	// EmailColumn and PhoneColumn name identity columns ("" = none);
	// their values are normalised wherever they are sent.
	EmailColumn, PhoneColumn string
	// DefaultCountryCode completes national phone numbers.
	DefaultCountryCode string
	// EmailRequired refuses records without an email (MissingEmailCode).
	EmailRequired bool
	// Skip are columns never sent as attributes (identities the API
	// carries elsewhere).
	Skip []string
}

// Bound is a Spec bound to one write's schema.
type Bound struct {
	key, email, phone int
	spec              Spec
	attrs             *httpdest.BoundMapping
	// emailField and phoneField are the attribute names of the identity
	// columns, "" when not sent as attributes.
	emailField, phoneField string
	// Fields are the vendor field names sent as attributes, sorted.
	Fields []string
	// Types are the Arrow types of the fields' columns.
	Types map[string]arrow.DataType
}

// Bind resolves the spec against a write's schema; a mapped column the
// segment lacks is an error naming it. An email column that is not in the
// schema is an error only when EmailRequired.
func (s Spec) Bind(h core.WriteHeader) (*Bound, error) {
	b := &Bound{email: -1, phone: -1, spec: s}
	var err error
	if b.key, err = httpdest.Column(h.Schema, h.KeyColumn); err != nil {
		return nil, err
	}
	if s.EmailColumn != "" {
		if i, err := httpdest.Column(h.Schema, s.EmailColumn); err == nil {
			b.email = i
		} else if s.EmailRequired {
			return nil, fmt.Errorf("email column: %w (set email_column)", err)
		}
	}
	if s.PhoneColumn != "" {
		if b.phone, err = httpdest.Column(h.Schema, s.PhoneColumn); err != nil {
			return nil, fmt.Errorf("phone column: %w", err)
		}
	}
	m := httpdest.Mapping{}
	for col, field := range s.Attributes {
		if field != Drop {
			m[col] = field
		}
	}
	for _, f := range h.Schema.Fields() {
		if _, listed := s.Attributes[f.Name]; !listed {
			m[f.Name] = f.Name
		}
	}
	for _, col := range s.Skip {
		delete(m, col)
	}
	if b.attrs, err = m.Bind(h.Schema); err != nil {
		return nil, err
	}
	b.emailField, b.phoneField = m[s.EmailColumn], m[s.PhoneColumn]
	b.Fields = slices.Sorted(maps.Values(m))
	b.Types = map[string]arrow.DataType{}
	for col, field := range m {
		b.Types[field] = h.Schema.Field(h.Schema.FieldIndices(col)[0]).Type
	}
	return b, nil
}

// Row is one record ready to send.
type Row struct {
	Index int
	Key   string
	// Email and Phone are normalised; "" when NULL or not configured.
	Email, Phone string
}

// Row reads row i's key and identities, or the error that refuses it.
func (b *Bound) Row(rec arrow.RecordBatch, i int) (Row, *core.RecordError) {
	r := Row{Index: i, Key: core.FormatValue(core.ValueAt(rec.Column(b.key), i))}
	if b.email >= 0 {
		if v, ok := httpdest.StringAt(rec.Column(b.email), i); ok && v != "" {
			e, err := httpdest.NormalizeEmail(v)
			if err != nil {
				return r, httpdest.RecordErr("invalid_email", false, "%v", err)
			}
			r.Email = e
		}
	}
	if r.Email == "" && b.spec.EmailRequired {
		return r, httpdest.RecordErr(MissingEmailCode, false, "the record has no email, which this destination identifies people by")
	}
	if b.phone >= 0 {
		if v, ok := httpdest.StringAt(rec.Column(b.phone), i); ok && v != "" {
			p, err := httpdest.NormalizePhone(v, b.spec.DefaultCountryCode)
			if err != nil {
				return r, httpdest.RecordErr("invalid_phone", false, "%v", err)
			}
			r.Phone = p
		}
	}
	return r, nil
}

// Values returns row r's attributes as typed JSON values, identities
// normalised.
func (b *Bound) Values(rec arrow.RecordBatch, r Row) map[string]any {
	v := b.attrs.Values(rec, r.Index)
	b.fix(r, func(field, val string) { v[field] = val })
	return v
}

func (b *Bound) fix(r Row, set func(field, val string)) {
	if b.emailField != "" && r.Email != "" {
		set(b.emailField, r.Email)
	}
	if b.phoneField != "" && r.Phone != "" {
		set(b.phoneField, r.Phone)
	}
}

// CheckAttributes validates a configured mapping: column and field names
// must be non-empty. It returns the problems, one per entry.
func CheckAttributes(m map[string]string) []string {
	var bad []string
	for _, col := range slices.Sorted(maps.Keys(m)) {
		if col == "" || m[col] == "" {
			bad = append(bad, fmt.Sprintf("%q -> %q: column and field must be non-empty (use %q to drop a column)", col, m[col], Drop))
		}
	}
	return bad
}

// Text renders an attribute value (from Values) for APIs whose fields
// are text: strings as they are, numbers at full precision (not
// core.FormatValue's two decimals), booleans as true/false.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// TextValues returns row r's attributes as text (Text), identities
// normalised; dates stay YYYY-MM-DD and timestamps RFC 3339.
func (b *Bound) TextValues(rec arrow.RecordBatch, r Row) map[string]string {
	out := map[string]string{}
	for k, v := range b.Values(rec, r) {
		out[k] = Text(v)
	}
	return out
}
