package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/testtools"
	"github.com/ingresslab/ingresslab/reports"
)

// goldenFilter picks a few quick annotation specs for the record/compare
// round trip.
const goldenFilter = "annotations.redirect || annotations.cors || annotations.app-root"

// buildAll builds every command into a temporary folder (the reference
// profile runs {{.Bin}}/ingresslab-controller) and returns the ingresslab
// binary.
func buildAll(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binaries and runs the conformance specs on the local cluster")
	}
	_, err := local.FindBinaries(context.Background(), local.Binaries{})
	testtools.Require(t, err)
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "ingresslab")
}

// conformance runs `ingresslab conformance` with args and returns its
// report and whether it exited 0.
func conformance(t *testing.T, bin string, args ...string) (*reports.ConformanceReport, bool) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report")
	args = append([]string{"conformance", "--multi-class=false", "--label-filter", goldenFilter, "--report-dir", out}, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "INGRESSLAB_STATE_DIR="+t.TempDir())
	log, err := cmd.CombinedOutput()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatalf("%v: %v", args, err)
	}
	rep, rerr := reports.ReadConformance(filepath.Join(out, reports.ConformanceJSONFile))
	if rerr != nil {
		t.Fatalf("%v: %v\n%s", args, rerr, log)
	}
	if rep.Summary.Failed > 0 || rep.Summary.Passed == 0 {
		t.Fatalf("%v: %d passed, %d failed\n%s", args, rep.Summary.Passed, rep.Summary.Failed, log)
	}
	return rep, err == nil
}

// TestRecordAndCompare records the reference controller, compares a second
// run with the recording (no difference, and a byte-identical recording),
// then compares a run with a copy of the recording where two fields were
// changed: one documented as a variant by the run's profile, one not.
func TestRecordAndCompare(t *testing.T) {
	bin := buildAll(t)
	golden := filepath.Join(t.TempDir(), "golden")
	first, _ := conformance(t, bin, "--controller", "reference", "--record", golden)
	rec, err := reports.ReadRecording(golden)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Specs) != len(first.Tests) || rec.ObservationCount() < len(first.Tests) {
		t.Fatalf("recording has %d specs and %d observations for %d tests", len(rec.Specs), rec.ObservationCount(), len(first.Tests))
	}

	again := filepath.Join(t.TempDir(), "again")
	second, ok := conformance(t, bin, "--controller", "reference", "--compare-to", golden, "--record", again, "--fail-on-difference")
	g := second.Golden
	if !ok || g == nil {
		t.Fatalf("compare with its own recording: exit ok %v, comparison %+v", ok, g)
	}
	if g.Summary.Fields.Unexpected != 0 || g.Summary.Fields.Variant != 0 || g.Summary.Specs.Different != 0 || g.Summary.Specs.Same != len(rec.Specs) {
		t.Fatalf("the reference differs from its own recording: %+v\n%+v", g.Summary, g.Differences())
	}
	for _, e := range rec.Index.Specs {
		a, _ := os.ReadFile(filepath.Join(golden, e.File))
		b, err := os.ReadFile(filepath.Join(again, e.File))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("recording of %q is not stable (%v):\n%s\n---\n%s", e.Spec, err, a, b)
		}
	}

	// A golden run that answered the permanent redirect with 308 and the
	// preflight with another Access-Control-Max-Age; the profile documents
	// the second.
	changed := filepath.Join(t.TempDir(), "changed")
	if err := os.CopyFS(changed, os.DirFS(golden)); err != nil {
		t.Fatal(err)
	}
	edit := func(specPart, old, new string) {
		t.Helper()
		for _, e := range rec.Index.Specs {
			if !strings.Contains(e.Spec, specPart) {
				continue
			}
			path := filepath.Join(changed, e.File)
			data, _ := os.ReadFile(path)
			if !bytes.Contains(data, []byte(old)) {
				t.Fatalf("%s has no %q:\n%s", e.File, old, data)
			}
			if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("no recorded spec contains %q", specPart)
	}
	edit("answers permanent-redirect with 301", `status: "301"`, `status: "308"`)
	edit("answers preflights", `response.header.access-control-max-age: "600"`, `response.header.access-control-max-age: "7200"`)
	prof := filepath.Join(t.TempDir(), "reference-variant.yaml")
	base, err := os.ReadFile("../../fixtures/profiles/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	variant := strings.Replace(string(base), "    cors: {}", `    cors:
      variants:
        - field: response.header.access-control-max-age
          check: "OPTIONS *"
          reason: "test: preflights are cached for a different time"`, 1)
	if variant == string(base) {
		t.Fatal("reference.yaml has no `cors: {}` line to extend")
	}
	if err := os.WriteFile(prof, []byte(variant), 0o644); err != nil {
		t.Fatal(err)
	}
	third, ok := conformance(t, bin, "--controller", prof, "--compare-to", changed, "--fail-on-difference")
	if ok {
		t.Error("--fail-on-difference exited 0 with an unexpected difference")
	}
	g = third.Golden
	ds := g.Differences()
	if g.Summary.Fields.Unexpected != 1 || g.Summary.Fields.Variant != 1 || len(ds) != 2 {
		t.Fatalf("want one unexpected difference and one variant: %+v\n%+v", g.Summary, ds)
	}
	if d := ds[0]; d.Class != reports.DiffUnexpected || d.Field != "status" || d.Golden != "308" || d.Actual != "301" || !strings.Contains(d.Spec, "permanent-redirect with 301") {
		t.Errorf("unexpected difference %+v", d)
	}
	if d := ds[1]; d.Class != reports.DiffVariant || d.Golden != "7200" || d.Actual != "600" || !strings.HasPrefix(d.Key, "OPTIONS ") || !strings.Contains(d.Reason, "cached") {
		t.Errorf("variant %+v", d)
	}
	if a := third.AnnotationFor("redirect"); a.Golden == nil || a.Golden.Behaves != reports.BehavesDiffers {
		t.Errorf("redirect compat %+v", a)
	}
	if a := third.AnnotationFor("cors"); a.Golden == nil || a.Golden.Behaves != reports.BehavesVariant {
		t.Errorf("cors compat %+v", a)
	}
}
