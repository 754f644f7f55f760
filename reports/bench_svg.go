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
	// Diagonal draws y = x (throughput against offered load).
	Diagonal bool
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
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), 0.0, math.Inf(-1)
	n := 0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			xmin, xmax, ymax = math.Min(xmin, p.X), math.Max(xmax, p.X), math.Max(ymax, p.Y)
			n++
		}
	}
	for _, t := range c.XTicks {
		xmin, xmax = math.Min(xmin, t.X), math.Max(xmax, t.X)
	}
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" fill="#666666">no valid data</text></svg>`, svgW/2-50, svgH/2)
		return b.String()
	}
	if c.Diagonal {
		ymax = math.Max(ymax, xmax)
	}
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	ymax = niceCeil(ymax * 1.05)
	if ymax <= ymin {
		ymax = ymin + 1
	}
	pw, ph := float64(svgW-svgLeft-svgRight), float64(svgH-svgTop-svgBottom)
	sx := func(x float64) float64 { return svgLeft + (x-xmin)/(xmax-xmin)*pw }
	sy := func(y float64) float64 { return svgTop + ph - (y-ymin)/(ymax-ymin)*ph }
	// Grid and axes.
	for i := 0; i <= 5; i++ {
		y := ymin + (ymax-ymin)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eeeeee"/>`, svgLeft, sy(y), svgLeft+pw, sy(y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`, svgLeft-6, sy(y)+4, fmtNum(y))
	}
	if len(c.XTicks) > 0 {
		for _, t := range c.XTicks {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, sx(t.X), svgTop+ph+16, html.EscapeString(t.Label))
		}
	} else {
		for i := 0; i <= 5; i++ {
			x := xmin + (xmax-xmin)*float64(i)/5
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, sx(x), svgTop+ph+16, fmtNum(x))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333333"/>`, svgLeft, svgTop+ph, svgLeft+pw, svgTop+ph)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.0f" stroke="#333333"/>`, svgLeft, svgTop, svgLeft, svgTop+ph)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="12" text-anchor="middle">%s</text>`, svgLeft+pw/2, svgH-10, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text x="16" y="%.0f" font-size="12" text-anchor="middle" transform="rotate(-90 16 %.0f)">%s</text>`, svgTop+ph/2, svgTop+ph/2, html.EscapeString(c.YLabel))
	if c.Diagonal {
		top := math.Min(xmax, ymax)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999999" stroke-dasharray="4 4"><title>throughput = offered</title></line>`, sx(xmin), sy(math.Max(xmin, 0)), sx(top), sy(top))
	}
	if len(c.Bars) > 0 {
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
		if m.X < xmin || m.X > xmax {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#ff7f0e" stroke-width="1" stroke-dasharray="3 3"><title>%s</title></line>`, sx(m.X), svgTop, sx(m.X), svgTop+ph, html.EscapeString(m.Label))
	}
	for i, s := range c.Series {
		color := svgPalette[i%len(svgPalette)]
		var pts []string
		for _, p := range s.Points {
			if finite(p.X) && finite(p.Y) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.X), sy(math.Min(p.Y, ymax))))
			}
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		}
		for _, p := range s.Points {
			if finite(p.X) && finite(p.Y) {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s, %s</title></circle>`, sx(p.X), sy(math.Min(p.Y, ymax)), color, html.EscapeString(s.Name), fmtNum(p.X), fmtNum(p.Y))
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
