package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/reports"
)

// fakeClosed answers a closed-loop window with throughput(n).
func fakeClosed(throughput func(n int) float64, asked *[]int) ClosedMeasure {
	return func(_ context.Context, n int) (reports.StepResult, error) {
		*asked = append(*asked, n)
		return reports.StepResult{Connections: n, ThroughputRPS: throughput(n), Requests: 100, SuccessRatio: 1, Valid: true, PassSLO: true}, nil
	}
}

func TestFindSaturationPlateau(t *testing.T) {
	var asked []int
	tp := map[int]float64{4: 5000, 16: 9000, 64: 9200, 256: 9300, 1024: 9400}
	sat, err := FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16, 64, 256, 1024}, Repetitions: 3}, fakeClosed(func(n int) float64 { return tp[n] }, &asked))
	if err != nil {
		t.Fatal(err)
	}
	// 64 and 256 add only 2 % and 3 %: two flat windows in a row end the
	// sweep, 1024 is never asked; the best of the flat windows counts.
	if len(asked) != 12 || sat.Ceiling != "" || sat.MaxRPS.Median != 9300 || sat.MaxRPS.N != 3 {
		t.Fatalf("asked %v, saturation %+v", asked, sat)
	}
	// Patience 1 stops at the first flat window.
	asked = nil
	sat, _ = FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16, 64, 256, 1024}, Patience: 1}, fakeClosed(func(n int) float64 { return tp[n] }, &asked))
	if len(asked) != 3 || sat.MaxRPS.Median != 9200 {
		t.Fatalf("patience 1: asked %v, saturation %+v", asked, sat)
	}
}

// TestFindSaturationFlatStepIsNotTheEnd is the published policy sweep
// that stopped at 16 connections: one flat step (16 adds 0.1 % to 4) is
// followed by the real maximum at 64.
func TestFindSaturationFlatStepIsNotTheEnd(t *testing.T) {
	var asked []int
	tp := map[int]float64{4: 16229, 16: 16243, 64: 20620, 256: 18665}
	sat, err := FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16, 64, 256}}, fakeClosed(func(n int) float64 { return tp[n] }, &asked))
	if err != nil {
		t.Fatal(err)
	}
	sw := sat.Sweeps[0]
	if len(asked) != 4 || sat.Ceiling != "" || sw.MaxRPS != 20620 || sw.Connections != 64 || sw.Ceiling != "" {
		t.Fatalf("asked %v, sweep %+v, saturation %+v", asked, sw, sat)
	}
	// The list ends after one flat window: a plateau, not a ceiling.
	asked = nil
	tp = map[int]float64{4: 10000, 16: 15000, 64: 15100}
	sat, _ = FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16, 64}}, fakeClosed(func(n int) float64 { return tp[n] }, &asked))
	if len(asked) != 3 || sat.Ceiling != "" || sat.MaxRPS.Median != 15100 {
		t.Fatalf("flat last window: asked %v, saturation %+v", asked, sat)
	}
	// Rising again after a flat window, at the last count: capped.
	asked = nil
	tp = map[int]float64{4: 10000, 16: 10100, 64: 15000}
	sat, _ = FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16, 64}}, fakeClosed(func(n int) float64 { return tp[n] }, &asked))
	if sat.Ceiling != reports.CeilingConfigured || sat.MaxRPS.Median != 15000 {
		t.Fatalf("rising last window: asked %v, saturation %+v", asked, sat)
	}
}

