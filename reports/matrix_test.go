package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func matrixReport(name, version string, tests ...TestResult) *ConformanceReport {
	return &ConformanceReport{
		Implementation:    Implementation{Name: name, Version: version, Controller: "x/" + name, IngressClass: name},
		KubernetesVersion: "v1.37.2", Provider: "local", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		DurationSeconds: 60, Tests: tests, Command: "ingresslab conformance --controller " + name,
	}
}

func writeMatrixFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	ref := matrixReport("reference", "dev",
		TestResult{Name: "Paths Prefix is element-wise", Features: []string{"path-rules"}, Level: Core, Result: Passed},
		TestResult{Name: "Backends missing Service", Features: []string{"backends"}, Level: ImplementationSpecific, Result: Passed, Variant: "503"},
	)
	peer := matrixReport("traefik", "v3.7.13",
		TestResult{Name: "Paths Prefix is element-wise", Features: []string{"path-rules"}, Level: Core, Result: Failed, Message: "got /foo/barbaz from svc-a | want 404\nmore"},
		TestResult{Name: "Backends missing Service", Features: []string{"backends"}, Level: ImplementationSpecific, Result: Passed, Variant: "404"},
		TestResult{Name: "TLS <script>", Features: []string{"tls"}, Level: Extended, Result: Skipped},
	)
	for dir, rep := range map[string]*ConformanceReport{"reference/dev": ref, "traefik/v3.7.13": peer} {
		if err := WriteConformance(filepath.Join(root, dir), rep); err != nil {
			t.Fatal(err)
		}
	}
	bench := &BenchReport{
		Controller: BenchController{Name: "traefik"}, Machine: Machine{Cores: 2},
		Scenarios: []BenchScenario{
			{Name: "throughput", Kind: BenchKindLoad, Status: BenchOK, Load: &LoadResult{
				Series:      []LoadSeries{{Name: "proxied", Via: "controller", Fixed: []StepResult{{Valid: true, Latency: Percentiles{P99: 2500}}}}},
				Comparisons: []ABComparison{{Baseline: "direct", Series: "proxied", ThroughputRatio: Stat{N: 1, Median: 0.42}, AddedP99Micros: Stat{N: 1, Median: 1500}}},
			}},
			{Name: "propagation", Kind: BenchKindPropagation, Status: BenchOK, Propagation: &PropagationResult{Events: 10, TimedOut: 1, ProbeIntervalMillis: 1, RequestsPerUpdate: 1, FirstCorrectMillis: Percentiles{P50: 1900, P99: 3100}}},
			{Name: "churn", Kind: BenchKindChurn, Status: BenchOK, Churn: &ChurnResult{Requests: 1000, Errors: 2, Non2xx: 3}},
		},
	}
	if err := WriteBench(filepath.Join(root, "traefik/v3.7.13"), bench); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "traefik/v3.7.13/machine.json"), []byte(`{"cores": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestMatrixFromPublishedTree(t *testing.T) {
	root := writeMatrixFixture(t)
	m, err := LoadMatrix([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) != 2 || m.Columns[0].Label != "reference dev" || m.Columns[1].Label != "traefik v3.7.13" {
		t.Fatalf("columns %+v", m.Columns)
	}
	if got := m.Feature(1, "path-rules").Summary; got.Failed != 1 || got.Passed != 0 {
		t.Errorf("traefik path-rules = %+v", got)
	}
	if got := m.Feature(0, "tls").Summary; got != (Summary{}) {
		t.Errorf("reference did not run tls, got %+v", got)
	}
	perf, ok := m.Perf(1)
	if !ok || perf.ThroughputRatio != 0.42 || perf.P99Micros != 2500 || perf.PropagationP99Millis != 3100 || perf.ChurnFailures != 5 {
		t.Errorf("perf %+v %v", perf, ok)
	}
	if _, ok := m.Perf(0); ok {
		t.Error("reference has no bench report")
	}

	var md bytes.Buffer
	if err := RenderMatrixMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"| path-rules | ✅ 1/1 | ❌ 0/1 |",
		"| Backends missing Service | 503 | 404 |",
		"| traefik v3.7.13 | 0.42 | 2.50 ms (+1.50) | 1900 ms | 3100 ms (1/10 timed out) | 5 / 1000 (0.500%) |",
		"| reference dev | no bench report |",
		`got /foo/barbaz from svc-a \| want 404`,
		"TLS &lt;script&gt;",
		"`ingresslab conformance --controller traefik`",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") < 3 {
			t.Errorf("broken table row %q", line)
		}
	}

	var h bytes.Buffer
	if err := RenderMatrixHTML(&h, m); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	if strings.Contains(page, "<script>") || !strings.Contains(page, "TLS &lt;script&gt;") {
		t.Error("HTML does not escape test names")
	}
	for _, ext := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(page, ext) {
			t.Errorf("HTML is not self-contained: has %q", ext)
		}
	}
	if !strings.Contains(page, `class="fail"`) || !strings.Contains(page, "0.42") {
		t.Error("HTML lacks the failure class or the performance table")
	}
}

func TestMatrixErrorsNameTheFolder(t *testing.T) {
	root := writeMatrixFixture(t)
	empty := t.TempDir()
	if _, err := LoadMatrix([]string{empty}); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := LoadMatrix([]string{root, filepath.Join(root, "traefik")}); err == nil || !strings.Contains(err.Error(), "traefik v3.7.13") {
		t.Errorf("duplicate controller: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "reference/dev/bench.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMatrix([]string{root}); err == nil || !strings.Contains(err.Error(), "bench.json") {
		t.Errorf("broken bench.json: %v", err)
	}
}

// The committed results stay readable by this version and render.
func TestPublishedResultsRender(t *testing.T) {
	if _, err := os.Stat("published"); err != nil {
		t.Skip("no published results")
	}
	m, err := LoadMatrix([]string{"published"})
	if err != nil {
		t.Fatal(err)
	}
	var md, h bytes.Buffer
	if err := RenderMatrixMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	if err := RenderMatrixHTML(&h, m); err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) == 0 || !strings.Contains(md.String(), m.Columns[0].Label) {
		t.Errorf("matrix of published results lacks %v", m.Columns)
	}
}

// TestPerfWithoutAValidWindowAtHalfLoad: a schema-2 series whose 50 % load
// point was measured but had no valid window shows why, not "0.00 ms".
func TestPerfWithoutAValidWindowAtHalfLoad(t *testing.T) {
	ser := func(name string, p99 Stat) LoadSeries {
		return LoadSeries{Name: name, Via: "controller", MaxSustainableRPS: Stat{N: 3, Median: 1000}, AtLoad: []LoadPoint{
			{Fraction: 0.25, RateRPS: 250, P99Micros: Stat{N: 3, Median: 900}, PassSLO: true},
			{Fraction: 0.5, RateRPS: 500, P99Micros: p99},
		}}
	}
	for _, c := range []struct {
		p99  Stat
		want string
	}{
		{Stat{}, "no valid window at 50 % of its max"},
		{Stat{N: 2, Median: 4200}, "4.20 ms at 50 % of its max"},
	} {
		b := &BenchReport{SchemaVersion: 2, Scenarios: []BenchScenario{{Name: "single-route", Kind: BenchKindLoad, Status: BenchOK, Load: &LoadResult{
			Series:      []LoadSeries{ser("direct", Stat{N: 3, Median: 300}), ser("proxied", c.p99)},
			Comparisons: []ABComparison{{Baseline: "direct", Series: "proxied"}},
		}}}}
		m := &Matrix{Columns: []MatrixColumn{{Label: "x", Bench: b}}}
		pf, ok := m.Perf(0)
		if !ok {
			t.Fatal("no perf")
		}
		if got := perfCells(pf)[1]; got != c.want {
			t.Errorf("p99 cell %q, want %q", got, c.want)
		}
	}
}
