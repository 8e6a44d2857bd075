package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/core/state"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/jobs/schedule"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/models"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Triggerer starts manual runs; *schedule.Scheduler is one.
type Triggerer interface {
	Trigger(ctx context.Context, job string) (state.Run, error)
}

// Segments answers the segment pages; *jobs.Runner is one.
type Segments interface {
	Segments(ctx context.Context) ([]jobs.SegmentStatus, error)
	Segment(ctx context.Context, name string) (*jobs.SegmentStatus, error)
	// SegmentMembers returns up to limit members, each a column → value map.
	SegmentMembers(ctx context.Context, name string, limit int) ([]map[string]string, error)
}

// Options configure a UI.
type Options struct {
	Config *config.Config // required
	Store  state.Store    // required: jobs' last runs and the run pages
	// Scheduler starts the runs the trigger form asks for; nil hides the form.
	Scheduler Triggerer
	// Warehouse answers the reports; nil shows them as unavailable.
	Warehouse core.Warehouse
	// Segments answers the segment pages; nil shows them as unavailable.
	Segments Segments
	// Token is what triggers and unmasked emails need; empty refuses both.
	Token  string
	Logger *slog.Logger // default slog.Default()
	// Now gives the current time (next scheduled runs); tests fix it.
	Now func() time.Time
	// QueryTimeout bounds the warehouse queries of one page (default 30s).
	QueryTimeout time.Duration
}

// MembersPreview is how many members a segment page shows.
const MembersPreview = 25

// UI is the web UI's http.Handler.
type UI struct {
	opts      Options
	mux       *http.ServeMux
	pages     map[string]*template.Template
	schedules map[string]schedule.Schedule
	tokenSum  [sha256.Size]byte

	mu      sync.Mutex
	dialect dialect.Dialect
}

// New parses the embedded templates and returns the UI.
func New(opts Options) (*UI, error) {
	if opts.Config == nil || opts.Store == nil {
		return nil, errors.New("ui: Config and Store are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	u := &UI{opts: opts, pages: map[string]*template.Template{}, schedules: map[string]schedule.Schedule{}}
	if opts.Token != "" {
		u.tokenSum = sha256.Sum256([]byte(opts.Token))
	}
	sjobs, err := jobs.ScheduleJobs(opts.Config)
	if err != nil {
		return nil, err
	}
	for _, j := range sjobs {
		u.schedules[j.Name] = j.Schedule
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, err
		}
		u.pages[name] = t
	}

	u.mux = http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	staticFS := http.FileServerFS(static)
	u.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		staticFS.ServeHTTP(w, r)
	})))
	u.mux.HandleFunc("GET /{$}", u.overview)
	u.mux.HandleFunc("POST /jobs/{name}/trigger", u.trigger)
	u.mux.HandleFunc("GET /runs/{id}", u.run)
	u.mux.HandleFunc("GET /segments", u.segments)
	u.mux.HandleFunc("GET /segments/{name}", u.segment)
	u.mux.HandleFunc("POST /segments/{name}", u.segment)
	u.mux.HandleFunc("GET /reports/rfm", u.reportPage("rfm", u.rfm))
	u.mux.HandleFunc("GET /reports/rfm/customers", u.reportPage("rfm", u.rfmCustomers))
	u.mux.HandleFunc("GET /reports/deciles", u.reportPage("rfm", u.deciles))
	u.mux.HandleFunc("GET /reports/lifecycle", u.reportPage("lifecycle", u.lifecycle))
	u.mux.HandleFunc("GET /reports/cohort", u.reportPage("cohort", u.cohort))
	u.mux.HandleFunc("GET /reports/attribution", u.reportPage("attribution", u.attribution))
	u.mux.HandleFunc("GET /reports/affinity", u.reportPage("affinity", u.affinity))
	u.mux.HandleFunc("GET /reports/clv", u.reportPage("clv", u.clv))
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, http.StatusNotFound, "There is no page "+r.URL.Path+".")
	})
	return u, nil
}

// ServeHTTP serves the pages with headers that keep them self-contained:
// no script may run and nothing loads from elsewhere.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	u.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the nav entry to highlight
	Project string
	Error   string
	Data    any
}

// render executes a page into a buffer first, so a template error
// becomes a clean 500 rather than half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := u.pages[name]
	p.Project = u.opts.Config.Project
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		u.opts.Logger.Error("ui template", "page", name, "err", err)
		http.Error(w, "internal error rendering "+name, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an error page; messages are redacted of config secrets.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	u.render(w, r, status, "error", page{Title: http.StatusText(status), Error: u.opts.Config.Redact(msg)})
}

