package ui

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/segflow/segflow/core/report"
	"github.com/segflow/segflow/jobs"
)

// The charts are SVG documents written here from typed values: each
// element carries its raw figures in data-* attributes and a <title>
// (the browser's tooltip), so charts need no script and tests can read
// their numbers.

var esc = template.HTMLEscapeString

// svgOpen starts an inline SVG that scales to its container.
func svgOpen(b *strings.Builder, class string, w, h int, label string) {
	fmt.Fprintf(b, `<svg class="chart %s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		class, w, h, w, h, esc(label))
}

// rfmMatrixSVG draws the recency × frequency heatmap: rows R 5 (top) to
// 1, columns F 1 to 5; each cell shows its customers and revenue, is
// shaded by its customers and links to its customers' page.
func rfmMatrixSVG(cells []report.RFMCell) template.HTML {
	const cw, ch, left, top = 170, 92, 56, 34
	w, h := left+5*cw+8, top+5*ch+40
	byRF := map[[2]int64]report.RFMCell{}
	var max int64
	for _, c := range cells {
		byRF[[2]int64{c.R, c.F}] = c
		max = maxOf(max, c.Customers)
	}
	var b strings.Builder
	svgOpen(&b, "rfm-matrix", w, h, "RFM matrix: customers by recency score (rows) and frequency score (columns)")
	for f := int64(1); f <= 5; f++ {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="middle">F %d</text>`, left+int(f-1)*cw+cw/2, top-12, f)
	}
	fmt.Fprintf(&b, `<text class="axis-title" x="%d" y="%d" text-anchor="middle">frequency score →</text>`, left+5*cw/2, h-10)
	for ri, r := 0, int64(5); r >= 1; ri, r = ri+1, r-1 {
		y := top + ri*ch
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">R %d</text>`, left-10, y+ch/2+5, r)
		for f := int64(1); f <= 5; f++ {
			x := left + int(f-1)*cw
			c := byRF[[2]int64{r, f}]
			t := 0.0
			if max > 0 {
				t = float64(c.Customers) / float64(max)
			}
			fill, text := heatColor(t)
			href := fmt.Sprintf("/reports/rfm/customers?r=%d&f=%d", r, f)
			fmt.Fprintf(&b, `<a href="%s"><g class="cell" data-r="%d" data-f="%d" data-customers="%d" data-revenue="%.2f">`,
				esc(href), r, f, c.Customers, c.Revenue)
			fmt.Fprintf(&b, `<title>R %d, F %d: %s customers, revenue %s (%s)</title>`, r, f, formatInt(c.Customers), formatMoney2(c.Revenue), esc(c.Segment))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="#ffffff" stroke-width="3"/>`, x, y, cw, ch, fill)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s" class="big">%s</text>`, x+cw/2, y+34, text, formatInt(c.Customers))
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s" class="small">%s</text>`, x+cw/2, y+56, text, formatMoney(c.Revenue))
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s" class="tiny">%s</text>`, x+cw/2, y+76, text, esc(c.Segment))
			b.WriteString(`</g></a>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbar is one bar of a horizontal bar chart.
type hbar struct {
	Label string
	Value float64
	Text  string // shown after the bar
	Href  string // optional link
}

// hbarsSVG draws horizontal bars scaled to the largest value.
func hbarsSVG(class, label string, bars []hbar) template.HTML {
	const left, barH, gap, width = 90, 22, 8, 330
	h := len(bars)*(barH+gap) + gap
	var max float64
	for _, x := range bars {
		max = math.Max(max, x.Value)
	}
	var b strings.Builder
	svgOpen(&b, class, left+width+230, h, label)
	for i, x := range bars {
		y := gap + i*(barH+gap)
		bw := 0.0
		if max > 0 && x.Value > 0 {
			bw = x.Value / max * width
		}
		if x.Href != "" {
			fmt.Fprintf(&b, `<a href="%s">`, esc(x.Href))
		}
		fmt.Fprintf(&b, `<g class="bar" data-label="%s" data-value="%g"><title>%s: %s</title>`, esc(x.Label), x.Value, esc(x.Label), esc(x.Text))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="axis">%s</text>`, left-8, y+barH/2+5, esc(x.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" rx="3" class="fill"/>`, left, y, bw, barH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, float64(left)+bw+6, y+barH/2+5, esc(x.Text))
		b.WriteString(`</g>`)
		if x.Href != "" {
			b.WriteString(`</a>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// funnelSVG draws the lifecycle stages as centred bars, widest for the
// largest stage.
func funnelSVG(stages []stageRow) template.HTML {
	const width, barH, gap = 640, 44, 10
	h := len(stages)*(barH+gap) + gap
	var max int64
	for _, s := range stages {
		max = maxOf(max, s.Customers)
	}
	var b strings.Builder
	svgOpen(&b, "funnel", width, h, "lifecycle funnel: contacts per stage")
	for i, s := range stages {
		y := gap + i*(barH+gap)
		bw := 0.0
		if max > 0 {
			bw = math.Max(float64(s.Customers)/float64(max)*width, 2)
		}
		fill, text := heatColor(0.35 + 0.65*float64(i)/float64(max1(len(stages)-1)))
		fmt.Fprintf(&b, `<g class="stage" data-stage="%s" data-customers="%d"><title>%s: %s contacts (%s)</title>`,
			esc(s.Stage), s.Customers, esc(stageTitle(s.Stage)), formatInt(s.Customers), formatPct(s.Share))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="4" fill="%s"/>`, (width-bw)/2, y, bw, barH, fill)
		if bw < 260 {
			text = "#0f172a"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s" class="small">%s · %s · %s</text>`,
			width/2, y+barH/2+5, text, esc(stageTitle(s.Stage)), formatInt(s.Customers), formatPct(s.Share))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// segmentHistorySVG draws a segment's size per run (line) over bars of
// the members who joined (up, green) and left (down, red) in each run.
func segmentHistorySVG(hist []jobs.SegmentRun) template.HTML {
	const w, h, left, right, top, bottom = 820, 300, 64, 20, 20, 46
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	var b strings.Builder
	svgOpen(&b, "segment-history", w, h, "segment size over time, with members joined and left per run")
	if len(hist) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="axis">no runs yet</text></svg>`, w/2, h/2)
		return template.HTML(b.String())
	}
	var maxSize, maxChurn int64
	for _, r := range hist {
		maxSize = maxOf(maxSize, r.Members)
		maxChurn = maxOf(maxChurn, maxOf(r.Joined, r.Left))
	}
	maxSize, maxChurn = maxOf(maxSize, 1), maxOf(maxChurn, 1)
	// Size on the upper 70 %, churn bars around a baseline in the lower 30 %.
	sizeH, churnH := ph*0.62, ph*0.3
	base := float64(top) + sizeH + ph*0.08 + churnH/2
	step := pw / float64(len(hist))
	xOf := func(i int) float64 { return float64(left) + step*(float64(i)+0.5) }
	yOf := func(n int64) float64 { return float64(top) + sizeH - float64(n)/float64(maxSize)*sizeH }
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, left, yOf(0), w-right, yOf(0))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="axis">%s</text>`, left-6, yOf(maxSize)+4, formatInt(maxSize))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="axis">0</text>`, left-6, yOf(0)+4)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, left, base, w-right, base)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="axis">±%s</text>`, left-6, base-churnH/2+4, formatInt(maxChurn))
	bw := math.Min(step*0.6, 28)
	var pts []string
	for i, r := range hist {
		x := xOf(i)
		jh := float64(r.Joined) / float64(maxChurn) * churnH / 2
		lh := float64(r.Left) / float64(maxChurn) * churnH / 2
		fmt.Fprintf(&b, `<g class="run" data-run="%s" data-members="%d" data-joined="%d" data-left="%d"><title>%s: %s members, +%s joined, −%s left</title>`,
			esc(r.RunID), r.Members, r.Joined, r.Left, formatTime(r.At), formatInt(r.Members), formatInt(r.Joined), formatInt(r.Left))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="joined"/>`, x-bw/2, base-jh, bw, jh)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="left"/>`, x-bw/2, base, bw, lh)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" class="dot"/>`, x, yOf(r.Members))
		b.WriteString(`</g>`)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, yOf(r.Members)))
	}
	fmt.Fprintf(&b, `<polyline points="%s" class="line"/>`, strings.Join(pts, " "))
	// Label the first and last runs' dates.
	labels := map[int]bool{0: true, len(hist) - 1: true}
	for i := range labels {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="axis">%s</text>`, xOf(i), h-8, hist[i].At.UTC().Format(time.DateOnly+" 15:04"))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="legend joined-t">▮ joined</text><text x="%d" y="%d" class="legend left-t">▮ left</text><text x="%d" y="%d" class="legend">● members</text>`,
		left+4, h-26, left+84, h-26, left+150, h-26)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// groupedBarsSVG draws, per channel, one bar per attribution model.
