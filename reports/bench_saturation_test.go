package reports

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func satSeries(name string, ceiling string, maxes ...float64) LoadSeries {
	s := LoadSeries{Name: name, Via: "controller", Saturation: &Saturation{Method: "closed-loop", MaxRPS: NewStat(maxes), Ceiling: ceiling}}
	for i, m := range maxes {
		s.Saturation.Sweeps = append(s.Saturation.Sweeps, ClosedLoopSweep{Repetition: i + 1, MaxRPS: m, Ceiling: ceiling})
	}
	return s
}

func TestThroughputRatioRefusesCappedMaxima(t *testing.T) {
	direct := satSeries("direct", "", 10000, 11000, 10500)
	proxied := satSeries("proxied", "", 5000, 5500, 5250)
	st, why := ThroughputRatio(direct, proxied)
	if why != "" || st.N != 3 || st.Median != 0.5 {
		t.Fatalf("uncapped: %+v %q", st, why)
	}
	for _, c := range []struct {
		name     string
		a, b     LoadSeries
		contains string
	}{
		{"proxied at the configured ceiling", direct, satSeries("proxied", CeilingConfigured, 8000), "proxied capped: ≥ 8000 (ceiling: configured)"},
		{"direct generator-bound", satSeries("direct", CeilingGenerator, 40000), proxied, "direct capped"},
		{"both capped", satSeries("direct", CeilingConfigured, 8000), satSeries("proxied", CeilingConfigured, 8000), "both capped"},
	} {
		st, why := ThroughputRatio(c.a, c.b)
		if st.N != 0 || !strings.Contains(why, c.contains) {
			t.Errorf("%s: ratio %+v, refusal %q (want it to contain %q)", c.name, st, why, c.contains)
		}
	}
}

func TestLegacyUnboundedSearchIsCapped(t *testing.T) {
	unbounded := LoadSeries{Name: "proxied", Searches: []RateSearch{{MaxSustainableRPS: 8000, Bounded: false}}, MaxSustainableRPS: NewStat([]float64{8000})}
	m := unbounded.Max()
	if !m.Capped() || !m.Legacy || m.String() != "≥ 8000 (ceiling: legacy unbounded search)" {
		t.Fatalf("legacy max %+v %q", m, m.String())
	}
	direct := unbounded
	direct.Name = "direct"
	l := &LoadResult{Series: []LoadSeries{direct, unbounded}}
	c := ABComparison{Baseline: "direct", Series: "proxied", ThroughputRatio: NewStat([]float64{1})}.Checked(l)
	if c.ThroughputRatio.N != 0 || c.RatioRefused == "" || !strings.HasPrefix(c.RatioCell(), "no ratio") {
		t.Fatalf("stored 1.00 ratio of capped searches survived: %+v", c)
	}
}

// TestPublishedLegacyReportsShowNoCappedRatio reads the published bench
// reports and a schema-1 one kept as it was published (testdata/legacy:
// haproxy-tech v3.2.11's quick bench of 2026-11-26, before every published
// report was measured again with schema 2): none of the "1.00 = both
// reached 8,000" ratios may survive.
func TestPublishedLegacyReportsShowNoCappedRatio(t *testing.T) {
	seen, legacy := 0, 0
	for _, root := range []string{"published", filepath.Join("testdata", "legacy")} {
		m, err := LoadMatrix([]string{root})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := RenderMatrixMarkdown(&b, m); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		rootLegacy := 0
		for i, c := range m.Columns {
			p, ok := m.Perf(i)
			if !ok || !p.HasLoad {
				continue
			}
			seen++
			if (p.Proxied.Capped() || p.Direct.Capped()) && (p.RatioRefused == "" || p.ThroughputRatio != 0) {
				t.Errorf("%s: capped maxima (%s, %s) rendered as ratio %.2f", c.Label, p.Proxied, p.Direct, p.ThroughputRatio)
			}
			if p.Legacy {
				rootLegacy++
			}
		}
		legacy += rootLegacy
		if strings.Contains(md, "| 1.00 |") {
			t.Errorf("%s: matrix still shows 1.00 ratios:\n%s", root, md)
		}
		if rootLegacy > 0 && !strings.Contains(md, "no ratio: proxied ≥ 8000, direct ≥ 8000 (legacy unbounded search)") {
			t.Errorf("%s: matrix does not say what is known of capped maxima:\n%s", root, md)
		}
	}
	if legacy == 0 {
		t.Fatal("no schema-1 bench report read")
	}
	if seen == 0 {
		t.Fatal("no bench reports read")
	}
}

