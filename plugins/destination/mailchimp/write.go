package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
)

// Write upserts and removes members, one request per batch, up to
// Concurrency at once.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	cfg, c, err := d.state()
	if err != nil {
		return core.WriteSummary{}, err
	}
	emailCol, err := httpdest.Column(h.Schema, cfg.EmailColumn)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("mailchimp: email_column: %w", err)
	}
	merge, err := httpdest.Mapping(cfg.MergeFields).Bind(h.Schema)
	if err != nil {
		return core.WriteSummary{}, fmt.Errorf("mailchimp: merge_fields: %w", err)
	}
	w := &write{cfg: cfg, c: c, tag: cfg.TagPrefix + h.Segment, emailCol: emailCol, merge: merge, ack: ack}
	err = httpdest.RunOps(ctx, ops, cfg.Concurrency, w.op)
	return core.WriteSummary{Outputs: []string{fmt.Sprintf("mailchimp audience %s, tag %q", cfg.ListID, w.tag)}}, err
}

type write struct {
	cfg      Config
	c        *httpdest.Client
	tag      string
	emailCol int
	merge    *httpdest.BoundMapping
	ack      func(...core.Ack)

	segOnce sync.Once
	segID   string // the tag's static segment; "" if none
	segErr  error
}

// emails reads the batch's emails: rows by normalised email (two
// customers may share one), in first-seen order; rows without a usable
// email are refused at once.
func (w *write) emails(op core.Op) (order []string, rows map[string][]int) {
	rows = map[string][]int{}
	col := op.Batch.Column(w.emailCol)
	var refused []core.Ack
	for i := 0; i < int(op.Batch.NumRows()); i++ {
		raw, ok := httpdest.StringAt(col, i)
		if !ok || strings.TrimSpace(raw) == "" {
			refused = append(refused, core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr("missing_email", false, "the record has no email; Mailchimp identifies members by email")})
			continue
		}
		email, err := httpdest.NormalizeEmail(raw)
		if err != nil {
			refused = append(refused, core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr("invalid_email", false, "%v", err)})
			continue
		}
		if _, seen := rows[email]; !seen {
			order = append(order, email)
		}
		rows[email] = append(rows[email], i)
	}
	if len(refused) > 0 {
		w.ack(refused...)
	}
	return order, rows
}

func (w *write) op(ctx context.Context, op core.Op) error {
	order, rows := w.emails(op)
	if len(order) == 0 {
		return nil
	}
	if op.Kind == core.Remove {
		return w.remove(ctx, op, order, rows)
	}
	return w.upsert(ctx, op, order, rows)
}

type member struct {
	EmailAddress string            `json:"email_address"`
	StatusIfNew  string            `json:"status_if_new"`
	MergeFields  map[string]string `json:"merge_fields,omitempty"`
	Tags         []string          `json:"tags"`
}

type memberError struct {
	EmailAddress string `json:"email_address"`
	Error        string `json:"error"`
	ErrorCode    string `json:"error_code"`
	Field        string `json:"field"`
	FieldMessage string `json:"field_message"`
}

func (w *write) upsert(ctx context.Context, op core.Op, order []string, rows map[string][]int) error {
	members := make([]member, len(order))
	for k, email := range order {
		members[k] = member{
			EmailAddress: email,
			StatusIfNew:  w.cfg.StatusIfNew,
			MergeFields:  w.merge.StringValues(op.Batch, rows[email][0]),
			Tags:         []string{w.tag},
		}
	}
	var resp struct {
		NewMembers []struct {
			EmailAddress string `json:"email_address"`
		} `json:"new_members"`
		UpdatedMembers []struct {
			EmailAddress string `json:"email_address"`
		} `json:"updated_members"`
		Errors []memberError `json:"errors"`
	}
	body := map[string]any{"members": members, "update_existing": true, "sync_tags": false}
	if _, err := w.c.Do(ctx, http.MethodPost, "/lists/"+url.PathEscape(w.cfg.ListID), body, &resp); err != nil {
		return fmt.Errorf("mailchimp: batch subscribe: %w", err)
	}
	var acks []core.Ack
	settle := func(email string, err *core.RecordError) {
		for _, i := range rows[strings.ToLower(email)] {
			acks = append(acks, core.Ack{Seq: op.Seq, Index: i, Err: err})
		}
		delete(rows, strings.ToLower(email))
	}
	for _, e := range resp.Errors {
		settle(e.EmailAddress, memberErr(e))
	}
	for _, m := range resp.NewMembers {
		settle(m.EmailAddress, nil)
	}
	for _, m := range resp.UpdatedMembers {
		settle(m.EmailAddress, nil)
	}
	// Members the answer does not mention are not known to be held.
	for email := range rows {
		settle(email, httpdest.RecordErr("not_confirmed", true, "Mailchimp's answer did not list %s as created, updated or failed", email))
	}
	w.ack(acks...)
	return nil
}

// memberErr is the record error for an entry of errors[]: Mailchimp's
// error_code lower-cased ("ERROR_GENERIC" -> "error_generic").
func memberErr(e memberError) *core.RecordError {
	code := strings.ToLower(e.ErrorCode)
	if code == "" {
		code = "rejected"
	}
	msg := e.Error
	if e.Field != "" {
		msg += fmt.Sprintf(" (%s: %s)", e.Field, e.FieldMessage)
	}
	return &core.RecordError{Code: code, Message: msg}
}

// segment finds the static segment of the write's tag, once per write.
func (w *write) segment(ctx context.Context) (string, error) {
	w.segOnce.Do(func() {
		var resp struct {
			Segments []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"segments"`
		}
		path := "/lists/" + url.PathEscape(w.cfg.ListID) + "/segments?type=static&count=1000&fields=segments.id,segments.name"
		if _, err := w.c.Do(ctx, http.MethodGet, path, nil, &resp); err != nil {
			w.segErr = fmt.Errorf("mailchimp: look up tag %q: %w", w.tag, err)
			return
		}
		for _, s := range resp.Segments {
			if s.Name == w.tag {
				w.segID = fmt.Sprint(s.ID)
			}
		}
	})
	return w.segID, w.segErr
}

func (w *write) remove(ctx context.Context, op core.Op, order []string, rows map[string][]int) error {
	seg, err := w.segment(ctx)
	if err != nil {
		return err
	}
	var acks []core.Ack
	if seg != "" {
		var resp struct {
			Errors []struct {
				EmailAddress   string   `json:"email_address"`
				EmailAddresses []string `json:"email_addresses"`
				Error          string   `json:"error"`
			} `json:"errors"`
		}
		path := "/lists/" + url.PathEscape(w.cfg.ListID) + "/segments/" + seg
		if _, err := w.c.Do(ctx, http.MethodPost, path, map[string]any{"members_to_remove": order}, &resp); err != nil {
			return fmt.Errorf("mailchimp: remove from tag %q: %w", w.tag, err)
		}
		for _, e := range resp.Errors {
			for _, email := range append(e.EmailAddresses, e.EmailAddress) {
				for _, i := range rows[strings.ToLower(email)] {
					acks = append(acks, core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr("remove_failed", false, "%s", e.Error)})
				}
				delete(rows, strings.ToLower(email))
			}
		}
	}
	// Everyone else has left the tag (or never had it: Mailchimp ignores
	// unknown emails, and without the tag nobody holds it).
	for _, email := range order {
		for _, i := range rows[email] {
			acks = append(acks, core.Ack{Seq: op.Seq, Index: i})
		}
	}
	w.ack(acks...)
	return nil
}
