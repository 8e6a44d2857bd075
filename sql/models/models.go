package models

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/segflow/segflow/sql/dialect"
)

// Source maps one logical table onto the warehouse. Exactly one of Table
// and SQL is set.
type Source struct {
	// Table is the physical table, optionally qualified ("schema.table"
	// or "project.dataset.table"). It is split on '.' and each part is
	// quoted, so a name that itself holds a dot needs SQL instead.
	Table string
	// SQL is a single SELECT whose result stands in for the table. It is
	// used as a subquery; trailing semicolons and whitespace are dropped
	// and a trailing -- comment is harmless.
	SQL string
	// Columns maps logical column names onto physical ones. A logical
	// column left out has the same physical name.
	Columns map[string]string
	// Missing lists optional logical columns the source does not have;
	// they are read as a typed NULL. The caller finds them by describing
	// the table.
	Missing []string
}

// Options are the inputs to rendering.
type Options struct {
	Dialect dialect.Dialect
	// OutputSchema is the schema the model tables are written to. Empty
	// means the connection's default schema.
	OutputSchema string
	// Sources maps logical table names (customers, orders, order_lines,
	// products, touchpoints) onto the warehouse.
	Sources map[string]Source
	// AsOf is the analysis date; only its calendar date (in its own
	// location) is used. Required.
	AsOf time.Time
	RFM  RFMOptions
	CLV  CLVOptions

	// Lifecycle configures the lifecycle model (see lifecycle.go).
	Lifecycle LifecycleOptions
	// Holdout configures holdout_results (see RenderHoldoutResults).
	Holdout HoldoutOptions

	// Attribution and Affinity configure those models (see attribution.go
	// and affinity.go).
	Attribution AttributionOptions
	Affinity    AffinityOptions
}

// RFMOptions configures the rfm model.
type RFMOptions struct {
	// WindowMonths is the look-back window in months. 0 means 12.
	WindowMonths int
	// SegmentMap names segments by R and F score ranges; the first rule
	// that contains a customer's scores wins. Nil means
	// DefaultSegmentMap(). The rules must cover all 25 (R, F) cells.
	SegmentMap []SegmentRule
}

// SegmentRule names the customers whose R score is in [RLo, RHi] and
// whose F score is in [FLo, FHi].
type SegmentRule struct {
	Name     string
	RLo, RHi int
	FLo, FHi int
}

// SegmentSpec is a named filter over a model's output table.
type SegmentSpec struct {
	Name string
	// Model is the model whose table is filtered ("rfm").
	Model string
	// Where is a raw SQL boolean expression over the model's columns and
	// email, written by the config author and pasted as is. Empty keeps
	// every row.
	Where string
	// Attributes are model columns sent with each member, besides
	// customer_id and email, which are always present.
	Attributes []string
	// Filter is a condition compiled from a typed filter expression
	// (sql/filter), with ? placeholders bound to FilterParams. It is
	// ANDed with Where.
	Filter       string
	FilterParams []any
	// Holdout is the share of members, in [0, 1), kept out of every
	// destination as the control group: those whose
	// dialect.Bucket(name + ":" + customer_id, 10000) is below
	// Holdout × 10000.
	Holdout float64
}

// HoldoutBuckets is the resolution of a segment's holdout share.
const HoldoutBuckets = 10000

// HoldoutKey is the string whose hash bucket decides whether a member of
// segment is in its holdout group (see SegmentSpec.Holdout).
func HoldoutKey(segment, customerID string) string { return segment + ":" + customerID }

// Statement is one SQL statement to execute, in order.
type Statement struct {
	// Model is the model the statement belongs to.
	Model string
	// Name is the table the statement materialises, unqualified.
	Name string
	// SQL is one complete statement without a trailing semicolon.
	SQL string
	// Query is the SELECT whose result SQL materialises (segments only):
	// a dry run reads it without creating anything.
	Query string
	// Params bind the statement's ? placeholders, in order.
	Params []any
	// Append marks a statement that adds rows to Name, which an earlier
	// statement created, instead of creating it.
	Append bool
	// Shared marks a staging table that several models build (orders_clean,
	// data_quality). Its SQL depends only on the Options, never on the
	// model, so a caller running several models runs it once: see
	// RenderModels.
	Shared bool
}