// sampleBenchV2 is sampleBench measured the schema-2 way: closed-loop
// maxima (proxied capped), load fractions, censored propagation samples.
func sampleBenchV2() *BenchReport {
	r := sampleBench()
	w := func(rate, p99, ctrl float64) StepResult {
		return StepResult{Phase: "fraction", OfferedRPS: rate, Requests: int64(rate * 10), Valid: true, PassSLO: p99 < 25000, Latency: Percentiles{P50: p99 / 4, P99: p99, P999: p99 * 2},
			Spectrum: []SpectrumPoint{{50, p99 / 4}, {99, p99}, {99.9, p99 * 2}}, CPU: &WindowCPU{ControllerMicros: ctrl * rate * 10}}
	}
	l := r.Scenarios[0].Load
	l.Series[0] = satSeries("direct", "", 10000, 10400, 9800)
	l.Series[0].Via = "direct"
	l.Series[1] = satSeries("proxied", CeilingConfigured, 6000, 6100, 6050)
	for i, f := range []float64{0.25, 0.5, 0.9} {
		l.Series[0].AtLoad = append(l.Series[0].AtLoad, summarizeForTest(f, 10000*f, w(10000*f, 300*float64(i+1), 0)))
		l.Series[1].AtLoad = append(l.Series[1].AtLoad, summarizeForTest(f, 6000*f, w(6000*f, 800*float64(i+1)*float64(i+1), 40-float64(i))))
	}
	l.Comparisons = []ABComparison{{Baseline: "direct", Series: "proxied", ThroughputRatio: NewStat([]float64{0.6})}}
	pr := r.Scenarios[1].Propagation
	pr.Censored, pr.TimeoutMillis, pr.TimedOut, pr.Events = true, 30000, 2, 5
	pr.Samples = []PropagationEvent{{Kind: "create", FirstCorrectMillis: 40}, {Kind: "create", FirstCorrectMillis: 90}, {Kind: "update", FirstCorrectMillis: 60},
		{Kind: "update", FirstCorrectMillis: 30000, TimedOut: true}, {Kind: "delete", FirstCorrectMillis: 30000, TimedOut: true}}
	pr.BeyondTimeout = []string{"p99", "max", "mean"}
	return r
}

// summarizeForTest builds a load point from one window (the bench package
// owns the real summary).
func summarizeForTest(f, rate float64, w StepResult) LoadPoint {
	pt := LoadPoint{Fraction: f, RateRPS: rate, Windows: []StepResult{w}, PassSLO: w.PassSLO,
		P50Micros: NewStat([]float64{w.Latency.P50}), P99Micros: NewStat([]float64{w.Latency.P99}), P999Micros: NewStat([]float64{w.Latency.P999})}
	if c := w.CPU.ControllerMicros / float64(w.Requests); c > 0 {
		pt.ControllerCPUMicrosPerRequest, pt.RPSPerCore = NewStat([]float64{c}), NewStat([]float64{1e6 / c})
	}
	return pt
}

func TestBenchHTMLV2Charts(t *testing.T) {
	var b bytes.Buffer
	r := sampleBenchV2()
	if err := RenderBenchHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"Latency vs load: single-route", "load (% of the target&#39;s own maximum)", "SLO p99 25k µs", // log-y latency vs fraction with the SLO
		"rps per core of controller CPU", "single-route / proxied", // rps per core bars
		"Propagation CDF", "update: 1 of 2 &gt; 30 s (censored)", // censored events marked
		"failed requests per second", // churn errors on their own axis
		"no ratio (proxied capped: ≥ 6050 (ceiling: configured))",
		"&gt; 30 s",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "no valid data") || strings.Contains(page, "Throughput vs offered") {
		t.Error("empty chart box or diagonal chart")
	}
	var md bytes.Buffer
	if err := RenderBenchMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| single-route | proxied | controller | ≥ 6050 (ceiling: configured) |", "| single-route | proxied | 90 % | 5400 |", "> 30 s: 2 of 5"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q\n%s", want, md.String())
		}
	}
	if err := WriteBench(t.TempDir(), r); err != nil {
		t.Fatal(err)
	}
}

