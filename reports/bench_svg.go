package reports

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// svgChart is a line chart rendered as inline SVG, with no scripts or
// external resources.
type svgChart struct {
	Title, XLabel, YLabel string
	Series                []svgSeries
	// Markers are vertical lines (e.g. churn events) labelled on hover.
	Markers []svgMarker
	// Bars are drawn on a secondary scale at the bottom (e.g. error
	// counts), same x as the series.
	Bars []svgPoint
	// BarLabel names what Bars count.
	BarLabel string
	// XTicks, when set, label the x axis with these (value, label) pairs
	// instead of numbers.
	XTicks []svgTick
	// LogX and LogY use decade scales (values <= 0 are not drawn).
	LogX, LogY bool
	// HLines are horizontal reference lines (e.g. the SLO).
	HLines []svgHLine
	// BarsOwnAxis draws Bars in a band below the plot with their own
	// labelled axis instead of over the series.
	BarsOwnAxis bool
	// PointMarks are labelled points drawn as crosses (e.g. censored
	// events).
	PointMarks []svgMarker
}

type svgHLine struct {
	Y     float64
	Label string
}

type svgSeries struct {
	Name   string
	Points []svgPoint
}

type svgPoint struct{ X, Y float64 }

type svgMarker struct {
	X     float64
	Label string
}

type svgTick struct {
	X     float64
	Label string
}

var svgPalette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}

const (
	svgW, svgH                           = 760, 360
	svgLeft, svgRight, svgTop, svgBottom = 80, 170, 36, 50
)

