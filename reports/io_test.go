package reports

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadConformanceErrors(t *testing.T) {
	cases := []struct {
		name    string
		content string
		is      error
		want    []string
	}{
		{
			name:    "syntax error has line and column",
			content: "{\n  \"apiVersion\": \"ingresslab.dev/v1alpha1\",\n  \"kind\": \"ConformanceReport\",\n  \"tests\": [\n    {\"name\": \"a\",}\n  ]\n}\n",
			want:    []string{"invalid JSON at line 5, column 18"},
		},
		{
			name:    "truncated file",
			content: "{\n  \"apiVersion\": \"ingresslab.dev/v1alpha1\",\n  \"kind\": ",
			want:    []string{"invalid JSON at line 3", "unexpected end of JSON input"},
		},
		{
			name:    "wrong type names the field and line",
			content: "{\"apiVersion\": \"ingresslab.dev/v1alpha1\", \"kind\": \"ConformanceReport\",\n \"durationSeconds\": \"slow\"}",
			want:    []string{"field durationSeconds at line 2", "JSON string cannot be a Go float64"},
		},
		{
			name:    "wrong kind",
			content: `{"apiVersion": "ingresslab.dev/v1alpha1", "kind": "BenchReport"}`,
			is:      ErrWrongKind,
			want:    []string{`kind is "BenchReport", want "ConformanceReport"`},
		},
		{
			name:    "unknown kind",
			content: `{"apiVersion": "ingresslab.dev/v1alpha1", "kind": "Deployment"}`,
			is:      ErrUnknownKind,
			want:    []string{`unknown kind "Deployment": want one of ConformanceReport, BenchReport`},
		},
		{
			name:    "unknown apiVersion",
			content: `{"apiVersion": "ingresslab.dev/v2", "kind": "ConformanceReport"}`,
			is:      ErrUnknownAPIVersion,
			want:    []string{`unknown apiVersion "ingresslab.dev/v2"`, "reads ingresslab.dev/v1alpha1"},
		},
		{
			name:    "not a report",
			content: `{"items": []}`,
			is:      ErrNotReport,
			want:    []string{"apiVersion and kind are missing"},
		},
		{
			name:    "invalid test",
			content: `{"apiVersion": "ingresslab.dev/v1alpha1", "kind": "ConformanceReport", "tests": [{"name": "a", "level": "core", "result": "ok"}]}`,
			want:    []string{`tests[0] "a": result "ok" is not one of passed, failed, skipped`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.content)
			r, err := ReadConformance(path)
			if err == nil {
				t.Fatalf("ReadConformance = %+v, want an error", r)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file %s", msg, path)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", msg, tc.is)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.json")
		_, err := ReadConformance(path)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadConformance(missing) = %v, want ErrNotExist naming %s", err, path)
		}
	})
}

func TestReadKind(t *testing.T) {
	for _, kind := range Kinds {
		path := writeTemp(t, `{"apiVersion": "ingresslab.dev/v1alpha1", "kind": "`+kind+`", "extra": [1, 2]}`)
		got, err := ReadKind(path)
		if err != nil || got != kind {
			t.Errorf("ReadKind(%s) = %q, %v; want %q", kind, got, err, kind)
		}
	}
	path := writeTemp(t, `{"apiVersion": "ingresslab.dev/v1alpha1", "kind": "HTMLReport"}`)
	if _, err := ReadKind(path); !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadKind(unknown) = %v, want ErrUnknownKind naming the file", err)
	}
	path = writeTemp(t, "[")
	if _, err := ReadKind(path); err == nil || !strings.Contains(err.Error(), "line 1, column 1") {
		t.Errorf("ReadKind(bad JSON) = %v, want a located syntax error", err)
	}
}

func TestWriteConformance(t *testing.T) {
	r, err := ReadConformance(filepath.Join("testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out", "run1")
	if err := WriteConformance(dir, r); err != nil {
		t.Fatal(err)
	}
	first := map[string][]byte{}
	for _, name := range []string{ConformanceJSONFile, ConformanceMarkdownFile, JUnitFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		first[name] = data
	}
	// The hand-written testdata is in finalized, canonical form: writing it
	// must reproduce it byte for byte.
	want, _ := os.ReadFile(filepath.Join("testdata", "conformance.json"))
	if !bytes.Equal(first[ConformanceJSONFile], want) {
		t.Errorf("written JSON differs from testdata/conformance.json:\n%s", first[ConformanceJSONFile])
	}
	back, err := ReadConformance(filepath.Join(dir, ConformanceJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("read back differs:\n%+v\n%+v", back, r)
	}
	// Writing again gives identical files and leaves no temporary files.
	if err := WriteConformance(dir, back); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("dir holds %d entries, want 3", len(entries))
	}
	for name, data := range first {
		again, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(again, data) {
			t.Errorf("%s changed on the second write", name)
		}
	}
}

func TestWriteConformanceInvalidWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := &ConformanceReport{Tests: []TestResult{tr("a", Core, Passed), tr("a", Core, Failed)}}
	err := WriteConformance(dir, r)
	if err == nil || !strings.Contains(err.Error(), `tests[1] "a": name already used`) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("WriteConformance(duplicate names) = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dir was created for an invalid report: %v", err)
	}
}
