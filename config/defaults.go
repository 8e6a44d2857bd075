package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by Load for fields left out.
const (
	DefaultTimezone     = "UTC"
	DefaultOutputSchema = "segflow"
	DefaultWindowMonths = 12
	DefaultJobTimeout   = time.Hour
)

// DefaultSegmentMap is the RFM segment map used when models.rfm.segment_map
// is not set. The first matching rule wins; together the rules cover all
// 25 (R, F) cells.
var DefaultSegmentMap = []SegmentRule{
	{Name: "Champions", R: "5", F: "4-5"},
	{Name: "Loyal", R: "3-4", F: "4-5"},
	{Name: "Potential loyalist", R: "4-5", F: "2-3"},
	{Name: "New", R: "5", F: "1"},
	{Name: "Promising", R: "4", F: "1"},
	{Name: "Need attention", R: "3", F: "3"},
	{Name: "About to sleep", R: "3", F: "1-2"},
	{Name: "Can't lose them", R: "1-2", F: "5"},
	{Name: "At risk", R: "1-2", F: "3-4"},
	{Name: "Lost", R: "1", F: "1"},
	{Name: "Hibernating", R: "1-2", F: "1-2"},
}

// withDefaults fills in the fields the file leaves out. A zero value
// written in the file (window_months: 0, timeout: 0s) is not replaced,
// so that Validate reports it instead of silently using the default.
func (c *Config) withDefaults() {
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.Warehouse.OutputSchema == "" {
		c.Warehouse.OutputSchema = DefaultOutputSchema
	}
	if c.State.DSN == "" {
		c.State.DSN = ".segflow/state.db"
	}
	for i := range c.Jobs {
		if c.Jobs[i].CatchUp == "" {
			c.Jobs[i].CatchUp = "one"
		}
	}
	if c.Models.Lifecycle.PeriodDays == 0 && !c.inFile("models.lifecycle.period_days") {
		c.Models.Lifecycle.PeriodDays = 30
	}
	if c.Models.CLV.TimeUnit == "" && !c.inFile("models.clv.time_unit") {
		c.Models.CLV.TimeUnit = "week"
	}
	if c.Models.CLV.Horizon == 0 && !c.inFile("models.clv.horizon") {
		c.Models.CLV.Horizon = 52
	}
	if c.Models.RFM.WindowMonths == 0 && !c.inFile("models.rfm.window_months") {
		c.Models.RFM.WindowMonths = DefaultWindowMonths
	}
	if len(c.Models.RFM.SegmentMap) == 0 && !c.inFile("models.rfm.segment_map") {
		c.Models.RFM.SegmentMap = slices.Clone(DefaultSegmentMap)
	}
	for i := range c.Jobs {
		if c.Jobs[i].Timeout == 0 && !c.inFile(fmt.Sprintf("jobs[%d].timeout", i)) {
			c.Jobs[i].Timeout = DefaultJobTimeout
		}
	}
}

// inFile reports whether the field at path is written in the file.
func (c *Config) inFile(path string) bool {
	_, ok := c.positions[path]
	return ok
}

// Ranges parses the rule's R and F ranges ("N" or "N-M", 1 <= N <= M <= 5).
func (r SegmentRule) Ranges() (rLo, rHi, fLo, fHi int, err error) {
	if rLo, rHi, err = parseScoreRange(r.R); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("r: %w", err)
	}
	if fLo, fHi, err = parseScoreRange(r.F); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("f: %w", err)
	}
	return rLo, rHi, fLo, fHi, nil
}

// Matches reports whether scores r and f fall in the rule's ranges. It
// is false for a rule whose ranges do not parse.
func (r SegmentRule) Matches(rScore, fScore int) bool {
	rLo, rHi, fLo, fHi, err := r.Ranges()
	return err == nil && rLo <= rScore && rScore <= rHi && fLo <= fScore && fScore <= fHi
}

func parseScoreRange(s string) (lo, hi int, err error) {
	loS, hiS, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(loS))
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(hiS))
	}
	if err1 != nil || err2 != nil || lo < 1 || hi > 5 || lo > hi {
		return 0, 0, fmt.Errorf(`invalid score range %q: want "N" or "N-M" with 1 <= N <= M <= 5`, s)
	}
	return lo, hi, nil
}