// failReport shows a warehouse error with the likely cure.
func (u *UI) failReport(w http.ResponseWriter, r *http.Request, model string, err error) {
	u.opts.Logger.Error("ui report", "path", r.URL.Path, "err", u.opts.Config.Redact(err.Error()))
	u.fail(w, r, http.StatusInternalServerError, fmt.Sprintf("Could not read the %s tables: %v. Has a job that builds the %s model run yet?", model, err, model))
}

// authorized checks the token from a form field "token" or an
// Authorization: Bearer header, in constant time.
func (u *UI) authorized(r *http.Request) bool {
	if u.opts.Token == "" {
		return false
	}
	given := r.PostFormValue("token")
	if given == "" {
		if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
			given = tok
		}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(given)))
	return given != "" && subtle.ConstantTimeCompare(sum[:], u.tokenSum[:]) == 1
}

// warehouse returns the warehouse, its dialect and the output schema.
func (u *UI) warehouse(ctx context.Context) (core.Warehouse, dialect.Dialect, string, error) {
	wh := u.opts.Warehouse
	if wh == nil {
		return nil, nil, "", errors.New("no warehouse is connected to this UI")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dialect == nil {
		info, err := wh.Info(ctx)
		if err != nil {
			return nil, nil, "", err
		}
		if u.dialect, err = dialect.Get(info.Dialect); err != nil {
			return nil, nil, "", err
		}
	}
	return wh, u.dialect, u.opts.Config.Warehouse.OutputSchema, nil
}

func (u *UI) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), u.opts.QueryTimeout)
}

// reportPage serves a page of model's reports within the query
// timeout: an error opening or reading the warehouse becomes the report
// error page.
func (u *UI) reportPage(model string, page func(context.Context, http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := u.ctx(r)
		defer cancel()
		if err := page(ctx, w, r); err != nil {
			u.failReport(w, r, model, err)
		}
	}
}

// ---- overview, trigger, runs ----

type jobRow struct {
	config.Job
	Timezone string
	LastRun  *state.Run
	NextRun  time.Time
}

type overviewData struct {
	Jobs     []jobRow
	Runs     []state.Run
	CanWrite bool // a token is configured and a scheduler is there
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := u.ctx(r)
	defer cancel()
	now := u.opts.Now()
	tz := u.opts.Config.Timezone
	if tz == "" {
		tz = "UTC"
	}
	var d overviewData
	for _, cj := range u.opts.Config.Jobs {
		row := jobRow{Job: cj, Timezone: tz}
		if sched := u.schedules[cj.Name]; sched != nil {
			last, ok, err := u.opts.Store.LastScheduledFor(ctx, cj.Name)
			if err != nil {
				u.fail(w, r, http.StatusInternalServerError, "state store: "+err.Error())
				return
			}
			if !ok {
				last = now
			}
			row.NextRun = nextAfter(sched, last, now)
		}
		runs, err := u.opts.Store.ListRuns(ctx, state.RunFilter{Job: cj.Name, Limit: 1})
		if err != nil {
			u.fail(w, r, http.StatusInternalServerError, "state store: "+err.Error())
			return
		}
		if len(runs) > 0 {
			row.LastRun = &runs[0]
		}
		d.Jobs = append(d.Jobs, row)
	}
	runs, err := u.opts.Store.ListRuns(ctx, state.RunFilter{Limit: 20})
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, "state store: "+err.Error())
		return
	}
	d.Runs = runs
	d.CanWrite = u.opts.Token != "" && u.opts.Scheduler != nil
	u.render(w, r, http.StatusOK, "overview", page{Title: "Jobs and runs", Nav: "overview", Data: d})
}

// nextAfter is the first scheduled time after now, counted from last so
// that @every schedules keep the scheduler's grid (as the JSON API does).
func nextAfter(sched schedule.Schedule, last, now time.Time) time.Time {
	t := sched.Next(last)
	for n := 0; !t.IsZero() && !t.After(now); n++ {
		next := sched.Next(t)
		if !next.After(t) || n > 1<<20 {
			return sched.Next(now)
		}
		t = next
	}
	return t.UTC()
}

