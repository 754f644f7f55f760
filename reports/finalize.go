package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// NoFeature is the feature under which a test without feature labels is
// listed in Markdown and JUnit output.
const NoFeature = "(none)"

// levelOrder is the order profiles are listed in.
var levelOrder = []Level{Core, Extended, ImplementationSpecific}

// Feature is the test's first feature label (the one it is listed under), or
// NoFeature when it has none.
func (t TestResult) Feature() string {
	if len(t.Features) == 0 || t.Features[0] == "" {
		return NoFeature
	}
	return t.Features[0]
}

// Finalize makes r ready to write: it sets APIVersion and Kind, stores Date
// in UTC, sorts Tests by name (stable), and recomputes Summary and Profiles
// from Tests. Profiles lists core, extended and implementation-specific, in
// that order, and only levels that have tests; a level outside those three
// follows them, sorted by name, so no test goes uncounted. A result other than
// passed or skipped counts as failed, so a summary never hides a broken test.
// Finalize is idempotent.
func (r *ConformanceReport) Finalize() {
	r.APIVersion = APIVersion
	r.Kind = KindConformance
	r.Date = r.Date.UTC()
	if r.Tests == nil {
		r.Tests = []TestResult{}
	}
	for i := range r.Tests {
		if r.Tests[i].Features == nil {
			r.Tests[i].Features = []string{}
		}
	}
	slices.SortStableFunc(r.Tests, func(a, b TestResult) int { return cmp.Compare(a.Name, b.Name) })
	r.Summary, r.Profiles = summarize(r.Tests)
	r.annotationCompat()
}

// summarize counts tests (sorted by name) overall and per level.
func summarize(tests []TestResult) (Summary, []ProfileReport) {
	var total Summary
	byLevel := map[Level]*ProfileReport{}
	for _, t := range tests {
		p := byLevel[t.Level]
		if p == nil {
			p = &ProfileReport{Name: t.Level}
			byLevel[t.Level] = p
		}
		switch t.Result {
		case Passed:
			total.Passed++
			p.Summary.Passed++
		case Skipped:
			total.Skipped++
			p.Summary.Skipped++
			p.SkippedTests = append(p.SkippedTests, t.Name)
		default:
			total.Failed++
			p.Summary.Failed++
			p.FailedTests = append(p.FailedTests, t.Name)
		}
	}
	levels := make([]Level, 0, len(byLevel))
	for l := range byLevel {
		if !slices.Contains(levelOrder, l) {
			levels = append(levels, l)
		}
	}
	slices.Sort(levels)
	levels = append(slices.Clone(levelOrder), levels...)

	profiles := make([]ProfileReport, 0, len(byLevel))
	for _, l := range levels {
		p := byLevel[l]
		if p == nil {
			continue
		}
		p.Result = profileResult(p.Summary)
		profiles = append(profiles, *p)
	}
	return total, profiles
}

// profileResult is failure when anything failed, partial when nothing failed
// but something was skipped, success otherwise.
func profileResult(s Summary) ProfileResult {
	switch {
	case s.Failed > 0:
		return Failure
	case s.Skipped > 0:
		return Partial
	default:
		return Success
	}
}

// Validate checks what a reader of r relies on: apiVersion and kind, and for
// every test a name (unique), a known result and a known level. Errors name
// the test and the field.
func (r *ConformanceReport) Validate() error {
	if err := checkHeader(r.APIVersion, r.Kind, KindConformance); err != nil {
		return err
	}
	seen := make(map[string]int, len(r.Tests))
	for i, t := range r.Tests {
		if strings.TrimSpace(t.Name) == "" {
			return fmt.Errorf("tests[%d]: name is empty", i)
		}
		if j, dup := seen[t.Name]; dup {
			return fmt.Errorf("tests[%d] %q: name already used by tests[%d]", i, t.Name, j)
		}
		seen[t.Name] = i
		switch t.Result {
		case Passed, Failed, Skipped:
		default:
			return fmt.Errorf("tests[%d] %q: result %q is not one of %s, %s, %s", i, t.Name, t.Result, Passed, Failed, Skipped)
		}
		if !slices.Contains(levelOrder, t.Level) {
			return fmt.Errorf("tests[%d] %q: level %q is not one of %s, %s, %s", i, t.Name, t.Level, Core, Extended, ImplementationSpecific)
		}
	}
	return nil
}
