package braze

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
)

// Write sends each batch as one /users/track request, up to Concurrency
// at once.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	cfg, c, err := d.state()
	if err != nil {
		return core.WriteSummary{}, err
	}
	w := &write{cfg: cfg, c: c, segment: h.Segment, ack: ack, emailCol: -1, phoneCol: -1}
	if w.idCol, err = httpdest.Column(h.Schema, orStr(cfg.ExternalIDColumn, h.KeyColumn)); err != nil {
		return core.WriteSummary{}, fmt.Errorf("braze: external_id_column: %w", err)
	}
	switch {
	case cfg.EmailColumn == "-":
	case cfg.EmailColumn != "":
		if w.emailCol, err = httpdest.Column(h.Schema, cfg.EmailColumn); err != nil {
			return core.WriteSummary{}, fmt.Errorf("braze: email_column: %w", err)
		}
	default:
		if i, err := httpdest.Column(h.Schema, "email"); err == nil {
			w.emailCol = i
		}
	}
	if cfg.PhoneColumn != "" {
		if w.phoneCol, err = httpdest.Column(h.Schema, cfg.PhoneColumn); err != nil {
			return core.WriteSummary{}, fmt.Errorf("braze: phone_column: %w", err)
		}
	}
	if w.attrs, err = httpdest.Mapping(cfg.Attributes).Bind(h.Schema); err != nil {
		return core.WriteSummary{}, fmt.Errorf("braze: attributes: %w", err)
	}
	err = httpdest.RunOps(ctx, ops, cfg.Concurrency, w.op)
	return core.WriteSummary{Outputs: []string{fmt.Sprintf("braze %s includes %q", cfg.MembershipAttribute, h.Segment)}}, err
}

type write struct {
	cfg                       Config
	c                         *httpdest.Client
	segment                   string
	idCol, emailCol, phoneCol int
	attrs                     *httpdest.BoundMapping
	ack                       func(...core.Ack)
}

func (w *write) op(ctx context.Context, op core.Op) error {
	rec := op.Batch
	var objs []map[string]any
	var rows []int // row of each object
	var refused []core.Ack
	refuse := func(i int, code, format string, args ...any) {
		refused = append(refused, core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr(code, false, format, args...)})
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		id, ok := httpdest.StringAt(rec.Column(w.idCol), i)
		if !ok || strings.TrimSpace(id) == "" {
			refuse(i, "missing_external_id", "the record has no external_id")
			continue
		}
		obj := map[string]any{"external_id": id}
		if op.Kind == core.Remove {
			obj["_update_existing_only"] = true
			obj[w.cfg.MembershipAttribute] = map[string]any{"remove": []string{w.segment}}
		} else {
			if w.emailCol >= 0 {
				if raw, ok := httpdest.StringAt(rec.Column(w.emailCol), i); ok && strings.TrimSpace(raw) != "" {
					email, err := httpdest.NormalizeEmail(raw)
					if err != nil {
						refuse(i, "invalid_email", "%v", err)
						continue
					}
					obj["email"] = email
				}
			}
			if w.phoneCol >= 0 {
				if raw, ok := httpdest.StringAt(rec.Column(w.phoneCol), i); ok && strings.TrimSpace(raw) != "" {
					phone, err := httpdest.NormalizePhone(raw, w.cfg.DefaultCountryCode)
					if err != nil {
						refuse(i, "invalid_phone", "%v", err)
						continue
					}
					obj["phone"] = phone
				}
			}
			for k, v := range w.attrs.Values(rec, i) {
				obj[k] = v
			}
			obj["_update_existing_only"] = false
			obj[w.cfg.MembershipAttribute] = map[string]any{"add": []string{w.segment}}
		}
		objs = append(objs, obj)
		rows = append(rows, i)
	}
	if len(refused) > 0 {
		w.ack(refused...)
	}
	if len(objs) == 0 {
		return nil
	}
	var resp struct {
		Message string `json:"message"`
		Errors  []struct {
			Type       string `json:"type"`
			InputArray string `json:"input_array"`
			Index      int    `json:"index"`
		} `json:"errors"`
	}
	if _, err := w.c.Do(ctx, http.MethodPost, "/users/track", map[string]any{"attributes": objs}, &resp); err != nil {
		return fmt.Errorf("braze: /users/track: %w", err)
	}
	failed := map[int]*core.RecordError{}
	for _, e := range resp.Errors {
		if e.InputArray != "attributes" || e.Index < 0 || e.Index >= len(objs) {
			continue
		}
		code := "invalid_object"
		if strings.Contains(strings.ToLower(e.Type), "email") {
			code = "invalid_email"
		}
		failed[e.Index] = &core.RecordError{Code: code, Message: e.Type}
	}
	acks := make([]core.Ack, len(objs))
	for k, i := range rows {
		acks[k] = core.Ack{Seq: op.Seq, Index: i, Err: failed[k]}
	}
	w.ack(acks...)
	return nil
}
