package reports

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReliabilitySections: reliability tests get their own section in
// conformance.md and in the matrix, per feature with their variants, and
// are left out of the matrix's Ingress feature table.
func TestReliabilitySections(t *testing.T) {
	rep := func(name string, smuggling Result) *ConformanceReport {
		r := &ConformanceReport{
			Implementation: Implementation{Name: name, Version: "1"},
			Date:           time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
			Tests: []TestResult{
				{Name: "Path rules Prefix", Features: []string{"path-rules"}, Level: Core, Result: Passed},
				{Name: "Reliability CL+TE", Features: []string{"smuggling"}, Level: Extended, Result: smuggling, Variant: "400"},
				{Name: "Reliability slowloris", Features: []string{"timeouts"}, Level: Extended, Result: Passed, Variant: "closed within 10s"},
			},
		}
		r.Finalize()
		return r
	}
	var md bytes.Buffer
	if err := RenderConformanceMarkdown(&md, rep("reference", Passed)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Reliability", "| smuggling | ✅ 1/1 | 1 | 0 | 0 | 400 |", "| timeouts | ✅ 1/1 | 1 | 0 | 0 | closed within 10s |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("conformance.md lacks %q:\n%s", want, md.String())
		}
	}

	root := t.TempDir()
	for name, res := range map[string]Result{"reference": Passed, "other": Failed} {
		if err := WriteConformance(filepath.Join(root, name), rep(name, res)); err != nil {
			t.Fatal(err)
		}
	}
	bench := &BenchReport{
		Controller: BenchController{Name: "other"}, Machine: Machine{Cores: 2},
		Scenarios: []BenchScenario{
			{Name: "drain", Kind: BenchKindReliability, Status: BenchOK, Reliability: &ReliabilityResult{Drain: &DrainResult{
				RateRPS: 500, RequestMillis: 100, InFlightFailed: 3, ExitMillis: Stat{N: 2, Median: 140, Min: 120, Max: 160},
				Runs: []DrainRun{{InFlight: 40, InFlightFailed: 3, ExitMillis: 120}, {InFlight: 50, ExitMillis: 160}}}}},
		},
	}
	if err := WriteBench(filepath.Join(root, "other"), bench); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMatrix([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := RenderMatrixMarkdown(&out, m); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	rel := s[strings.Index(s, "## Reliability"):strings.Index(s, "## Features")]
	if !strings.Contains(rel, "| smuggling | ✅ 1/1 | ❌ 0/1 |") || !strings.Contains(rel, "| timeouts |") {
		t.Errorf("matrix Reliability section:\n%s", rel)
	}
	if !strings.Contains(rel, "| drain (bench: SIGTERM under load) | – | ❌ 3 of 90 in flight failed (2 runs); exit 140 ms |") {
		t.Errorf("matrix Reliability section lacks the drain row:\n%s", rel)
	}
	var html bytes.Buffer
	if err := RenderMatrixHTML(&html, m); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	hrel := h[strings.Index(h, "<h2>Reliability</h2>"):strings.Index(h, "<h2>Features</h2>")]
	for _, want := range []string{"<th>smuggling</th>", "title=\"400\">✅ 1/1", "class=\"fail\" title=\"\">❌ 3 of 90 in flight failed"} {
		if !strings.Contains(hrel, want) {
			t.Errorf("HTML Reliability section lacks %q:\n%s", want, hrel)
		}
	}
	hfeat := h[strings.Index(h, "<h2>Features</h2>"):]
	hfeat = hfeat[:strings.Index(hfeat, "</table>")]
	if strings.Contains(hfeat, "smuggling") || !strings.Contains(hfeat, "path-rules") {
		t.Errorf("HTML Features table lists reliability features or lacks path-rules:\n%s", hfeat)
	}
	feat := s[strings.Index(s, "## Features"):]
	feat = feat[:strings.Index(feat[1:], "##")+1]
	if strings.Contains(feat, "smuggling") || !strings.Contains(feat, "path-rules") {
		t.Errorf("matrix Features section lists reliability features or lacks path-rules:\n%s", feat)
	}
}
