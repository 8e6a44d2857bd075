package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/sql/dialect"
	"github.com/segflow/segflow/sql/filter"
	"github.com/segflow/segflow/sql/models"
)

// Runner executes jobs of one config against one warehouse.
type Runner struct {
	Config    *config.Config
	Warehouse core.Warehouse
	// NewDestination opens a destination plugin by name.
	NewDestination func(plugin string) (core.Destination, error)
	Logger         *slog.Logger
	// OnStep, if set, is called after every step (for progress output).
	OnStep func(Step)
	// Now gives the current time; tests fix it.
	Now func() time.Time
	// Dialect, when set, renders SQL for that dialect instead of the
	// warehouse's. Sources are then not described: every mapped column
	// is assumed to exist, and Warehouse may be nil (compile only).
	Dialect string

	mu sync.Mutex
	wd dialect.Dialect // the warehouse's dialect, asked for once
}

// Step is one unit of work in a run: a statement that materialises a
// table, or a segment written to a destination.
type Step struct {
	Kind string // "model", "segment", "publish"
	Name string // table or "segment -> destination"
	SQL  string `json:",omitempty"`
	// Params are the values bound to the SQL's ? placeholders.
	Params   []any `json:",omitempty"`
	Rows     int64
	Outputs  []string `json:",omitempty"`
	Started  time.Time
	Duration time.Duration
	Err      string `json:",omitempty"`
	// BytesScanned is a dry run's estimate of the bytes the statement
	// scans, where the warehouse can say (BigQuery); -1 when it cannot,
	// for example because the statement reads a table the run creates.
	BytesScanned int64 `json:",omitempty"`
	// Note explains an estimate that could not be made.
	Note string `json:",omitempty"`
	// Sync is a publish step's diff and outcome (a dry run's plan).
	Sync *SyncCounts `json:",omitempty"`
}

// SyncCounts describe one segment's publish to one destination: the diff
// against what the destination last acknowledged, and what became of it.
type SyncCounts struct {
	Adds, Updates, Removes int64
	// Holdout members are kept out of every destination (control group).
	Holdout int64
	// Acknowledged records moved the sync state; Failed were refused:
	// DeadLettered of them permanently (segflow retry resends those), the
	// rest with a retryable error (the next run sends them again).
	Acknowledged, Failed, DeadLettered int64
	// Calls and Estimated are a dry run's plan: API requests and the time
	// they take under the destination's declared rate limit (0 = none).
	Calls     int64         `json:",omitempty"`
	Estimated time.Duration `json:",omitempty"`
}

// String says what a publish sent and what became of it, in one line.
func (c SyncCounts) String() string {
	return fmt.Sprintf("+%d ~%d -%d held out %d; acknowledged %d, failed %d (dead letters %d)",
		c.Adds, c.Updates, c.Removes, c.Holdout, c.Acknowledged, c.Failed, c.DeadLettered)
}

// DataQuality is how many source rows one dirty-data rule applied to;
// Action says whether it excluded them or kept them changed.
type DataQuality struct {
	Source, Rule, Action, Description string
	Rows                              int64
}

// Summary is the outcome of one run.
type Summary struct {
	Job         string
	AsOf        string
	DryRun      bool
	Steps       []Step
	DataQuality []DataQuality
	Started     time.Time
	Duration    time.Duration
}

// Plan is what a run would execute, in order.
type Plan struct {
	AsOf       time.Time
	Options    models.Options
	Statements []models.Statement
	// Segments are the segment tables and where they would be written.
	Segments []SegmentPlan
}

// SegmentPlan is one segment and its destinations.
type SegmentPlan struct {
	Segment      config.Segment
	Statement    models.Statement
	Destinations []config.Destination
}

