package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/plugins/destination/internal/httpdest"
)

// Write imports each upsert batch as a job and removes through the list
// relationships, up to JobsInFlight batches at once.
func (d *Destination) Write(ctx context.Context, h core.WriteHeader, ops <-chan core.Op, ack func(...core.Ack)) (core.WriteSummary, error) {
	cfg, a, err := d.state()
	if err != nil {
		return core.WriteSummary{}, err
	}
	w := &write{cfg: cfg, a: a, list: cfg.list(h.Segment), ack: ack, phoneCol: -1}
	if w.emailCol, err = httpdest.Column(h.Schema, cfg.EmailColumn); err != nil {
		return core.WriteSummary{}, fmt.Errorf("klaviyo: email_column: %w", err)
	}
	if w.idCol, err = httpdest.Column(h.Schema, orStr(cfg.ExternalIDColumn, h.KeyColumn)); err != nil {
		return core.WriteSummary{}, fmt.Errorf("klaviyo: external_id_column: %w", err)
	}
	if cfg.PhoneColumn != "" {
		if w.phoneCol, err = httpdest.Column(h.Schema, cfg.PhoneColumn); err != nil {
			return core.WriteSummary{}, fmt.Errorf("klaviyo: phone_column: %w", err)
		}
	}
	if w.props, err = httpdest.Mapping(cfg.Properties).Bind(h.Schema); err != nil {
		return core.WriteSummary{}, fmt.Errorf("klaviyo: properties: %w", err)
	}
	err = httpdest.RunOps(ctx, ops, cfg.JobsInFlight, w.op)
	return core.WriteSummary{Outputs: []string{"klaviyo list " + w.list}}, err
}

type write struct {
	cfg                       Config
	a                         *apis
	list                      string
	emailCol, idCol, phoneCol int
	props                     *httpdest.BoundMapping
	ack                       func(...core.Ack)
}

// person is one profile of a batch and the rows it stands for (two
// customers may share an email).
type person struct {
	email string
	attrs map[string]any
	rows  []int
}

// people reads a batch's profiles, refusing rows without a usable email
// or phone at once.
func (w *write) people(op core.Op, withAttrs bool) []*person {
	rec := op.Batch
	var out []*person
	byEmail := map[string]*person{}
	var refused []core.Ack
	refuse := func(i int, code, format string, args ...any) {
		refused = append(refused, core.Ack{Seq: op.Seq, Index: i, Err: httpdest.RecordErr(code, false, format, args...)})
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		raw, ok := httpdest.StringAt(rec.Column(w.emailCol), i)
		if !ok || strings.TrimSpace(raw) == "" {
			refuse(i, "missing_email", "the record has no email; profiles are matched by email")
			continue
		}
		email, err := httpdest.NormalizeEmail(raw)
		if err != nil {
			refuse(i, "invalid_email", "%v", err)
			continue
		}
		if p := byEmail[email]; p != nil {
			p.rows = append(p.rows, i)
			continue
		}
		p := &person{email: email, rows: []int{i}}
		if withAttrs {
			p.attrs = map[string]any{"email": email}
			if id, ok := httpdest.StringAt(rec.Column(w.idCol), i); ok {
				p.attrs["external_id"] = id
			}
			if w.phoneCol >= 0 {
				if raw, ok := httpdest.StringAt(rec.Column(w.phoneCol), i); ok && strings.TrimSpace(raw) != "" {
					phone, err := httpdest.NormalizePhone(raw, w.cfg.DefaultCountryCode)
					if err != nil {
						refuse(i, "invalid_phone", "%v", err)
						continue
					}
					p.attrs["phone_number"] = phone
				}
			}
			if props := w.props.Values(rec, i); len(props) > 0 {
				p.attrs["properties"] = props
			}
		}
		byEmail[email] = p
		out = append(out, p)
	}
	if len(refused) > 0 {
		w.ack(refused...)
	}
	return out
}

func (w *write) op(ctx context.Context, op core.Op) error {
	if op.Kind == core.Remove {
		return w.remove(ctx, op, w.people(op, false))
	}
	return w.upsert(ctx, op, w.people(op, true))
}

type jobBody struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			Profiles struct {
				Data []profileData `json:"data"`
			} `json:"profiles"`
		} `json:"attributes"`
		Relationships struct {
			Lists struct {
				Data []ref `json:"data"`
			} `json:"lists"`
		} `json:"relationships"`
	} `json:"data"`
}

type profileData struct {
	Type       string         `json:"type"`
	Attributes map[string]any `json:"attributes"`
}

type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// upsert imports people as one job, or several when the payload would
// pass 5 MB.
func (w *write) upsert(ctx context.Context, op core.Op, people []*person) error {
	if len(people) == 0 {
		return nil
	}
	var body jobBody
	body.Data.Type = "profile-bulk-import-job"
	for _, p := range people {
		body.Data.Attributes.Profiles.Data = append(body.Data.Attributes.Profiles.Data, profileData{Type: "profile", Attributes: p.attrs})
	}
	body.Data.Relationships.Lists.Data = []ref{{Type: "list", ID: w.list}}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if len(payload) > MaxJobBytes {
		if len(people) == 1 {
			w.ack(httpdest.Acks(op.Seq, people[0].rows, httpdest.RecordErr("too_large", false, "the profile is larger than a 5 MB import job"))...)
			return nil
		}
		half := len(people) / 2
		if err := w.upsert(ctx, op, people[:half]); err != nil {
			return err
		}
		return w.upsert(ctx, op, people[half:])
	}
	var created struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if _, err := w.a.jobs.Do(ctx, http.MethodPost, "/profile-bulk-import-jobs", payload, &created); err != nil {
		return fmt.Errorf("klaviyo: create a bulk import job: %w", err)
	}
	return w.settle(ctx, op, created.Data.ID, people)
}