// render returns the chart's SVG element; an empty chart says so.
func (c svgChart) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, svgW, svgH, svgW, svgH, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff" stroke="#cccccc"/>`, svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`, svgLeft, html.EscapeString(c.Title))
	// tx/ty map data to the drawn scale (log10 on log axes).
	tx, ty := axisT(c.LogX), axisT(c.LogY)
	ok := func(p svgPoint) bool { return finite(tx(p.X)) && finite(ty(p.Y)) }
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !ok(p) {
				continue
			}
			xmin, xmax, ymin, ymax = math.Min(xmin, tx(p.X)), math.Max(xmax, tx(p.X)), math.Min(ymin, ty(p.Y)), math.Max(ymax, ty(p.Y))
			n++
		}
	}
	for _, h := range c.HLines {
		if v := ty(h.Y); finite(v) && n > 0 {
			ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
		}
	}
	for _, m := range c.PointMarks {
		if v := tx(m.X); finite(v) && n > 0 {
			xmin, xmax = math.Min(xmin, v), math.Max(xmax, v)
		}
	}
	for _, t := range c.XTicks {
		xmin, xmax = math.Min(xmin, tx(t.X)), math.Max(xmax, tx(t.X))
	}
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" fill="#666666">no valid data</text></svg>`, svgW/2-50, svgH/2)
		return b.String()
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if c.LogY {
		ymin, ymax = math.Floor(ymin), math.Ceil(ymax)
		if ymax == ymin {
			ymax = ymin + 1
		}
	} else {
		ymin = math.Min(0, ymin)
		ymax = niceCeil(ymax * 1.05)
		if ymax <= ymin {
			ymax = ymin + 1
		}
	}
	pw, ph := float64(svgW-svgLeft-svgRight), float64(svgH-svgTop-svgBottom)
	barBand := 0.0
	if c.BarsOwnAxis && len(c.Bars) > 0 {
		barBand = ph * 0.3
		ph -= barBand + 16
	}
	sx := func(x float64) float64 { return svgLeft + (tx(x)-xmin)/(xmax-xmin)*pw }
	sy := func(y float64) float64 { return svgTop + ph - (ty(y)-ymin)/(ymax-ymin)*ph }
	// Grid and axes: decades on a log axis, fifths on a linear one.
	var yticks []float64
	if c.LogY {
		for d := ymin; d <= ymax+1e-9; d++ {
			yticks = append(yticks, math.Pow(10, d))
		}
	} else {
		for i := 0; i <= 5; i++ {
			yticks = append(yticks, ymin+(ymax-ymin)*float64(i)/5)
		}
	}
	for _, y := range yticks {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eeeeee"/>`, svgLeft, sy(y), svgLeft+pw, sy(y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`, svgLeft-6, sy(y)+4, fmtNum(y))
	}
	switch {
	case len(c.XTicks) > 0:
		for _, t := range c.XTicks {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, sx(t.X), svgTop+ph+16, html.EscapeString(t.Label))
		}
	case c.LogX:
		for d := math.Ceil(xmin); d <= xmax+1e-9; d++ {
			x := math.Pow(10, d)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#eeeeee"/>`, sx(x), svgTop, sx(x), svgTop+ph)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, sx(x), svgTop+ph+16, fmtNum(x))
		}
	default:
		for i := 0; i <= 5; i++ {
			x := xmin + (xmax-xmin)*float64(i)/5
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, sx(x), svgTop+ph+16, fmtNum(x))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333333"/>`, svgLeft, svgTop+ph, svgLeft+pw, svgTop+ph)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.0f" stroke="#333333"/>`, svgLeft, svgTop, svgLeft, svgTop+ph)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="12" text-anchor="middle">%s</text>`, svgLeft+pw/2, svgH-10, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text x="16" y="%.0f" font-size="12" text-anchor="middle" transform="rotate(-90 16 %.0f)">%s</text>`, svgTop+ph/2, svgTop+ph/2, html.EscapeString(c.YLabel))
	for _, h := range c.HLines {
		if !finite(ty(h.Y)) {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 3"><title>%s</title></line>`, svgLeft, sy(h.Y), svgLeft+pw, sy(h.Y), html.EscapeString(h.Label))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="11" fill="#d62728" text-anchor="end">%s</text>`, svgLeft+pw-4, sy(h.Y)-4, html.EscapeString(h.Label))
	}
	for _, m := range c.PointMarks {
		if !finite(tx(m.X)) {
			continue
		}
		x, y := sx(m.X), svgTop+ph/2
		fmt.Fprintf(&b, `<path d="M%.1f %.1f l8 8 m0 -8 l-8 8" stroke="#d62728" stroke-width="2" transform="translate(-4 -4)"><title>%s</title></path>`, x, y, html.EscapeString(m.Label))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#d62728" text-anchor="end">%s</text>`, x-6, y-8, html.EscapeString(m.Label))
	}
	if len(c.Bars) > 0 && c.BarsOwnAxis {
		bmax := 0.0
		for _, p := range c.Bars {
			bmax = math.Max(bmax, p.Y)
		}
		top := svgTop + ph + 24
		bh := barBand - 8
		bmaxAxis := niceCeil(math.Max(bmax, 1))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333333"/>`, svgLeft, top+bh, svgLeft+pw, top+bh)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%d" y2="%.0f" stroke="#333333"/>`, svgLeft, top, svgLeft, top+bh)
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" font-size="11" text-anchor="end">%s</text>`, svgLeft-6, top+4, fmtNum(bmaxAxis))
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" font-size="11" text-anchor="end">0</text>`, svgLeft-6, top+bh+4)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#d62728">%s</text>`, svgLeft+4.0, top-2, html.EscapeString(c.BarLabel))
		bw := math.Max(2, pw/float64(len(c.Bars)+1)*0.6)
		for _, p := range c.Bars {
			if p.Y <= 0 {
				continue
			}
			h := p.Y / bmaxAxis * bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728"><title>%s: %s</title></rect>`, sx(p.X)-bw/2, top+bh-h, bw, h, html.EscapeString(c.BarLabel), fmtNum(p.Y))
		}
	} else if len(c.Bars) > 0 {
		bmax := 0.0
		for _, p := range c.Bars {
			bmax = math.Max(bmax, p.Y)
		}
		if bmax > 0 {
			bw := math.Max(2, pw/float64(len(c.Bars)+1)*0.6)
			for _, p := range c.Bars {
				if p.Y <= 0 {
					continue
				}
				h := p.Y / bmax * ph * 0.25
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728" opacity="0.5"><title>%s: %s</title></rect>`, sx(p.X)-bw/2, svgTop+ph-h, bw, h, html.EscapeString(c.BarLabel), fmtNum(p.Y))
			}
		}
	}
	for _, m := range c.Markers {
		if v := tx(m.X); !finite(v) || v < xmin || v > xmax {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#ff7f0e" stroke-width="1" stroke-dasharray="3 3"><title>%s</title></line>`, sx(m.X), svgTop, sx(m.X), svgTop+ph, html.EscapeString(m.Label))
	}
	for i, s := range c.Series {
		color := svgPalette[i%len(svgPalette)]
		var pts []string
		for _, p := range s.Points {
			if ok(p) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.X), sy(p.Y)))
			}
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		}
		for _, p := range s.Points {
			if ok(p) {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s, %s</title></circle>`, sx(p.X), sy(p.Y), color, html.EscapeString(s.Name), fmtNum(p.X), fmtNum(p.Y))
			}
		}
		ly := svgTop + 14 + i*18
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="12" height="4" fill="%s"/>`, svgLeft+pw+12, ly-4, color)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="11">%s</text>`, svgLeft+pw+30, ly, html.EscapeString(truncate(s.Name, 22)))
	}
	if len(c.Markers) > 0 {
		ly := svgTop + 14 + len(c.Series)*18
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="#ff7f0e" stroke-dasharray="3 3"/>`, svgLeft+pw+12, ly-2, svgLeft+pw+24, ly-2)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="11">events</text>`, svgLeft+pw+30, ly)
	}
	if len(c.Bars) > 0 {
		ly := svgTop + 32 + len(c.Series)*18
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="12" height="8" fill="#d62728" opacity="0.5"/>`, svgLeft+pw+12, ly-8)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="11">%s</text>`, svgLeft+pw+30, ly, html.EscapeString(c.BarLabel))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// axisT is the identity, or log10 for a log axis (non-positive values map
// to NaN and are not drawn).
func axisT(log bool) func(float64) float64 {
	if !log {
		return func(x float64) float64 { return x }
	}
	return func(x float64) float64 {
		if x <= 0 {
			return math.NaN()
		}
		return math.Log10(x)
	}
}

// svgBar is one bar of a bar chart.
type svgBar struct {
	Label string
	Value float64
	// Lo and Hi draw a min..max whisker when Hi > Lo.
	Lo, Hi float64
	Note   string
}

// renderBars returns a horizontal bar chart.
func renderBars(title, unit string, bars []svgBar) string {
	var b strings.Builder
	h := svgTop + 24*len(bars) + 30
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, svgW, h, svgW, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff" stroke="#cccccc"/>`, svgW, h)
	fmt.Fprintf(&b, `<text x="12" y="22" font-size="15" font-weight="bold">%s</text>`, html.EscapeString(title))
	left, right := 260.0, float64(svgW-90)
	vmax := 0.0
	for _, bar := range bars {
		vmax = math.Max(vmax, math.Max(bar.Value, bar.Hi))
	}
	vmax = niceCeil(math.Max(vmax, 1))
	for i, bar := range bars {
		y := float64(svgTop + 24*i)
		w := bar.Value / vmax * (right - left)
		color := svgPalette[i%len(svgPalette)]
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end">%s</text>`, left-6, y+13, html.EscapeString(truncate(bar.Label, 40)))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.1f" height="16" fill="%s"><title>%s: %s %s %s</title></rect>`, left, y+2, w, color, html.EscapeString(bar.Label), fmtNum(bar.Value), html.EscapeString(unit), html.EscapeString(bar.Note))
		if bar.Hi > bar.Lo {
			x0, x1 := left+bar.Lo/vmax*(right-left), left+bar.Hi/vmax*(right-left)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333333"/>`, x0, y+10, x1, y+10)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11">%s %s</text>`, left+w+6, y+13, fmtNum(bar.Value), html.EscapeString(bar.Note))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="12" text-anchor="middle">%s</text>`, (left+right)/2, h-8, html.EscapeString(unit))
	b.WriteString(`</svg>`)
	return b.String()
}

// niceCeil rounds x up to 1, 2 or 5 times a power of ten.
func niceCeil(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(x float64) string {
	switch ax := math.Abs(x); {
	case ax >= 1e6:
		return strconv.FormatFloat(x/1e6, 'f', 1, 64) + "M"
	case ax >= 1e4:
		return strconv.FormatFloat(x/1e3, 'f', 0, 64) + "k"
	case ax >= 100 || x == math.Trunc(x):
		return strconv.FormatFloat(x, 'f', 0, 64)
	default:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