func (u *UI) trigger(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if u.opts.Config.Job(name) == nil {
		u.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no job named %q.", name))
		return
	}
	if u.opts.Scheduler == nil || u.opts.Token == "" {
		u.fail(w, r, http.StatusForbidden, "Triggers are disabled: segflow serve has no API token (set SEGFLOW_API_TOKEN and restart it).")
		return
	}
	if !u.authorized(r) {
		u.fail(w, r, http.StatusUnauthorized, "Missing or wrong token: enter the API token (the value of SEGFLOW_API_TOKEN) to trigger a run.")
		return
	}
	run, err := u.opts.Scheduler.Trigger(r.Context(), name)
	switch {
	case errors.Is(err, schedule.ErrJobRunning):
		u.fail(w, r, http.StatusConflict, fmt.Sprintf("Job %s is already running; try again when it finishes.", name))
		return
	case err != nil:
		u.fail(w, r, http.StatusServiceUnavailable, "Could not trigger job "+name+": "+err.Error())
		return
	}
	u.opts.Logger.Info("job triggered from the UI", "job", name, "run", run.ID, "remote", r.RemoteAddr)
	http.Redirect(w, r, "/runs/"+run.ID, http.StatusSeeOther)
}

type runData struct {
	Run   state.Run
	Steps []state.Step
	// Totals over the steps.
	Rows, Bytes, DurationMs int64
	Failed                  int
}

func (u *UI) run(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := u.ctx(r)
	defer cancel()
	id := r.PathValue("id")
	run, steps, err := u.opts.Store.GetRun(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		u.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no run %q.", id))
		return
	}
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, "state store: "+err.Error())
		return
	}
	d := runData{Run: run, Steps: steps}
	for _, s := range steps {
		d.Rows += s.Rows
		d.Bytes += s.BytesScanned
		d.DurationMs += s.DurationMs
		if s.Error != "" {
			d.Failed++
		}
	}
	u.render(w, r, http.StatusOK, "run", page{Title: "Run " + run.ID, Nav: "overview", Data: d})
}

// ---- segments ----

type segmentsData struct {
	Available bool
	Segments  []segmentRow
}

type segmentRow struct {
	jobs.SegmentStatus
	Last *jobs.SegmentRun
}

func (u *UI) segments(w http.ResponseWriter, r *http.Request) {
	if u.opts.Segments == nil {
		u.render(w, r, http.StatusOK, "segments", page{Title: "Segments", Nav: "segments", Data: segmentsData{}})
		return
	}
	ctx, cancel := u.ctx(r)
	defer cancel()
	list, err := u.opts.Segments.Segments(ctx)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, "Could not read the segments: "+err.Error())
		return
	}
	d := segmentsData{Available: true}
	for _, s := range list {
		row := segmentRow{SegmentStatus: s}
		if n := len(s.History); n > 0 {
			row.Last = &s.History[n-1]
		}
		d.Segments = append(d.Segments, row)
	}
	u.render(w, r, http.StatusOK, "segments", page{Title: "Segments", Nav: "segments", Data: d})
}

type segmentData struct {
	Available bool
	Segment   *jobs.SegmentStatus
	Chart     template.HTML
	Columns   []string
	Members   []map[string]string
	Unmasked  bool
	CanUnmask bool
	History   []jobs.SegmentRun // newest first
}

func (u *UI) segment(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if u.opts.Config.Segment(name) == nil {
		u.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no segment named %q.", name))
		return
	}
	unmask := r.URL.Query().Get("unmask") == "1"
	if r.Method == http.MethodPost && !unmask {
		http.Redirect(w, r, "/segments/"+name, http.StatusSeeOther)
		return
	}
	if unmask && !u.authorized(r) {
		if u.opts.Token == "" {
			u.fail(w, r, http.StatusForbidden, "Emails cannot be unmasked: segflow serve has no API token.")
			return
		}
		u.fail(w, r, http.StatusUnauthorized, "Unmasking emails needs the API token: enter it in the form on the segment's page.")
		return
	}
	if u.opts.Segments == nil {
		u.render(w, r, http.StatusOK, "segment", page{Title: "Segment " + name, Nav: "segments", Data: segmentData{}})
		return
	}
	ctx, cancel := u.ctx(r)
	defer cancel()
	s, err := u.opts.Segments.Segment(ctx, name)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, "Could not read segment "+name+": "+err.Error())
		return
	}
	d := segmentData{Available: true, Segment: s, Chart: segmentHistorySVG(s.History), Unmasked: unmask, CanUnmask: u.opts.Token != ""}
	for i := len(s.History) - 1; i >= 0; i-- {
		d.History = append(d.History, s.History[i])
	}
	if s.Built {
		members, err := u.opts.Segments.SegmentMembers(ctx, name, MembersPreview)
		if err != nil {
			u.fail(w, r, http.StatusInternalServerError, "Could not read the members of "+name+": "+err.Error())
			return
		}
		d.Members, d.Columns = members, memberColumns(members)
		if !unmask {
			for _, m := range d.Members {
				for k, v := range m {
					if isEmailColumn(k) {
						m[k] = maskEmail(v)
					}
				}
			}
		}
	}
	u.render(w, r, http.StatusOK, "segment", page{Title: "Segment " + name, Nav: "segments", Data: d})
}