// TestFindSaturationCeilingIsNotARatio is the rule: a search that
// hits its configured maximum reports "≥ N (ceiling)" and the reports refuse
// to turn it into a ratio.
func TestFindSaturationCeilingIsNotARatio(t *testing.T) {
	var asked []int
	sat, err := FindSaturation(context.Background(), SaturationOptions{Connections: []int{1, 2, 4}, Repetitions: 2}, fakeClosed(func(n int) float64 { return float64(n) * 1000 }, &asked))
	if err != nil {
		t.Fatal(err)
	}
	if sat.Ceiling != reports.CeilingConfigured || !strings.Contains(sat.CeilingReason, "still rising at 4 connections") || sat.MaxRPS.Median != 4000 {
		t.Fatalf("saturation %+v", sat)
	}
	proxied := reports.LoadSeries{Name: "proxied", Saturation: &sat}
	directSat, _ := FindSaturation(context.Background(), SaturationOptions{Connections: []int{1, 2, 4}, Repetitions: 2}, fakeClosed(func(n int) float64 { return 9000 }, &asked))
	direct := reports.LoadSeries{Name: "direct", Saturation: &directSat}
	if directSat.Ceiling != "" {
		t.Fatalf("flat direct capped: %+v", directSat)
	}
	c := compare(direct, proxied)
	if c.ThroughputRatio.N != 0 || c.RatioRefused == "" {
		t.Fatalf("capped maximum became a ratio: %+v", c)
	}
	if got := proxied.Max().String(); got != "≥ 4000 (ceiling: configured)" {
		t.Fatalf("max cell %q", got)
	}
}

// TestConcludeSaturationCensoredAboveTheMedian: a repetition still rising
// at the last connection count is a lower bound; above the median it
// cannot move the median, at or below it the median is a lower bound.
func TestConcludeSaturationCensoredAboveTheMedian(t *testing.T) {
	o := SaturationOptions{Connections: []int{4, 16, 64, 256}}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	sw := func(rps float64, capped bool) reports.ClosedLoopSweep {
		s := reports.ClosedLoopSweep{MaxRPS: rps, Connections: 64}
		if capped {
			s.Ceiling, s.Connections = reports.CeilingConfigured, 256
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		sweeps []reports.ClosedLoopSweep
		capped bool
	}{
		{"the highest of 3 capped", []reports.ClosedLoopSweep{sw(19371, false), sw(14825, false), sw(19486, true)}, false},
		{"the median of 3 capped", []reports.ClosedLoopSweep{sw(19371, true), sw(14825, false), sw(19486, false)}, true},
		{"the lowest of 3 capped", []reports.ClosedLoopSweep{sw(14825, true), sw(19371, false), sw(19486, false)}, true},
		{"capped and tied with the median", []reports.ClosedLoopSweep{sw(19000, false), sw(19000, true), sw(15000, false)}, false},
		{"two of 3 capped", []reports.ClosedLoopSweep{sw(19000, false), sw(19500, true), sw(20000, true)}, true},
		{"the highest of 2 capped", []reports.ClosedLoopSweep{sw(19000, false), sw(20000, true)}, true},
		{"the highest of 4 capped", []reports.ClosedLoopSweep{sw(19000, false), sw(18000, false), sw(18500, false), sw(20000, true)}, false},
		{"none capped", []reports.ClosedLoopSweep{sw(19000, false), sw(18000, false), sw(18500, false)}, false},
	} {
		sat := concludeSaturation(o, tc.sweeps)
		if capped := sat.Ceiling == reports.CeilingConfigured; capped != tc.capped {
			t.Errorf("%s: ceiling %q (%s), want capped %v", tc.name, sat.Ceiling, sat.CeilingReason, tc.capped)
		}
		anyCapped := false
		for _, s := range tc.sweeps {
			anyCapped = anyCapped || s.Ceiling != ""
		}
		if wantNote := anyCapped && !tc.capped; (sat.Note != "") != wantNote {
			t.Errorf("%s: note %q, want one: %v", tc.name, sat.Note, wantNote)
		}
	}
}

func TestFindSaturationGeneratorBound(t *testing.T) {
	var asked []int
	sat, err := FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16}, GeneratorMaxRPS: 10000}, fakeClosed(func(n int) float64 { return 9000 }, &asked))
	if err != nil {
		t.Fatal(err)
	}
	if sat.Ceiling != reports.CeilingGenerator || !strings.Contains(sat.CeilingReason, "within 15 %") {
		t.Fatalf("9000 of a 10000 rps generator is not flagged: %+v", sat)
	}
	sat, _ = FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16}, GeneratorMaxRPS: 20000}, fakeClosed(func(n int) float64 { return 9000 }, &asked))
	if sat.Ceiling != "" {
		t.Fatalf("9000 of 20000 flagged: %+v", sat)
	}
}

