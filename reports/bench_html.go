package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
)

// spectrumTicks are the percentiles labelled on the spectrum chart; x is
// "nines": -log10(1 - p/100).
var spectrumTicks = []float64{50, 90, 99, 99.9, 99.99}

func nines(percentile float64) float64 {
	return -math.Log10(1 - math.Min(percentile, 99.999)/100)
}

// RenderBenchHTML writes one self-contained page (inline CSS and SVG, no
// scripts, nothing fetched from the network) with the charts of r: latency
// percentile spectrum, latency and throughput against offered load, and the
// churn timeline. Invalid steps are not plotted.
func RenderBenchHTML(w io.Writer, r *BenchReport) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	title := fmt.Sprintf("ingresslab benchmark: %s %s", r.Controller.Name, r.Controller.Version)
	p("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n", html.EscapeString(title))
	p("<style>body{font-family:sans-serif;margin:24px;color:#222;background:#fafafa}h1{font-size:22px}h2{font-size:18px;margin-top:28px}" +
		"table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}" +
		"td:first-child,th:first-child{text-align:left}.chart{margin:12px 0}.note{color:#555;font-size:13px}</style>\n</head><body>\n")
	p("<h1>%s</h1>\n", html.EscapeString(title))
	m := r.Machine
	p("<p class=\"note\">Started %s, %.0f s, quick=%t, provider %s. Machine: %s, %d cores, GOMAXPROCS %d, %s, pinning %s, load average %.2f at start.</p>\n",
		html.EscapeString(r.Started.UTC().Format("2006-01-02 15:04:05 UTC")), r.DurationSeconds, r.Quick, html.EscapeString(r.Provider),
		html.EscapeString(m.CPUModel), m.Cores, m.GOMAXPROCS, html.EscapeString(m.GoVersion), html.EscapeString(m.CPUPinning), m.LoadAverage1)
	st := r.Settings
	p("<p class=\"note\">SLO: success &ge; %.1f %%, no misroute, p99 &le; %.0f µs. Runs with achieved/offered &lt; %.2f or generator lag p99 &gt; %.0f µs are invalid and not plotted.</p>\n",
		st.SLO.MinSuccessRatio*100, st.SLO.MaxP99Micros, st.Gates.MinAchievedRatio, st.Gates.MaxLagP99Micros)
	if len(r.Goals) > 0 {
		p("<h2>Goals</h2><table><tr><th>goal</th><th>target</th><th>measured</th><th>met</th></tr>\n")
		for _, g := range r.Goals {
			p("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", html.EscapeString(g.Name), html.EscapeString(g.Target), html.EscapeString(g.Measured), benchYesNo(g.Met))
		}
		p("</table>\n")
	}
	// Summary table.
	p("<h2>Maximum sustainable rate</h2><table><tr><th>scenario / series</th><th>via</th><th>max rps (median)</th><th>min..max</th><th>reps</th><th>ctrl CPU µs/req</th></tr>\n")
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			ms := ser.MaxSustainableRPS
			p("<tr><td>%s / %s</td><td>%s</td><td>%.0f</td><td>%.0f..%.0f</td><td>%d</td><td>%s</td></tr>\n", html.EscapeString(s.Name), html.EscapeString(ser.Name), ser.Via, ms.Median, ms.Min, ms.Max, ms.N, cpuCell(ser))
		}
	}
	p("</table>\n")

	p("<h2>Latency percentile spectrum (fixed sub-saturation rate)</h2>\n")
	spectrum := svgChart{Title: "Latency by percentile", XLabel: "percentile", YLabel: "latency (µs)"}
	for _, t := range spectrumTicks {
		spectrum.XTicks = append(spectrum.XTicks, svgTick{X: nines(t), Label: fmt.Sprintf("p%g", t)})
	}
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			for i, f := range ser.Fixed {
				if !f.Valid || len(f.Spectrum) == 0 {
					continue
				}
				sr := svgSeries{Name: fmt.Sprintf("%s/%s #%d @%.0f", s.Name, ser.Name, i+1, f.OfferedRPS)}
				for _, sp := range f.Spectrum {
					sr.Points = append(sr.Points, svgPoint{X: nines(sp.Percentile), Y: sp.LatencyMicros})
				}
				spectrum.Series = append(spectrum.Series, sr)
			}
		}
	}
	p("<div class=\"chart\">%s</div>\n", spectrum.render())

	lat := svgChart{Title: "p99 latency vs offered load (valid steps, first repetition)", XLabel: "offered load (rps)", YLabel: "p99 latency (µs)"}
	thr := svgChart{Title: "Throughput vs offered load (valid steps, first repetition)", XLabel: "offered load (rps)", YLabel: "throughput (rps)", Diagonal: true}
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			if len(ser.Searches) == 0 {
				continue
			}
			steps := validSorted(ser.Searches[0].Steps)
			if len(steps) == 0 {
				continue
			}
			name := s.Name + "/" + ser.Name
			ls, ts := svgSeries{Name: name}, svgSeries{Name: name}
			for _, st := range steps {
				ls.Points = append(ls.Points, svgPoint{X: st.OfferedRPS, Y: st.Latency.P99})
				ts.Points = append(ts.Points, svgPoint{X: st.OfferedRPS, Y: st.ThroughputRPS})
			}
			lat.Series = append(lat.Series, ls)
			thr.Series = append(thr.Series, ts)
		}
	}
	p("<h2>Latency vs offered load</h2>\n<div class=\"chart\">%s</div>\n", lat.render())
	p("<h2>Throughput vs offered load</h2>\n<div class=\"chart\">%s</div>\n", thr.render())

	for _, s := range r.Scenarios {
		c := s.Churn
		if c == nil {
			continue
		}
		ch := svgChart{Title: fmt.Sprintf("%s: latency per second at %.0f rps", s.Name, c.RateRPS), XLabel: "time (s)", YLabel: "latency (µs)", BarLabel: "non-2xx + errors + misroutes"}
		p50, p99 := svgSeries{Name: "p50"}, svgSeries{Name: "p99"}
		for _, win := range c.Windows {
			if win.Requests == 0 {
				continue
			}
			p50.Points = append(p50.Points, svgPoint{X: win.StartSeconds, Y: win.Latency.P50})
			p99.Points = append(p99.Points, svgPoint{X: win.StartSeconds, Y: win.Latency.P99})
			ch.Bars = append(ch.Bars, svgPoint{X: win.StartSeconds, Y: float64(win.Non2xx + win.Errors + win.Misroutes)})
		}
		ch.Series = []svgSeries{p50, p99}
		for _, e := range c.Events {
			ch.Markers = append(ch.Markers, svgMarker{X: e.AtSeconds, Label: fmt.Sprintf("%.1f s %s %s", e.AtSeconds, e.Kind, e.Detail)})
		}
		if !c.Valid {
			ch.Series = nil
		}
		p("<h2>Churn timeline: %s</h2>\n<p class=\"note\">%d requests, %d errors, %d non-2xx, %d misroutes; %d events (dashed lines).</p>\n<div class=\"chart\">%s</div>\n",
			html.EscapeString(s.Name), c.Requests, c.Errors, c.Non2xx, c.Misroutes, len(c.Events), ch.render())
	}
	for _, s := range r.Scenarios {
		if pr := s.Propagation; pr != nil {
			p("<h2>Propagation: %s</h2><table><tr><th>change</th><th>events</th><th>first correct p50 ms</th><th>p99 ms</th><th>max ms</th><th>last stale p99 ms</th></tr>\n", html.EscapeString(s.Name))
			p("<tr><td>all</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td></tr>\n", pr.Events, pr.FirstCorrectMillis.P50, pr.FirstCorrectMillis.P99, pr.FirstCorrectMillis.Max, pr.LastStaleMillis.P99)
			for _, k := range pr.ByKind {
				p("<tr><td>%s</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td></tr>\n", html.EscapeString(k.Kind), k.Events, k.FirstCorrectMillis.P50, k.FirstCorrectMillis.P99, k.FirstCorrectMillis.Max, k.LastStaleMillis.P99)
			}
			p("</table>\n")
		}
		if sc := s.Scale; sc != nil {
			p("<h2>Scale: %s</h2><table><tr><th>Ingresses</th><th>routes</th><th>apply to sync ms</th><th>restart to sync ms</th><th>RSS MiB</th><th>heap MiB</th></tr>\n", html.EscapeString(s.Name))
			for _, pt := range sc.Points {
				p("<tr><td>%d</td><td>%d</td><td>%.0f</td><td>%.0f</td><td>%.1f</td><td>%.1f</td></tr>\n", pt.Ingresses, pt.Routes, pt.ApplyToSyncMillis, pt.RestartSyncMillis, float64(pt.RSSBytes)/(1<<20), float64(pt.HeapAllocBytes)/(1<<20))
			}
			p("</table><p class=\"note\">Memory per route: RSS %.0f bytes, heap %.0f bytes.</p>\n", sc.RSSBytesPerRoute, sc.HeapBytesPerRoute)
		}
	}
	if c := r.Capacity; c != nil {
		p("<h2>Capacity planning</h2><p>%.0f rps need %.1f cores (%d replicas of %.0f cores, N+1) at %.0f rps per core.</p>\n", c.TargetRPS, c.CoresNeeded, c.Replicas, c.CoresPerReplica, c.PerCoreRPS)
	}
	var md bytes.Buffer
	if err := RenderBenchMarkdown(&md, r); err != nil {
		return err
	}
	p("<h2>Full report (Markdown)</h2><details><summary>show</summary><pre>%s</pre></details>\n</body></html>\n", html.EscapeString(md.String()))
	return b.Flush()
}

func validSorted(steps []StepResult) []StepResult {
	var out []StepResult
	for _, s := range steps {
		if s.Valid {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OfferedRPS < out[j].OfferedRPS })
	return out
}
