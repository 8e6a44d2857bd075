package models

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/segflow/segflow/sql/dialect"
)

// templateFS holds the SQL templates: templates/ansi/<group>/<name>.sql.tmpl
// for every dialect, and templates/<dialect>/... for a file that one
// dialect needs to shape differently (none yet).
//
//go:embed templates
var templateFS embed.FS

// renderer renders the statements of one Render or RenderSegment call.
type renderer struct {
	model string
	o     Options
	d     dialect.Dialect
	tmpl  *template.Template
}

// templateData is what the model templates see as dot.
type templateData struct {
	Model        string
	AsOf         time.Time
	WindowMonths int
	WindowStart  time.Time // AsOf minus WindowMonths months
	LoyaltyStart time.Time // AsOf minus 13 months
	SegmentMap   []SegmentRule
	Rules        []DataQualityRule
	Segment      segmentData
	CLV          CLVOptions
	Fit          *CLVFit // the clv model's fitted parameters, after its Go stage

	// Lifecycle is the lifecycle model's settings; lifecycle.go and
	// cohort.go add the dates derived from it and AsOf as methods.
	Lifecycle LifecycleOptions
	Holdout   HoldoutOptions

	// Attribution and Affinity are those models' settings; attribution.go
	// and affinity.go add template helpers as methods.
	Attribution AttributionOptions
	Affinity    AffinityOptions
}

type segmentData struct {
	ModelTable string
	Where      string
	Attributes []string
	// Holdout is a boolean expression: the member is in the control group.
	Holdout string
	// RowHash is an expression for the hash of the attributes sent.
	RowHash string
}

func newRenderer(modelName string, o Options, needed []string) (*renderer, error) {
	if err := validateOptions(&o, needed); err != nil {
		return nil, err
	}
	r := &renderer{model: modelName, o: o, d: o.Dialect}
	t, err := loadTemplates(templateFS, "templates", o.Dialect.Name(), r.funcs())
	if err != nil {
		return nil, err
	}
	r.tmpl = t
	return r, nil
}

// loadTemplates parses every template under root/ansi, then every one
// under root/<dialectName>; a dialect file replaces the ANSI file of the
// same relative path. Templates are named by that path
// ("rfm/rfm.sql.tmpl"), which is also how one includes another.
func loadTemplates(fsys fs.FS, root, dialectName string, funcs template.FuncMap) (*template.Template, error) {
	t := template.New("").Funcs(funcs).Option("missingkey=error")
	for _, dir := range []string{"ansi", dialectName} {
		base := path.Join(root, dir)
		err := fs.WalkDir(fsys, base, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".sql.tmpl") {
				return err
			}
			text, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			name := strings.TrimPrefix(p, base+"/")
			if _, err := t.New(name).Parse(string(text)); err != nil {
				return fmt.Errorf("parse template %s: %w", p, err)
			}
			return nil
		})
		// A dialect without templates of its own has no directory.
		if err != nil && !(dir != "ansi" && errors.Is(err, fs.ErrNotExist)) {
			return nil, err
		}
	}
	return t, nil
}

// statement renders template name and wraps the query in the dialect's
// CREATE OR REPLACE TABLE for table in the output schema.
func (r *renderer) statement(table, name string) (string, error) {
	return r.create(table, name, r.data())
}

// data is what every template sees, before statement-specific parts.
func (r *renderer) data() templateData {
	asOf := dateOf(r.o.AsOf)
	return templateData{
		Model:        r.model,
		AsOf:         asOf,
		WindowMonths: r.o.RFM.WindowMonths,
		WindowStart:  monthsBefore(asOf, r.o.RFM.WindowMonths),
		LoyaltyStart: monthsBefore(asOf, 13),
		SegmentMap:   r.o.RFM.SegmentMap,
		Rules:        orderRules,
		CLV:          r.o.CLV,
		Lifecycle:    r.o.Lifecycle,
		Attribution:  r.o.Attribution,
		Affinity:     r.o.Affinity,
	}
}