// Plan renders the statements a job runs, without executing anything but
// metadata lookups of the source tables.
func (r *Runner) Plan(ctx context.Context, jobName string) (*Plan, error) {
	job := r.Config.Job(jobName)
	if job == nil {
		return nil, fmt.Errorf("no job named %q (jobs: %s)", jobName, strings.Join(r.jobNames(), ", "))
	}
	opts, err := r.modelOptions(ctx, job)
	if err != nil {
		return nil, err
	}
	plan := &Plan{AsOf: opts.AsOf, Options: opts}
	seen := map[string]string{}
	for _, m := range job.Models {
		stmts, err := models.Render(m, opts)
		if err != nil {
			return nil, fmt.Errorf("render model %s: %w", m, err)
		}
		for _, s := range stmts {
			// Models share staging tables (orders_clean, data_quality):
			// build each once.
			if prev, ok := seen[s.Name]; ok {
				if prev != s.SQL {
					return nil, fmt.Errorf("models render table %s differently; cannot run them in one job", s.Name)
				}
				continue
			}
			seen[s.Name] = s.SQL
			plan.Statements = append(plan.Statements, s)
		}
	}
	for _, name := range job.Segments {
		sp, err := r.segmentPlan(r.Config.Segment(name), opts)
		if err != nil {
			return nil, err
		}
		plan.Segments = append(plan.Segments, sp)
	}
	return plan, nil
}

// segmentPlan renders a segment's statement and lists its destinations.
func (r *Runner) segmentPlan(seg *config.Segment, opts models.Options) (SegmentPlan, error) {
	spec := models.SegmentSpec{Name: seg.Name, Model: seg.Model, Where: seg.Where, Attributes: seg.Attributes, Holdout: seg.Holdout}
	if seg.Filter != "" {
		var err error
		if spec.Filter, spec.FilterParams, err = r.compileFilter(seg, opts.Dialect); err != nil {
			return SegmentPlan{}, err
		}
	}
	stmt, err := models.RenderSegment(spec, opts)
	if err != nil {
		return SegmentPlan{}, fmt.Errorf("render segment %s: %w", seg.Name, err)
	}
	sp := SegmentPlan{Segment: *seg, Statement: stmt}
	for _, d := range seg.Destinations {
		sp.Destinations = append(sp.Destinations, *r.Config.Destination(d))
	}
	return sp, nil
}

// compileFilter type-checks a segment's filter against its model's
// columns and compiles it for the dialect; errors point at the config
// line and at the position inside the expression.
func (r *Runner) compileFilter(seg *config.Segment, d dialect.Dialect) (string, []any, error) {
	path := "segments"
	for i := range r.Config.Segments {
		if r.Config.Segments[i].Name == seg.Name {
			path = fmt.Sprintf("segments[%d].filter", i)
		}
	}
	typed, err := models.OutputColumnTypes(seg.Model)
	if err != nil {
		return "", nil, r.Config.Errorf(path, "segment %s: %v", seg.Name, err)
	}
	cols := make([]filter.Column, len(typed))
	for i, c := range typed {
		cols[i] = filter.Column{Name: c.Name, Type: c.Type}
	}
	compiled, err := filter.Compile(seg.Filter, cols, d)
	if err != nil {
		return "", nil, r.Config.Errorf(path, "segment %s: %v", seg.Name, err)
	}
	return compiled.SQL, compiled.Params, nil
}

func (r *Runner) jobNames() []string {
	var names []string
	for _, j := range r.Config.Jobs {
		names = append(names, j.Name)
	}
	return names
}

