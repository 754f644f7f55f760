package reports

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs at line %d (run go test ./reports -update if intended):\ngot:  %q\nwant: %q", path, i+1, g, w)
		}
	}
}

func loadReport(t *testing.T, name string) *ConformanceReport {
	t.Helper()
	r, err := ReadConformance(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoldenMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderConformanceMarkdown(&buf, loadReport(t, "conformance.json")); err != nil {
		t.Fatal(err)
	}
	golden(t, "conformance.golden.md", buf.Bytes())
	checkTables(t, buf.String())
}

func TestGoldenJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderJUnit(&buf, loadReport(t, "conformance.json")); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", buf.Bytes())
}

func TestGoldenCompare(t *testing.T) {
	var buf bytes.Buffer
	if err := CompareConformance(&buf, loadReport(t, "conformance.json"), loadReport(t, "candidate.json")); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.golden.md", buf.Bytes())
	checkTables(t, buf.String())
}

// checkTables asserts every Markdown table keeps one column count: an
// unescaped pipe or a raw newline in a cell would break that.
func checkTables(t *testing.T, md string) {
	t.Helper()
	cols := -1
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = -1
			continue
		}
		n := unescapedPipes(line)
		if cols == -1 {
			cols = n
		} else if n != cols {
			t.Errorf("line %d has %d cell separators, its table has %d: %q", i+1, n, cols, line)
		}
	}
}

func unescapedPipes(line string) int {
	n, backslashes := 0, 0
	for _, c := range line {
		switch {
		case c == '\\':
			backslashes++
			continue
		case c == '|' && backslashes%2 == 0:
			n++
		}
		backslashes = 0
	}
	return n
}

func TestMarkdownCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"expected 404 | got 200\nbackend: x", `expected 404 \| got 200<br>backend: x`},
		{"a\r\nb", "a<br>b"},
		{`path\|x`, `path\\\|x`},
		{"<html> & co", "&lt;html&gt; &amp; co"},
		{"tab\there\x00", "tab here"},
		{"  trimmed \n", "trimmed"},
	} {
		if got := cell(tc.in, 0); got != tc.want {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("é", MaxMarkdownMessage+10)
	if got := cell(long, MaxMarkdownMessage); got != strings.Repeat("é", MaxMarkdownMessage)+"…" {
		t.Errorf("cell(long) has %d characters, want %d plus an ellipsis", len([]rune(got)), MaxMarkdownMessage)
	}
	if f := codeFence("a ```` b"); f != "`````" {
		t.Errorf("codeFence = %q, want five backticks", f)
	}
}

func TestMarkdownListsTestUnderFirstFeature(t *testing.T) {
	r := loadReport(t, "conformance.json")
	var buf bytes.Buffer
	if err := RenderConformanceMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	if n := strings.Count(md, "| host-rules/wildcard-host |"); n != 1 {
		t.Errorf("wildcard-host listed %d times, want once", n)
	}
	if strings.Contains(md, "### wildcard-hosts") {
		t.Error("second feature label got its own section")
	}
	host, path := strings.Index(md, "### host-rules"), strings.Index(md, "### path-rules")
	if i := strings.Index(md, "| host-rules/wildcard-host |"); i < host || i > path {
		t.Error("wildcard-host is not in the host-rules table")
	}
}

// Independent of junit.go's types: what a CI parser would see.
type ciSuites struct {
	XMLName  xml.Name  `xml:"testsuites"`
	Tests    int       `xml:"tests,attr"`
	Failures int       `xml:"failures,attr"`
	Errors   int       `xml:"errors,attr"`
	Suites   []ciSuite `xml:"testsuite"`
}

type ciSuite struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
	Props    []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []struct {
		Classname string `xml:"classname,attr"`
		Name      string `xml:"name,attr"`
		Time      string `xml:"time,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct{} `xml:"skipped"`
	} `xml:"testcase"`
}

func parseJUnit(t *testing.T, r *ConformanceReport) ciSuites {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var got ciSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, buf.String())
	}
	return got
}

func TestJUnitParsesBack(t *testing.T) {
	r := loadReport(t, "conformance.json")
	got := parseJUnit(t, r)

	if got.Tests != len(r.Tests) || got.Failures != r.Summary.Failed || got.Errors != 0 {
		t.Errorf("testsuites tests/failures/errors = %d/%d/%d, want %d/%d/0", got.Tests, got.Failures, got.Errors, len(r.Tests), r.Summary.Failed)
	}
	var names []string
	var cases, failures, skipped int
	for _, s := range got.Suites {
		names = append(names, s.Name)
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %s: tests=%d but %d testcases", s.Name, s.Tests, len(s.Cases))
		}
		if _, err := strconv.ParseFloat(s.Time, 64); err != nil {
			t.Errorf("suite %s: time %q: %v", s.Name, s.Time, err)
		}
		props := map[string]string{}
		for _, p := range s.Props {
			props[p.Name] = p.Value
		}
		if props["implementation"] != "ingresslab-reference v0.3.0" {
			t.Errorf("suite %s: implementation property = %q", s.Name, props["implementation"])
		}
		var sf, ss int
		for _, c := range s.Cases {
			cases++
			if c.Classname != s.Name {
				t.Errorf("testcase %s: classname %q, want the feature %q", c.Name, c.Classname, s.Name)
			}
			if c.Failure != nil {
				sf++
			}
			if c.Skipped != nil {
				ss++
			}
			want := r.Tests[slices.IndexFunc(r.Tests, func(x TestResult) bool { return x.Name == c.Name })]
			if want.Variant != "" && props["variant."+c.Name] != want.Variant {
				t.Errorf("testcase %s: variant property = %q, want %q", c.Name, props["variant."+c.Name], want.Variant)
			}
			if c.Failure != nil && (c.Failure.Text != want.Message || c.Failure.Message != firstLine(want.Message)) {
				t.Errorf("testcase %s: failure message/text = %q/%q, want the message %q", c.Name, c.Failure.Message, c.Failure.Text, want.Message)
			}
		}
		if sf != s.Failures || ss != s.Skipped {
			t.Errorf("suite %s: failures/skipped attrs %d/%d, elements %d/%d", s.Name, s.Failures, s.Skipped, sf, ss)
		}
		failures += sf
		skipped += ss
	}
	if want := []string{"default-backend", "host-rules", "path-rules", "tls"}; !slices.Equal(names, want) {
		t.Errorf("suites = %v, want %v", names, want)
	}
	if cases != len(r.Tests) || failures != r.Summary.Failed || skipped != r.Summary.Skipped {
		t.Errorf("cases/failures/skipped = %d/%d/%d, want %d/%d/%d", cases, failures, skipped, len(r.Tests), r.Summary.Failed, r.Summary.Skipped)
	}
}

func TestJUnitSurvivesHostileText(t *testing.T) {
	r := &ConformanceReport{Tests: []TestResult{{
		Name: `a "quoted" <name> & more`, Features: []string{"x]]>y"}, Level: Core, Result: Failed,
		Message: "\x00\x1b[31mred]]></failure>\nsecond line",
	}}}
	r.Finalize()
	got := parseJUnit(t, r)
	if len(got.Suites) != 1 || len(got.Suites[0].Cases) != 1 {
		t.Fatalf("got %+v", got)
	}
	c := got.Suites[0].Cases[0]
	if c.Name != r.Tests[0].Name || c.Classname != "x]]>y" || c.Failure == nil || !strings.Contains(c.Failure.Text, "]]></failure>\nsecond line") {
		t.Errorf("round trip lost text: %+v %+v", c, c.Failure)
	}
}

func TestCompareOrder(t *testing.T) {
	a, b := loadReport(t, "conformance.json"), loadReport(t, "candidate.json")
	c, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	diff := map[string]Change{}
	for _, d := range c.Differing {
		diff[d.Name] = d.Change
	}
	wantDiff := map[string]Change{
		"host-rules/exact-host":                     Regressed,
		"host-rules/wildcard-host":                  Improved,
		"path-rules/implementation-specific-prefix": VariantChanged,
		"tls/sni-multiple-certs":                    Improved,
	}
	if len(diff) != len(wantDiff) {
		t.Errorf("differing = %v, want %v", diff, wantDiff)
	}
	for name, ch := range wantDiff {
		if diff[name] != ch {
			t.Errorf("%s: change %q, want %q", name, diff[name], ch)
		}
	}
	if len(c.OnlyA) != 1 || c.OnlyA[0].Name != "tls/redirect-http-to-https" || len(c.OnlyB) != 1 || c.OnlyB[0].Name != "tls/passthrough" {
		t.Errorf("only in A/B = %v / %v", c.OnlyA, c.OnlyB)
	}

	var buf bytes.Buffer
	if err := CompareConformance(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	differences := strings.Index(md, "## Differences (4)")
	onlyA := strings.Index(md, "## Only in A")
	onlyB := strings.Index(md, "## Only in B")
	identical := strings.Index(md, "## Identical (3)")
	details := strings.Index(md, "<details>")
	if !(0 < differences && differences < onlyA && onlyA < onlyB && onlyB < identical && identical < details) {
		t.Fatalf("sections out of order: differences %d, only A %d, only B %d, identical %d, details %d", differences, onlyA, onlyB, identical, details)
	}
	for name := range wantDiff {
		if i := strings.Index(md, "| "+name+" |"); i < differences || i > onlyA {
			t.Errorf("differing test %s not listed in the differences section", name)
		}
	}
	for _, name := range []string{"default-backend/spec-default-backend", "default-backend/unmatched-no-default", "path-rules/prefix-trailing-slash"} {
		if i := strings.Index(md, "| "+name+" |"); i < details {
			t.Errorf("identical test %s listed before the <details> block", name)
		}
	}
	if !strings.Contains(md, "| Failed | 1 | 1 |") || !strings.Contains(md, "| Skipped | 1 | 1 |") {
		t.Error("summary counts missing")
	}
}

func TestCompareRejectsDuplicateNames(t *testing.T) {
	a := &ConformanceReport{Tests: []TestResult{tr("x", Core, Passed), tr("x", Core, Failed)}}
	err := CompareConformance(&bytes.Buffer{}, a, &ConformanceReport{})
	if err == nil || !strings.Contains(err.Error(), `report A: tests[1] "x": name used twice`) {
		t.Errorf("CompareConformance(duplicates) = %v", err)
	}
}
