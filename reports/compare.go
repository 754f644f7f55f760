package reports

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Change classifies how a test's outcome moved from report A to report B.
type Change string

const (
	// Regressed: B's result is worse than A's (passed > skipped > failed).
	Regressed Change = "regressed"
	// Improved: B's result is better than A's.
	Improved Change = "improved"
	// VariantChanged: same result, different variant.
	VariantChanged Change = "variant changed"
)

// TestDiff is one test present in both reports whose result or variant
// differs.
type TestDiff struct {
	Name   string
	A, B   TestResult
	Change Change
}

// Comparison is two reports matched test by test (names sorted).
type Comparison struct {
	// Differing tests have a different result or variant in A and B.
	Differing []TestDiff
	// OnlyA and OnlyB are tests present in one report only.
	OnlyA, OnlyB []TestResult
	// Identical tests have the same result and variant (B's entry).
	Identical []TestResult
}

// Compare matches a's and b's tests by name. Neither report is modified.
// Duplicate test names in one report are an error.
func Compare(a, b *ConformanceReport) (*Comparison, error) {
	if a == nil || b == nil {
		return nil, errors.New("compare conformance reports: a report is nil")
	}
	ta, err := testsByName(a)
	if err != nil {
		return nil, fmt.Errorf("compare conformance reports: report A: %w", err)
	}
	tb, err := testsByName(b)
	if err != nil {
		return nil, fmt.Errorf("compare conformance reports: report B: %w", err)
	}
	c := new(Comparison)
	for _, x := range sortedTests(a) {
		y, ok := tb[x.Name]
		switch {
		case !ok:
			c.OnlyA = append(c.OnlyA, x)
		case x.Result != y.Result || x.Variant != y.Variant:
			c.Differing = append(c.Differing, TestDiff{Name: x.Name, A: x, B: y, Change: change(x, y)})
		default:
			c.Identical = append(c.Identical, y)
		}
	}
	for _, y := range sortedTests(b) {
		if _, ok := ta[y.Name]; !ok {
			c.OnlyB = append(c.OnlyB, y)
		}
	}
	return c, nil
}

// CompareConformance writes a Markdown comparison of a (say, the controller
// in use) and b (a candidate): a header naming both implementations with
// their dates and summary counts per level, then the tests whose result or
// variant differs, then the tests only in one report, then the identical
// tests collapsed in a <details> block. Counts are computed from the tests,
// so the reports need not be finalized.
func CompareConformance(w io.Writer, a, b *ConformanceReport) error {
	c, err := Compare(a, b)
	if err != nil {
		return err
	}
	sa, pa := summarize(sortedTests(a))
	sb, pb := summarize(sortedTests(b))

	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("# Conformance comparison: %s vs %s\n\n", cell(implName(a.Implementation), 0), cell(implName(b.Implementation), 0))
	p("| | A | B |\n|---|---|---|\n")
	p("| Implementation | %s | %s |\n", cell(implDetail(a.Implementation), 0), cell(implDetail(b.Implementation), 0))
	p("| Date | %s | %s |\n", formatDate(a), formatDate(b))
	p("| Kubernetes | %s | %s |\n", cell(orUnknown(a.KubernetesVersion), 0), cell(orUnknown(b.KubernetesVersion), 0))
	p("| Provider | %s | %s |\n", cell(orUnknown(a.Provider), 0), cell(orUnknown(b.Provider), 0))
	p("| Passed | %d | %d |\n", sa.Passed, sb.Passed)
	p("| Failed | %d | %d |\n", sa.Failed, sb.Failed)
	p("| Skipped | %d | %d |\n", sa.Skipped, sb.Skipped)
	for _, l := range profileLevels(pa, pb) {
		p("| %s (passed/failed/skipped) | %s | %s |\n", cell(string(l), 0), profileCell(pa, l), profileCell(pb, l))
	}

	if features := AnnotationFeatureNames(a, b); len(features) > 0 {
		p("\n## Annotation compatibility\n\n")
		p("| Annotation feature | A | B | |\n|---|---|---|---|\n")
		for _, f := range features {
			fa, fb := a.AnnotationFor(f), b.AnnotationFor(f)
			mark := ""
			if fa.Support != fb.Support {
				mark = "differs"
			}
			p("| %s | %s %s | %s %s | %s |\n", cell(f, 0), AnnotationSymbol(fa.Support), cell(fa.Cell(), 0), AnnotationSymbol(fb.Support), cell(fb.Cell(), 0), mark)
		}
	}

	p("\n## Differences (%d)\n\n", len(c.Differing))
	if len(c.Differing) == 0 {
		p("No test differs in result or variant.\n")
	} else {
		p("| Test | Level | Change | A result | A variant | B result | B variant | Message |\n")
		p("|---|---|---|---|---|---|---|---|\n")
		for _, d := range c.Differing {
			level := string(d.A.Level)
			if d.A.Level != d.B.Level {
				level += " → " + string(d.B.Level)
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(d.Name, 0), cell(level, 0), d.Change,
				resultIcon(d.A.Result), cell(d.A.Variant, 0), resultIcon(d.B.Result), cell(d.B.Variant, 0),
				cell(diffMessage(d), MaxMarkdownMessage))
		}
	}

	for _, only := range []struct {
		side  string
		name  string
		tests []TestResult
	}{{"A", implName(a.Implementation), c.OnlyA}, {"B", implName(b.Implementation), c.OnlyB}} {
		p("\n## Only in %s: %s (%d)\n\n", only.side, cell(only.name, 0), len(only.tests))
		if len(only.tests) == 0 {
			p("None.\n")
			continue
		}
		writeTestTable(p, only.tests)
	}

	p("\n## Identical (%d)\n\n", len(c.Identical))
	if len(c.Identical) == 0 {
		p("None.\n")
	} else {
		p("<details>\n<summary>%d tests with the same result and variant</summary>\n\n", len(c.Identical))
		writeTestTable(p, c.Identical)
		p("\n</details>\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render conformance comparison: %w", err)
	}
	return nil
}

