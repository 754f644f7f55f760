package reports

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// A recording is what one conformance run observed, normalised so that two
// runs (of two controllers, or of one controller on two days) pair up
// observation by observation: `ingresslab conformance --record DIR` writes
// one SpecRecording per spec into DIR/specs and a RecordingIndex into
// DIR/index.yaml; `--compare-to DIR` compares a run with it (CompareRecording).

// Kinds of recording files.
const (
	KindSpecRecording  = "SpecRecording"
	KindRecordingIndex = "RecordingIndex"
)

// RecordingSchema is the version of the recording format inside every
// recording file; a reader refuses other versions. Version 1: observations
// are flat field maps (see Observation).
const RecordingSchema = 1

// Recording file names.
const (
	RecordingIndexFile = "index.yaml"
	RecordingSpecsDir  = "specs"
)

// Observation is one check of a spec: the request it sent and what was
// observed, as a flat map of normalised fields ("status", "body",
// "response.header.location", "upstream.path", ...; the suites' framework
// documents the allow-list). Key pairs observations of two runs: it is the
// normalised request, with " #n" for the n-th check of the same request in
// the spec.
type Observation struct {
	Key string `json:"key"`
	// Check is the kind of check that sent the request (eventually,
	// consistently, hold, poll, within, do); informational.
	Check string `json:"check,omitempty"`
	// Failed is set when the check did not pass: the fields are its last
	// answer.
	Failed bool              `json:"failed,omitempty"`
	Fields map[string]string `json:"fields"`
}

// SpecRecording is everything one spec observed.
type SpecRecording struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Schema     int    `json:"schema"`
	// Spec is the spec's full text (the test name in the reports).
	Spec     string   `json:"spec"`
	Features []string `json:"features,omitempty"`
	Level    Level    `json:"level,omitempty"`
	Result   Result   `json:"result"`
	Variant  string   `json:"variant,omitempty"`
	// Annotations are the annotations of the Ingresses the spec applied
	// ("key=value", normalised, sorted).
	Annotations  []string      `json:"annotations,omitempty"`
	Observations []Observation `json:"observations"`
}

// RecordingIndex describes a recording: whose, when, and what the
// normalisation removed.
type RecordingIndex struct {
	APIVersion        string         `json:"apiVersion"`
	Kind              string         `json:"kind"`
	Schema            int            `json:"schema"`
	Implementation    Implementation `json:"implementation"`
	KubernetesVersion string         `json:"kubernetesVersion,omitempty"`
	Provider          string         `json:"provider,omitempty"`
	Date              time.Time      `json:"date"`
	Command           string         `json:"command,omitempty"`
	Filter            string         `json:"filter,omitempty"`
	// Normalisation lists what was normalised or dropped, one rule a line.
	Normalisation []string     `json:"normalisation"`
	Specs         []IndexEntry `json:"specs"`
}

// IndexEntry is one spec of a recording.
type IndexEntry struct {
	Spec         string `json:"spec"`
	File         string `json:"file"`
	Result       Result `json:"result"`
	Observations int    `json:"observations"`
}

// Recording is a loaded recording: its index and its specs by name.
type Recording struct {
	Dir   string
	Index RecordingIndex
	Specs map[string]*SpecRecording
}

// ObservationCount is the number of observations of every spec.
func (r *Recording) ObservationCount() int {
	n := 0
	for _, s := range r.Specs {
		n += len(s.Observations)
	}
	return n
}

// SpecFile is the file name of a spec's recording: a readable slug of its
// name and a short hash, so names that slug alike stay apart.
func SpecFile(spec string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(spec) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	slug := strings.Trim(b.String(), "-")
	sum := sha256.Sum256([]byte(spec))
	return slug + "-" + hex.EncodeToString(sum[:4]) + ".yaml"
}

// normalize sorts everything a recording file lists, so files are stable.
func (s *SpecRecording) normalize() {
	s.APIVersion, s.Kind, s.Schema = APIVersion, KindSpecRecording, RecordingSchema
	slices.Sort(s.Annotations)
	s.Annotations = slices.Compact(s.Annotations)
	if s.Observations == nil {
		s.Observations = []Observation{}
	}
	for i := range s.Observations {
		if s.Observations[i].Fields == nil {
			s.Observations[i].Fields = map[string]string{}
		}
	}
	slices.SortStableFunc(s.Observations, func(a, b Observation) int { return cmp.Compare(a.Key, b.Key) })
}

// validate checks a spec recording as read.
func (s *SpecRecording) validate(file string) error {
	switch {
	case s.APIVersion != APIVersion:
		return fmt.Errorf("%s: apiVersion %q, want %s", file, s.APIVersion, APIVersion)
	case s.Kind != KindSpecRecording:
		return fmt.Errorf("%s: kind %q, want %s", file, s.Kind, KindSpecRecording)
	case s.Schema != RecordingSchema:
		return fmt.Errorf("%s: schema %d, this ingresslab reads schema %d", file, s.Schema, RecordingSchema)
	case strings.TrimSpace(s.Spec) == "":
		return fmt.Errorf("%s: spec is empty", file)
	}
	seen := map[string]bool{}
	for i, o := range s.Observations {
		if o.Key == "" {
			return fmt.Errorf("%s: observations[%d]: key is empty", file, i)
		}
		if seen[o.Key] {
			return fmt.Errorf("%s: observations[%d]: key %q used twice", file, i, o.Key)
		}
		seen[o.Key] = true
	}
	return nil
}