func groupedBarsSVG(channels []string, models []string, shares map[string]map[string]float64) template.HTML {
	const left, top, groupH, barH, width = 120, 30, 0, 9, 560
	palette := []string{"#1e40af", "#2563eb", "#3b82f6", "#60a5fa", "#0f766e", "#14b8a6", "#a16207", "#ca8a04", "#7c3aed"}
	gh := len(models)*barH + 12
	h := top + len(channels)*gh + 10
	var max float64
	for _, ch := range channels {
		for _, m := range models {
			max = math.Max(max, shares[ch][m])
		}
	}
	var b strings.Builder
	svgOpen(&b, "attribution-bars", left+width+70, h, "revenue share per channel under each attribution model")
	x := left
	for i, m := range models {
		fmt.Fprintf(&b, `<rect x="%d" y="6" width="10" height="10" fill="%s"/><text x="%d" y="15" class="legend">%s</text>`,
			x, palette[i%len(palette)], x+14, esc(m))
		x += 14 + 7*len(m) + 16
	}
	for ci, ch := range channels {
		y0 := top + ci*gh
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="axis">%s</text>`, left-8, y0+gh/2+3, esc(ch))
		for mi, m := range models {
			v, ok := shares[ch][m]
			bw := 0.0
			if ok && max > 0 {
				bw = v / max * width
			}
			fmt.Fprintf(&b, `<g class="share" data-channel="%s" data-model="%s" data-share="%g"><title>%s, %s: %s%%</title><rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/></g>`,
				esc(ch), esc(m), v, esc(ch), esc(m), formatNum(1, v), left, y0+mi*barH, bw, barH-1, palette[mi%len(palette)])
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// query builds a query string from pairs.
func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v.Encode()
}