func writeTestTable(p func(string, ...any), tests []TestResult) {
	p("| Test | Feature | Level | Result | Variant |\n|---|---|---|---|---|\n")
	for _, t := range tests {
		p("| %s | %s | %s | %s | %s |\n", cell(t.Name, 0), cell(t.Feature(), 0), cell(string(t.Level), 0),
			resultIcon(t.Result), cell(t.Variant, 0))
	}
}

// diffMessage is B's message when B did not pass, else A's.
func diffMessage(d TestDiff) string {
	if d.B.Result != Passed && d.B.Message != "" {
		return d.B.Message
	}
	if d.A.Result != Passed {
		return d.A.Message
	}
	return ""
}

func change(a, b TestResult) Change {
	switch ra, rb := resultRank(a.Result), resultRank(b.Result); {
	case rb < ra:
		return Regressed
	case rb > ra:
		return Improved
	default:
		return VariantChanged
	}
}

// resultRank orders results: passed > skipped > failed (and anything else).
func resultRank(r Result) int {
	switch r {
	case Passed:
		return 2
	case Skipped:
		return 1
	default:
		return 0
	}
}

func testsByName(r *ConformanceReport) (map[string]TestResult, error) {
	m := make(map[string]TestResult, len(r.Tests))
	for i, t := range r.Tests {
		if _, dup := m[t.Name]; dup {
			return nil, fmt.Errorf("tests[%d] %q: name used twice", i, t.Name)
		}
		m[t.Name] = t
	}
	return m, nil
}

func sortedTests(r *ConformanceReport) []TestResult {
	ts := slices.Clone(r.Tests)
	slices.SortStableFunc(ts, func(x, y TestResult) int { return cmp.Compare(x.Name, y.Name) })
	return ts
}

// profileLevels is the union of both reports' levels, in profile order.
func profileLevels(pa, pb []ProfileReport) []Level {
	var levels []Level
	seen := map[Level]bool{}
	for _, p := range append(slices.Clone(pa), pb...) {
		if !seen[p.Name] {
			seen[p.Name] = true
			levels = append(levels, p.Name)
		}
	}
	rank := func(l Level) int {
		if i := slices.Index(levelOrder, l); i >= 0 {
			return i
		}
		return len(levelOrder)
	}
	slices.SortStableFunc(levels, func(x, y Level) int {
		return cmp.Or(cmp.Compare(rank(x), rank(y)), cmp.Compare(x, y))
	})
	return levels
}

func profileCell(ps []ProfileReport, l Level) string {
	for _, p := range ps {
		if p.Name == l {
			s := p.Summary
			return fmt.Sprintf("%s (%d/%d/%d)", profileIcon(p.Result), s.Passed, s.Failed, s.Skipped)
		}
	}
	return "–"
}