func isEmailColumn(k string) bool { return strings.Contains(strings.ToLower(k), "email") }

// memberColumns orders the members' columns: customer_id, email, then
// the attributes by name.
func memberColumns(members []map[string]string) []string {
	seen := map[string]bool{}
	var cols []string
	for _, m := range members {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	rank := func(c string) int {
		switch {
		case c == "customer_id":
			return 0
		case isEmailColumn(c):
			return 1
		}
		return 2
	}
	slices.SortFunc(cols, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return cols
}

// ---- reports ----

type rfmData struct {
	Matrix    template.HTML
	Cells     []report.RFMCell
	Segments  *report.Table
	Customers int64
	Revenue   float64
}

func (u *UI) rfm(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	cells, err := report.RFMMatrix(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	tables, err := report.RFM(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	// Empty cells still show the segment the map gives them.
	rules := u.segmentMap()
	have := map[[2]int64]bool{}
	for _, c := range cells {
		have[[2]int64{c.R, c.F}] = true
	}
	for r := int64(1); r <= 5; r++ {
		for f := int64(1); f <= 5; f++ {
			if have[[2]int64{r, f}] {
				continue
			}
			for _, rule := range rules {
				if int(r) >= rule.RLo && int(r) <= rule.RHi && int(f) >= rule.FLo && int(f) <= rule.FHi {
					cells = append(cells, report.RFMCell{R: r, F: f, Segment: rule.Name})
					break
				}
			}
		}
	}
	data := rfmData{Matrix: rfmMatrixSVG(cells), Cells: cells, Segments: tables[0]}
	for _, c := range cells {
		data.Customers += c.Customers
		data.Revenue += c.Revenue
	}
	u.render(w, r, http.StatusOK, "rfm", page{Title: "RFM matrix", Nav: "rfm", Data: data})
	return nil
}

// segmentMap is the configured RFM segment map, or the default one.
func (u *UI) segmentMap() []models.SegmentRule {
	var out []models.SegmentRule
	for _, rule := range u.opts.Config.Models.RFM.SegmentMap {
		rLo, rHi, fLo, fHi, err := rule.Ranges()
		if err != nil {
			return models.DefaultSegmentMap()
		}
		out = append(out, models.SegmentRule{Name: rule.Name, RLo: rLo, RHi: rHi, FLo: fLo, FHi: fHi})
	}
	if out == nil {
		return models.DefaultSegmentMap()
	}
	return out
}

// CustomersLimit is how many customers a cell's or segment's page lists.
const CustomersLimit = 200

type rfmCustomersData struct {
	Filter    report.RFMFilter
	Customers []report.RFMCustomer
	Total     int64
	Limit     int
	Segments  []string // the named segment of the cell
}

func (u *UI) rfmCustomers(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f report.RFMFilter
	f.Segment = q.Get("segment")
	if q.Has("r") || q.Has("f") {
		var err1, err2 error
		f.R, err1 = strconv.ParseInt(q.Get("r"), 10, 64)
		f.F, err2 = strconv.ParseInt(q.Get("f"), 10, 64)
		if err1 != nil || err2 != nil || f.R < 1 || f.R > 5 || f.F < 1 || f.F > 5 {
			u.fail(w, r, http.StatusBadRequest, "r and f must both be scores from 1 to 5.")
			return nil
		}
	}
	if f.R == 0 && f.Segment == "" {
		u.fail(w, r, http.StatusBadRequest, "Choose a cell (?r=5&f=4) or a segment (?segment=Champions).")
		return nil
	}
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	list, total, err := report.RFMCustomers(ctx, wh, d, schema, f, CustomersLimit)
	if err != nil {
		return err
	}
	data := rfmCustomersData{Filter: f, Customers: list, Total: total, Limit: CustomersLimit}
	for _, c := range list {
		if !slices.Contains(data.Segments, c.Segment) {
			data.Segments = append(data.Segments, c.Segment)
		}
	}
	title := "Customers in segment " + f.Segment
	if f.R > 0 {
		title = fmt.Sprintf("Customers in cell R %d × F %d", f.R, f.F)
	}
	u.render(w, r, http.StatusOK, "rfm_customers", page{Title: title, Nav: "rfm", Data: data})
	return nil
}

type decileView struct {
	Kind, Title, About string
	Deciles            []report.Decile
	Chart              template.HTML
}

type decilesData struct {
	Views   []decileView
	Loyalty []report.LoyaltyClass
}

var decileTitles = map[string][2]string{
	"count_decile":   {"Equal-count deciles by monetary", "each decile holds a tenth of the customers, 1 = highest spenders"},
	"revenue_decile": {"Equal-revenue deciles", "each decile holds about a tenth of the revenue, 1 = highest spenders"},
	"rfm_decile":     {"RFM-score deciles", "a tenth of the customers each, by RFM score (R + F + M), 1 = best"},
}

func (u *UI) deciles(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	var data decilesData
	for _, k := range report.DecileKinds {
		ds, err := report.DecileView(ctx, wh, d, schema, k)
		if err != nil {
			return err
		}
		// Equal-revenue deciles hold a tenth of revenue each: what
		// differs is how many customers that takes.
		bars := make([]hbar, len(ds))
		for i, x := range ds {
			bars[i] = hbar{Label: "decile " + strconv.FormatInt(x.Decile, 10), Value: x.RevenueShare,
				Text: formatPct(x.RevenueShare) + " of revenue"}
			if k == "revenue_decile" {
				bars[i].Value, bars[i].Text = float64(x.Customers), formatInt(x.Customers)+" customers"
			}
		}
		data.Views = append(data.Views, decileView{Kind: k, Title: decileTitles[k][0], About: decileTitles[k][1], Deciles: ds,
			Chart: hbarsSVG("deciles "+k, decileTitles[k][0], bars)})
	}
	loyalty, err := report.LoyaltyClasses(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	data.Loyalty = loyalty
	u.render(w, r, http.StatusOK, "deciles", page{Title: "Decile views", Nav: "deciles", Data: data})
	return nil
}

type stageRow struct {
	Stage      string
	Customers  int64
	Share      float64
	Revenue    float64
	AvgRevenue *float64
}

type lifecycleData struct {
	Title, TransitionsTitle string
	Stages                  []stageRow
	Funnel                  template.HTML
	Transitions             *report.Table
	MaxTransition           float64
}

func (u *UI) lifecycle(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	tables, err := report.Lifecycle(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	data := lifecycleData{Title: tables[0].Title, TransitionsTitle: tables[1].Title, Transitions: tables[1]}
	for _, row := range tables[0].Rows {
		s := stageRow{Stage: fmt.Sprint(row[0]), Customers: report.AsInt64(row[1]), Share: report.AsFloat64(row[2]) / 100, Revenue: report.AsFloat64(row[3])}
		if row[4] != nil {
			v := report.AsFloat64(row[4])
			s.AvgRevenue = &v
		}
		data.Stages = append(data.Stages, s)
	}
	for _, row := range tables[1].Rows {
		for _, v := range row[1 : len(row)-1] {
			data.MaxTransition = max(data.MaxTransition, report.AsFloat64(v))
		}
	}
	data.Funnel = funnelSVG(data.Stages)
	u.render(w, r, http.StatusOK, "lifecycle", page{Title: "Lifecycle", Nav: "lifecycle", Data: data})
	return nil
}

type cohortRow struct {
	Month     time.Time
	Customers int64
	Cells     []*float64 // retention % per month offset; nil: still to come
}

type cohortData struct {
	Max     float64 // the largest retention after m0, the colour scale's top
	Offsets []int
	Rows    []cohortRow
	Mix     *report.Table
}

func (u *UI) cohort(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	tables, err := report.Cohort(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	tri := tables[0]
	data := cohortData{Mix: tables[1]}
	for k := 0; k < len(tri.Columns)-2; k++ {
		data.Offsets = append(data.Offsets, k)
	}
	for _, row := range tri.Rows {
		// m0 is 100 % by definition: the scale is set by the later months.
		for _, v := range row[3:] {
			data.Max = max(data.Max, report.AsFloat64(v))
		}
	}
	for _, row := range tri.Rows {
		cr := cohortRow{Customers: report.AsInt64(row[1])}
		if t, ok := row[0].(time.Time); ok {
			cr.Month = t.UTC()
		}
		for _, v := range row[2:] {
			if v == nil {
				cr.Cells = append(cr.Cells, nil)
				continue
			}
			f := report.AsFloat64(v)
			cr.Cells = append(cr.Cells, &f)
		}
		data.Rows = append(data.Rows, cr)
	}
	u.render(w, r, http.StatusOK, "cohort", page{Title: "Cohort retention", Nav: "cohort", Data: data})
	return nil
}

type attributionData struct {
	Models   []string
	Shares   *report.Table
	Chart    template.HTML
	Combos   *report.Table
	MaxShare float64
}

func (u *UI) attribution(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	tables, err := report.Attribution(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	shares := tables[0]
	data := attributionData{Models: shares.Columns[1:], Shares: shares, Combos: tables[1]}
	var channels []string
	byCh := map[string]map[string]float64{}
	for _, row := range shares.Rows {
		ch := fmt.Sprint(row[0])
		channels = append(channels, ch)
		byCh[ch] = map[string]float64{}
		for i, m := range data.Models {
			if row[i+1] != nil {
				byCh[ch][m] = report.AsFloat64(row[i+1])
				data.MaxShare = max(data.MaxShare, report.AsFloat64(row[i+1]))
			}
		}
	}
	data.Chart = groupedBarsSVG(channels, data.Models, byCh)
	u.render(w, r, http.StatusOK, "attribution", page{Title: "Attribution", Nav: "attribution", Data: data})
	return nil
}

type sortLink struct {
	Column, Label, Href string
	Active, Asc         bool
}

type affinityData struct {
	Query    report.AffinityQuery
	Segment  string // "type:value"
	Levels   []string
	Segments []segmentOption
	Sorts    []sortLink
	Rules    []report.AffinityRule
	Next     []report.NextCategory
}

type segmentOption struct {
	Value, Label string
	Selected     bool
}

var sortLabels = map[string]string{"lift": "Lift", "confidence": "Confidence", "support": "Support", "pair_count": "Baskets", "conviction": "Conviction"}

func (u *UI) affinity(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	aq := report.AffinityQuery{Level: q.Get("level"), Sort: q.Get("sort"), Asc: q.Get("dir") == "asc", Limit: 100}
	if aq.Level == "" {
		aq.Level = "category"
	}
	if aq.Sort == "" {
		aq.Sort = "lift"
	}
	if !slices.Contains(report.AffinitySorts, aq.Sort) {
		u.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Cannot sort by %q: choose one of %s.", aq.Sort, strings.Join(report.AffinitySorts, ", ")))
		return nil
	}
	seg := q.Get("segment")
	if seg == "" {
		seg = "all:all"
	}
	var ok bool
	if aq.SegmentType, aq.SegmentValue, ok = strings.Cut(seg, ":"); !ok {
		u.fail(w, r, http.StatusBadRequest, "segment must be TYPE:VALUE, e.g. loyalty:repeat or season:Q4.")
		return nil
	}
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	levels, segs, err := report.AffinityFacets(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	data := affinityData{Query: aq, Segment: seg, Levels: levels}
	for _, s := range segs {
		v := s.Type + ":" + s.Value
		label := s.Value
		if s.Type != "all" {
			label = s.Type + ": " + s.Value
		}
		data.Segments = append(data.Segments, segmentOption{Value: v, Label: label, Selected: v == seg})
	}
	for _, c := range report.AffinitySorts {
		dir := "desc"
		if c == aq.Sort && !aq.Asc {
			dir = "asc" // clicking the active column flips it
		}
		data.Sorts = append(data.Sorts, sortLink{Column: c, Label: sortLabels[c], Active: c == aq.Sort, Asc: aq.Asc,
			Href: "/reports/affinity?" + query("level", aq.Level, "segment", seg, "sort", c, "dir", dir)})
	}
	if data.Rules, err = report.AffinityRules(ctx, wh, d, schema, aq); err != nil {
		return err
	}
	if data.Next, err = report.NextCategories(ctx, wh, d, schema, 25); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "affinity", page{Title: "Product affinity", Nav: "affinity", Data: data})
	return nil
}

func (u *UI) clv(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	wh, d, schema, err := u.warehouse(ctx)
	if err != nil {
		return err
	}
	tables, err := report.CLV(ctx, wh, d, schema)
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "tables", page{Title: "Customer lifetime value", Nav: "clv", Data: tables})
	return nil
}
