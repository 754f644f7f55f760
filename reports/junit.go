package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JUnit XML in the common (Ant/Jenkins) schema: testsuites > testsuite >
// properties, testcase > skipped | failure, system-out. Only elements and
// attributes that schema allows are written, so Jenkins, GitLab, GitHub
// reporters and xmllint against junit-10.xsd all accept it.

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitTestCase `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped"`
	Failure   *junitFailure `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitText is element text that keeps its line breaks readable: encoding/xml
// would write every newline as &#xA;.
type junitText struct {
	Inner string `xml:",innerxml"`
}

func newJUnitText(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Inner: escapeXMLText(s)}
}

// escapeXMLText escapes s for element content, keeping \n and \t literal;
// characters XML 1.0 cannot carry become U+FFFD.
func escapeXMLText(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '\r':
			b.WriteString("&#xD;")
		case c == '\n' || c == '\t':
			b.WriteRune(c)
		case c < 0x20, c == utf8.RuneError, c >= 0xD800 && c <= 0xDFFF, c == 0xFFFE, c == 0xFFFF:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",innerxml"`
}

// RenderJUnit writes r as JUnit XML: one testsuite per feature (sorted), each
// test under its first feature with classname = feature. A failed test has a
// <failure> whose message attribute is the message's first line and whose
// text is the whole message; a skipped test has <skipped>. Every suite's
// properties name the implementation, controller, IngressClass, Kubernetes
// version and provider, plus "variant.<test>" for each test that recorded a
// variant; each testcase's system-out repeats its level, variant and
// convergence time. Characters XML cannot carry become U+FFFD.
func RenderJUnit(w io.Writer, r *ConformanceReport) error {
	features, byFeature := groupByFeature(r.Tests)
	out := junitTestSuites{
		Name: "ingresslab conformance: " + implName(r.Implementation),
		Time: junitSeconds(r.DurationSeconds),
	}
	timestamp := ""
	if !r.Date.IsZero() {
		// The schema's timestamp has no zone: always UTC.
		timestamp = r.Date.UTC().Format("2006-01-02T15:04:05")
	}
	var total float64
	for _, f := range features {
		suite := junitTestSuite{Name: f, Timestamp: timestamp, Properties: reportProperties(r)}
		var suiteTime float64
		for _, t := range byFeature[f] {
			suite.Tests++
			suiteTime += t.DurationSeconds
			tc := junitTestCase{ClassName: f, Name: t.Name, Time: junitSeconds(t.DurationSeconds), SystemOut: newJUnitText(caseOutput(t))}
			switch t.Result {
			case Passed:
			case Skipped:
				suite.Skipped++
				tc.Skipped = &junitSkipped{Message: firstLine(t.Message)}
			default:
				suite.Failures++
				tc.Failure = &junitFailure{Message: firstLine(t.Message), Type: string(t.Result), Text: escapeXMLText(t.Message)}
			}
			if t.Variant != "" {
				suite.Properties = append(suite.Properties, junitProperty{Name: "variant." + t.Name, Value: t.Variant})
			}
			suite.Cases = append(suite.Cases, tc)
		}
		suite.Time = junitSeconds(suiteTime)
		total += suiteTime
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Suites = append(out.Suites, suite)
	}
	if r.Golden != nil {
		suite := goldenJUnitSuite(r, timestamp)
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Suites = append(out.Suites, suite)
	}
	if r.DurationSeconds <= 0 {
		out.Time = junitSeconds(total)
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("render JUnit XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("render JUnit XML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("render JUnit XML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("render JUnit XML: %w", err)
	}
	return nil
}

func reportProperties(r *ConformanceReport) []junitProperty {
	props := []junitProperty{{Name: "implementation", Value: implName(r.Implementation)}}
	add := func(name, value string) {
		if value != "" {
			props = append(props, junitProperty{Name: name, Value: value})
		}
	}
	add("controller", r.Implementation.Controller)
	add("ingressClass", r.Implementation.IngressClass)
	add("profile", r.Implementation.Profile)
	add("kubernetesVersion", r.KubernetesVersion)
	add("provider", r.Provider)
	return props
}

// caseOutput is a testcase's system-out: level, variant, convergence.
func caseOutput(t TestResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "level: %s\n", t.Level)
	if t.Variant != "" {
		fmt.Fprintf(&b, "variant: %s\n", t.Variant)
	}
	if t.ConvergenceSeconds > 0 {
		fmt.Fprintf(&b, "convergenceSeconds: %s\n", strconv.FormatFloat(t.ConvergenceSeconds, 'f', 3, 64))
	}
	if len(t.Features) > 1 {
		fmt.Fprintf(&b, "features: %s\n", strings.Join(t.Features, ", "))
	}
	return b.String()
}

func junitSeconds(sec float64) string {
	return strconv.FormatFloat(max(sec, 0), 'f', 3, 64)
}

// firstLine is s's first non-empty line, trimmed.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
