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
	feat := s[strings.Index(s, "## Features"):]
	feat = feat[:strings.Index(feat[1:], "##")+1]
	if strings.Contains(feat, "smuggling") || !strings.Contains(feat, "path-rules") {
		t.Errorf("matrix Features section lists reliability features or lacks path-rules:\n%s", feat)
	}
}
