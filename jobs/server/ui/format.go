package ui

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/segflow/segflow/core/report"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"int":       formatInt,
	"money":     formatMoney,
	"money2":    formatMoney2,
	"pct":       formatPct,
	"num":       formatNum,
	"ms":        formatMs,
	"bytes":     formatBytes,
	"when":      formatTime,
	"dur":       formatDuration,
	"heat":      heatStyle,
	"mask":      maskEmail,
	"fmtv":      formatValue,
	"add":       func(a, b int) int { return a + b },
	"deref":     func(f *float64) float64 { return *f },
	"lower":     strings.ToLower,
	"title":     stageTitle,
	"f":         report.AsFloat64,
	"i64":       report.AsInt64,
	"some":      func(v any) bool { return v != nil },
	"pct100":    func(f float64) float64 { return 100 * f },
	"lastIndex": func(row []any) int { return len(row) - 1 },
}

// formatInt writes n with thousands separators: 12,345.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatMoney rounds to whole units with thousands separators.
func formatMoney(f float64) string { return formatInt(int64(math.Round(f))) }

// formatMoney2 keeps cents: 12,345.67.
func formatMoney2(f float64) string {
	s := strconv.FormatFloat(math.Abs(f), 'f', 2, 64)
	whole, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := formatInt(n) + "." + frac
	if f < 0 && math.Round(f*100) != 0 {
		out = "-" + out
	}
	return out
}

// formatPct shows a 0-1 share as a percentage with one decimal.
func formatPct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// formatNum shows a float with the given decimals.
func formatNum(decimals int, f float64) string { return strconv.FormatFloat(f, 'f', decimals, 64) }

func formatMs(ms int64) string { return formatDuration(time.Duration(ms) * time.Millisecond) }

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	return d.Round(time.Second).String()
}

func formatBytes(n int64) string {
	if n <= 0 {
		return "–"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// formatValue shows a report cell: integers with separators, floats with
// two decimals, dates as dates.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		return formatInt(v)
	case float64:
		return formatMoney2(v)
	case string:
		if decimalText.MatchString(v) { // a DECIMAL the warehouse sent as text
			return formatMoney2(report.AsFloat64(v))
		}
		return v
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 {
			return v.Format(time.DateOnly)
		}
		return formatTime(v)
	}
	return fmt.Sprint(v)
}

var decimalText = regexp.MustCompile(`^-?[0-9]+\.[0-9]+$`)

// maskEmail keeps an address's first character and domain:
// jane@example.com becomes j***@example.com. Values without an @ are
// masked whole but for their first character.
func maskEmail(s string) string {
	if s == "" {
		return ""
	}
	local, domain, ok := strings.Cut(s, "@")
	first := []rune(local)
	if len(first) == 0 {
		return "***@" + domain
	}
	if !ok {
		return string(first[0]) + "***"
	}
	return string(first[0]) + "***@" + domain
}

func stageTitle(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// heatColor maps t in [0, 1] onto a light-to-dark blue scale and gives a
// text colour that stays readable on it.
func heatColor(t float64) (fill, text string) {
	if math.IsNaN(t) || t < 0 {
		t = 0
	}
	if t > 1 {
		t = 1
	}
	lo := [3]float64{239, 246, 255}
	hi := [3]float64{30, 64, 175}
	var c [3]int
	for i := range c {
		c[i] = int(math.Round(lo[i] + (hi[i]-lo[i])*t))
	}
	text = "#0f172a"
	if t > 0.5 {
		text = "#ffffff"
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]), text
}

// heatStyle is a table cell's style for value v on a scale to max.
func heatStyle(v, max float64) template.CSS {
	t := 0.0
	if max > 0 {
		t = v / max
	}
	fill, text := heatColor(t)
	return template.CSS("background:" + fill + ";color:" + text)
}
