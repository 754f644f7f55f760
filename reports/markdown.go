package reports

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxMarkdownMessage is how many characters of a failure message a Markdown
// table cell shows; longer messages end in "…" (the JSON report and the
// JUnit XML keep the whole message).
const MaxMarkdownMessage = 500

// RenderConformanceMarkdown writes r for people: a header (implementation,
// Kubernetes version, provider, date, duration), a summary table per level,
// one table per feature (each test under its first feature), the timeouts
// used, and how to reproduce the run. Output depends only on r; call
// Finalize first so that tests are sorted and the summary is current.
func RenderConformanceMarkdown(w io.Writer, r *ConformanceReport) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("# Ingress conformance: %s\n\n", cell(implName(r.Implementation), 0))
	p("| | |\n|---|---|\n")
	p("| Implementation | %s |\n", cell(implDetail(r.Implementation), 0))
	p("| Kubernetes | %s |\n", cell(orUnknown(r.KubernetesVersion), 0))
	p("| Provider | %s |\n", cell(orUnknown(r.Provider), 0))
	p("| Date | %s |\n", formatDate(r))
	p("| Duration | %s |\n", formatSeconds(r.DurationSeconds))
	if r.Filter != "" {
		p("| Filter | `%s` |\n", codeCell(r.Filter))
	}
	if len(r.Machine) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(r.Machine)) {
			kv = append(kv, k+"="+r.Machine[k])
		}
		p("| Machine | %s |\n", cell(strings.Join(kv, ", "), 0))
	}

	p("\n## Summary\n\n")
	p("| Level | Result | Passed | Failed | Skipped |\n|---|---|---:|---:|---:|\n")
	for _, pr := range r.Profiles {
		s := pr.Summary
		p("| %s | %s | %d | %d | %d |\n", cell(string(pr.Name), 0), profileIcon(pr.Result), s.Passed, s.Failed, s.Skipped)
	}
	s := r.Summary
	p("| **Total** | | %d | %d | %d |\n", s.Passed, s.Failed, s.Skipped)
	for _, pr := range r.Profiles {
		if len(pr.FailedTests) > 0 {
			p("\nFailed %s tests: %s\n", cell(string(pr.Name), 0), cell(strings.Join(pr.FailedTests, ", "), 0))
		}
		if len(pr.SkippedTests) > 0 {
			p("\nSkipped %s tests: %s\n", cell(string(pr.Name), 0), cell(strings.Join(pr.SkippedTests, ", "), 0))
		}
	}

	if rows := reliabilityRows(r.Tests); len(rows) > 0 {
		p("\n## Reliability\n\n%s\n\n", reliabilityNote)
		p("| Feature | Result | Passed | Failed | Skipped | Variants |\n|---|---|---:|---:|---:|---|\n")
		for _, row := range rows {
			p("| %s | %s | %d | %d | %d | %s |\n", cell(row.Feature, 0), featureSymbol(row.Summary), row.Summary.Passed,
				row.Summary.Failed, row.Summary.Skipped, cell(joinVariants(row.Variants), MaxMarkdownMessage))
		}
	}

	writeAnnotationTable(p, r)
	writeGoldenSection(p, r)

	features, byFeature := groupByFeature(r.Tests)
	p("\n## Results by feature\n")
	if len(features) == 0 {
		p("\nNo tests ran.\n")
	}
	for _, f := range features {
		p("\n### %s\n\n", cell(f, 0))
		p("| Test | Level | Result | Variant | Convergence (s) | Message |\n|---|---|---|---|---:|---|\n")
		for _, t := range byFeature[f] {
			p("| %s | %s | %s | %s | %s | %s |\n", cell(t.Name, 0), cell(string(t.Level), 0), resultIcon(t.Result),
				cell(t.Variant, 0), formatConvergence(t.ConvergenceSeconds), cell(t.Message, MaxMarkdownMessage))
		}
	}

	p("\n## Timeouts\n\n")
	if len(r.Timeouts) == 0 {
		p("Not recorded.\n")
	} else {
		p("| Timeout | Value |\n|---|---|\n")
		for _, k := range slices.Sorted(maps.Keys(r.Timeouts)) {
			p("| %s | %s |\n", cell(k, 0), cell(r.Timeouts[k], 0))
		}
	}

	p("\n## Reproduce\n\n")
	if r.Command == "" {
		p("The command was not recorded.\n")
	} else {
		fence := codeFence(r.Command)
		p("%ssh\n%s\n%s\n", fence, r.Command, fence)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render conformance Markdown: %w", err)
	}
	return nil
}

// groupByFeature returns the features (sorted) and each one's tests, in the
// order given.
func groupByFeature(tests []TestResult) ([]string, map[string][]TestResult) {
	by := map[string][]TestResult{}
	for _, t := range tests {
		by[t.Feature()] = append(by[t.Feature()], t)
	}
	return slices.Sorted(maps.Keys(by)), by
}

func implName(i Implementation) string { return i.Label() }

// Label is "name version" ("unknown" for a missing name).
func (i Implementation) Label() string {
	name := orUnknown(i.Name)
	if i.Version != "" {
		name += " " + i.Version
	}
	return name
}

func implDetail(i Implementation) string {
	var parts []string
	if i.Controller != "" {
		parts = append(parts, "controller "+i.Controller)
	}
	if i.IngressClass != "" {
		parts = append(parts, "IngressClass "+i.IngressClass)
	}
	if i.Profile != "" {
		parts = append(parts, "profile "+i.Profile)
	}
	if len(parts) == 0 {
		return implName(i)
	}
	return implName(i) + " (" + strings.Join(parts, ", ") + ")"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func formatDate(r *ConformanceReport) string {
	if r.Date.IsZero() {
		return "unknown"
	}
	return r.Date.UTC().Format(time.RFC3339)
}

// formatSeconds renders seconds as a Go duration rounded to 0.1 s.
func formatSeconds(sec float64) string {
	if sec <= 0 {
		return "unknown"
	}
	return time.Duration(sec * float64(time.Second)).Round(100 * time.Millisecond).String()
}

func formatConvergence(sec float64) string {
	if sec <= 0 {
		return "–"
	}
	return strconv.FormatFloat(sec, 'f', 2, 64)
}

func resultIcon(r Result) string {
	switch r {
	case Passed:
		return "✅ passed"
	case Failed:
		return "❌ failed"
	case Skipped:
		return "⏭ skipped"
	default:
		return "❓ " + cell(string(r), 0)
	}
}

func profileIcon(r ProfileResult) string {
	switch r {
	case Success:
		return "✅ success"
	case Partial:
		return "⚠️ partial"
	case Failure:
		return "❌ failure"
	default:
		return "❓ " + cell(string(r), 0)
	}
}

// cell makes s safe for one Markdown table cell on one line: surrounding
// space is trimmed, line breaks become <br>, pipes and backslashes are
// backslash-escaped, &, < and > become entities (so message text is never
// read as HTML), other control characters become spaces. With limit > 0 the
// text is cut to limit characters, ending in "…".
func cell(s string, limit int) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(c rune) rune {
		if c != '\n' && c != '\r' && unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s)
	s = strings.TrimSpace(s)
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\n' || c == '\r':
			b.WriteString("<br>")
		case c == '|':
			b.WriteString(`\|`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// codeCell makes s safe inside a one-line code span in a table cell: only
// pipes need escaping there; line breaks and backticks become spaces and
// quotes.
func codeCell(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "`", "'", "|", `\|`).Replace(s)
	return strings.TrimSpace(s)
}

// codeFence returns a backtick fence longer than any backtick run in s.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
