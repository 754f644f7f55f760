package reports

import (
	"bytes"
	"strings"
	"testing"
)

func annotationReport(name string, tests []TestResult, declared ...AnnotationCompat) *ConformanceReport {
	r := &ConformanceReport{Implementation: Implementation{Name: name, Controller: "x/y", IngressClass: name}, Tests: tests, Annotations: declared}
	r.Finalize()
	return r
}

func TestAnnotationCompatFromTests(t *testing.T) {
	f := func(feature string) []string { return []string{AnnotationFeaturePrefix + feature} }
	r := annotationReport("a", []TestResult{
		{Name: "rw1", Features: f("rewrite"), Result: Passed},
		{Name: "rw2", Features: f("rewrite"), Result: Passed},
		{Name: "rl1", Features: f("rate-limit"), Result: Passed, Variant: "429"},
		{Name: "rl2", Features: f("rate-limit"), Result: Skipped, Message: "unsupported: a does not support annotation limit-rpm"},
		{Name: "cors", Features: f("cors"), Result: Failed},
		{Name: "canary", Features: f("canary"), Result: Skipped, Message: "unsupported: no canary"},
		{Name: "aff", Features: f("affinity"), Result: Passed},
		{Name: "core", Features: []string{"path-rules"}, Result: Passed},
	},
		AnnotationCompat{Feature: "affinity", Declared: AnnotationVariant, Note: "cookie always Path=/"},
		AnnotationCompat{Feature: "snippet", Declared: AnnotationUnsupported, Note: "refused"},
		AnnotationCompat{Feature: "server-alias", Declared: AnnotationSupported},
	)
	want := map[string]string{
		"rewrite": AnnotationSupported, "rate-limit": AnnotationPartial, "cors": AnnotationFails, "canary": AnnotationUnsupported,
		"affinity": AnnotationVariant, "snippet": AnnotationUnsupported, "server-alias": AnnotationNotRun,
	}
	if len(r.Annotations) != len(want) {
		t.Fatalf("got %d features %+v, want %d", len(r.Annotations), r.Annotations, len(want))
	}
	for feature, support := range want {
		if got := r.AnnotationFor(feature); got.Support != support {
			t.Errorf("%s: support %q, want %q (%+v)", feature, got.Support, support, got)
		}
	}
	if got := r.AnnotationFor("canary").Note; got != "no canary" {
		t.Errorf("canary note %q, want the skip reason", got)
	}
	if got := r.AnnotationFor("rate-limit"); got.Cell() != "partial (1/2 passed)" || len(got.Variants) != 1 {
		t.Errorf("rate-limit cell %q variants %v", got.Cell(), got.Variants)
	}
	// Finalize is idempotent.
	before := r.AnnotationFor("rewrite").Summary
	r.Finalize()
	if after := r.AnnotationFor("rewrite").Summary; after != before {
		t.Errorf("second Finalize changed the summary: %+v -> %+v", before, after)
	}

	var md bytes.Buffer
	if err := RenderConformanceMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Annotation compatibility", "| cors | ❌ fails |", "| canary | — unsupported |", "no canary"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md.String())
		}
	}

	b := annotationReport("b", []TestResult{{Name: "cors", Features: f("cors"), Result: Passed}})
	var cmp bytes.Buffer
	if err := CompareConformance(&cmp, r, b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmp.String(), "| cors | ❌ fails (0/1 passed) | ✅ supported | differs |") {
		t.Errorf("comparison lacks the cors row:\n%s", cmp.String())
	}
}
