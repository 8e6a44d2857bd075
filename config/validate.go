package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones must validate on hosts without a zoneinfo database
)

// FieldError is one problem with one field of a config file. Error()
// reads "FILE:LINE:COL: PATH: MSG"; parts that are unknown are left out.
type FieldError struct {
	File   string // config path as given to Load
	Path   string // field path such as "segments[1].where"; "" for the whole file
	Line   int    // 1-based; 0 when the field is not in the file
	Column int
	Msg    string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d:%d: ", e.Line, e.Column)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var (
	identRE  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// Validate checks the config as a whole: references between sections,
// names, ranges and the logical data model. It expects defaults to be
// applied (Load does both). The result is an errors.Join of *FieldError,
// one per problem, in file order of the sections.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.top()
	v.plugins()
	v.warehouse()
	v.sources()
	v.models()
	v.segments()
	v.destinations()
	v.jobs()
	return errors.Join(v.errs...)
}

type validator struct {
	c    *Config
	errs []error
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, v.c.Errorf(path, format, args...))
}

// unique reports a repeated name; it returns false for "" or a repeat.
func (v *validator) unique(seen map[string]bool, path, name string) bool {
	if name == "" {
		v.errorf(path, "required")
		return false
	}
	if seen[name] {
		v.errorf(path, "duplicate name %q", name)
		return false
	}
	seen[name] = true
	return true
}

func (v *validator) top() {
	switch c := v.c; {
	case c.Version == 0:
		v.errorf("version", "required: add \"version: 1\"")
	case c.Version != 1:
		v.errorf("version", "unsupported version %d (only version 1 exists)", c.Version)
	}
	if _, err := time.LoadLocation(v.c.Timezone); err != nil {
		v.errorf("timezone", "unknown time zone %q (want an IANA name such as Europe/Paris)", v.c.Timezone)
	}
}

func (v *validator) plugins() {
	seen := map[string]bool{}
	for i, p := range v.c.Plugins {
		path := fmt.Sprintf("plugins[%d]", i)
		if v.unique(seen, path+".name", p.Name) {
			if (p.Kind == KindWarehouse && slices.Contains(BuiltinWarehouses, p.Name)) ||
				(p.Kind == KindDestination && slices.Contains(BuiltinDestinations, p.Name)) {
				v.errorf(path+".name", "%q is a built-in plugin; give the external one another name", p.Name)
			}
		}
		switch p.Kind {
		case KindWarehouse, KindDestination:
		case "":
			v.errorf(path+".kind", "required: warehouse or destination")
		default:
			v.errorf(path+".kind", "unknown kind %q (want warehouse or destination)", p.Kind)
		}
		if p.Path == "" {
			v.errorf(path+".path", "required: the plugin executable, relative to the config file")
		}
		if !sha256RE.MatchString(p.SHA256) {
			v.errorf(path+".sha256", "want the 64 hex digits of the executable's SHA-256 (sha256sum %s), got %q", p.Path, p.SHA256)
		}
	}
}

// pluginRef checks that name is a built-in plugin or a plugins entry of
// the given kind.
func (v *validator) pluginRef(path, name, kind string, builtins []string) {
	if name == "" {
		v.errorf(path, "required: one of %s, or the name of a plugins entry", strings.Join(builtins, ", "))
		return
	}
	if slices.Contains(builtins, name) {
		return
	}
	if p := v.c.Plugin(name); p != nil {
		if p.Kind != kind {
			v.errorf(path, "plugin %q is a %s plugin, not a %s plugin", name, p.Kind, kind)
		}
		return
	}
	candidates := slices.Clone(builtins)
	for _, p := range v.c.Plugins {
		candidates = append(candidates, p.Name)
	}
	v.errorf(path, "unknown %s plugin %q%s (built-in: %s; declare others under plugins)",
		kind, name, didYouMean(name, candidates), strings.Join(builtins, ", "))
}

func (v *validator) warehouse() {
	v.pluginRef("warehouse.plugin", v.c.Warehouse.Plugin, KindWarehouse, BuiltinWarehouses)
}

func (v *validator) sources() {
	for _, name := range LogicalTableNames {
		path := "sources." + name
		src := v.c.Sources.Table(name)
		if src == nil {
			if slices.Contains(RequiredSources, name) {
				v.errorf(path, "required: map the %s logical table onto a table or a sql query", name)
			}
			continue
		}
		switch {
		case src.Table == "" && src.SQL == "":
			v.errorf(path, "set table or sql")
		case src.Table != "" && src.SQL != "":
			v.errorf(path, "set only one of table and sql")
		}
		lt := LogicalTables[name]
		for _, col := range sortedKeys(src.Columns) {
			colPath := path + ".columns." + col
			if !lt.Has(col) {
				v.errorf(colPath, "unknown column %q of logical table %s%s (columns: %s)",
					col, name, didYouMean(col, lt.Columns()), strings.Join(lt.Columns(), ", "))
			} else if src.Columns[col] == "" {
				v.errorf(colPath, "empty physical column name")
			}
		}
	}
}