func TestCompareBenchDoesNotJudgeCappedMaxima(t *testing.T) {
	a, b := sampleBenchV2(), sampleBenchV2()
	b.Scenarios[0].Load.Series[1] = satSeries("proxied", CeilingConfigured, 3000) // "dropped" from ≥ 6050 to ≥ 3000
	b.Scenarios[0].Load.Series[1].AtLoad = a.Scenarios[0].Load.Series[1].AtLoad
	var found bool
	for _, d := range BenchDeltas(a, b) {
		if d.Series == "proxied" && d.Metric == "max sustainable rps" {
			found = true
			if d.Regression || d.Improvement || !strings.Contains(d.Note, "not compared") {
				t.Fatalf("capped maxima judged: %+v", d)
			}
		}
		if d.Metric == "propagation p99 ms" && (d.Regression || d.Note == "") {
			t.Fatalf("censored p99 judged: %+v", d)
		}
	}
	if !found {
		t.Fatal("no max delta")
	}
}

func TestPlanCapacityFromHighestPassingFraction(t *testing.T) {
	r := sampleBenchV2()
	r.Settings.SLO.MaxP99Micros = 25000
	c := PlanCapacity(r, CapacityOptions{TargetRPS: 10000})
	if c == nil {
		t.Fatal("no plan")
	}
	// proxied: 38 µs/req at 90 % (5,400 rps), the highest passing fraction.
	if c.Source != "single-route/proxied" || c.MeasuredFraction != 0.9 || c.MeasuredAtRPS != 5400 || c.PerCoreRPS < 26315 || c.PerCoreRPS > 26316 || c.Replicas != 2 {
		t.Fatalf("plan %+v", c)
	}
	// One replica carries all 10,000 rps when the other is down: more than
	// the 5,400 rps measured within the SLO.
	if !strings.Contains(c.Warning, "extrapolating") {
		t.Fatalf("no extrapolation warning: %+v", c)
	}
	// A fraction that fails the SLO is not planned from.
	r.Scenarios[0].Load.Series[1].AtLoad[2].PassSLO = false
	if c := PlanCapacity(r, CapacityOptions{TargetRPS: 1000}); c.MeasuredFraction != 0.5 || c.Warning != "" && strings.Contains(c.Warning, "extrapolating") {
		t.Fatalf("plan %+v", c)
	}
	other := satSeries("other", "", 5000)
	other.AtLoad = []LoadPoint{r.Scenarios[0].Load.Series[1].AtLoad[0]}
	r.Scenarios[0].Load.Series = append(r.Scenarios[0].Load.Series, other)
	for i := range r.Scenarios[0].Load.Series[1].AtLoad {
		r.Scenarios[0].Load.Series[1].AtLoad[i].PassSLO = false
	}
	if c := PlanCapacity(r, CapacityOptions{}); c == nil || c.Source != "single-route/other" || !strings.Contains(c.Warning, "met the SLO at no measured load") {
		t.Fatalf("planned from a target that never met the SLO, or no fallback: %+v", c)
	}
	r.Scenarios[0].Load.Series[2].AtLoad[0].PassSLO = false
	if c := PlanCapacity(r, CapacityOptions{}); c != nil {
		t.Fatalf("planned although nothing met the SLO: %+v", c)
	}
}

func TestBenchValidateSchema2(t *testing.T) {
	r := sampleBenchV2()
	r.Finalize()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	r.Scenarios[0].Load.Series[1].Saturation.Ceiling = "sky"
	r.Scenarios[0].Load.Series[0].AtLoad[0].Fraction = 2
	err := r.Validate()
	if err == nil || !strings.Contains(err.Error(), `saturation ceiling "sky"`) || !strings.Contains(err.Error(), "fraction 2") {
		t.Fatalf("err %v", err)
	}
}