// DefaultSegmentMap returns the RFM segment map used when none is
// configured. The first matching rule wins: Lost takes R1 F1 before
// Hibernating takes the rest of R1-2 F1-2.
func DefaultSegmentMap() []SegmentRule {
	return []SegmentRule{
		{Name: "Champions", RLo: 5, RHi: 5, FLo: 4, FHi: 5},
		{Name: "Loyal", RLo: 3, RHi: 4, FLo: 4, FHi: 5},
		{Name: "Potential loyalist", RLo: 4, RHi: 5, FLo: 2, FHi: 3},
		{Name: "New", RLo: 5, RHi: 5, FLo: 1, FHi: 1},
		{Name: "Promising", RLo: 4, RHi: 4, FLo: 1, FHi: 1},
		{Name: "Need attention", RLo: 3, RHi: 3, FLo: 3, FHi: 3},
		{Name: "About to sleep", RLo: 3, RHi: 3, FLo: 1, FHi: 2},
		{Name: "Can't lose them", RLo: 1, RHi: 2, FLo: 5, FHi: 5},
		{Name: "At risk", RLo: 1, RHi: 2, FLo: 3, FHi: 4},
		{Name: "Lost", RLo: 1, RHi: 1, FLo: 1, FHi: 1},
		{Name: "Hibernating", RLo: 1, RHi: 2, FLo: 1, FHi: 2},
	}
}

// Matches reports whether scores r and f fall in the rule's ranges.
func (s SegmentRule) Matches(r, f int) bool {
	return s.RLo <= r && r <= s.RHi && s.FLo <= f && f <= s.FHi
}

// step is one statement of a model: the table it materialises and the
// template (path under templates/<dialect>/) that renders its query.
type step struct{ table, template string }

type model struct {
	sources []string // logical tables the model reads
	steps   []step
	columns []string // columns of the model's own table, in order
}

var models = map[string]model{
	"clv": {
		sources: []string{"customers", "orders"},
		steps: []step{
			{"orders_clean", "orders/orders_clean.sql.tmpl"},
			{"data_quality", "orders/data_quality.sql.tmpl"},
			{"clv_summary", "clv/clv_summary.sql.tmpl"},
		},
		columns: clvColumns,
	},
	"lifecycle": lifecycleModel,
	"cohort":    cohortModel,

	// Attribution and affinity: attribution.go and affinity.go.
	"attribution": attributionModel,
	"affinity":    affinityModel,
	"rfm": {
		sources: []string{"customers", "orders"},
		steps: []step{
			{"orders_clean", "orders/orders_clean.sql.tmpl"},
			{"data_quality", "orders/data_quality.sql.tmpl"},
			{"rfm", "rfm/rfm.sql.tmpl"},
		},
		columns: []string{
			"customer_id", "recency_days", "frequency", "monetary",
			"r_score", "f_score", "m_score", "rfm_cell", "rfm_score", "segment",
			"count_decile", "revenue_decile", "rfm_decile", "loyalty", "as_of",
		},
	},
}

// Models returns the names of the known models.
func Models() []string {
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// OutputColumns returns the columns of the table a model materialises
// under its own name, the table segments filter.
func OutputColumns(modelName string) ([]string, error) {
	m, ok := models[modelName]
	if !ok {
		return nil, unknownModel(modelName)
	}
	return slices.Clone(m.columns), nil
}

func unknownModel(name string) error {
	return fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(Models(), ", "))
}

// Render returns the statements that materialise model in
// o.OutputSchema, in the order they must run.
func Render(modelName string, o Options) ([]Statement, error) {
	m, ok := models[modelName]
	if !ok {
		return nil, unknownModel(modelName)
	}
	r, err := newRenderer(modelName, o, m.sources)
	if err != nil {
		return nil, fmt.Errorf("render model %q: %w", modelName, err)
	}
	stmts := make([]Statement, 0, len(m.steps))
	for _, s := range m.steps {
		sql, err := r.statement(s.table, s.template)
		if err != nil {
			return nil, fmt.Errorf("render model %q for %s: %w", modelName, o.Dialect.Name(), err)
		}
		stmts = append(stmts, Statement{Model: modelName, Name: s.table, SQL: sql, Shared: sharedTables[s.table]})
	}
	return stmts, nil
}

// SegmentTable is the name of the table segment name is materialised in.
func SegmentTable(name string) string { return "segment_" + name }

// HoldoutOptions configure holdout_results.
type HoldoutOptions struct {
	// WindowDays is how long after a publish a member's orders count as
	// its outcome; default 30.
	WindowDays int
}

// HoldoutResultsTable compares the treated and control members of every
// segment with a holdout; see RenderHoldoutResults.
const HoldoutResultsTable = "holdout_results"

