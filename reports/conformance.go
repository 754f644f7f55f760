// Package reports defines ingresslab's versioned, machine-readable report
// types and renders them: JSON (the source of truth), Markdown for people,
// JUnit XML for CI, and comparisons of two reports.
package reports

import "time"

// APIVersion of every report this package writes.
const APIVersion = "ingresslab.dev/v1alpha1"

// KindConformance is the kind of a ConformanceReport.
const KindConformance = "ConformanceReport"

// Result of one test.
type Result string

const (
	Passed  Result = "passed"
	Failed  Result = "failed"
	Skipped Result = "skipped"
)

// Level says how strongly the API requires a behaviour.
type Level string

const (
	// Core behaviour is required by the Ingress API documentation.
	Core Level = "core"
	// Extended behaviour is common and specified, but optional.
	Extended Level = "extended"
	// ImplementationSpecific behaviour is left open by the API; tests record
	// the variant a controller chose.
	ImplementationSpecific Level = "implementation-specific"
)

// ProfileResult summarises a level: success (everything passed), partial
// (nothing failed, something skipped) or failure.
type ProfileResult string

const (
	Success ProfileResult = "success"
	Partial ProfileResult = "partial"
	Failure ProfileResult = "failure"
)

// ConformanceReport is the result of one conformance run against one
// controller.
type ConformanceReport struct {
	APIVersion        string         `json:"apiVersion"`
	Kind              string         `json:"kind"`
	Implementation    Implementation `json:"implementation"`
	KubernetesVersion string         `json:"kubernetesVersion"`
	Provider          string         `json:"provider"`
	Date              time.Time      `json:"date"`
	DurationSeconds   float64        `json:"durationSeconds"`
	// Timeouts are the timeouts the run used (name -> Go duration string).
	Timeouts map[string]string `json:"timeouts"`
	// Filter is the label filter the run used, if any.
	Filter string `json:"filter,omitempty"`
	// Command reproduces the run (the ingresslab command line), shown in the
	// Markdown report's "Reproduce" section.
	Command  string          `json:"command,omitempty"`
	Summary  Summary         `json:"summary"`
	Profiles []ProfileReport `json:"profiles"`
	Tests    []TestResult    `json:"tests"`
	// Annotations is the annotation compatibility (extended annotation
	// specs per feature); Finalize computes the results.
	Annotations []AnnotationCompat `json:"annotations,omitempty"`
	// Machine describes where the run happened.
	Machine map[string]string `json:"machine,omitempty"`
	// Golden is the run compared with a recording (--compare-to), if any.
	Golden *GoldenComparison `json:"golden,omitempty"`
}

// Implementation identifies the controller under test.
type Implementation struct {
	Name         string `json:"name"`
	Version      string `json:"version,omitempty"`
	Controller   string `json:"controller"`
	IngressClass string `json:"ingressClass"`
	Profile      string `json:"profile,omitempty"`
}

// Summary counts results.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// ProfileReport is the result for one level (core, extended,
// implementation-specific).
type ProfileReport struct {
	Name    Level         `json:"name"`
	Result  ProfileResult `json:"result"`
	Summary Summary       `json:"summary"`
	// FailedTests and SkippedTests name the tests.
	FailedTests  []string `json:"failedTests,omitempty"`
	SkippedTests []string `json:"skippedTests,omitempty"`
}

// TestResult is one test.
type TestResult struct {
	Name     string   `json:"name"`
	Features []string `json:"features"`
	Level    Level    `json:"level"`
	Result   Result   `json:"result"`
	// Variant records which of the accepted behaviours the controller
	// showed, for behaviour the API leaves open ("404", "503", "301-redirect").
	Variant            string  `json:"variant,omitempty"`
	DurationSeconds    float64 `json:"durationSeconds"`
	ConvergenceSeconds float64 `json:"convergenceSeconds,omitempty"`
	Message            string  `json:"message,omitempty"`
	// Observations are named measurements a test made on the way, e.g. the
	// constant-rate prober's counts during a change ("probe") or how long a
	// Secret rotation took.
	Observations map[string]string `json:"observations,omitempty"`
}