// The maxima table gives the controller CPU per request of the window each
// sweep chose as its maximum (schema 2), not "-".
func TestCPUCellFromSweeps(t *testing.T) {
	s := LoadSeries{Saturation: &Saturation{Sweeps: []ClosedLoopSweep{
		{Connections: 16, Points: []StepResult{{Connections: 4, ControllerCPUMicrosPerRequest: 90}, {Connections: 16, ControllerCPUMicrosPerRequest: 70}}},
		{Connections: 4, Points: []StepResult{{Connections: 4, ControllerCPUMicrosPerRequest: 74}, {Connections: 16, ControllerCPUMicrosPerRequest: 60}}},
		{Connections: 64, Points: []StepResult{{Connections: 16, ControllerCPUMicrosPerRequest: 50}, {Connections: 64, ControllerCPUMicrosPerRequest: 80}}},
	}}}
	if got, want := cpuCell(s), "74.0 (70.0..80.0)"; got != want {
		t.Fatalf("cpuCell = %q, want %q", got, want)
	}
	if got := cpuCell(LoadSeries{}); got != "-" {
		t.Fatalf("no CPU: %q", got)
	}
}

// TestThroughputCellNamesEachCeiling: two capped maxima with different
// ceilings each carry their own; one reason is given once.
func TestThroughputCellNamesEachCeiling(t *testing.T) {
	capped := func(rps float64, ceiling string) Maximum { return Maximum{RPS: rps, Ceiling: ceiling} }
	for _, c := range []struct {
		p    Perf
		want string
	}{
		{Perf{HasLoad: true, RatioRefused: "x", Proxied: capped(22600, "configured"), Direct: capped(52898, "generator")},
			"no ratio: proxied ≥ 22600 (configured), direct ≥ 52898 (generator)"},
		{Perf{HasLoad: true, RatioRefused: "x", Proxied: capped(8000, "configured"), Direct: capped(8000, "configured")},
			"no ratio: proxied ≥ 8000, direct ≥ 8000 (configured)"},
		{Perf{HasLoad: true, RatioRefused: "x", Proxied: Maximum{RPS: 11136}, Direct: capped(26926, "generator")},
			"no ratio: proxied 11136, direct ≥ 26926 (generator)"},
	} {
		if got := throughputCell(c.p); got != c.want {
			t.Errorf("throughputCell = %q, want %q", got, c.want)
		}
	}
}

// TestSamerateHTML: the HTML report shows a raw engine's window at the
// controller's rate beside the controller's own window.
func TestSamerateHTML(t *testing.T) {
	st := func(v float64) Stat { return Stat{N: 3, Median: v, Min: v, Max: v} }
	r := &BenchReport{Scenarios: []BenchScenario{{Name: "single-route", Load: &LoadResult{Series: []LoadSeries{
		{Name: "proxied", Via: "controller", AtLoad: []LoadPoint{{Fraction: 0.5, RateRPS: 6409, P99Micros: st(12770), ControllerCPUMicrosPerRequest: st(85.8)}}},
		{Name: "haproxy", Via: "baseline", AtPeerRate: &PeerRatePoint{Peer: "proxied", Point: LoadPoint{Fraction: 0.5, RateRPS: 6409, P99Micros: st(18100), ControllerCPUMicrosPerRequest: st(60.5)}}},
	}}}}}
	page := samerateHTML(r)
	for _, want := range []string{"<h2>Same absolute rate</h2>", "<td>proxied at its 50 %</td><td>6409</td>", "<td>haproxy at proxied&#39;s 50 %</td><td>6409</td>", "<td>18100 (18100..18100)</td>", "<td>60.5 (60.5..60.5)</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("same-rate table lacks %q:\n%s", want, page)
		}
	}
	r.Scenarios[0].Load.Series[1].AtPeerRate = nil
	if got := samerateHTML(r); got != "" {
		t.Errorf("a report without same-rate windows has a table: %s", got)
	}
}
