package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// PublishOptions say what to publish where.
type PublishOptions struct {
	// ConformanceDir holds conformance.json and conformance.md (required).
	ConformanceDir string
	// BenchDir holds bench.json and bench.md (optional; same controller).
	BenchDir string
	// Root is the published tree (reports/published); results go to
	// Root/<name>/<version>/.
	Root string
	// Host is this machine's fingerprint (bench.Fingerprint()); the
	// reports' own machine fields win where both say something.
	Host Machine
	// Note is added to machine.json (e.g. "2 cores shared with other
	// builds").
	Note string
	// Build says how the controller under test was built or installed
	// (machine.json "controllerBuild"), for third-party controllers.
	Build string
	// Merge adds the conformance run to the report already published for
	// the same controller and version instead of replacing it: its tests
	// replace those of the same name (a skipped one does not replace a run
	// one), the others stay, both commands are kept, and so are the bench
	// files. For a partial run (say
	// --label-filter reliability) on top of a full one.
	Merge bool
}

// publishedFiles are copied when present.
var publishedFiles = map[string][]string{
	"conformance": {ConformanceJSONFile, "conformance.md"},
	"bench":       {"bench.json", "bench.md", "bench.html"},
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Publish copies a controller's reports into Root/<name>/<version>/ and
// writes machine.json, the fingerprint `report matrix` shows next to them.
// It returns the folder. Stale bench files are removed when BenchDir is
// empty, so a folder never mixes runs.
func Publish(o PublishOptions) (string, error) {
	rep, err := ReadConformance(filepath.Join(o.ConformanceDir, ConformanceJSONFile))
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	var bench *BenchReport
	if o.BenchDir != "" {
		if bench, err = ReadBench(filepath.Join(o.BenchDir, "bench.json")); err != nil {
			return "", fmt.Errorf("publish: %w", err)
		}
		if bench.Controller.Name != rep.Implementation.Name {
			return "", fmt.Errorf("publish: bench report is of %q, conformance report of %q", bench.Controller.Name, rep.Implementation.Name)
		}
	}
	version := rep.Implementation.Version
	if version == "" {
		version = "unknown"
	}
	dir := filepath.Join(o.Root, unsafeName.ReplaceAllString(rep.Implementation.Name, "-"), unsafeName.ReplaceAllString(version, "-"))
	machine := map[string]any{}
	// --merge with --conformance naming the published folder itself adds
	// only the bench: the published conformance files stay byte for byte.
	inPlace := o.Merge && sameFolder(o.ConformanceDir, dir)
	if inPlace {
		if b, err := os.ReadFile(filepath.Join(dir, "machine.json")); err == nil {
			if err := json.Unmarshal(b, &machine); err != nil {
				return "", fmt.Errorf("publish: %s: %w", filepath.Join(dir, "machine.json"), err)
			}
		}
	}
	if o.Merge && !inPlace {
		if rep, err = mergeInto(dir, rep); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp("", "ingresslab-publish-")
		if err != nil {
			return "", fmt.Errorf("publish: %w", err)
		}
		defer os.RemoveAll(tmp)
		if err := WriteConformance(tmp, rep); err != nil {
			return "", fmt.Errorf("publish: %w", err)
		}
		o.ConformanceDir = tmp
		if b, err := os.ReadFile(filepath.Join(dir, "machine.json")); err == nil {
			if err := json.Unmarshal(b, &machine); err != nil {
				return "", fmt.Errorf("publish: %s: %w", filepath.Join(dir, "machine.json"), err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	for _, f := range publishedFiles["conformance"] {
		if inPlace {
			break
		}
		if err := copyFile(filepath.Join(o.ConformanceDir, f), filepath.Join(dir, f)); err != nil {
			return "", err
		}
	}
	for _, f := range publishedFiles["bench"] {
		dst := filepath.Join(dir, f)
		if bench == nil && o.Merge {
			continue // the published bench stays with the merged report
		}
		if bench == nil {
			if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("publish: %w", err)
			}
			continue
		}
		if err := copyFile(filepath.Join(o.BenchDir, f), dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	m := machine
	for k, v := range map[string]any{
		"cpuModel": o.Host.CPUModel, "cores": o.Host.Cores, "platform": o.Host.Platform, "kernel": o.Host.Kernel,
		"memTotalBytes": o.Host.MemTotalBytes, "goVersion": o.Host.GoVersion, "os": osRelease(),
	} {
		m[k] = v
	}
	for k, v := range rep.Machine {
		m[k] = v
	}
	m["kubernetesVersion"], m["provider"], m["date"] = rep.KubernetesVersion, rep.Provider, rep.Date.UTC().Format(time.RFC3339)
	if bench != nil {
		bm := bench.Machine
		m["benchLoadAverage1"] = bm.LoadAverage1
		m["benchDate"] = bench.Started.UTC().Format(time.RFC3339)
		m["benchQuick"] = bench.Quick
		m["benchSchemaVersion"] = bench.SchemaVersion
		// What the bench numbers depend on: the harness build, every binary,
		// the Go scheduler and worker counts, the CPU, the settings, the
		// generator's own limit and the machine's load during the windows.
		m["benchGOMAXPROCS"] = bm.GOMAXPROCS
		m["benchCPUPinning"] = bm.CPUPinning
		m["benchSettings"] = bench.Settings
		for k, v := range map[string]any{"ingresslabCommit": bm.IngresslabCommit, "cpuFlags": bm.CPUFlags, "binaries": bm.Binaries, "benchGenerator": bm.Generator, "benchNoise": bm.Noise} {
			if !isEmpty(v) {
				m[k] = v
			}
		}
		if o.Host.CPUModel == "" && bm.CPUModel != "" {
			m["cpuModel"], m["cores"] = bm.CPUModel, bm.Cores
		}
	}
	if o.Note != "" {
		if prev, ok := m["note"].(string); ok && o.Merge && prev != "" {
			o.Note = prev + "; merged later: " + o.Note // the first run's conditions stay stated
		}
		m["note"] = o.Note
	}
	if o.Build != "" {
		m["controllerBuild"] = o.Build
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "machine.json"), append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	return dir, nil
}

// sameFolder reports whether a and b name one folder.
func sameFolder(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	return err == nil && os.SameFile(ai, bi)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// osRelease is PRETTY_NAME from /etc/os-release ("" when unknown).
func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// isEmpty reports whether a machine.json value carries nothing.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	case []BinaryDigest:
		return len(x) == 0
	case *GeneratorLimit:
		return x == nil
	case *NoiseSummary:
		return x == nil
	}
	return v == nil
}

// mergeInto merges add into the conformance report published in dir: the
// tests of add replace those of the same name and the others are kept,
// except that a test add skipped does not replace one the published report
// ran (passed or failed): a partial run that could not run a test (another
// flag, a missing tool) says nothing new about it. The merged report's
// duration is the sum of both runs'.
func mergeInto(dir string, add *ConformanceReport) (*ConformanceReport, error) {
	old, err := ReadConformance(filepath.Join(dir, ConformanceJSONFile))
	if err != nil {
		return nil, fmt.Errorf("publish --merge: nothing to merge into: %w", err)
	}
	if old.Implementation.Name != add.Implementation.Name || old.Implementation.Version != add.Implementation.Version {
		return nil, fmt.Errorf("publish --merge: %s holds %s %s, the new report is of %s %s", dir,
			old.Implementation.Name, old.Implementation.Version, add.Implementation.Name, add.Implementation.Version)
	}
	out := *old
	out.Tests = slices.Clone(old.Tests)
	at := map[string]int{}
	for i, t := range out.Tests {
		at[t.Name] = i
	}
	for _, t := range add.Tests {
		if i, ok := at[t.Name]; ok {
			if t.Result != Skipped || out.Tests[i].Result == Skipped {
				out.Tests[i] = t
			}
			continue
		}
		at[t.Name] = len(out.Tests)
		out.Tests = append(out.Tests, t)
	}
	out.Command = old.Command
	// A run merged again (or a report merged into itself) adds its command
	// once, and its duration only when it brought a new command.
	newRun := false
	for _, line := range strings.Split(add.Command, "\n") {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(strings.Split(out.Command, "\n"), line) {
			out.Command = strings.TrimSpace(out.Command + "\n" + line)
			newRun = true
		}
	}
	if newRun {
		out.DurationSeconds = old.DurationSeconds + add.DurationSeconds
	}
	if add.Date.After(old.Date) {
		out.Date = add.Date
	}
	return &out, nil
}
