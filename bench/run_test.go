package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/reports"
)

// TestRunQuick is one real --quick run of two scenarios against the
// reference controller on the local cluster, with the echo backends as
// processes of their own (Options.BackendProcesses; bench-quick in CI runs
// them in-process): the report it writes must be valid and hold real
// measurements, the backends' CPU measured. No speed is asserted.
func TestRunQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster and the controller (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := local.FindBinaries(ctx, local.Binaries{}); err != nil {
		if os.Getenv("INGRESSLAB_REQUIRE_TOOLS") != "" {
			t.Fatal(err)
		}
		t.Skipf("control-plane binaries missing (run `make tools`): %v", err)
	}
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ingresslab/ingresslab/cmd/ingresslab-controller", "github.com/ingresslab/ingresslab/cmd/ingresslab-echo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build controller: %v\n%s", err, out)
	}
	dir := t.TempDir()
	var progress bytes.Buffer
	rep, err := Run(ctx, Options{BinDir: bin, ReportDir: dir, Quick: true, Scenarios: []string{"single-route", "propagation"}, PropagationBackground: 20, BackendProcesses: true, Out: &progress})
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	got, err := reports.ReadBench(filepath.Join(dir, reports.BenchJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Scenarios) != 2 || got.Machine.Cores == 0 || len(got.Controller.Flags) == 0 {
		t.Fatalf("report: %d scenarios, machine %+v, flags %v", len(got.Scenarios), got.Machine, got.Controller.Flags)
	}
	for _, s := range got.Scenarios {
		if s.Status != reports.BenchOK {
			t.Fatalf("scenario %s: %s %s\nprogress:\n%s", s.Name, s.Status, s.Error, progress.String())
		}
	}
	sr := got.Scenario("single-route").Load
	if len(sr.Series) != 2 || sr.Series[0].Via != "direct" || sr.Series[1].Via != "controller" || len(sr.Comparisons) != 1 {
		t.Fatalf("single-route series %+v", sr.Series)
	}
	for _, ser := range sr.Series {
		sat := ser.Saturation
		if sat == nil || len(sat.Sweeps) != 1 || len(sat.Sweeps[0].Points) == 0 || sat.Sweeps[0].Points[0].Requests == 0 {
			t.Fatalf("series %s measured no maximum: %+v", ser.Name, sat)
		}
		if st := sat.Sweeps[0].Points[0]; st.Misroutes != 0 || st.CPU == nil || st.CPU.BackendProcesses != 1 || st.CPU.BackendMicros <= 0 || st.CPU.BackendMicrosEstimate != st.CPU.BackendMicros {
			t.Fatalf("series %s: %d misroutes, CPU %+v (want the one echo process's CPU measured)", ser.Name, st.Misroutes, st.CPU)
		}
		if len(ser.AtLoad) == 0 {
			t.Fatalf("series %s: no load fractions", ser.Name)
		}
	}
	if proxied := sr.Series[1].Saturation.Sweeps[0].Points[0]; proxied.ControllerCPUMicrosPerRequest <= 0 || proxied.ControllerRSSBytes == 0 || proxied.CPU.ControllerProcesses == 0 {
		t.Fatalf("proxied window has no controller measurements: %+v", proxied)
	}
	if got.Machine.Generator == nil || got.Machine.Generator.MaxRPS <= 0 || len(got.Machine.Binaries) == 0 {
		t.Fatalf("machine lacks the generator limit or binaries: %+v", got.Machine)
	}
	pr := got.Scenario("propagation").Propagation
	if pr.Events != 15 || pr.TimedOut != 0 || pr.FirstCorrectMillis.P50 <= 0 || len(pr.ByKind) != 3 || !pr.Censored || pr.BackgroundIngresses != 20 {
		t.Fatalf("propagation %+v", pr)
	}
	for _, f := range []string{reports.BenchMarkdownFile, reports.BenchHTMLFile} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.Contains(string(b), "single-route") {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, reports.BenchMarkdownFile)); !got.Settings.BackendProcesses || !strings.Contains(string(b), "echo backends as processes of their own") {
		t.Fatalf("the report does not say the backends ran as processes (settings %+v)", got.Settings)
	}
	if !strings.Contains(progress.String(), "single-route proxied rep 1 closed loop") || !strings.Contains(progress.String(), "20 background Ingresses served") || rep.DurationSeconds <= 0 {
		t.Fatalf("no progress lines:\n%s", progress.String())
	}
	t.Logf("progress:\n%s", progress.String())
	if dst := os.Getenv("INGRESSLAB_BENCH_KEEP"); dst != "" {
		if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
			t.Log(err)
		}
	}
}

// TestRunBackendProcessesNeedTheEchoBinary: without ingresslab-echo in
// BinDir the run stops before starting anything, naming the file and the
// fix.
func TestRunBackendProcessesNeedTheEchoBinary(t *testing.T) {
	bin := t.TempDir()
	_, err := Run(context.Background(), Options{BinDir: bin, ReportDir: t.TempDir(), Quick: true, Scenarios: []string{"single-route"}, BackendProcesses: true})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(bin, "ingresslab-echo")+", which is missing (run make build)") {
		t.Fatalf("err = %v", err)
	}
}