func (v *validator) models() {
	if asOf := v.c.Models.AsOf; asOf != "" {
		if _, err := time.Parse(time.DateOnly, asOf); err != nil {
			v.errorf("models.as_of", "want a date as YYYY-MM-DD, got %q", asOf)
		}
	}
	if u := v.c.Models.CLV.TimeUnit; u != "week" && u != "day" {
		v.errorf("models.clv.time_unit", "must be week or day, got %q", u)
	}
	if h := v.c.Models.CLV.Horizon; h < 1 || h > 1000 {
		v.errorf("models.clv.horizon", "must be between 1 and 1000, got %d", h)
	}
	lc := v.c.Models.Lifecycle
	if lc.ActiveDays < 0 {
		v.errorf("models.lifecycle.active_days", "must not be negative, got %d", lc.ActiveDays)
	}
	if lc.InactiveDays < 0 || (lc.InactiveDays > 0 && lc.InactiveDays <= lc.ActiveDays) {
		v.errorf("models.lifecycle.inactive_days", "must be greater than active_days (%d), got %d", lc.ActiveDays, lc.InactiveDays)
	}
	if lc.PeriodDays < 1 || lc.PeriodDays > 3660 {
		v.errorf("models.lifecycle.period_days", "must be between 1 and 3660, got %d", lc.PeriodDays)
	}
	at := v.c.Models.Attribution
	if at.LookbackDays < 0 || at.LookbackDays > 3660 {
		v.errorf("models.attribution.lookback_days", "must be between 1 and 3660, got %d", at.LookbackDays)
	}
	if at.HalfLifeDays < 0 {
		v.errorf("models.attribution.half_life_days", "must be positive, got %g", at.HalfLifeDays)
	}
	if w := at.PositionWeights; w != nil && (w.First < 0 || w.Middle < 0 || w.Last < 0 || w.First+w.Middle+w.Last == 0) {
		v.errorf("models.attribution.position_weights", "weights must not be negative and must not all be 0")
	}
	if at.WindowMonths < 0 {
		v.errorf("models.attribution.window_months", "must not be negative, got %d", at.WindowMonths)
	}
	af := v.c.Models.Affinity
	if af.MinCount < 0 || af.TopK < 0 || af.Recommendations < 0 {
		v.errorf("models.affinity", "min_count, top_k and recommendations must not be negative")
	}
	if af.MinSupport < 0 || af.MinSupport > 1 {
		v.errorf("models.affinity.min_support", "must be between 0 and 1, got %g", af.MinSupport)
	}
	rfm := v.c.Models.RFM
	if rfm.WindowMonths < 1 || rfm.WindowMonths > 120 {
		v.errorf("models.rfm.window_months", "must be between 1 and 120, got %d", rfm.WindowMonths)
	}
	v.segmentMap(rfm.SegmentMap)
}

// segmentMap checks each rule and that together they cover all 25
// (R, F) cells; it also flags rules that earlier rules shadow entirely.
func (v *validator) segmentMap(rules []SegmentRule) {
	const path = "models.rfm.segment_map"
	var covered [6][6]bool
	valid := true
	for i, rule := range rules {
		rulePath := fmt.Sprintf("%s[%d]", path, i)
		if strings.TrimSpace(rule.Name) == "" {
			v.errorf(rulePath+".name", "required")
		}
		rLo, rHi, err1 := parseScoreRange(rule.R)
		if err1 != nil {
			v.errorf(rulePath+".r", "%v", err1)
		}
		fLo, fHi, err2 := parseScoreRange(rule.F)
		if err2 != nil {
			v.errorf(rulePath+".f", "%v", err2)
		}
		if err1 != nil || err2 != nil {
			valid = false
			continue
		}
		matches := false
		for r := rLo; r <= rHi; r++ {
			for f := fLo; f <= fHi; f++ {
				matches = matches || !covered[r][f]
				covered[r][f] = true
			}
		}
		if !matches {
			v.errorf(rulePath, "rule %q never matches: earlier rules cover all its cells", rule.Name)
		}
	}
	if !valid {
		return
	}
	var missing []string
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			if !covered[r][f] {
				missing = append(missing, fmt.Sprintf("r=%d,f=%d", r, f))
			}
		}
	}
	if len(missing) > 0 {
		v.errorf(path, "rules must cover all 25 (R, F) cells; not covered: %s", strings.Join(missing, " "))
	}
}

