package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPublishCopiesReportsAndWritesMachine(t *testing.T) {
	src, root := t.TempDir(), t.TempDir()
	rep := &ConformanceReport{Implementation: Implementation{Name: "peer x", Version: "v1.2/3"}, Provider: "local", KubernetesVersion: "v1.37.2",
		Date: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Machine: map[string]string{"backendNetwork": "netns"}}
	rep.Finalize()
	if err := WriteConformance(src, rep); err != nil {
		t.Fatal(err)
	}
	dir, err := Publish(PublishOptions{ConformanceDir: src, Root: root, Host: Machine{CPUModel: "cpu", Cores: 2}, Note: "shared", Build: "v1.2.3 from source"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "peer-x", "v1.2-3"); dir != want {
		t.Fatalf("published to %s, want %s", dir, want)
	}
	for _, f := range []string{"conformance.json", "conformance.md", "machine.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	var m map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "machine.json"))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["cpuModel"] != "cpu" || m["backendNetwork"] != "netns" || m["kubernetesVersion"] != "v1.37.2" || m["note"] != "shared" || m["controllerBuild"] != "v1.2.3 from source" {
		t.Errorf("machine.json %v", m)
	}
	// The published folder is readable by the matrix.
	if _, err := LoadMatrix([]string{root}); err != nil {
		t.Fatal(err)
	}
	// A bench report of another controller is refused.
	bsrc := t.TempDir()
	br := sampleBench()
	br.Controller.Name = "other"
	if err := WriteBench(bsrc, br); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(PublishOptions{ConformanceDir: src, BenchDir: bsrc, Root: root}); err == nil || !strings.Contains(err.Error(), `bench report is of "other"`) {
		t.Errorf("bench report of another controller: %v", err)
	}
}

func TestPublishMachineRecordsBenchConditions(t *testing.T) {
	src, bsrc, root := t.TempDir(), t.TempDir(), t.TempDir()
	rep := &ConformanceReport{Implementation: Implementation{Name: "reference", Version: "dev"}, Provider: "local", Date: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	rep.Finalize()
	if err := WriteConformance(src, rep); err != nil {
		t.Fatal(err)
	}
	br := sampleBenchV2()
	br.Machine.IngresslabCommit = "abc123+dirty"
	br.Machine.CPUFlags = []string{"avx2"}
	br.Machine.Binaries = []BinaryDigest{{Role: "harness", Path: "/bin/ingresslab", SHA256: "00ff"}}
	br.Machine.Generator = &GeneratorLimit{MaxRPS: 40000, Connections: 16, BoundMargin: 0.15}
	br.Machine.Noise = &NoiseSummary{Windows: 10, NoisyWindows: 2}
	br.Settings.Connections = []int{4, 16, 64}
	if err := WriteBench(bsrc, br); err != nil {
		t.Fatal(err)
	}
	dir, err := Publish(PublishOptions{ConformanceDir: src, BenchDir: bsrc, Root: root, Host: Machine{CPUModel: "cpu", Cores: 2}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "machine.json"))
	s := string(b)
	for _, want := range []string{`"ingresslabCommit": "abc123+dirty"`, `"sha256": "00ff"`, `"benchGOMAXPROCS": 2`, `"cpuFlags": [`, `"connections": [`, `"benchGenerator": {`, `"noisyWindows": 2`, `"benchSchemaVersion": 2`} {
		if !strings.Contains(s, want) {
			t.Errorf("machine.json lacks %s:\n%s", want, s)
		}
	}
}

// TestPublishMerge: a partial run merged into the published report
// replaces the tests it re-ran (but a skip does not replace a result), adds
// its new ones, keeps the rest, both commands, the sum of the durations and
// the bench files; a report of another version is refused.
func TestPublishMerge(t *testing.T) {
	root := t.TempDir()
	write := func(version string, date time.Time, cmd string, tests ...TestResult) string {
		src := t.TempDir()
		rep := &ConformanceReport{Implementation: Implementation{Name: "peer", Version: version}, Date: date, Command: cmd, Tests: tests,
			DurationSeconds: float64(10 * (date.Day() + 2))}
		rep.Finalize()
		if err := WriteConformance(src, rep); err != nil {
			t.Fatal(err)
		}
		return src
	}
	day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }
	full := write("v1", day(1), "ingresslab conformance --controller peer",
		TestResult{Name: "Paths Prefix", Features: []string{"path-rules"}, Level: Core, Result: Passed},
		TestResult{Name: "Reliability CL+TE", Features: []string{"smuggling"}, Level: Extended, Result: Failed})
	bsrc := t.TempDir()
	br := sampleBench()
	br.Controller.Name = "peer"
	if err := WriteBench(bsrc, br); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(PublishOptions{ConformanceDir: full, BenchDir: bsrc, Root: root, Note: "first"}); err != nil {
		t.Fatal(err)
	}
	partial := write("v1", day(5), "ingresslab conformance --controller peer --label-filter reliability",
		TestResult{Name: "Reliability CL+TE", Features: []string{"smuggling"}, Level: Extended, Result: Passed, Variant: "400"},
		TestResult{Name: "Reliability slowloris", Features: []string{"timeouts"}, Level: Extended, Result: Passed},
		// Skipped by the partial run (another flag): the published pass stays.
		TestResult{Name: "Paths Prefix", Features: []string{"path-rules"}, Level: Core, Result: Skipped, Message: "not run with --multi-class=false"})
	dir, err := Publish(PublishOptions{ConformanceDir: partial, Root: root, Merge: true, Note: "second"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadConformance(filepath.Join(dir, ConformanceJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range got.Tests {
		names = append(names, tr.Name+"="+string(tr.Result))
	}
	if want := "Paths Prefix=passed,Reliability CL+TE=passed,Reliability slowloris=passed"; strings.Join(names, ",") != want {
		t.Errorf("merged tests %s, want %s", strings.Join(names, ","), want)
	}
	if got.DurationSeconds != 30+70 {
		t.Errorf("merged duration %v s, want the sum of both runs (100 s)", got.DurationSeconds)
	}
	if got.Summary.Passed != 3 || !got.Date.Equal(day(5)) || !strings.Contains(got.Command, "--controller peer\n") || !strings.Contains(got.Command, "--label-filter reliability") {
		t.Errorf("merged report: summary %+v, date %v, command %q", got.Summary, got.Date, got.Command)
	}
	if _, err := os.Stat(filepath.Join(dir, "bench.json")); err != nil {
		t.Errorf("the bench was not kept: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "machine.json")); !strings.Contains(string(b), `"note": "first; merged later: second"`) {
		t.Errorf("machine.json lost the first run's note:\n%s", b)
	}
	// The matrix gives each merged run's command on its own.
	m, err := LoadMatrix([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := RenderMatrixMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	if want := "- peer v1: `ingresslab conformance --controller peer`, then `ingresslab conformance --controller peer --label-filter reliability`"; !strings.Contains(md.String(), want) {
		t.Errorf("matrix lacks %q:\n%s", want, md.String())
	}
	other := write("v2", day(5), "x", TestResult{Name: "Paths Prefix", Features: []string{"path-rules"}, Level: Core, Result: Passed})
	if _, err := Publish(PublishOptions{ConformanceDir: other, Root: root, Merge: true}); err == nil || !strings.Contains(err.Error(), "nothing to merge into") {
		t.Errorf("merge into a version never published: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "peer", "v2")); err == nil {
		t.Error("a refused merge left a folder behind")
	}
}

// TestPublishBenchIntoPublishedFolder: --merge with --conformance naming
// the published folder adds the bench and leaves the conformance files
// byte for byte; machine.json keeps what it said and gains the bench's
// conditions. Merging a run again does not repeat its command.
func TestPublishBenchIntoPublishedFolder(t *testing.T) {
	src, root := t.TempDir(), t.TempDir()
	rep := &ConformanceReport{Implementation: Implementation{Name: "peer", Version: "v1"}, Date: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		Command: "ingresslab conformance --controller peer", Machine: map[string]string{"backendNetwork": "netns"},
		Tests: []TestResult{{Name: "Paths Prefix", Features: []string{"path-rules"}, Level: Core, Result: Passed}}}
	rep.Finalize()
	if err := WriteConformance(src, rep); err != nil {
		t.Fatal(err)
	}
	dir, err := Publish(PublishOptions{ConformanceDir: src, Root: root, Note: "first", Build: "v1 from the tag"})
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range publishedFiles["conformance"] {
		if before[f], err = os.ReadFile(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	// The same run merged again: nothing to add, its command not repeated.
	if _, err := Publish(PublishOptions{ConformanceDir: src, Root: root, Merge: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadConformance(filepath.Join(dir, ConformanceJSONFile)); got.Command != rep.Command {
		t.Errorf("merged twice: command %q", got.Command)
	}
	bsrc := t.TempDir()
	br := sampleBenchV2()
	br.Controller.Name = "peer"
	if err := WriteBench(bsrc, br); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(PublishOptions{ConformanceDir: dir, BenchDir: bsrc, Root: root, Merge: true, Note: "bench"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range publishedFiles["conformance"] {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(b, before[f]) {
			t.Errorf("%s changed:\n%s", f, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bench.json")); err != nil {
		t.Error(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "machine.json"))
	for _, want := range []string{`"note": "first; merged later: bench"`, `"controllerBuild": "v1 from the tag"`, `"backendNetwork": "netns"`, `"benchSchemaVersion": 2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("machine.json lacks %s:\n%s", want, b)
		}
	}
}
