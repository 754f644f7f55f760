package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// KindBench is the kind of a bench report (its type lives with the bench
// package's report). ReadKind recognises it so callers can dispatch on it.
const KindBench = "BenchReport"

// Kinds lists every report kind this package knows.
var Kinds = []string{KindConformance, KindBench}

// File names WriteConformance writes in its directory.
const (
	ConformanceJSONFile     = "conformance.json"
	ConformanceMarkdownFile = "conformance.md"
	JUnitFile               = "junit.xml"
)

var (
	// ErrNotReport means a JSON document has neither apiVersion nor kind.
	ErrNotReport = errors.New("not an ingresslab report")
	// ErrUnknownAPIVersion means apiVersion is not APIVersion.
	ErrUnknownAPIVersion = errors.New("unknown apiVersion")
	// ErrUnknownKind means kind is not one of Kinds.
	ErrUnknownKind = errors.New("unknown kind")
	// ErrWrongKind means kind is known but not the one the reader wants.
	ErrWrongKind = errors.New("wrong kind")
)

// header is what every report starts with.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// checkHeader checks apiVersion and kind; want "" accepts any known kind.
func checkHeader(apiVersion, kind, want string) error {
	if apiVersion == "" && kind == "" {
		return fmt.Errorf("%w: apiVersion and kind are missing", ErrNotReport)
	}
	if apiVersion != APIVersion {
		return fmt.Errorf("%w %q (kind %q): this ingresslab reads %s", ErrUnknownAPIVersion, apiVersion, kind, APIVersion)
	}
	if !slices.Contains(Kinds, kind) {
		return fmt.Errorf("%w %q: want one of %s", ErrUnknownKind, kind, strings.Join(Kinds, ", "))
	}
	if want != "" && kind != want {
		return fmt.Errorf("%w: kind is %q, want %q", ErrWrongKind, kind, want)
	}
	return nil
}

// WriteConformance finalizes r (see Finalize), validates it, and writes
// dir/conformance.json (indented, keys in a fixed order), dir/conformance.md
// and dir/junit.xml, creating dir if needed. Every file is rendered in memory
// and renamed into place, so a reader never sees a half-written file and an
// invalid report writes nothing.
func WriteConformance(dir string, r *ConformanceReport) error {
	r.Finalize()
	if err := r.Validate(); err != nil {
		return fmt.Errorf("write conformance report to %s: %w", dir, err)
	}
	var js, md, xml bytes.Buffer
	if err := encodeJSON(&js, r); err != nil {
		return fmt.Errorf("write conformance report to %s: %w", dir, err)
	}
	if err := RenderConformanceMarkdown(&md, r); err != nil {
		return fmt.Errorf("write conformance report to %s: %w", dir, err)
	}
	if err := RenderJUnit(&xml, r); err != nil {
		return fmt.Errorf("write conformance report to %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write conformance report: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ConformanceJSONFile, js.Bytes()}, {ConformanceMarkdownFile, md.Bytes()}, {JUnitFile, xml.Bytes()}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("write conformance report: %w", err)
		}
	}
	return nil
}

// EncodeConformanceJSON writes r as indented JSON, exactly as WriteConformance
// does (it does not finalize r).
func EncodeConformanceJSON(w io.Writer, r *ConformanceReport) error {
	return encodeJSON(w, r)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadConformance reads and validates a conformance report. Errors name the
// file and the problem: bad JSON (with line:column), a missing, unknown or
// wrong apiVersion/kind (errors.Is ErrNotReport, ErrUnknownAPIVersion,
// ErrUnknownKind, ErrWrongKind), or an invalid test.
func ReadConformance(path string) (*ConformanceReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read conformance report: %w", err)
	}
	r, err := ParseConformance(data)
	if err != nil {
		return nil, fmt.Errorf("read conformance report %s: %w", path, err)
	}
	return r, nil
}

// ParseConformance is ReadConformance for bytes already in memory; its errors
// do not name a file.
func ParseConformance(data []byte) (*ConformanceReport, error) {
	var h header
	if err := decodeJSON(data, &h); err != nil {
		return nil, err
	}
	if err := checkHeader(h.APIVersion, h.Kind, KindConformance); err != nil {
		return nil, err
	}
	r := new(ConformanceReport)
	if err := decodeJSON(data, r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// ReadKind reads only the apiVersion and kind of the report at path and
// returns the kind, so a caller can dispatch on it (KindConformance,
// KindBench). An unknown kind is an error wrapping ErrUnknownKind.
func ReadKind(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read report kind: %w", err)
	}
	var h header
	err = decodeJSON(data, &h)
	if err == nil {
		err = checkHeader(h.APIVersion, h.Kind, "")
	}
	if err != nil {
		return "", fmt.Errorf("read report kind of %s: %w", path, err)
	}
	return h.Kind, nil
}

// decodeJSON unmarshals data into v and locates syntax and type errors as
// line:column (1-based).
func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("invalid JSON at line %d, column %d: %w", line, col, err)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("field %s at line %d, column %d: JSON %s cannot be a Go %s: %w", field, line, col, typ.Value, typ.Type, err)
	default:
		return fmt.Errorf("invalid JSON: %w", err)
	}
}

// lineCol converts a byte offset into a 1-based line and column (in bytes).
// encoding/json reports the offset just after the offending byte.
func lineCol(data []byte, offset int64) (line, col int) {
	off := int(min(max(offset, 0), int64(len(data))))
	if off > 0 {
		off-- // point at the offending byte, not past it
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = off - bytes.LastIndexByte(before, '\n')
	return line, col
}
