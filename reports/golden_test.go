package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleRecording() (RecordingIndex, []*SpecRecording) {
	idx := RecordingIndex{
		Implementation: Implementation{Name: "ingress-nginx", Version: "controller-v1.15.1", Controller: "k8s.io/ingress-nginx"},
		Date:           time.Date(2026, 12, 5, 6, 0, 0, 0, time.FixedZone("x", 3600)),
		Normalisation:  []string{"namespace -> {ns}"},
	}
	specs := []*SpecRecording{
		{
			Spec: "Annotations: cors answers preflights and adds CORS headers", Features: []string{"annotations.cors"}, Level: Extended, Result: Passed,
			Annotations: []string{"nginx.ingress.kubernetes.io/enable-cors=true", "nginx.ingress.kubernetes.io/cors-allow-origin=https://app.example"},
			Observations: []Observation{
				{Key: "OPTIONS http://cors.{ns}.test/api [Origin: https://app.example]", Check: "eventually", Fields: map[string]string{"status": "204", "response.header.access-control-allow-origin": "https://app.example"}},
				{Key: "GET http://cors.{ns}.test/api [Origin: https://app.example]", Check: "eventually", Fields: map[string]string{"status": "200", "backend": "echo", "response.header.access-control-allow-origin": "*"}},
			},
		},
		{Spec: "Path rules: Exact matches only the exact path", Features: []string{"path-rules"}, Level: Core, Result: Passed,
			Observations: []Observation{{Key: "GET http://exact.{ns}.test/foo", Fields: map[string]string{"status": "200", "backend": "echo"}}}},
		{Spec: "Annotations: canary routes by canary-weight", Features: []string{"annotations.canary"}, Level: Extended, Result: Skipped},
	}
	return idx, specs
}

