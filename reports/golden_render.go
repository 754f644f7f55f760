package reports

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxDifferenceRows bounds each difference table of conformance.md (the
// JSON report has every difference).
const MaxDifferenceRows = 200

// writeGoldenSection renders the comparison with a golden recording: the
// summary, the unexpected differences and the documented variants, each
// with both values, and why specs were not applicable.
func writeGoldenSection(p func(string, ...any), r *ConformanceReport) {
	g := r.Golden
	if g == nil {
		return
	}
	label := g.Label()
	s := g.Summary
	p("\n## Behaves like %s\n\n", cell(label, 0))
	p("Compared with the recording `%s` of %s (recorded %s), observation by observation and field by field (`ingresslab conformance --compare-to`).\n\n",
		codeCell(g.Recording), cell(label, 0), g.GoldenDate.UTC().Format("2006-01-02"))
	p("| | Same | Different | Not applicable |\n|---|---:|---:|---:|\n")
	p("| Specs | %d | %d | %d |\n", s.Specs.Same, s.Specs.Different, s.Specs.NotApplicable)
	p("| Observations | %d | %d | %d |\n", s.Observations.Same, s.Observations.Different, s.Observations.NotApplicable)
	p("\nFields: %d the same, %d documented variants, **%d unexpected differences**.\n", s.Fields.Same, s.Fields.Variant, s.Fields.Unexpected)
	if len(r.Annotations) > 0 {
		p("\n| Annotation feature | Result here | Behaves like %s |\n|---|---|---|\n", cell(label, 0))
		for _, a := range r.Annotations {
			b := g.Feature(AnnotationFeaturePrefix + a.Feature)
			if a.Golden != nil {
				b = *a.Golden
			}
			p("| %s | %s %s | %s %s |\n", cell(a.Feature, 0), AnnotationSymbol(a.Support), a.Cell(), BehavesSymbol(b.Behaves), b.Cell())
		}
	}

	var unexpected, variants []LocatedDifference
	for _, d := range g.Differences() {
		if d.Class == DiffUnexpected {
			unexpected = append(unexpected, d)
		} else {
			variants = append(variants, d)
		}
	}
	table := func(title string, ds []LocatedDifference, withReason bool) {
		if len(ds) == 0 {
			return
		}
		p("\n### %s\n\n", title)
		header := "| Spec | Request | Field | " + cell(label, 0) + " | " + cell(implName(r.Implementation), 0) + " |"
		sep := "|---|---|---|---|---|"
		if withReason {
			header += " Reason |"
			sep += "---|"
		}
		p("%s\n%s\n", header, sep)
		for i, d := range ds {
			if i == MaxDifferenceRows {
				p("\n%d more in conformance.json.\n", len(ds)-i)
				break
			}
			row := fmt.Sprintf("| %s | `%s` | %s | `%s` | `%s` |", cell(d.Spec, 0), codeCell(d.Key), cell(d.Field, 0), codeCell(d.Golden), codeCell(d.Actual))
			if withReason {
				row += " " + cell(d.Reason, 0) + " |"
			}
			p("%s\n", row)
		}
	}
	table("Unexpected differences", unexpected, false)
	table("Documented variants", variants, true)

	reasons := map[string]int{}
	for _, sc := range g.Specs {
		if sc.State == CompareNotApplicable {
			reasons[sc.Reason]++
		}
	}
	if len(reasons) > 0 {
		var parts []string
		for _, k := range sortedKeys(reasons) {
			parts = append(parts, fmt.Sprintf("%d %s", reasons[k], k))
		}
		p("\nNot applicable specs: %s.\n", cell(strings.Join(parts, "; "), 0))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// goldenJUnitSuite is the comparison as a JUnit testsuite: one testcase per
// spec; a spec with unexpected differences fails (listing them), one that
// is not applicable is skipped.
func goldenJUnitSuite(r *ConformanceReport, timestamp string) junitTestSuite {
	g := r.Golden
	name := "behaves like " + g.Label()
	suite := junitTestSuite{Name: name, Timestamp: timestamp, Properties: reportProperties(r), Time: junitSeconds(0)}
	suite.Properties = append(suite.Properties, junitProperty{Name: "recording", Value: g.Recording})
	for _, sc := range g.Specs {
		tc := junitTestCase{ClassName: name, Name: sc.Spec, Time: junitSeconds(0)}
		suite.Tests++
		switch {
		case sc.State == CompareNotApplicable:
			suite.Skipped++
			tc.Skipped = &junitSkipped{Message: sc.Reason}
		case sc.Fields.Unexpected > 0:
			suite.Failures++
			var b strings.Builder
			for _, o := range sc.Observations {
				for _, d := range o.Differences {
					if d.Class == DiffUnexpected {
						fmt.Fprintf(&b, "%s: %s: golden %q, here %q\n", o.Key, d.Field, d.Golden, d.Actual)
					}
				}
			}
			msg := fmt.Sprintf("%d unexpected difference(s) from %s", sc.Fields.Unexpected, g.Label())
			tc.Failure = &junitFailure{Message: msg, Type: "difference", Text: escapeXMLText(b.String())}
		}
		if sc.Fields.Variant > 0 {
			tc.SystemOut = newJUnitText(fmt.Sprintf("documented variants: %d\n", sc.Fields.Variant))
		}
		suite.Cases = append(suite.Cases, tc)
	}
	return suite
}
