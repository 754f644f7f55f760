package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"
)

// spectrumTicks are the percentiles labelled on the spectrum chart; x is
// "nines": -log10(1 - p/100).
var spectrumTicks = []float64{50, 90, 99, 99.9, 99.99}

func nines(percentile float64) float64 {
	return -math.Log10(1 - math.Min(percentile, 99.999)/100)
}

// RenderBenchHTML writes one self-contained page (inline CSS and SVG, no
// scripts, nothing fetched from the network) with the charts of r: latency
// percentiles against load fraction (log scale, SLO line), requests per
// second per controller core, the latency spectrum, the propagation CDF
// (censored events marked) and the churn timeline (failed requests on their
// own axis). A chart without data is left out; invalid steps are not
// plotted.
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
	if r.Interrupted != "" {
		p("<p class=\"note\"><strong>Interrupted: %s.</strong> The results below are those of the scenarios that finished before it.</p>\n", html.EscapeString(r.Interrupted))
	}
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
	p("<h2>Maximum rate</h2><p class=\"note\">Closed loop, swept over connection counts. &ge; N (ceiling) is a lower bound: the sweep's maximum or the load generator limited it, so no ratio is drawn from it.</p>")
	p("<table><tr><th>scenario / series</th><th>via</th><th>max rps (median)</th><th>min..max</th><th>reps</th><th>ctrl CPU µs/req</th></tr>\n")
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			mx := ser.Max()
			p("<tr><td>%s / %s</td><td>%s</td><td>%s</td><td>%.0f..%.0f</td><td>%d</td><td>%s</td></tr>\n", html.EscapeString(s.Name), html.EscapeString(ser.Name), html.EscapeString(ser.Via),
				html.EscapeString(mx.String()), mx.Stat.Min, mx.Stat.Max, mx.Stat.N, cpuCell(ser))
		}
		for _, c := range s.Load.Comparisons {
			c = c.Checked(s.Load)
			p("<tr><td colspan=\"6\">%s vs %s: throughput ratio %s</td></tr>\n", html.EscapeString(c.Series), html.EscapeString(c.Baseline), html.EscapeString(c.RatioCell()))
		}
	}
	p("</table>\n")

	slo := svgHLine{Y: st.SLO.MaxP99Micros, Label: fmt.Sprintf("SLO p99 %s µs", fmtNum(st.SLO.MaxP99Micros))}
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		ch := svgChart{Title: s.Name + ": latency vs load (median of repetitions)", XLabel: "load (% of the target's own maximum)", YLabel: "latency (µs, log)", LogY: true, HLines: []svgHLine{slo}}
		for _, ser := range s.Load.Series {
			for _, pc := range []struct {
				name string
				get  func(LoadPoint) Stat
			}{{"p50", func(p LoadPoint) Stat { return p.P50Micros }}, {"p99", func(p LoadPoint) Stat { return p.P99Micros }}, {"p99.9", func(p LoadPoint) Stat { return p.P999Micros }}} {
				sr := svgSeries{Name: ser.Name + " " + pc.name}
				for _, pt := range ser.AtLoad {
					if v := pc.get(pt); v.N > 0 {
						sr.Points = append(sr.Points, svgPoint{X: pt.Fraction * 100, Y: v.Median})
					}
				}
				if len(sr.Points) > 0 {
					ch.Series = append(ch.Series, sr)
				}
			}
		}
		if len(ch.Series) > 0 {
			p("<h2>Latency vs load: %s</h2>\n<div class=\"chart\">%s</div>\n", html.EscapeString(s.Name), ch.render())
		}
	}

	p("%s", samerateHTML(r))

	var bars []svgBar
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			var at *LoadPoint
			for i := range ser.AtLoad {
				pt := &ser.AtLoad[i]
				if pt.PassSLO && pt.RPSPerCore.N > 0 && (at == nil || pt.Fraction > at.Fraction) {
					at = pt
				}
			}
			if at != nil {
				bars = append(bars, svgBar{Label: fmt.Sprintf("%s / %s", s.Name, ser.Name), Value: at.RPSPerCore.Median, Lo: at.RPSPerCore.Min, Hi: at.RPSPerCore.Max,
					Note: fmt.Sprintf("at %.0f %% (%.1f µs/req)", at.Fraction*100, at.ControllerCPUMicrosPerRequest.Median)})
			}
		}
	}
	if len(bars) > 0 {
		p("<h2>Requests per second per controller core</h2><p class=\"note\">From the CPU of the controller's whole process tree at the highest load fraction that met the SLO (median, whisker min..max of repetitions).</p>\n<div class=\"chart\">%s</div>\n",
			renderBars("rps per core of controller CPU", "requests per second per core", bars))
	}

	spectrum := svgChart{Title: "Latency by percentile", XLabel: "percentile", YLabel: "latency (µs, log)", LogY: true}
	for _, t := range spectrumTicks {
		spectrum.XTicks = append(spectrum.XTicks, svgTick{X: nines(t), Label: fmt.Sprintf("p%g", t)})
	}
	addSpectrum := func(name string, f StepResult) {
		if !f.Valid || len(f.Spectrum) == 0 {
			return
		}
		sr := svgSeries{Name: name}
		for _, sp := range f.Spectrum {
			sr.Points = append(sr.Points, svgPoint{X: nines(sp.Percentile), Y: sp.LatencyMicros})
		}
		spectrum.Series = append(spectrum.Series, sr)
	}
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			for i, f := range ser.Fixed {
				addSpectrum(fmt.Sprintf("%s/%s #%d @%.0f", s.Name, ser.Name, i+1, f.OfferedRPS), f)
			}
			if pt := ser.PointAt(0.5); pt != nil && len(pt.Windows) > 0 {
				addSpectrum(fmt.Sprintf("%s/%s @%.0f%%", s.Name, ser.Name, pt.Fraction*100), pt.Windows[0])
			}
		}
	}
	if len(spectrum.Series) > 0 {
		p("<h2>Latency percentile spectrum (first repetition at half the target's maximum)</h2>\n<div class=\"chart\">%s</div>\n", spectrum.render())
	}

	// Version 1 reports: p99 against the offered rate of the search's
	// valid steps (no throughput chart: it is the diagonal by construction).
	lat := svgChart{Title: "p99 latency vs offered load (legacy open-loop search, valid steps, first repetition)", XLabel: "offered load (rps)", YLabel: "p99 latency (µs, log)", LogY: true, HLines: []svgHLine{slo}}
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
			ls := svgSeries{Name: s.Name + "/" + ser.Name}
			for _, st := range steps {
				ls.Points = append(ls.Points, svgPoint{X: st.OfferedRPS, Y: st.Latency.P99})
			}
			lat.Series = append(lat.Series, ls)
		}
	}
	if len(lat.Series) > 0 {
		p("<h2>Latency vs offered load (legacy)</h2>\n<div class=\"chart\">%s</div>\n", lat.render())
	}

	for _, s := range r.Scenarios {
		c := s.Churn
		if c == nil || len(c.Windows) == 0 {
			continue
		}
		ch := svgChart{Title: fmt.Sprintf("%s: latency per second at %.0f rps", s.Name, c.RateRPS), XLabel: "time (s)", YLabel: "latency (µs, log)", LogY: true,
			BarLabel: "failed requests per second (errors + non-2xx + misroutes)", BarsOwnAxis: true, HLines: []svgHLine{slo}}
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
		note := ""
		if !c.Valid {
			note = " INVALID: " + c.InvalidReason + "."
		}
		p("<h2>Churn timeline: %s</h2>\n<p class=\"note\">%d requests, %d errors, %d non-2xx, %d misroutes; %d events (dashed lines), %d of %d changes seen applied.%s</p>\n<div class=\"chart\">%s</div>\n",
			html.EscapeString(s.Name), c.Requests, c.Errors, c.Non2xx, c.Misroutes, len(c.Events), c.ChangesApplied, len(c.Phases), html.EscapeString(note), ch.render())
	}
	for _, s := range r.Scenarios {
		pr := s.Propagation
		if pr == nil || len(pr.Samples) == 0 {
			continue
		}
		ch := svgChart{Title: s.Name + ": share of changes served correctly by time", XLabel: "time from the API write (ms, log)", YLabel: "share of events", LogX: true}
		kinds := map[string][]float64{}
		var order []string
		censored := map[string]int{}
		for _, ev := range pr.Samples {
			if _, ok := kinds[ev.Kind]; !ok {
				order = append(order, ev.Kind)
				kinds[ev.Kind] = nil
			}
			if ev.TimedOut {
				censored[ev.Kind]++
				continue
			}
			kinds[ev.Kind] = append(kinds[ev.Kind], ev.FirstCorrectMillis)
		}
		for _, k := range order {
			xs := kinds[k]
			sort.Float64s(xs)
			n := float64(len(xs) + censored[k])
			sr := svgSeries{Name: k}
			for i, x := range xs {
				sr.Points = append(sr.Points, svgPoint{X: math.Max(x, 0.1), Y: float64(i+1) / n})
			}
			ch.Series = append(ch.Series, sr)
			if censored[k] > 0 {
				ch.PointMarks = append(ch.PointMarks, svgMarker{X: pr.TimeoutMillis, Label: fmt.Sprintf("%s: %d of %.0f > %s (censored)", k, censored[k], n, fmtMillis(pr.TimeoutMillis))})
			}
		}
		p("<h2>Propagation CDF: %s</h2>\n<p class=\"note\">%s. Timed-out events are censored: they never reach the curve and are marked at the timeout.</p>\n<div class=\"chart\">%s</div>\n",
			html.EscapeString(s.Name), html.EscapeString(pr.CensoredText(pr.TimedOut, pr.Events)), ch.render())
	}
	for _, s := range r.Scenarios {
		if pr := s.Propagation; pr != nil {
			p("<h2>Propagation: %s</h2><table><tr><th>change</th><th>events</th><th>first correct p50 ms</th><th>p99 ms</th><th>max ms</th><th>last stale p99 ms</th></tr>\n", html.EscapeString(s.Name))
			p("<tr><td>all</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%.1f</td></tr>\n", pr.Events, html.EscapeString(pr.Cell(pr.FirstCorrectMillis, pr.BeyondTimeout, "p50")),
				html.EscapeString(pr.Cell(pr.FirstCorrectMillis, pr.BeyondTimeout, "p99")), html.EscapeString(pr.Cell(pr.FirstCorrectMillis, pr.BeyondTimeout, "max")), pr.LastStaleMillis.P99)
			for _, k := range pr.ByKind {
				p("<tr><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%.1f</td></tr>\n", html.EscapeString(k.Kind), k.Events, html.EscapeString(pr.Cell(k.FirstCorrectMillis, k.BeyondTimeout, "p50")),
					html.EscapeString(pr.Cell(k.FirstCorrectMillis, k.BeyondTimeout, "p99")), html.EscapeString(pr.Cell(k.FirstCorrectMillis, k.BeyondTimeout, "max")), k.LastStaleMillis.P99)
			}
			p("</table>\n")
		}
		if sc := s.Scale; sc != nil {
			p("<h2>Scale: %s</h2><table><tr><th>Ingresses</th><th>routes</th><th>apply to sync ms</th><th>restart to sync ms</th><th>RSS MiB at sync</th><th>served (not 200)</th><th>RSS MiB</th><th>tree peak MiB: restart to sync / serving</th><th>heap MiB</th></tr>\n", html.EscapeString(s.Name))
			for _, pt := range sc.Points {
				atSync, served, peak := "-", "-", "-"
				if pt.SyncRSSBytes > 0 {
					atSync = fmt.Sprintf("%.1f", float64(pt.SyncRSSBytes)/(1<<20))
					served = fmt.Sprintf("%d (%d)", pt.ServedRequests, pt.ServeErrors)
				}
				if pt.PeakSamples > 0 {
					peak = fmt.Sprintf("%.1f / %.1f", float64(pt.StartPeakTreeRSSBytes)/(1<<20), float64(pt.PeakTreeRSSBytes)/(1<<20))
				}
				p("<tr><td>%d</td><td>%d</td><td>%.0f</td><td>%.0f</td><td>%s</td><td>%s</td><td>%.1f</td><td>%s</td><td>%.1f</td></tr>\n", pt.Ingresses, pt.Routes, pt.ApplyToSyncMillis, pt.RestartSyncMillis,
					atSync, served, float64(pt.RSSBytes)/(1<<20), peak, float64(pt.HeapAllocBytes)/(1<<20))
			}
			p("</table><p class=\"note\">Memory per route: RSS %.0f bytes, heap %.0f bytes", sc.RSSBytesPerRoute, sc.HeapBytesPerRoute)
			if f := sc.PeakFit; f != nil {
				p("; process-tree RSS peak while serving %.0f bytes (R² %.3f)", f.Slope, f.R2)
			}
			p(".</p>\n")
		}
	}
	if c := r.Capacity; c != nil {
		p("<h2>Capacity planning</h2><p>%.0f rps need %.1f cores (%d replicas of %.0f cores, N+1) at %.0f rps per core (%s).</p>\n", c.TargetRPS, c.CoresNeeded, c.Replicas, c.CoresPerReplica, c.PerCoreRPS, html.EscapeString(c.Source))
		if c.Warning != "" {
			p("<p><strong>Warning:</strong> %s</p>\n", html.EscapeString(c.Warning))
		}
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

// samerateHTML is the table of the windows a raw engine ran at another
// series' rate through that series' pool (LoadSeries.AtPeerRate), beside
// that series' own window: the same absolute rate and connections.
func samerateHTML(r *BenchReport) string {
	var b strings.Builder
	row := func(scenario, target string, pt LoadPoint) {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%.0f</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(scenario), html.EscapeString(target), pt.RateRPS, html.EscapeString(poolCell(pt)),
			statCell(pt.P50Micros), statCell(pt.P99Micros), statCell(pt.P999Micros), statCell1(pt.ControllerCPUMicrosPerRequest))
	}
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			pr := ser.AtPeerRate
			if pr == nil {
				continue
			}
			peer := s.Load.SeriesNamed(pr.Peer)
			if peer == nil {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("<h2>Same absolute rate</h2><p class=\"note\">A raw engine at another series' rate through that series' connection pool, beside that series' own window (medians over repetitions, min..max); CPU is each target's whole process tree.</p>")
				b.WriteString("<table><tr><th>scenario</th><th>target</th><th>rate rps</th><th>connections</th><th>p50 µs</th><th>p99 µs</th><th>p99.9 µs</th><th>CPU µs/req</th></tr>\n")
			}
			if own := peer.PointAt(pr.Point.Fraction); own != nil {
				row(s.Name, fmt.Sprintf("%s at its %.0f %%", peer.Name, pr.Point.Fraction*100), *own)
			}
			row(s.Name, fmt.Sprintf("%s at %s's %.0f %%", ser.Name, peer.Name, pr.Point.Fraction*100), pr.Point)
		}
	}
	if b.Len() > 0 {
		b.WriteString("</table>\n")
	}
	return b.String()
}