func TestRecordingRoundTrip(t *testing.T) {
	dir := t.TempDir()
	idx, specs := sampleRecording()
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadRecording(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Index.Schema != RecordingSchema || rec.Index.Kind != KindRecordingIndex || !rec.Index.Date.Equal(idx.Date) || rec.Index.Date.Location() != time.UTC {
		t.Errorf("index header: %+v", rec.Index)
	}
	if len(rec.Index.Specs) != 3 || rec.Index.Specs[0].Spec != specs[2].Spec || rec.Index.Specs[1].Observations != 2 {
		t.Errorf("index specs (sorted by name, with counts): %+v", rec.Index.Specs)
	}
	if rec.ObservationCount() != 3 {
		t.Errorf("ObservationCount = %d, want 3", rec.ObservationCount())
	}
	for _, s := range specs {
		got := rec.Specs[s.Spec]
		if got == nil || !reflect.DeepEqual(got.Observations, s.Observations) || !reflect.DeepEqual(got.Annotations, s.Annotations) || got.Result != s.Result {
			t.Errorf("spec %q read back as %+v, want %+v", s.Spec, got, s)
		}
	}
	// Observations are sorted by key: GET before OPTIONS.
	if first := rec.Specs[specs[0].Spec].Observations[0].Key; !strings.HasPrefix(first, "GET ") {
		t.Errorf("observations not sorted: first %q", first)
	}
	// Writing the same recording again gives the same bytes.
	file := filepath.Join(dir, rec.Index.Specs[1].File)
	before, _ := os.ReadFile(file)
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(file)
	if !bytes.Equal(before, after) || !bytes.Contains(after, []byte("schema: 1")) {
		t.Errorf("recording not stable or without its schema:\n%s\n---\n%s", before, after)
	}
}

func TestReadRecordingErrors(t *testing.T) {
	if _, err := ReadRecording(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--record") {
		t.Errorf("missing index: %v", err)
	}
	dir := t.TempDir()
	idx, specs := sampleRecording()
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	rec, _ := ReadRecording(dir)
	file := filepath.Join(dir, rec.Index.Specs[0].File)
	data, _ := os.ReadFile(file)
	if err := os.WriteFile(file, bytes.Replace(data, []byte("schema: 1"), []byte("schema: 7"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecording(dir); err == nil || !strings.Contains(err.Error(), "schema 7") || !strings.Contains(err.Error(), rec.Index.Specs[0].File) {
		t.Errorf("wrong schema: %v", err)
	}
}

// docs documents one variant: CORS's Allow-Origin.
type docs map[string]string

func (d docs) DocumentedVariant(features []string, _ string, field string) (string, bool) {
	for _, f := range features {
		if r, ok := d[f+" "+field]; ok {
			return r, true
		}
	}
	return "", false
}

func TestCompareRecording(t *testing.T) {
	dir := t.TempDir()
	idx, specs := sampleRecording()
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	golden, err := ReadRecording(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, cur := sampleRecording()
	// The candidate echoes the Origin on the simple request, adds a
	// header on the preflight, answers 404 on the Exact path, runs the
	// canary spec the golden run skipped, and one spec the golden run
	// never recorded.
	cur[0].Observations[1].Fields["response.header.access-control-allow-origin"] = "https://app.example"
	cur[0].Observations[0].Fields["response.header.vary"] = "Origin"
	cur[1].Observations[0].Fields = map[string]string{"status": "404", "body": "controller-page"}
	cur[2].Result = Passed
	cur = append(cur, &SpecRecording{Spec: "New spec", Result: Passed})

	c := CompareRecording(golden, cur, docs{"annotations.cors response.header.access-control-allow-origin": "echoes the Origin on purpose"})
	byName := map[string]SpecComparison{}
	for _, s := range c.Specs {
		byName[s.Spec] = s
	}
	cors := byName[specs[0].Spec]
	if cors.State != CompareDifferent || cors.Fields != (FieldCounts{Same: 5, Variant: 1, Unexpected: 1}) {
		t.Errorf("cors: state %s fields %+v", cors.State, cors.Fields)
	}
	var diffs []FieldDifference
	for _, o := range cors.Observations {
		diffs = append(diffs, o.Differences...)
	}
	want := []FieldDifference{
		{Field: "response.header.access-control-allow-origin", Golden: "*", Actual: "https://app.example", Class: DiffVariant, Reason: "echoes the Origin on purpose"},
		{Field: "response.header.vary", Golden: Absent, Actual: "Origin", Class: DiffUnexpected},
	}
	if !reflect.DeepEqual(diffs, want) {
		t.Errorf("cors differences:\n got %+v\nwant %+v", diffs, want)
	}
	exact := byName[specs[1].Spec]
	if exact.State != CompareDifferent || exact.Fields.Unexpected != 3 {
		t.Errorf("exact: %+v", exact)
	}
	if s := byName[specs[2].Spec]; s.State != CompareNotApplicable || s.Reason != "skipped in the golden run" {
		t.Errorf("canary: %+v", s)
	}
	if s := byName["New spec"]; s.State != CompareNotApplicable || s.Reason != "not recorded in the golden run" {
		t.Errorf("new spec: %+v", s)
	}
	if got := c.Summary.Specs; got != (StateCounts{Different: 2, NotApplicable: 2}) {
		t.Errorf("spec summary %+v", got)
	}
	if b := c.Feature("annotations.cors"); b.Behaves != BehavesDiffers || b.Cell() != "differs (1 unexpected, 1 documented)" {
		t.Errorf("cors behaviour %+v %q", b, b.Cell())
	}
	if b := c.Feature("annotations.canary"); b.Behaves != BehavesNA {
		t.Errorf("canary behaviour %+v", b)
	}
	if d := c.Differences(); len(d) != 5 || d[0].Class != DiffUnexpected || d[len(d)-1].Class != DiffVariant {
		t.Errorf("Differences (unexpected first): %+v", d)
	}

	// The golden run compared with itself: every field the same.
	_, same := sampleRecording()
	self := CompareRecording(golden, same, nil)
	if self.Summary.Fields.Unexpected+self.Summary.Fields.Variant != 0 || self.Summary.Specs.Same != 2 {
		t.Errorf("self comparison: %+v", self.Summary)
	}
	if b := self.Feature("annotations.cors"); b.Behaves != BehavesSame {
		t.Errorf("self cors: %+v", b)
	}
}

func TestGoldenInReports(t *testing.T) {
	dir := t.TempDir()
	idx, specs := sampleRecording()
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	golden, _ := ReadRecording(dir)
	_, cur := sampleRecording()
	cur[0].Observations[1].Fields["response.header.access-control-allow-origin"] = "https://app.example"
	r := &ConformanceReport{
		Implementation: Implementation{Name: "reference-nginx", Version: "dev"},
		Tests: []TestResult{
			{Name: specs[0].Spec, Features: []string{"annotations.cors"}, Level: Extended, Result: Passed},
			{Name: specs[1].Spec, Features: []string{"path-rules"}, Level: Core, Result: Passed},
		},
		Annotations: []AnnotationCompat{{Feature: "cors", Declared: AnnotationSupported}},
		Golden:      CompareRecording(golden, cur, nil),
	}
	r.Finalize()
	if a := r.AnnotationFor("cors"); a.Golden == nil || a.Golden.Behaves != BehavesDiffers {
		t.Fatalf("cors compat: %+v", a)
	}
	var md, xml bytes.Buffer
	if err := RenderConformanceMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Behaves like ingress-nginx controller-v1.15.1",
		"| Annotation feature | Result here | Behaves like ingress-nginx controller-v1.15.1 |",
		"| cors | ✅ supported | ❌ differs (1 unexpected) |",
		"### Unexpected differences",
		"| response.header.access-control-allow-origin | `*` | `https://app.example` |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("conformance.md lacks %q:\n%s", want, md.String())
		}
	}
	if err := RenderJUnit(&xml, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="behaves like ingress-nginx controller-v1.15.1" tests="3" failures="1"`, `message="1 unexpected difference(s) from ingress-nginx controller-v1.15.1"`} {
		if !strings.Contains(xml.String(), want) {
			t.Errorf("junit.xml lacks %q:\n%s", want, xml.String())
		}
	}
}

func TestMatrixBehavesColumn(t *testing.T) {
	dir := t.TempDir()
	idx, specs := sampleRecording()
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	golden, _ := ReadRecording(dir)
	root := t.TempDir()
	for name, change := range map[string]string{"same": "*", "differs": "https://app.example"} {
		_, cur := sampleRecording()
		cur[0].Observations[1].Fields["response.header.access-control-allow-origin"] = change
		r := matrixReport(name, "dev", TestResult{Name: specs[0].Spec, Features: []string{"annotations.cors"}, Level: Extended, Result: Passed})
		r.Annotations = []AnnotationCompat{{Feature: "cors", Declared: AnnotationSupported}}
		r.Golden = CompareRecording(golden, cur, nil)
		if err := WriteConformance(filepath.Join(root, name, "dev"), r); err != nil {
			t.Fatal(err)
		}
	}
	m, err := LoadMatrix([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	var md, html bytes.Buffer
	if err := RenderMatrixMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	if err := RenderMatrixHTML(&html, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Behaves like ingress-nginx controller-v1.15.1", "| cors | ❌ differs (1 unexpected) | ✅ same (1 spec) |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("matrix.md lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(html.String(), "<h2>Behaves like ingress-nginx controller-v1.15.1</h2>") || !strings.Contains(html.String(), `<td class="fail">❌ differs (1 unexpected)</td>`) {
		t.Errorf("matrix.html lacks the behaves table:\n%s", html.String())
	}
}

func TestMergeRecording(t *testing.T) {
	dir := t.TempDir()
	idx, specs := sampleRecording()
	idx.Command, idx.Filter = "ingresslab conformance --record x", "annotations"
	if err := WriteRecording(dir, idx, specs); err != nil {
		t.Fatal(err)
	}
	old, err := ReadRecording(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A partial run re-records the canary spec (now passed) and adds one.
	part := RecordingIndex{Implementation: idx.Implementation, Date: idx.Date.Add(time.Hour), Command: "ingresslab conformance --record x --record-merge", Filter: "annotations.canary"}
	again := []*SpecRecording{
		{Spec: "Annotations: canary routes by canary-weight", Features: []string{"annotations.canary"}, Level: Extended, Result: Passed,
			Observations: []Observation{{Key: "GET http://canary.{ns}.test/", Fields: map[string]string{"status": "200"}}}},
		{Spec: "Annotations: canary routes by header", Features: []string{"annotations.canary"}, Level: Extended, Result: Passed,
			Observations: []Observation{{Key: "GET http://canary.{ns}.test/ [X-Canary: always]", Fields: map[string]string{"status": "200"}}}},
	}
	mi, merged, err := MergeRecording(old, part, again)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteRecording(dir, mi, merged); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadRecording(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Specs) != 4 || rec.Specs[again[0].Spec].Result != Passed || rec.Specs[specs[0].Spec] == nil || rec.ObservationCount() != 5 {
		t.Errorf("merged recording: %d specs, %d observations, canary %+v", len(rec.Specs), rec.ObservationCount(), rec.Specs[again[0].Spec])
	}
	if rec.Index.Command != idx.Command+"\n"+part.Command || rec.Index.Filter != "annotations\nannotations.canary" || !rec.Index.Date.Equal(part.Date) {
		t.Errorf("merged index: command %q filter %q date %v", rec.Index.Command, rec.Index.Filter, rec.Index.Date)
	}
	other := part
	other.Implementation.Version = "controller-v1.16.0"
	if _, _, err := MergeRecording(old, other, again); err == nil || !strings.Contains(err.Error(), "nothing to merge into") {
		t.Errorf("merge into another version's recording: %v", err)
	}
}