func TestFindSaturationStopsWhenOverloaded(t *testing.T) {
	var asked []int
	m := func(_ context.Context, n int) (reports.StepResult, error) {
		asked = append(asked, n)
		st := reports.StepResult{ThroughputRPS: float64(n) * 1000, Requests: 10, SuccessRatio: 1, Valid: true, PassSLO: true}
		if n >= 16 {
			st.PassSLO, st.SuccessRatio = false, 0.5
		}
		return st, nil
	}
	sat, err := FindSaturation(context.Background(), SaturationOptions{Connections: []int{4, 16, 64}}, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || sat.Ceiling != "" || sat.MaxRPS.Median != 4000 {
		t.Fatalf("asked %v, %+v", asked, sat)
	}
	if _, err := FindSaturation(context.Background(), SaturationOptions{Connections: []int{16, 4}}, m); err == nil {
		t.Fatal("unsorted connections accepted")
	}
}

func TestSummarizePointAndCPUAtHighestPassing(t *testing.T) {
	w := func(p99, ctrl float64, pass bool) reports.StepResult {
		return reports.StepResult{Requests: 1000, Valid: true, PassSLO: pass, Latency: reports.Percentiles{P99: p99},
			CPU: &reports.WindowCPU{ControllerMicros: ctrl * 1000, BackendMicrosEstimate: 5000}}
	}
	low := summarizePoint(0.5, 5000, []reports.StepResult{w(900, 20, true), w(1000, 22, true), w(1100, 21, true)})
	high := summarizePoint(0.9, 9000, []reports.StepResult{w(30000, 18, false), w(900, 18, true), w(900, 18, true)})
	if low.P99Micros.Median != 1000 || low.ControllerCPUMicrosPerRequest.Median != 21 || !low.PassSLO || low.BackendCPUMicrosPerRequest.Median != 5 {
		t.Fatalf("low %+v", low)
	}
	if high.PassSLO {
		t.Fatal("a failing window must fail the point")
	}
	cpu, at := cpuAtHighestPassing([]reports.LoadPoint{low, high})
	if cpu != 21 || at.Fraction != 0.5 {
		t.Fatalf("cpu %v at %+v", cpu, at)
	}
}

func TestFitLineMemoryPerRoute(t *testing.T) {
	// 30 MiB + 2 KiB per route, with a little noise.
	xs := []float64{100, 1000, 10000}
	ys := []float64{30<<20 + 100*2048 + 5000, 30<<20 + 1000*2048 - 8000, 30<<20 + 10000*2048 + 3000}
	f := fitLine(xs, ys)
	if f.Points != 3 || f.Slope < 2000 || f.Slope > 2100 || f.R2 < 0.99 || f.ResidualStd <= 0 || f.Note != "" {
		t.Fatalf("fit %+v", f)
	}
	if f := fitLine(xs[:2], ys[:2]); !strings.Contains(f.Note, "only 2 sizes") {
		t.Fatalf("two-point fit %+v", f)
	}
	if f := fitLine(xs, []float64{40 << 20, 35 << 20, 30 << 20}); !strings.Contains(f.Note, "does not grow") {
		t.Fatalf("negative slope %+v", f)
	}
	if got := scaleSample(10000, 16); len(got) != 16 || got[0] != 9999 || got[1] != 0 {
		t.Fatalf("sample %v", got)
	}
	if got := scaleSample(3, 16); len(got) != 3 {
		t.Fatalf("small sample %v", got)
	}
}

// TestScaleFailureKeepsTheMeasuredSizes: a failed scenario keeps only its
// error in the report, so a scale run that stopped at 10,000 Ingresses
// names what it measured at 100 and 1,000.
func TestScaleFailureKeepsTheMeasuredSizes(t *testing.T) {
	done := []reports.ScalePoint{
		{Ingresses: 100, Routes: 100, ApplyToSyncMillis: 18292, RestartSyncMillis: 481, TreeRSSBytes: 108 << 20},
		{Ingresses: 1000, Routes: 1000, ApplyToSyncMillis: 181707, RestartSyncMillis: 1631, TreeRSSBytes: 306 << 20},
	}
	msg := scaleFailure(errors.New("route not served"), 10000, "after the writes", done).Error()
	for _, want := range []string{"10000 Ingresses not served after the writes: route not served",
		"100 Ingresses synced 18.3 s after the writes and 0.5 s after a restart, process tree RSS 108 MiB",
		"1000 Ingresses synced 181.7 s after the writes and 1.6 s after a restart, process tree RSS 306 MiB"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if msg := scaleFailure(errors.New("x"), 100, "after a restart", nil).Error(); strings.Contains(msg, "measured before") {
		t.Errorf("nothing measured, yet %q", msg)
	}
}

// TestPoolConnections: the open-loop pool is the median connection count
// at which the sweeps found their maxima; sweeps without one do not count.
func TestPoolConnections(t *testing.T) {
	sw := func(rps float64, n int) reports.ClosedLoopSweep {
		return reports.ClosedLoopSweep{MaxRPS: rps, Connections: n}
	}
	for _, c := range []struct {
		sweeps []reports.ClosedLoopSweep
		want   int
	}{
		{nil, 0},
		{[]reports.ClosedLoopSweep{sw(0, 0)}, 0},
		{[]reports.ClosedLoopSweep{sw(10, 64)}, 64},
		{[]reports.ClosedLoopSweep{sw(10, 64), sw(12, 16), sw(11, 256)}, 64},
		{[]reports.ClosedLoopSweep{sw(10, 64), sw(12, 16)}, 16},
		{[]reports.ClosedLoopSweep{sw(10, 64), sw(0, 0), sw(11, 256)}, 64},
	} {
		if got := poolConnections(c.sweeps); got != c.want {
			t.Errorf("poolConnections(%+v) = %d, want %d", c.sweeps, got, c.want)
		}
	}
}

// TestMeasureSeriesAtPeerRate: a series with a Peer repeats the peer's
// 50 % window at the peer's rate through the peer's pool in every
// repetition (raw HAProxy at the controller's rate), right next to it:
// after it in odd repetitions, before it in even ones; the latency goal
// compares the two p99s; without a 50 % window of the peer there is none.
func TestMeasureSeriesAtPeerRate(t *testing.T) {
	o := Options{BinDir: "b", Quick: true, Connections: []int{1, 4}, ClosedLoopDuration: 200 * time.Millisecond, WindowDuration: 300 * time.Millisecond,
		NoiseRetries: -1, Repetitions: 2, SameRatePairs: 2, Fractions: []float64{0.25, 0.5}}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	e := &Env{Opts: o, out: &progress, began: time.Now(), Backends: loopbackOnly{}}
	traffic := func(name, svc string) *Traffic {
		return &Traffic{Name: name, Dial: startEcho(t, svc), KeepAlive: true, Primary: name == "proxied",
			Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://virtual.bench.invalid/x"}}, Expect: []string{svc}}
	}
	ctrl, eng, other := traffic("proxied", "a"), traffic("haproxy", "b"), traffic("nginx", "c")
	eng.Peer = ctrl
	series, err := e.measureSeries(context.Background(), "single-route", []*Traffic{ctrl, eng, other})
	if err != nil {
		t.Fatal(err)
	}
	// The open-loop windows in order (the closed-loop lines and the
	// times stripped).
	var order []string
	for line := range strings.Lines(progress.String()) {
		if _, after, ok := strings.Cut(line, "] single-route "); ok && strings.Contains(after, " rep ") && strings.Contains(after, " at ") {
			name, _, _ := strings.Cut(after, ":")
			order = append(order, name)
		}
	}
	// Two pairs per repetition, the peer's window after, then before the
	// other; its own 50 % window once.
	wantOrder := []string{
		"proxied rep 1 at 25 % (X rps)",
		"proxied rep 1 at 50 % (X rps)", "haproxy rep 1 at proxied's 50 % (X rps, N connections)",
		"haproxy rep 1 at proxied's 50 % (X rps, N connections)", "proxied rep 1 at 50 % (X rps)",
		"haproxy rep 1 at 50 % (X rps)", "nginx rep 1 at 50 % (X rps)",
		"proxied rep 2 at 25 % (X rps)",
		"proxied rep 2 at 50 % (X rps)", "haproxy rep 2 at proxied's 50 % (X rps, N connections)",
		"haproxy rep 2 at proxied's 50 % (X rps, N connections)", "proxied rep 2 at 50 % (X rps)",
		"haproxy rep 2 at 50 % (X rps)", "nginx rep 2 at 50 % (X rps)",
	}
	rps, conns := regexp.MustCompile(`\(\d+ rps`), regexp.MustCompile(`\d+ connections`)
	for i := range order {
		order[i] = conns.ReplaceAllString(rps.ReplaceAllString(order[i], "(X rps"), "N connections")
	}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("window order:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(wantOrder, "\n"))
	}
	cs, es := series[0], series[1]
	pr := es.AtPeerRate
	if pr == nil || series[2].AtPeerRate != nil || cs.AtPeerRate != nil {
		t.Fatalf("peer-rate points: proxied %v, haproxy %v, nginx %v", cs.AtPeerRate, pr, series[2].AtPeerRate)
	}
	want := cs.PointAt(0.5)
	if pr.Peer != "proxied" || pr.Point.RateRPS != want.RateRPS || pr.Point.Fraction != 0.5 || len(pr.Point.Windows) != 4 || len(want.Windows) != 4 {
		t.Fatalf("haproxy at proxied's rate: %+v, proxied's 50 %%: %.0f rps", pr, want.RateRPS)
	}
	for _, w := range pr.Point.Windows {
		if w.PoolConnections != pr.Connections || w.PoolConnections != want.Windows[0].PoolConnections || w.Phase != "at proxied's" || w.Requests == 0 {
			t.Errorf("window %+v: want proxied's pool %d", w, want.Windows[0].PoolConnections)
		}
	}
	load := &reports.LoadResult{Series: series}
	g, ok := latencyGoal(load, "proxied", "haproxy", "p99")
	if !ok || g.Target != "<= 1" || g.Value <= 0 || !strings.Contains(g.Measured, fmt.Sprintf("at %.0f rps through %d connections", want.RateRPS, pr.Connections)) {
		t.Errorf("latency goal %+v", g)
	}
	if _, ok := latencyGoal(load, "proxied", "nginx", "p99"); ok {
		t.Error("a latency goal for a series measured at its own rates only")
	}
	var md strings.Builder
	if err := reports.RenderBenchMarkdown(&md, &reports.BenchReport{Scenarios: []reports.BenchScenario{{Name: "single-route", Kind: reports.BenchKindLoad, Status: reports.BenchOK, Load: load}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), fmt.Sprintf("| single-route | haproxy | proxied's 50 %% | %.0f | %d |", want.RateRPS, pr.Connections)) {
		t.Errorf("markdown lacks the peer-rate row:\n%s", md.String())
	}

	// Only the lower fraction: no 50 % window to repeat.
	e.Opts.Fractions = []float64{0.25}
	series, err = e.measureSeries(context.Background(), "single-route", []*Traffic{ctrl, eng})
	if err != nil {
		t.Fatal(err)
	}
	if series[1].AtPeerRate != nil {
		t.Errorf("peer-rate point without the peer's 50 %% window: %+v", series[1].AtPeerRate)
	}
}

// TestLatencyGoalPairsAdjacentWindows: the same-rate goal is the median
// of the ratios of each pair of adjacent windows (drift shared by a
// pair cancels); windows that cannot be paired fall back to the ratio of
// the medians, and the text says which.
func TestLatencyGoalPairsAdjacentWindows(t *testing.T) {
	win := func(p99ms float64, valid bool) reports.StepResult {
		return reports.StepResult{Valid: valid, PassSLO: valid, Requests: 1000, Latency: reports.Percentiles{P50: 300, P90: 600, P99: p99ms * 1000}}
	}
	load := func(ctrl, base []reports.StepResult) *reports.LoadResult {
		return &reports.LoadResult{Series: []reports.LoadSeries{
			{Name: "keepalive", AtLoad: []reports.LoadPoint{summarizePoint(0.5, 6000, ctrl)}},
			{Name: "haproxy", AtPeerRate: &reports.PeerRatePoint{Peer: "keepalive", Connections: 64, Point: summarizePoint(0.5, 6000, base)}},
		}}
	}
	// The pairs of a measured run: 9.7/10.0, 18.9/14.2, 16.4/23.4 ms.
	g, ok := latencyGoal(load([]reports.StepResult{win(9.7, true), win(18.9, true), win(16.4, true)},
		[]reports.StepResult{win(10.0, true), win(14.2, true), win(23.4, true)}), "keepalive", "haproxy", "p99")
	if !ok || !g.Met || g.Value < 0.969 || g.Value > 0.971 ||
		!strings.Contains(g.Measured, "0.97 (median of 3 adjacent pairs: 0.97, 1.33, 0.70; the same pairs' medians at p50 1.00, p90 1.00; ratio of the medians 1.15, p99 16.4 / 14.2 ms at 6000 rps through 64 connections") {
		t.Errorf("paired: %+v", g)
	}
	// One invalid window of three: the two valid pairs.
	g, _ = latencyGoal(load([]reports.StepResult{win(9.7, true), win(18.9, true), win(16.4, true)},
		[]reports.StepResult{win(10.0, true), win(14.2, false), win(23.4, true)}), "keepalive", "haproxy", "p99")
	if !g.Met || !strings.HasPrefix(g.Measured, "0.84 (median of 2 adjacent pairs, 1 unpaired: 0.97, 0.70; the same pairs' medians at p50 1.00, p90 1.00; ratio of the medians 0.98, p99 16.4 / 16.7 ms") {
		t.Errorf("one unpaired: %+v", g)
	}
	// Two invalid of three: no pairing, the ratio of the medians of the valid ones.
	g, _ = latencyGoal(load([]reports.StepResult{win(9.7, true), win(18.9, false), win(16.4, true)},
		[]reports.StepResult{win(10.0, true), win(14.2, true), win(23.4, false)}), "keepalive", "haproxy", "p99")
	if g.Met || !strings.HasPrefix(g.Measured, "1.08 (ratio of the medians, the windows unpaired; p99 13.1 / 12.1 ms") {
		t.Errorf("unpaired: %+v", g)
	}
	// Nine pairs (three per repetition): summarized, still one cell.
	var ctrl, base []reports.StepResult
	for _, r := range []float64{1.09, 0.28, 2.39, 0.9, 0.95, 1.2, 0.8, 1.0, 0.99} {
		ctrl, base = append(ctrl, win(10*r, true)), append(base, win(10, true))
	}
	g, _ = latencyGoal(load(ctrl, base), "keepalive", "haproxy", "p99")
	if !g.Met || g.Value != 0.99 || !strings.HasPrefix(g.Measured, "0.99 (median of 9 adjacent pairs: 0.28 to 2.39, 6 of 9 at most 1; the same pairs' medians at p50 1.00, p90 1.00; ratio of the medians 0.99,") {
		t.Errorf("nine pairs: %+v", g)
	}
	// The body of the distribution, from the same valid pairs: the
	// controller's p50 1.2 and 1.1 times, its p90 1.5 times in every pair;
	// the third pair, invalid on one side, counts at no percentile.
	ctrl = []reports.StepResult{win(10, true), win(10, true), win(10, false)}
	base = []reports.StepResult{win(10, true), win(10, true), win(10, true)}
	ctrl[0].Latency.P50, ctrl[1].Latency.P50, ctrl[2].Latency.P50 = 360, 330, 3000
	for i := range ctrl {
		ctrl[i].Latency.P90 = 900
	}
	g, _ = latencyGoal(load(ctrl, base), "keepalive", "haproxy", "p99")
	if !strings.Contains(g.Measured, "median of 2 adjacent pairs, 1 unpaired: 1.00, 1.00; the same pairs' medians at p50 1.15, p90 1.50;") {
		t.Errorf("p50 and p90 of the pairs: %+v", g)
	}
	// A percentile missing on one side of every pair (an old report): no
	// ratio at it, said so.
	for i := range base {
		base[i].Latency.P90 = 0
	}
	g, _ = latencyGoal(load(ctrl, base), "keepalive", "haproxy", "p99")
	if !strings.Contains(g.Measured, "the same pairs' medians at p50 1.15, p90 ?;") {
		t.Errorf("no p90 on one side: %+v", g)
	}
	// Missing on the controller's side: no ratio of 0 either.
	for i := range ctrl {
		ctrl[i].Latency.P50 = 0
	}
	g, _ = latencyGoal(load(ctrl, base), "keepalive", "haproxy", "p99")
	if !strings.Contains(g.Measured, "the same pairs' medians at p50 ?, p90 ?;") {
		t.Errorf("no p50 on the controller's side: %+v", g)
	}
	// The run-queue wait per request of each side's valid windows and the
	// harness's during them (medians), when both sides measured it.
	waited := func(ctrlWait, harnessWait float64, valid bool) reports.StepResult {
		w := win(10, valid)
		w.CPU = &reports.WindowCPU{ControllerWaitMicros: ctrlWait, HarnessWaitMicros: harnessWait}
		return w
	}
	ctrl = []reports.StepResult{waited(41000, 60000, true), waited(39000, 61000, true), waited(90000, 90000, false)}
	base = []reports.StepResult{waited(33000, 58000, true), waited(35000, 57000, true), waited(34000, 59000, true)}
	g, _ = latencyGoal(load(ctrl, base), "keepalive", "haproxy", "p99")
	if !strings.HasSuffix(g.Measured, "64 connections; CPU ? / ? µs per request; run-queue wait 40 / 34 µs per request (the harness's 60 / 58))") {
		t.Errorf("run-queue wait: %+v", g)
	}
	for i := range base {
		base[i].CPU = nil
	}
	g, _ = latencyGoal(load(ctrl, base), "keepalive", "haproxy", "p99")
	if strings.Contains(g.Measured, "run-queue") {
		t.Errorf("run-queue wait of one side only: %+v", g)
	}
	// Different counts (a report without a window of one side): unpaired.
	if r := pairedRatios([]reports.StepResult{win(1, true)}, nil, p99); r != nil {
		t.Errorf("pairedRatios of unequal lengths: %v", r)
	}
}

// TestSameRatePairsNeedHAProxy: the pairs are recorded and noted only in
// a run with the raw HAProxy baseline, the one peer.
func TestSameRatePairsNeedHAProxy(t *testing.T) {
	o := Options{SameRatePairs: 3, Baselines: []string{"nginx"}}
	if n, note := sameRatePairs(o), pairsNote(o); n != 0 || note != "" {
		t.Errorf("without haproxy: %d pairs, note %q", n, note)
	}
	o.Baselines = append(o.Baselines, "haproxy")
	if n, note := sameRatePairs(o), pairsNote(o); n != 3 || !strings.Contains(note, "3 pairs per repetition") {
		t.Errorf("with haproxy: %d pairs, note %q", n, note)
	}
}
