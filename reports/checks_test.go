package reports

import (
	"fmt"
	"strings"
	"testing"
)

func TestBehaviourChecksSumPassedAnnotationSpecs(t *testing.T) {
	r := &ConformanceReport{Tests: []TestResult{
		{Name: "a", Result: Passed, Features: []string{"annotations.cors"}, Observations: map[string]string{EntryBehaviourChecks: "12"}},
		{Name: "b", Result: Passed, Features: []string{"annotations.cors"}, Observations: map[string]string{EntryBehaviourChecks: "3"}},
		{Name: "c", Result: Passed, Features: []string{"annotations.rewrite"}, Observations: map[string]string{EntryBehaviourChecks: "5"}},
		{Name: "failed", Result: Failed, Features: []string{"annotations.canary"}, Observations: map[string]string{EntryBehaviourChecks: "9"}},
		{Name: "skipped", Result: Skipped, Features: []string{"annotations.digest-auth"}},
		{Name: "core", Result: Passed, Features: []string{"path-rules"}},
	}}
	checks, specs, features := r.BehaviourChecks()
	if checks != 20 || specs != 3 || features != 2 {
		t.Errorf("BehaviourChecks() = %d checks, %d specs, %d features; want 20, 3, 2", checks, specs, features)
	}
	var b strings.Builder
	writeAnnotationTable(func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }, &ConformanceReport{Tests: r.Tests, Annotations: []AnnotationCompat{{Feature: "cors"}}})
	if !strings.Contains(b.String(), "Behaviour checks passed: **20** in 3 specs over 2 annotation features") {
		t.Errorf("annotation table lacks the check count:\n%s", b.String())
	}
}