// settle polls a job to its end and acknowledges its people.
func (w *write) settle(ctx context.Context, op core.Op, job string, people []*person) error {
	path := "/profile-bulk-import-jobs/" + url.PathEscape(job)
	for {
		var st struct {
			Data struct {
				Attributes struct {
					Status string `json:"status"`
				} `json:"attributes"`
			} `json:"data"`
		}
		t := time.NewTimer(w.a.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if _, err := w.a.polls.Do(ctx, http.MethodGet, path, nil, &st); err != nil {
			return fmt.Errorf("klaviyo: poll import job %s: %w", job, err)
		}
		switch st.Data.Attributes.Status {
		case "complete":
			return w.importErrors(ctx, op, job, people)
		case "cancelled":
			var acks []core.Ack
			for _, p := range people {
				acks = append(acks, httpdest.Acks(op.Seq, p.rows, httpdest.RecordErr("job_cancelled", true, "Klaviyo cancelled import job %s", job))...)
			}
			w.ack(acks...)
			return nil
		}
	}
}

// importErrors fails the records of a job's import errors and
// acknowledges the rest.
func (w *write) importErrors(ctx context.Context, op core.Op, job string, people []*person) error {
	failed := map[int]*core.RecordError{}
	byEmail := map[string]int{}
	for k, p := range people {
		byEmail[p.email] = k
	}
	next := "/profile-bulk-import-jobs/" + url.PathEscape(job) + "/import-errors?page%5Bsize%5D=100"
	for next != "" {
		var page struct {
			Data []struct {
				Attributes struct {
					Code   string `json:"code"`
					Title  string `json:"title"`
					Detail string `json:"detail"`
					Source struct {
						Pointer string `json:"pointer"`
					} `json:"source"`
					OriginalPayload struct {
						Email string `json:"email"`
					} `json:"original_payload"`
				} `json:"attributes"`
			} `json:"data"`
			Links struct {
				Next *string `json:"next"`
			} `json:"links"`
		}
		if _, err := w.a.polls.Do(ctx, http.MethodGet, next, nil, &page); err != nil {
			return fmt.Errorf("klaviyo: read the import errors of job %s: %w", job, err)
		}
		for _, e := range page.Data {
			at := e.Attributes
			k, ok := profileIndex(at.Source.Pointer)
			if !ok || k >= len(people) {
				k, ok = byEmail[strings.ToLower(at.OriginalPayload.Email)]
			}
			if !ok {
				continue
			}
			failed[k] = &core.RecordError{Code: orStr(strings.ToLower(at.Code), "import_error"), Message: strings.TrimSpace(at.Title + " " + at.Detail)}
		}
		next = ""
		if page.Links.Next != nil && *page.Links.Next != "" {
			// Links are absolute; the client wants a path under its base.
			next = strings.TrimPrefix(*page.Links.Next, w.a.polls.BaseURL)
		}
	}
	var acks []core.Ack
	for k, p := range people {
		acks = append(acks, httpdest.Acks(op.Seq, p.rows, failed[k])...)
	}
	w.ack(acks...)
	return nil
}

// profileIndex reads k from "/data/attributes/profiles/data/k/…".
func profileIndex(pointer string) (int, bool) {
	rest, ok := strings.CutPrefix(pointer, "/data/attributes/profiles/data/")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, "/")
	k, err := strconv.Atoi(n)
	return k, err == nil && k >= 0
}

// remove looks the people's profile ids up by email and takes them out
// of the list.
func (w *write) remove(ctx context.Context, op core.Op, people []*person) error {
	var ids []ref
	for from := 0; from < len(people); from += 100 {
		var emails []string
		for _, p := range people[from:min(from+100, len(people))] {
			emails = append(emails, p.email)
		}
		list, _ := json.Marshal(emails)
		q := url.Values{"filter": {"any(email," + string(list) + ")"}, "page[size]": {"100"}, "fields[profile]": {"email"}}
		var found struct {
			Data []ref `json:"data"`
		}
		if _, err := w.a.reads.Do(ctx, http.MethodGet, "/profiles?"+q.Encode(), nil, &found); err != nil {
			return fmt.Errorf("klaviyo: look up profiles to remove: %w", err)
		}
		for _, r := range found.Data {
			ids = append(ids, ref{Type: "profile", ID: r.ID})
		}
	}
	for from := 0; from < len(ids); from += MaxListIDs {
		body := map[string]any{"data": ids[from:min(from+MaxListIDs, len(ids))]}
		if _, err := w.a.lists.Do(ctx, http.MethodDelete, "/lists/"+url.PathEscape(w.list)+"/relationships/profiles", body, nil); err != nil {
			return fmt.Errorf("klaviyo: remove profiles from list %s: %w", w.list, err)
		}
	}
	// Profiles Klaviyo does not know are not in the list either.
	var acks []core.Ack
	for _, p := range people {
		acks = append(acks, httpdest.Acks(op.Seq, p.rows, nil)...)
	}
	w.ack(acks...)
	return nil
}