// Run executes a job: it materialises the job's models and segments in
// the warehouse's output schema and writes each segment to its
// destinations. With dryRun it only plans.
func (r *Runner) Run(ctx context.Context, jobName string, dryRun bool) (*Summary, error) {
	now := r.now()
	sum := &Summary{Job: jobName, DryRun: dryRun, Started: now}
	defer func() { sum.Duration = time.Since(now) }()

	job := r.Config.Job(jobName)
	if job != nil && job.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	plan, err := r.Plan(ctx, jobName)
	if err != nil {
		return sum, err
	}
	sum.AsOf = plan.AsOf.Format(time.DateOnly)
	if dryRun {
		estimate := r.estimator(ctx)
		for _, s := range plan.Statements {
			sum.Steps = append(sum.Steps, estimate(Step{Kind: "model", Name: s.Model + "." + s.Name, SQL: s.SQL}))
		}
		for _, sp := range plan.Segments {
			sum.Steps = append(sum.Steps, estimate(Step{Kind: "segment", Name: sp.Segment.Name, SQL: sp.Statement.SQL, Params: sp.Statement.Params}))
			for _, d := range sp.Destinations {
				st, err := r.planPublish(ctx, sp, d)
				if err != nil {
					return sum, err
				}
				sum.Steps = append(sum.Steps, st)
			}
		}
		return sum, nil
	}

	schema := r.Config.Warehouse.OutputSchema
	if err := r.exec(ctx, sum, "model", "create schema "+schema, "CREATE SCHEMA IF NOT EXISTS "+dialect.Schema(plan.Options.Dialect, schema)); err != nil {
		return sum, err
	}
	last := map[string]int{} // each model's last statement
	for i, s := range plan.Statements {
		last[s.Model] = i
	}
	for i, s := range plan.Statements {
		if err := r.materialise(ctx, sum, "model", s.Model+"."+s.Name, s.Name, s.SQL); err != nil {
			return sum, err
		}
		if s.Name == "data_quality" {
			dq, err := r.readDataQuality(ctx, s)
			if err != nil {
				return sum, err
			}
			sum.DataQuality = append(sum.DataQuality, dq...)
		}
		// Models with a Go stage run it once their SQL has run.
		if stage := goStages[s.Model]; stage != nil && last[s.Model] == i {
			if err := stage(r, ctx, sum, plan.Options); err != nil {
				return sum, err
			}
		}
	}
	runID := runID(ctx, now)
	for _, sp := range plan.Segments {
		if err := r.materialise(ctx, sum, "segment", sp.Segment.Name, sp.Statement.Name, sp.Statement.SQL, sp.Statement.Params...); err != nil {
			return sum, err
		}
		if err := r.recordHistory(ctx, sum, sp.Segment, runID, now); err != nil {
			return sum, err
		}
		// One destination's failure does not keep the segment from the
		// others; the run fails at the end.
		var errs []error
		for _, d := range sp.Destinations {
			errs = append(errs, r.publish(ctx, sum, sp.Segment, d, runID, now))
		}
		if err := errors.Join(errs...); err != nil {
			return sum, err
		}
	}
	return sum, r.holdoutResults(ctx, sum, plan)
}

// goStages are the models' steps computed in Go on small aggregates the
// SQL prepared: they read those back as Arrow and write results back.
var goStages = map[string]func(*Runner, context.Context, *Summary, models.Options) error{
	"clv":         (*Runner).fitCLV,
	"attribution": (*Runner).dataDrivenAttribution,
}