// WriteRecording writes idx and specs into dir: dir/index.yaml and one
// dir/specs/<SpecFile>.yaml per spec, replacing an earlier recording there
// (its spec files are removed first). Every list is sorted, so recording
// the same behaviour twice gives the same files apart from the index's date
// and command.
func WriteRecording(dir string, idx RecordingIndex, specs []*SpecRecording) error {
	specDir := filepath.Join(dir, RecordingSpecsDir)
	if err := os.RemoveAll(specDir); err != nil {
		return fmt.Errorf("write recording %s: %w", dir, err)
	}
	if err := os.MkdirAll(specDir, 0o755); err != nil {
		return fmt.Errorf("write recording %s: %w", dir, err)
	}
	idx.APIVersion, idx.Kind, idx.Schema = APIVersion, KindRecordingIndex, RecordingSchema
	idx.Date = idx.Date.UTC()
	idx.Specs = idx.Specs[:0:0]
	names := map[string]string{}
	for _, s := range specs {
		s.normalize()
		file := SpecFile(s.Spec)
		if prev, dup := names[file]; dup {
			return fmt.Errorf("write recording %s: specs %q and %q share file %s", dir, prev, s.Spec, file)
		}
		names[file] = s.Spec
		if err := writeYAML(filepath.Join(specDir, file), s); err != nil {
			return fmt.Errorf("write recording %s: %w", dir, err)
		}
		idx.Specs = append(idx.Specs, IndexEntry{Spec: s.Spec, File: RecordingSpecsDir + "/" + file, Result: s.Result, Observations: len(s.Observations)})
	}
	slices.SortFunc(idx.Specs, func(a, b IndexEntry) int { return cmp.Compare(a.Spec, b.Spec) })
	if err := writeYAML(filepath.Join(dir, RecordingIndexFile), idx); err != nil {
		return fmt.Errorf("write recording %s: %w", dir, err)
	}
	return nil
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadRecording loads a recording written by WriteRecording, checking the
// schema of every file and that the index and the spec files agree.
func ReadRecording(dir string) (*Recording, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordingIndexFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recording %s: no %s (record one with `ingresslab conformance --record %s`)", dir, RecordingIndexFile, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", dir, err)
	}
	rec := &Recording{Dir: dir, Specs: map[string]*SpecRecording{}}
	if err := yaml.UnmarshalStrict(b, &rec.Index); err != nil {
		return nil, fmt.Errorf("recording %s: %s: %w", dir, RecordingIndexFile, err)
	}
	idx := rec.Index
	switch {
	case idx.APIVersion != APIVersion || idx.Kind != KindRecordingIndex:
		return nil, fmt.Errorf("recording %s: %s has apiVersion %q kind %q, want %s %s", dir, RecordingIndexFile, idx.APIVersion, idx.Kind, APIVersion, KindRecordingIndex)
	case idx.Schema != RecordingSchema:
		return nil, fmt.Errorf("recording %s: schema %d, this ingresslab reads schema %d", dir, idx.Schema, RecordingSchema)
	}
	for i, e := range idx.Specs {
		if e.File == "" || filepath.IsAbs(e.File) || strings.Contains(e.File, "..") {
			return nil, fmt.Errorf("recording %s: specs[%d] %q: file %q must be a relative path inside the recording", dir, i, e.Spec, e.File)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil {
			return nil, fmt.Errorf("recording %s: specs[%d] %q: %w", dir, i, e.Spec, err)
		}
		var s SpecRecording
		if err := yaml.UnmarshalStrict(data, &s); err != nil {
			return nil, fmt.Errorf("recording %s: %s: %w", dir, e.File, err)
		}
		if err := s.validate(e.File); err != nil {
			return nil, fmt.Errorf("recording %s: %w", dir, err)
		}
		if s.Spec != e.Spec {
			return nil, fmt.Errorf("recording %s: %s records spec %q, the index says %q", dir, e.File, s.Spec, e.Spec)
		}
		if _, dup := rec.Specs[s.Spec]; dup {
			return nil, fmt.Errorf("recording %s: spec %q listed twice", dir, s.Spec)
		}
		rec.Specs[s.Spec] = &s
	}
	return rec, nil
}

// MergeRecording adds a partial run's specs to an earlier recording of the
// same implementation and version: a spec recorded again replaces its old
// file, the others are kept, and the index keeps both commands and filters
// (one a line) with the newer date. It returns what WriteRecording writes.
func MergeRecording(old *Recording, idx RecordingIndex, specs []*SpecRecording) (RecordingIndex, []*SpecRecording, error) {
	oi := old.Index.Implementation
	if oi.Name != idx.Implementation.Name || oi.Version != idx.Implementation.Version {
		return idx, nil, fmt.Errorf("recording %s is of %s %s, not %s %s: nothing to merge into", old.Dir, oi.Name, oi.Version, idx.Implementation.Name, idx.Implementation.Version)
	}
	ran := make(map[string]bool, len(specs))
	for _, s := range specs {
		ran[s.Spec] = true
	}
	out := slices.Clone(specs)
	for name, s := range old.Specs {
		if !ran[name] {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *SpecRecording) int { return cmp.Compare(a.Spec, b.Spec) })
	join := func(a, b string) string { return strings.TrimSpace(a + "\n" + b) }
	idx.Command = join(old.Index.Command, idx.Command)
	idx.Filter = join(old.Index.Filter, idx.Filter)
	return idx, out, nil
}