func (v *validator) segments() {
	seen := map[string]bool{}
	for i, s := range v.c.Segments {
		path := fmt.Sprintf("segments[%d]", i)
		if v.unique(seen, path+".name", s.Name) && !identRE.MatchString(s.Name) {
			v.errorf(path+".name", "%q is not a valid name: use lower-case letters, digits and _, not starting with a digit", s.Name)
		}
		switch {
		case s.Model == "":
			v.errorf(path+".model", "required: one of %s", strings.Join(SegmentModels, ", "))
		case !slices.Contains(SegmentModels, s.Model):
			v.errorf(path+".model", "model %q%s has no row per customer to filter (segments use: %s)", s.Model, didYouMean(s.Model, SegmentModels), strings.Join(SegmentModels, ", "))
		}
		if s.Holdout < 0 || s.Holdout >= 1 {
			v.errorf(path+".holdout", "%v is not a share: use a number from 0 (no holdout) up to, not including, 1 (such as 0.1)", s.Holdout)
		}
		attrs := map[string]bool{}
		for j, a := range s.Attributes {
			attrPath := fmt.Sprintf("%s.attributes[%d]", path, j)
			switch {
			case !identRE.MatchString(a):
				v.errorf(attrPath, "%q is not a column name: use lower-case letters, digits and _", a)
			case attrs[a]:
				v.errorf(attrPath, "duplicate attribute %q", a)
			}
			attrs[a] = true
		}
		dests := map[string]bool{}
		for j, d := range s.Destinations {
			destPath := fmt.Sprintf("%s.destinations[%d]", path, j)
			switch {
			case v.c.Destination(d) == nil:
				v.errorf(destPath, "unknown destination %q%s (defined: %s)", d, didYouMean(d, v.destinationNames()),
					cmp.Or(strings.Join(v.destinationNames(), ", "), "none"))
			case dests[d]:
				v.errorf(destPath, "destination %q listed twice", d)
			}
			dests[d] = true
		}
	}
}

func (v *validator) destinationNames() []string {
	var names []string
	for _, d := range v.c.Destinations {
		names = append(names, d.Name)
	}
	return names
}

func (v *validator) destinations() {
	seen := map[string]bool{}
	for i, d := range v.c.Destinations {
		path := fmt.Sprintf("destinations[%d]", i)
		v.unique(seen, path+".name", d.Name)
		v.pluginRef(path+".plugin", d.Plugin, KindDestination, BuiltinDestinations)
	}
}

func (v *validator) jobs() {
	seen := map[string]bool{}
	for i, j := range v.c.Jobs {
		path := fmt.Sprintf("jobs[%d]", i)
		v.unique(seen, path+".name", j.Name)
		if len(j.Models) == 0 && len(j.Segments) == 0 {
			v.errorf(path, "a job needs at least one entry under models or segments")
		}
		for k, m := range j.Models {
			if !slices.Contains(KnownModels, m) {
				v.errorf(fmt.Sprintf("%s.models[%d]", path, k), "unknown model %q%s (known: %s)",
					m, didYouMean(m, KnownModels), strings.Join(KnownModels, ", "))
			}
		}
		for k, s := range j.Segments {
			if v.c.Segment(s) == nil {
				var names []string
				for _, seg := range v.c.Segments {
					names = append(names, seg.Name)
				}
				v.errorf(fmt.Sprintf("%s.segments[%d]", path, k), "unknown segment %q%s", s, didYouMean(s, names))
			}
		}
		if j.Timeout <= 0 {
			v.errorf(path+".timeout", "must be positive, got %s", j.Timeout)
		}
		if j.Retries < 0 || j.Retries > 100 {
			v.errorf(path+".retries", "must be between 0 and 100, got %d", j.Retries)
		}
		if j.Backoff < 0 {
			v.errorf(path+".backoff", "must not be negative, got %s", j.Backoff)
		}
		if j.CatchUp != "one" && j.CatchUp != "none" && j.CatchUp != "all" {
			v.errorf(path+".catch_up", "must be one, none or all, got %q", j.CatchUp)
		}
		if j.Schedule != "" && !plausibleSchedule(j.Schedule) {
			v.errorf(path+".schedule", "%q is not a cron expression: want 5 fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily or @every 6h", j.Schedule)
		}
	}
}

// plausibleSchedule is a shape check only; the scheduler parses the
// expression for real.
func plausibleSchedule(s string) bool {
	if strings.HasPrefix(s, "@") {
		return len(s) > 1
	}
	return len(strings.Fields(s)) == 5
}
