package reports

import (
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