// create renders template name with data as a CREATE OR REPLACE TABLE.
func (r *renderer) create(table, name string, data templateData) (string, error) {
	query, err := r.query(name, data)
	if err != nil {
		return "", err
	}
	return r.d.CreateTableAs(r.d.Table(r.o.OutputSchema, table), query), nil
}

// query renders template name with data.
func (r *renderer) query(name string, data any) (string, error) {
	var b strings.Builder
	if err := r.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// dateOf returns the calendar date of t in t's location, as midnight UTC.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// funcs are the template functions. They are the only way templates
// write names and values that do not come from the template text itself.
func (r *renderer) funcs() template.FuncMap {
	return template.FuncMap{
		// out is a table in the output schema.
		"out": func(name string) string { return r.d.Table(r.o.OutputSchema, name) },
		// source is the staging SELECT of a logical table.
		"source": r.source,
		"ident":  r.d.QuoteIdent,
		"date":   r.d.DateLiteral,
		"ts":     r.d.TimestampLiteral,
		"str":    r.d.StringLiteral,
		"type": func(name string) (string, error) {
			for _, t := range []dialect.Type{dialect.String, dialect.Int64, dialect.Float64, dialect.Bool, dialect.Date, dialect.Timestamp} {
				if t.String() == name {
					return r.d.TypeName(t), nil
				}
			}
			return "", fmt.Errorf("unknown type %q", name)
		},
		"days_between": r.d.DaysBetween,
		// Date arithmetic; see dialect.Dialect for each one's contract.
		"add_days":       r.d.AddDays,
		"add_months":     r.d.AddMonths,
		"trunc_month":    r.d.TruncMonth,
		"months_between": r.d.MonthsBetween,
		"safe_divide":    r.d.SafeDivide,
		// qualify is a QUALIFY clause; the SELECT needs a WHERE (WHERE TRUE).
		"qualify": r.d.Qualify,
		// float writes a Go float64 as a SQL numeric literal.
		"float": func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) },
	}
}

// source renders the staging SELECT for logical table table: each listed
// logical column read from its physical column (or a typed NULL when the
// source lacks it) under its logical name, so that model SQL only ever
// speaks logical names.
func (r *renderer) source(table string, columns ...string) (string, error) {
	src, ok := r.o.Sources[table]
	if !ok {
		return "", fmt.Errorf("source %s is required", table)
	}
	var b strings.Builder
	b.WriteString("    SELECT\n")
	for i, name := range columns {
		col, ok := logicalColumn(table, name)
		if !ok {
			return "", fmt.Errorf("%s.%s is not a logical column", table, name)
		}
		var expr string
		switch {
		case slices.Contains(src.Missing, name):
			expr = "CAST(NULL AS " + r.d.TypeName(col.Type) + ")"
		case src.Columns[name] != "":
			expr = r.d.QuoteIdent(src.Columns[name])
		default:
			expr = r.d.QuoteIdent(name)
		}
		sep := ","
		if i == len(columns)-1 {
			sep = ""
		}
		// The alias is a fixed logical name, written bare like every name
		// segflow itself chooses (see the package doc).
		fmt.Fprintf(&b, "        %s AS %s%s\n", expr, name, sep)
	}
	fmt.Fprintf(&b, "    FROM %s", SourceFrom(r.d, src))
	return b.String(), nil
}

// SourceFrom renders a source as a FROM item: its quoted table name, or
// its SQL as a subquery.
func SourceFrom(d dialect.Dialect, src Source) string {
	if src.Table != "" {
		parts := strings.Split(src.Table, ".")
		for i, p := range parts {
			parts[i] = d.QuoteIdent(p)
		}
		return strings.Join(parts, ".")
	}
	// The newline before ")" keeps a trailing -- comment in the user's
	// SQL from swallowing it.
	return "(\n" + strings.TrimRight(src.SQL, "; \t\r\n") + "\n    ) AS src"
}
