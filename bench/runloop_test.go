package bench

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

// An interrupted run (a signal cancels the context) still writes the report
// of the scenarios that finished, marks the one it stopped as failed and
// lists the rest as not run; the error names the report.
func TestInterruptedRunWritesItsReport(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	signal := errors.New("terminated signal received")
	ok := func(context.Context, *Env) (*reports.BenchScenario, error) {
		return &reports.BenchScenario{Propagation: &reports.PropagationResult{Events: 1}}, nil
	}
	scenarios := []Scenario{
		{Name: "propagation", Kind: reports.BenchKindPropagation, Run: ok},
		{Name: "churn", Kind: reports.BenchKindChurn, Run: func(ctx context.Context, _ *Env) (*reports.BenchScenario, error) {
			cancel(signal) // the signal arrives while this scenario runs
			<-ctx.Done()
			return nil, ctx.Err()
		}},
		{Name: "scale", Kind: reports.BenchKindScale, Run: func(context.Context, *Env) (*reports.BenchScenario, error) {
			t.Error("a scenario ran after the interruption")
			return nil, nil
		}},
	}
	dir := t.TempDir()
	o := Options{Controller: "reference", Provider: "local", ReportDir: dir, BinDir: dir, Out: io.Discard, Scenarios: []string{"propagation", "churn", "scale"}}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	rep, e := newRun(o, &profile.Profile{Name: "reference"}, scenarios)
	err := e.runScenarios(ctx, rep, scenarios, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("runScenarios: %v, want context.Canceled", err)
	}
	if !strings.Contains(rep.Interrupted, "terminated signal received") || !strings.Contains(rep.Interrupted, "during scenario churn") {
		t.Errorf("Interrupted = %q, want the cause and the scenario", rep.Interrupted)
	}
	rep.Goals = Goals(rep)
	for _, g := range rep.Goals {
		if strings.Contains(g.Name, "run time") {
			t.Errorf("an interrupted run has a run-time goal: %+v", g)
		}
	}
	_, err = e.write(rep)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("write: %v, want an error naming %s", err, dir)
	}
	got, err := reports.ReadBench(filepath.Join(dir, reports.BenchJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, status, err string }{
		{"propagation", reports.BenchOK, ""},
		{"churn", reports.BenchFailed, "interrupted after"},
		{"scale", reports.BenchSkipped, "not run: the run was interrupted"},
	}
	if len(got.Scenarios) != len(want) {
		t.Fatalf("%d scenarios in the report, want %d", len(got.Scenarios), len(want))
	}
	for i, w := range want {
		s := got.Scenarios[i]
		if s.Name != w.name || s.Status != w.status || !strings.Contains(s.Error, w.err) {
			t.Errorf("scenario %d: %s %s %q, want %s %s containing %q", i, s.Name, s.Status, s.Error, w.name, w.status, w.err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, reports.BenchMarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "**Interrupted: terminated signal received, during scenario churn.**") {
		t.Errorf("the Markdown does not say the run was interrupted:\n%.600s", md)
	}
}