// RenderHoldoutResults returns the statement that rebuilds
// holdout_results from segment_membership_history and orders_clean: per
// segment and publish date (the as_of date members joined on), treated
// against control members' conversion and revenue per customer in the
// WindowDays after it, with the absolute and relative lifts and 95%
// confidence intervals of the absolute lifts (normal approximation:
// Wald for the difference of proportions, Welch's standard error for the
// difference of means).
func RenderHoldoutResults(o Options) (Statement, error) {
	if o.Holdout.WindowDays == 0 {
		o.Holdout.WindowDays = 30
	}
	r, err := newRenderer("holdout", o, nil)
	if err != nil {
		return Statement{}, fmt.Errorf("render holdout_results: %w", err)
	}
	data := r.data()
	data.Holdout = r.o.Holdout
	sql, err := r.create(HoldoutResultsTable, "holdout/holdout_results.sql.tmpl", data)
	if err != nil {
		return Statement{}, fmt.Errorf("render holdout_results for %s: %w", o.Dialect.Name(), err)
	}
	return Statement{Model: "holdout", Name: HoldoutResultsTable, SQL: sql}, nil
}

// SegmentAttributes returns the attributes a segment sends besides
// customer_id and email, without repeats, in order.
func SegmentAttributes(attributes []string) []string {
	var out []string
	for _, a := range attributes {
		if a != "customer_id" && a != "email" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// RenderSegment returns the statement that materialises segment s as
// table segment_<name>: customer_id, email and s.Attributes of the rows
// of s.Model's table that satisfy s.Where.
func RenderSegment(s SegmentSpec, o Options) (Statement, error) {
	m, ok := models[s.Model]
	if !ok {
		return Statement{}, fmt.Errorf("render segment %q: %w", s.Name, unknownModel(s.Model))
	}
	if s.Name == "" {
		return Statement{}, errors.New("render segment: name is required")
	}
	if len(m.columns) == 0 {
		return Statement{}, fmt.Errorf("render segment %q: model %s has no per-customer table to filter", s.Name, s.Model)
	}
	var attrs []string
	for _, a := range s.Attributes {
		switch {
		case a == "customer_id" || a == "email":
			// Always present.
		case !slices.Contains(m.columns, a):
			return Statement{}, fmt.Errorf("render segment %q: %q is not a column of model %s (columns: %s)",
				s.Name, a, s.Model, strings.Join(m.columns, ", "))
		case !slices.Contains(attrs, a):
			attrs = append(attrs, a)
		}
	}
	r, err := newRenderer(s.Model, o, []string{"customers"})
	if err != nil {
		return Statement{}, fmt.Errorf("render segment %q: %w", s.Name, err)
	}
	table := SegmentTable(s.Name)
	// The raw SQL keeps its own line so that a trailing -- comment in
	// it cannot swallow the rest of the statement.
	var conds []string
	if w := strings.TrimSpace(s.Where); w != "" {
		conds = append(conds, "(\n"+w+"\n)")
	}
	if s.Filter != "" {
		conds = append(conds, s.Filter)
	}
	if s.Holdout < 0 || s.Holdout >= 1 {
		return Statement{}, fmt.Errorf("render segment %q: holdout %v is not in [0, 1)", s.Name, s.Holdout)
	}
	str := r.d.TypeName(dialect.String)
	holdout := "FALSE"
	if n := int(math.Round(s.Holdout * HoldoutBuckets)); n > 0 {
		key := r.d.StringLiteral(HoldoutKey(s.Name, "")) + " || CAST(customer_id AS " + str + ")"
		holdout = fmt.Sprintf("%s < %d", r.d.HashBucket(key, HoldoutBuckets), n)
	}
	data := r.data()
	data.Segment = segmentData{
		ModelTable: s.Model,
		Where:      strings.Join(conds, "\nAND "),
		Attributes: attrs,
		Holdout:    holdout,
		RowHash:    rowHash(r.d, append([]string{"email"}, attrs...)),
	}
	query, err := r.query("segment/segment.sql.tmpl", data)
	if err != nil {
		return Statement{}, fmt.Errorf("render segment %q for %s: %w", s.Name, o.Dialect.Name(), err)
	}
	sql := r.d.CreateTableAs(r.d.Table(r.o.OutputSchema, table), query)
	return Statement{Model: s.Model, Name: table, SQL: sql, Query: query, Params: s.FilterParams}, nil
}

// rowHash is an expression for the MD5 of columns' values: each written
// as its length, a colon and its text, or N for NULL, so that no two
// different rows give the same string.
func rowHash(d dialect.Dialect, columns []string) string {
	str := d.TypeName(dialect.String)
	parts := make([]string, len(columns))
	for i, c := range columns {
		text := "CAST(" + c + " AS " + str + ")"
		parts[i] = "COALESCE(CAST(LENGTH(" + text + ") AS " + str + ") || ':' || " + text + ", 'N')"
	}
	return d.MD5Hex(strings.Join(parts, "\n        || '|' || "))
}

// validateOptions checks o and fills in defaults. needed are the logical
// tables the statements read.
func validateOptions(o *Options, needed []string) error {
	var errs []error
	if o.Dialect == nil {
		return errors.New("Options.Dialect is required")
	}
	if o.AsOf.IsZero() {
		errs = append(errs, errors.New("Options.AsOf is required"))
	}
	for name, src := range o.Sources {
		if err := validateSource(name, src); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range needed {
		if _, ok := o.Sources[name]; !ok {
			errs = append(errs, fmt.Errorf("source %s is required", name))
		}
	}
	switch {
	case o.RFM.WindowMonths == 0:
		o.RFM.WindowMonths = 12
	case o.RFM.WindowMonths < 0 || o.RFM.WindowMonths > 1200:
		errs = append(errs, fmt.Errorf("RFM.WindowMonths must be between 1 and 1200, got %d", o.RFM.WindowMonths))
	}
	if err := o.CLV.withDefaults(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Lifecycle.withDefaults(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Attribution.withDefaults(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Affinity.withDefaults(); err != nil {
		errs = append(errs, err)
	}
	if o.RFM.SegmentMap == nil {
		o.RFM.SegmentMap = DefaultSegmentMap()
	} else if err := validateSegmentMap(o.RFM.SegmentMap); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validateSource(name string, s Source) error {
	if _, ok := logicalTables[name]; !ok {
		return fmt.Errorf("source %q is not a logical table (known: %s)", name, strings.Join(LogicalTables(), ", "))
	}
	var errs []error
	if (s.Table == "") == (s.SQL == "") {
		errs = append(errs, fmt.Errorf("source %s: set exactly one of Table and SQL", name))
	}
	if s.Table != "" && slices.Contains(strings.Split(s.Table, "."), "") {
		errs = append(errs, fmt.Errorf("source %s: table %q has an empty name part", name, s.Table))
	}
	for logical, phys := range s.Columns {
		// Customers may carry extra attributes beyond the logical model.
		if _, ok := logicalColumn(name, logical); !ok && name != "customers" {
			errs = append(errs, fmt.Errorf("source %s: %q is not a column of the logical table", name, logical))
		}
		if phys == "" {
			errs = append(errs, fmt.Errorf("source %s: column %s maps to an empty name", name, logical))
		}
	}
	for _, m := range s.Missing {
		c, ok := logicalColumn(name, m)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("source %s: missing column %q is not a column of the logical table", name, m))
		case !c.Optional:
			errs = append(errs, fmt.Errorf("source %s: required column %s is missing", name, m))
		}
	}
	return errors.Join(errs...)
}

func validateSegmentMap(rules []SegmentRule) error {
	var errs []error
	for i, r := range rules {
		if r.Name == "" {
			errs = append(errs, fmt.Errorf("RFM.SegmentMap[%d]: name is required", i))
		}
		if !(1 <= r.RLo && r.RLo <= r.RHi && r.RHi <= 5 && 1 <= r.FLo && r.FLo <= r.FHi && r.FHi <= 5) {
			errs = append(errs, fmt.Errorf("RFM.SegmentMap[%d] (%s): ranges R %d-%d, F %d-%d must satisfy 1 <= lo <= hi <= 5",
				i, r.Name, r.RLo, r.RHi, r.FLo, r.FHi))
		}
	}
	// Every customer must land in exactly one segment, so the CASE must
	// have a branch for every cell; the first match wins on overlap.
	var uncovered []string
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			if !slices.ContainsFunc(rules, func(s SegmentRule) bool { return s.Matches(r, f) }) {
				uncovered = append(uncovered, fmt.Sprintf("R%d F%d", r, f))
			}
		}
	}
	if len(uncovered) > 0 {
		errs = append(errs, fmt.Errorf("RFM.SegmentMap does not cover %s", strings.Join(uncovered, ", ")))
	}
	return errors.Join(errs...)
}

// monthsBefore returns the date n months before d, clamped to the end
// of a shorter month (2024-03-31 minus 1 month is 2024-02-29), the way
// warehouses subtract intervals. time.AddDate would overflow into March.
func monthsBefore(d time.Time, n int) time.Time {
	first := time.Date(d.Year(), d.Month()-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	lastDay := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d.Day(), lastDay)-1)
}