// estimator returns a function that fills in a dry run's byte estimate
// for a step, when the warehouse can estimate.
func (r *Runner) estimator(ctx context.Context) func(Step) Step {
	info, err := r.Warehouse.Info(ctx)
	if err != nil || !info.Has(core.CapDryRun) {
		return func(s Step) Step { return s }
	}
	return func(s Step) Step {
		n, err := r.Warehouse.DryRun(ctx, s.SQL, s.Params...)
		if err != nil {
			// Typically the statement reads a table that only the run
			// itself creates; its first real run makes later dry runs
			// exact.
			s.BytesScanned, s.Note = -1, r.Config.Redact(err.Error())
			return s
		}
		s.BytesScanned = n
		return s
	}
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// warehouseDialect asks the warehouse plugin for its dialect once.
func (r *Runner) warehouseDialect(ctx context.Context) (dialect.Dialect, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wd == nil {
		info, err := r.Warehouse.Info(ctx)
		if err != nil {
			return nil, err
		}
		if r.wd, err = dialect.Get(info.Dialect); err != nil {
			return nil, err
		}
	}
	return r.wd, nil
}

// outTable is the quoted, qualified name of a table in the output schema.
func (r *Runner) outTable(ctx context.Context, name string) (string, error) {
	d, err := r.warehouseDialect(ctx)
	if err != nil {
		return "", err
	}
	return d.Table(r.Config.Warehouse.OutputSchema, name), nil
}

func (r *Runner) record(sum *Summary, st Step, start time.Time, err error) error {
	st.Started, st.Duration = start, time.Since(start)
	if err != nil {
		st.Err = r.Config.Redact(err.Error())
	}
	sum.Steps = append(sum.Steps, st)
	if r.OnStep != nil {
		r.OnStep(st)
	}
	r.logger().Info("step", "kind", st.Kind, "name", st.Name, "rows", st.Rows, "duration_ms", st.Duration.Milliseconds(), "error", st.Err)
	if err != nil {
		return fmt.Errorf("%s %s: %w", st.Kind, st.Name, err)
	}
	return nil
}

func (r *Runner) exec(ctx context.Context, sum *Summary, kind, name, sql string) error {
	start := time.Now()
	n, err := r.Warehouse.Execute(ctx, sql)
	return r.record(sum, Step{Kind: kind, Name: name, SQL: sql, Rows: n}, start, err)
}

// materialise creates a table and counts its rows: warehouses report no
// row count for CREATE TABLE AS, and COUNT(*) of a table is answered from
// metadata by BigQuery and Snowflake, so it costs nothing.
func (r *Runner) materialise(ctx context.Context, sum *Summary, kind, name, table, sql string, params ...any) error {
	start := time.Now()
	_, err := r.Warehouse.Execute(ctx, sql, params...)
	var n int64
	if err == nil {
		n, err = r.count(ctx, table)
	}
	return r.record(sum, Step{Kind: kind, Name: name, SQL: sql, Rows: n}, start, err)
}

func (r *Runner) count(ctx context.Context, table string) (int64, error) {
	t, err := r.outTable(ctx, table)
	if err != nil {
		return 0, err
	}
	return r.queryCount(ctx, "SELECT COUNT(*) FROM "+t)
}

// openDestination opens and configures a destination; the caller closes it.
func (r *Runner) openDestination(ctx context.Context, d config.Destination) (core.Destination, error) {
	dest, err := r.NewDestination(d.Plugin)
	if err != nil {
		return nil, err
	}
	raw, err := r.Config.PluginConfigJSON(d.Config)
	if err == nil {
		err = dest.Configure(ctx, raw)
	}
	if err != nil {
		dest.Close()
		return nil, fmt.Errorf("configure destination %s: %w", d.Name, err)
	}
	return dest, nil
}

func (r *Runner) readDataQuality(ctx context.Context, s models.Statement) ([]DataQuality, error) {
	table, err := r.outTable(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	rdr, err := r.Warehouse.Query(ctx, "SELECT source, rule, action, description, rows_affected FROM "+table)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var out []DataQuality
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			n, err := core.Int64At(rec.Column(4), i)
			if err != nil {
				return nil, err
			}
			str := func(c int) string { return core.FormatValue(core.ValueAt(rec.Column(c), i)) }
			out = append(out, DataQuality{Source: str(0), Rule: str(1), Action: str(2), Description: str(3), Rows: n})
		}
	}
	return out, rdr.Err()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// modelOptions maps the config's sources onto the model renderer's input,
// checking every mapped column against the warehouse.
func (r *Runner) modelOptions(ctx context.Context, job *config.Job) (models.Options, error) {
	describe := r.Dialect == ""
	var d dialect.Dialect
	var err error
	if describe {
		d, err = r.warehouseDialect(ctx)
	} else {
		d, err = dialect.Get(r.Dialect)
	}
	if err != nil {
		return models.Options{}, err
	}
	cfg := r.Config
	asOf, err := AsOf(cfg, r.now())
	if err != nil {
		return models.Options{}, err
	}
	opts := models.Options{
		Dialect:      d,
		OutputSchema: cfg.Warehouse.OutputSchema,
		Sources:      map[string]models.Source{},
		AsOf:         asOf,
		RFM:          models.RFMOptions{WindowMonths: cfg.Models.RFM.WindowMonths},
		CLV:          models.CLVOptions{UnitDays: unitDays[cfg.Models.CLV.TimeUnit], Horizon: float64(cfg.Models.CLV.Horizon)},
		Attribution: models.AttributionOptions{
			LookbackDays: cfg.Models.Attribution.LookbackDays,
			HalfLifeDays: cfg.Models.Attribution.HalfLifeDays,
			ReuseTouches: cfg.Models.Attribution.ReuseTouches,
			WindowMonths: cfg.Models.Attribution.WindowMonths,
			// The rfm segment breakdown reads the rfm table, so it is on
			// when the job builds rfm too.
			SegmentBreakdown: job != nil && slices.Contains(job.Models, "rfm"),
		},
		Affinity: models.AffinityOptions{
			MinCount:        cfg.Models.Affinity.MinCount,
			MinSupport:      cfg.Models.Affinity.MinSupport,
			TopK:            cfg.Models.Affinity.TopK,
			Recommendations: cfg.Models.Affinity.Recommendations,
		},
		Lifecycle: models.LifecycleOptions{
			ActiveDays:   cfg.Models.Lifecycle.ActiveDays,
			InactiveDays: cfg.Models.Lifecycle.InactiveDays,
			PeriodDays:   cfg.Models.Lifecycle.PeriodDays,
		},
	}
	if w := cfg.Models.Attribution.PositionWeights; w != nil {
		opts.Attribution.PositionWeights = &models.PositionWeights{First: w.First, Middle: w.Middle, Last: w.Last}
	}
	for _, rule := range cfg.Models.RFM.SegmentMap {
		rLo, rHi, fLo, fHi, err := rule.Ranges()
		if err != nil {
			return models.Options{}, err
		}
		opts.RFM.SegmentMap = append(opts.RFM.SegmentMap, models.SegmentRule{Name: rule.Name, RLo: rLo, RHi: rHi, FLo: fLo, FHi: fHi})
	}
	var errs []error
	for _, name := range config.LogicalTableNames {
		src := cfg.Sources.Table(name)
		if src == nil {
			continue
		}
		if !describe {
			ms := models.Source{Table: src.Table, SQL: src.SQL, Columns: map[string]string{}}
			for _, col := range config.LogicalTables[name].Columns() {
				ms.Columns[col] = src.Column(col)
			}
			opts.Sources[name] = ms
			continue
		}
		ms, err := r.resolveSource(ctx, d, name, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		opts.Sources[name] = ms
	}
	return opts, errors.Join(errs...)
}

// resolveSource looks up the physical columns of a source so that a
// mapped column that does not exist is reported against the config line
// that names it, and optional columns that are absent become NULLs.
func (r *Runner) resolveSource(ctx context.Context, d dialect.Dialect, name string, src *config.Source) (models.Source, error) {
	ms := models.Source{Table: src.Table, SQL: src.SQL, Columns: map[string]string{}}
	from := models.SourceFrom(d, models.Source{Table: src.Table, SQL: src.SQL})
	rdr, err := r.Warehouse.Query(ctx, "SELECT * FROM "+from+" LIMIT 0")
	if err != nil {
		path := "sources." + name + ".table"
		if src.Table == "" {
			path = "sources." + name + ".sql"
		}
		return ms, r.Config.Errorf(path, "cannot read %s: %v", name, err)
	}
	schema := rdr.Schema()
	rdr.Release()
	var have []string
	for _, f := range schema.Fields() {
		have = append(have, f.Name)
	}
	lt := config.LogicalTables[name]
	var errs []error
	for _, col := range lt.Columns() {
		phys := src.Column(col)
		ms.Columns[col] = phys
		if slices.Contains(have, phys) {
			continue
		}
		if slices.Contains(lt.Required, col) {
			errs = append(errs, r.Config.Errorf("sources."+name+".columns."+col,
				"column %q (for %s.%s) not found in %s; it has: %s", phys, name, col, from, strings.Join(have, ", ")))
			continue
		}
		if _, mapped := src.Columns[col]; mapped {
			errs = append(errs, r.Config.Errorf("sources."+name+".columns."+col,
				"column %q not found in %s; it has: %s", phys, from, strings.Join(have, ", ")))
			continue
		}
		ms.Missing = append(ms.Missing, col)
	}
	return ms, errors.Join(errs...)
}

var unitDays = map[string]int{"week": 7, "day": 1}

// AsOf is the configured as_of date, or today in the config's time zone.
func AsOf(cfg *config.Config, now time.Time) (time.Time, error) {
	if cfg.Models.AsOf != "" {
		return time.Parse(time.DateOnly, cfg.Models.AsOf)
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}
