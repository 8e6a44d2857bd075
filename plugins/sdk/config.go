package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/segflow/segflow/core"
)

// DecodeConfig decodes a plugin's JSON configuration into v strictly:
// an unknown field or a value of the wrong type is a core.FieldErrors
// naming the field, which reaches the user against the config line. An
// empty configuration decodes as {}.
func DecodeConfig(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return core.FieldErrors{{Field: typeErr.Field, Message: fmt.Sprintf("must be a %s", typeErr.Type)}}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return core.FieldErrors{{Field: strings.Trim(f, `"`), Message: "unknown field"}}
	}
	return core.FieldErrors{{Field: "(config)", Message: err.Error()}}
}
