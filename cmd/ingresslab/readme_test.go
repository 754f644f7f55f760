package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeUpToDate fails when README.md's generated tables differ from
// reports/published (a hand edit, or a publish without `make readme`).
func TestReadmeUpToDate(t *testing.T) {
	_, stale, err := readmeUpdate("../../reports/published", "../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("README.md is stale in block(s) %s: run `make readme` (ingresslab report readme)", strings.Join(stale, ", "))
	}
}

func TestReportReadmeCheck(t *testing.T) {
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(t.TempDir(), "README.md")
	edited := strings.Replace(string(src), "| reference dev |", "| reference dev (typed) |", 1)
	if edited == string(src) {
		t.Fatal("README has no reference row to edit")
	}
	if err := os.WriteFile(readme, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"report", "readme", "--published", "../../reports/published", "--readme", readme}
	if code := run(context.Background(), append(args, "--check")); code != 1 {
		t.Fatalf("--check on a stale README exited %d, want 1", code)
	}
	if b, _ := os.ReadFile(readme); string(b) != edited {
		t.Fatal("--check changed the README")
	}
	if code := run(context.Background(), args); code != 0 {
		t.Fatalf("regenerating exited %d", code)
	}
	if b, _ := os.ReadFile(readme); string(b) != string(src) {
		t.Error("regenerated README differs from the repository's")
	}
	if code := run(context.Background(), append(args, "--check")); code != 0 {
		t.Errorf("--check after regenerating exited %d", code)
	}
}
