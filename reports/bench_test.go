package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleBench is a small report with every scenario kind.
func sampleBench() *BenchReport {
	step := func(rate, p99 float64, valid, pass bool) StepResult {
		return StepResult{Phase: "step", OfferedRPS: rate, AchievedRPS: rate, ThroughputRPS: rate, Requests: int64(rate), SuccessRatio: 1,
			Latency: Percentiles{P50: p99 / 3, P99: p99, P999: p99 * 2, Max: p99 * 3}, Valid: valid, PassSLO: pass, ControllerCPUMicrosPerRequest: 50}
	}
	fixed := func(p99 float64) StepResult {
		s := step(1000, p99, true, true)
		s.Phase = "fixed"
		s.Spectrum = []SpectrumPoint{{50, p99 / 3}, {90, p99 / 2}, {99, p99}, {99.9, p99 * 2}, {100, p99 * 3}}
		return s
	}
	search := func(rep int, max float64) RateSearch {
		return RateSearch{Repetition: rep, MaxSustainableRPS: max, Bounded: true, Steps: []StepResult{step(1000, 800, true, true), step(2000, 1500, true, true), step(4000, 90000, false, false)}}
	}
	r := &BenchReport{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationSeconds: 321, Provider: "local", Network: "netns",
		Controller: BenchController{Name: "reference", Version: "dev", Flags: []string{"--http-addr=127.0.0.1:1"}},
		Machine:    Machine{CPUModel: "Test CPU", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26", Platform: "linux/amd64", CPUPinning: "none"},
		Settings:   BenchSettings{SLO: SLO{MinSuccessRatio: 0.999, MaxP99Micros: 25000}, Gates: Gates{MinAchievedRatio: 0.99, MaxLagP99Micros: 20000}, StepMillis: 2000, Repetitions: 3, Bisections: 3, StartRPS: 1000, StepFactor: 2, MaxRPS: 1e5},
		Scenarios: []BenchScenario{
			{Name: "single-route", Description: "one route", Kind: BenchKindLoad, Status: BenchOK, Load: &LoadResult{
				Series: []LoadSeries{
					{Name: "direct", Via: "direct", Searches: []RateSearch{search(1, 3000), search(2, 3100)}, MaxSustainableRPS: NewStat([]float64{3000, 3100}), Fixed: []StepResult{fixed(400), fixed(420)}},
					{Name: "proxied", Via: "controller", Searches: []RateSearch{search(1, 2000), search(2, 2100)}, MaxSustainableRPS: NewStat([]float64{2000, 2100}), Fixed: []StepResult{fixed(900), fixed(950)}, CPUMicrosPerRequest: 50},
				},
				Comparisons: []ABComparison{{Baseline: "direct", Series: "proxied", ThroughputRatio: NewStat([]float64{0.66, 0.68}), FixedRPS: 1500, AddedP99Micros: NewStat([]float64{500, 530})}},
			}},
			{Name: "propagation", Description: "changes", Kind: BenchKindPropagation, Status: BenchOK, Propagation: &PropagationResult{Events: 3, ProbeIntervalMillis: 5,
				FirstCorrectMillis: Percentiles{P50: 60, P99: 120, Max: 120}, ByKind: []PropagationKind{{Kind: "create", Events: 3}}}},
			{Name: "churn", Description: "churn", Kind: BenchKindChurn, Status: BenchOK, Churn: &ChurnResult{RateRPS: 500, DurationSeconds: 3, Requests: 1500, Valid: true,
				Windows: []ChurnWindow{{StartSeconds: 0, Requests: 500, Latency: Percentiles{P50: 300, P99: 900}}, {StartSeconds: 1, Requests: 500, Non2xx: 2, Latency: Percentiles{P50: 310, P99: 4000}}, {StartSeconds: 2, Requests: 500, Latency: Percentiles{P50: 305, P99: 950}}},
				Events:  []ChurnEvent{{AtSeconds: 1.2, Kind: "scale-up", Detail: "a 2 -> 3"}}}},
			{Name: "scale", Description: "scale", Kind: BenchKindScale, Status: BenchOK, Scale: &ScaleResult{Points: []ScalePoint{{Ingresses: 100, Routes: 100, RSSBytes: 30 << 20}}, RSSBytesPerRoute: 2048}},
			{Name: "tls", Description: "tls", Kind: BenchKindLoad, Status: BenchFailed, Error: "controller refused"},
		},
	}
	r.Capacity = PlanCapacity(r, CapacityOptions{})
	return r
}

func TestBenchRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := sampleBench()
	if err := WriteBench(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBench(filepath.Join(dir, BenchJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(got)
		t.Fatalf("round trip changed the report:\n%s\n%s", a, b)
	}
	if kind, err := ReadKind(filepath.Join(dir, BenchJSONFile)); err != nil || kind != KindBench {
		t.Fatalf("ReadKind = %q, %v", kind, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, BenchJSONFile))
	for _, field := range []string{`"apiVersion": "ingresslab.dev/v1alpha1"`, `"kind": "BenchReport"`, `"schemaVersion": 2`, `"latencyMicros"`, `"offeredRPS"`, `"maxSustainableRPS"`} {
		if !bytes.Contains(raw, []byte(field)) {
			t.Errorf("bench.json lacks %s", field)
		}
	}
	for _, f := range []string{BenchMarkdownFile, BenchHTMLFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestBenchValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*BenchReport)
		want string
	}{
		{"wrong kind", func(r *BenchReport) { r.Kind = KindConformance }, "wrong kind"},
		{"newer schema", func(r *BenchReport) { r.SchemaVersion = 99 }, "schemaVersion 99"},
		{"no cores", func(r *BenchReport) { r.Machine.Cores = 0 }, "machine.cores"},
		{"bad status", func(r *BenchReport) { r.Scenarios[0].Status = "meh" }, `status "meh"`},
		{"ok without result", func(r *BenchReport) { r.Scenarios[1].Propagation = nil }, "exactly one of"},
		{"kind mismatch", func(r *BenchReport) { r.Scenarios[1].Kind = BenchKindChurn }, "kind churn but no churn result"},
		{"duplicate", func(r *BenchReport) { r.Scenarios[1].Name = "single-route" }, "duplicate name"},
		{"failed without error", func(r *BenchReport) { r.Scenarios[4].Error = "" }, "failed without error"},
		{"zero rate", func(r *BenchReport) { r.Scenarios[0].Load.Series[0].Searches[0].Steps[0].OfferedRPS = 0 }, "offeredRPS 0"},
	}
	for _, c := range cases {
		r := sampleBench()
		r.Finalize()
		c.mod(r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	r := sampleBench()
	r.Finalize()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseBench([]byte(`{"apiVersion":"ingresslab.dev/v1alpha1","kind":"BenchReport","scenarios":[}`)); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad JSON: %v", err)
	}
}

func TestBenchMarkdown(t *testing.T) {
	var b bytes.Buffer
	r := sampleBench()
	r.Goals = []GoalResult{{Name: "propagation p99", Target: "<= 250 ms", Measured: "120 ms", Met: true}}
	if err := RenderBenchMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if strings.Contains(md, "other Ingresses") {
		t.Error("markdown mentions background Ingresses that the run did not have")
	}
	for _, want := range []string{
		"# Benchmark: reference dev",
		"| Test CPU | 2 | 2 | go1.26 |",
		"| single-route | direct | direct | 3050 | 3000..3100 |",
		"| proxied vs direct | 0.67 (0.66..0.68) | 1500 |",
		"| all | 3 | 0 | 60.0 | 120.0 |",
		"| 1 | 500 | 0 | 2 | 0 | 310 | 4000 |",
		"| tls | load | failed: controller refused |",
		"## Capacity planning",
		"**10000 rps**",
		"replicas of 2 cores (N+1): **2**",
		"Assumptions:",
		"| propagation p99 | <= 250 ms | 120 ms | yes |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

// TestBenchMarkdownPropagationBackground: a propagation result timed with
// other Ingresses present says how many, in bench.json and in bench.md.
func TestBenchMarkdownPropagationBackground(t *testing.T) {
	r := sampleBench()
	r.Scenarios[1].Propagation.BackgroundIngresses = 10000
	var b bytes.Buffer
	if err := RenderBenchMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if want := "10000 other Ingresses (one route each) were present."; !strings.Contains(b.String(), want) {
		t.Errorf("markdown lacks %q\n%s", want, b.String())
	}
	js, err := json.Marshal(r.Scenarios[1].Propagation)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"backgroundIngresses":10000`) {
		t.Errorf("JSON lacks backgroundIngresses: %s", js)
	}
}

// TestBenchScalePeaks: the sampled peaks and their fit reach the Markdown
// and HTML reports; a report without them shows "-".
func TestBenchScalePeaks(t *testing.T) {
	r := sampleBench()
	sc := r.Scenario("scale").Scale
	var md, page bytes.Buffer
	if err := RenderBenchMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if want := "| 30.0 | 0.0 (0) | - | 0.0 |"; !strings.Contains(md.String(), want) {
		t.Errorf("markdown without peaks lacks %q\n%s", want, md.String())
	}
	sc.Points[0].StartPeakTreeRSSBytes, sc.Points[0].PeakTreeRSSBytes, sc.Points[0].PeakSamples = 41<<20, 40<<20, 120
	sc.PeakFit = &LinearFit{Points: 3, Slope: 1990, Intercept: 20 << 20, R2: 0.997}
	md.Reset()
	if err := RenderBenchMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 41.0 / 40.0 (120) |", "the peaks while serving (sampled every 50 ms; what a memory limit has to cover, and what the memory goal judges): 1990 bytes per route + 20.0 MiB"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q\n%s", want, md.String())
		}
	}
	if err := RenderBenchHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<td>41.0 / 40.0</td>", "process-tree RSS peak while serving 1990 bytes (R² 0.997)"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestPlanCapacity(t *testing.T) {
	c := PlanCapacity(sampleBench(), CapacityOptions{TargetRPS: 14000, Headroom: 0.3, CoresPerReplica: 1})
	// 50 µs/request = 20,000 rps per core; 14,000 / (20,000 x 0.7) = 1 core.
	if c.PerCoreRPS != 20000 || c.CoresNeeded != 1 || c.Replicas != 2 || len(c.Assumptions) < 3 {
		t.Fatalf("plan %+v", c)
	}
	r := sampleBench()
	r.Scenarios[0].Load.Series[1].CPUMicrosPerRequest = 0
	if PlanCapacity(r, CapacityOptions{}) != nil {
		t.Fatal("plan without a CPU measurement")
	}
}

var externalRef = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|<script|<link|@import|url\(`)

func TestBenchHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	r := sampleBench()
	r.Scenarios[0].Load.Series[0].Searches[0].Steps = append(r.Scenarios[0].Load.Series[0].Searches[0].Steps, StepResult{Phase: "step", OfferedRPS: 99999, Latency: Percentiles{P99: 7777777}, Valid: false, InvalidReason: "lag"})
	if err := RenderBenchHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if m := externalRef.FindString(page); m != "" {
		t.Fatalf("page is not self-contained: found %q", m)
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatal("not a complete HTML document")
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Fatalf("%d charts, want 3 (spectrum, legacy latency, churn)", n)
	}
	if strings.Contains(page, "Throughput vs offered") || strings.Contains(page, "no valid data") {
		t.Fatal("diagonal-by-construction chart or an empty chart box")
	}
	for _, want := range []string{"Latency by percentile", "p99 latency vs offered load", "churn: latency per second", "<polyline", "scale-up", "p99.9", "SLO p99 25k µs"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The invalid step (99,999 rps) is not plotted (the Markdown copy at
	// the end of the page still lists it).
	charts := strings.Join(regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1), "")
	// fmtNum shows 99,999 rps as "100k" and 7,777,777 µs as "7.8M".
	if strings.Contains(charts, ": 100k,") || strings.Contains(charts, "7.8M") {
		t.Error("invalid step plotted")
	}
	if !strings.Contains(page, "99999") {
		t.Error("the Markdown copy lost the invalid step")
	}
}

func TestCompareBench(t *testing.T) {
	a, b := sampleBench(), sampleBench()
	// B's proxied max drops 30 %, beyond its spread; direct moves 1 %.
	b.Scenarios[0].Load.Series[1].MaxSustainableRPS = NewStat([]float64{1400, 1450})
	b.Scenarios[0].Load.Series[0].MaxSustainableRPS = NewStat([]float64{3030, 3130})
	b.Scenarios[2].Churn.Non2xx = 3
	deltas := BenchDeltas(a, b)
	find := func(scenario, series, metric string) BenchDelta {
		for _, d := range deltas {
			if d.Scenario == scenario && d.Series == series && d.Metric == metric {
				return d
			}
		}
		t.Fatalf("no delta %s/%s/%s in %+v", scenario, series, metric, deltas)
		return BenchDelta{}
	}
	if d := find("single-route", "proxied", "max sustainable rps"); !d.Regression || d.DeltaPct > -25 {
		t.Errorf("proxied: %+v, want a regression", d)
	}
	if d := find("single-route", "direct", "max sustainable rps"); d.Regression || d.Improvement {
		t.Errorf("direct: %+v, want within noise", d)
	}
	if d := find("churn", "", "churn failed requests"); !d.Regression {
		t.Errorf("churn: %+v, want a regression (new failures)", d)
	}
	var out bytes.Buffer
	if err := CompareBench(&out, a, b); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "**REGRESSION**") || !strings.Contains(s, "within noise") || !strings.Contains(s, "2 regression(s)") {
		t.Fatalf("comparison:\n%s", s)
	}
	if err := CompareBench(&out, nil, b); err == nil {
		t.Fatal("nil report accepted")
	}
}

func TestReliabilityScenarioValidatesAndRenders(t *testing.T) {
	traffic := StableTraffic{RateRPS: 1000, RateBasis: "configured", DurationSeconds: 10, Requests: 10000, Valid: true}
	churn := &ReliabilityResult{ChurnScale: &ChurnScaleResult{Traffic: traffic, Changes: 8, Planned: 1000, Stopped: "time budget of 4m0s reached after 8 of 1000 changes", TimeoutSeconds: 30, Ready: "seen in traffic",
		All:    ChangeStat{Kind: "all", Changes: 8, TimedOut: 1, ReadyMillis: Percentiles{P50: 31, P99: 90}},
		ByKind: []ChangeStat{{Kind: "secret", Changes: 2, TimedOut: 1, ReadyMillis: Percentiles{P50: 40}}}}}
	drain := &ReliabilityResult{Drain: &DrainResult{RateRPS: 1000, RequestMillis: 100, Runs: []DrainRun{{InFlight: 97, ExitMillis: 120}},
		InFlight: NewStat([]float64{97}), ExitMillis: NewStat([]float64{120})}}
	r := &BenchReport{Controller: BenchController{Name: "reference"}, Machine: Machine{Cores: 2}, Scenarios: []BenchScenario{
		{Name: "churn-scale", Kind: BenchKindReliability, Status: BenchOK, Reliability: churn},
		{Name: "drain", Kind: BenchKindReliability, Status: BenchOK, Reliability: drain},
		{Name: "failover", Kind: BenchKindReliability, Status: BenchSkipped, Error: "not in --quick"},
	}}
	r.Finalize()
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var buf strings.Builder
	if err := RenderBenchMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{"## churn-scale", "| secret | 2 | 1 | 40.0 |", "Fewer changes than planned: time budget of 4m0s reached after 8 of 1000 changes.", "In flight at the signal: 97 (97..97)", "| 1 | 97 | 0 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	r.Scenarios[0].Reliability = &ReliabilityResult{ChurnScale: churn.ChurnScale, Drain: drain.Drain}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "exactly one of churnScale") {
		t.Fatalf("two results in one reliability scenario: %v", err)
	}
}
