package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

// Run starts the local cluster and the controller, runs the selected
// scenarios and writes the report to Options.ReportDir. A scenario that
// fails is recorded as failed and the others still run; the returned report
// is written even then. The error is non-nil when setup fails, the context
// ends, or the report cannot be written.
func Run(ctx context.Context, o Options) (*reports.BenchReport, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	prof, err := profile.Load(o.Controller)
	if err != nil {
		return nil, err
	}
	scenarios, err := Select(o.Scenarios, len(o.Baselines) > 0)
	if err != nil {
		return nil, err
	}
	if o.Provider != "local" {
		return runRemote(ctx, o, prof, scenarios)
	}
	if !prof.HasLocal() {
		return nil, fmt.Errorf("bench: profile %s has no local section: it cannot run on the local provider", prof.Source)
	}
	rep, e := newRun(o, prof, scenarios)
	e.Progressf("machine: %s, %d cores, GOMAXPROCS %d, load average %.2f", rep.Machine.CPUModel, rep.Machine.Cores, rep.Machine.GOMAXPROCS, rep.Machine.LoadAverage1)
	lo := local.Options{KubeconfigPath: o.Kubeconfig}
	if o.BackendProcesses {
		lo.EchoBinary = filepath.Join(o.BinDir, "ingresslab-echo")
		if _, err := os.Stat(lo.EchoBinary); err != nil {
			return nil, fmt.Errorf("bench: backend processes need %s, which is missing (run make build): %w", lo.EchoBinary, err)
		}
	}
	e.Progressf("starting the local cluster")
	prov, err := local.Start(ctx, lo)
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = prov.Destroy(dctx)
	}()
	rep.Network = string(prov.NetworkMode())
	cfg := prov.RESTConfig()
	cfg.QPS, cfg.Burst = 1000, 2000 // the scale scenario writes thousands of objects
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: client: %w", err)
	}
	e.Kube, e.Backends = kube, prov
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("bench: create namespace %s: %w", Namespace, err)
	}
	lc, err := launch.NewCluster(cfg, prov, map[string]string{"ingresslab.dev/bench": "true"})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e.launcher = lc
	prepared, err := launch.Prepare(ctx, lc, prof, launch.Options{BinDir: o.BinDir, LogDir: filepath.Join(o.ReportDir, "logs"), ReadyTimeout: 2 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer prepared.Close()
	ctrl := &controllerProc{Controller: prepared}
	e.Ctrl = ctrl
	rep.Controller.Flags = ctrl.Flags()
	e.Progressf("starting controller %s", prof.Name)
	if err := ctrl.Start(ctx); err != nil {
		return nil, err
	}
	defer func() { _ = ctrl.Stop(ctx) }()
	rep.Machine.Binaries = binaryDigests(ctx, prepared)
	e.Progressf("binaries: %s", describeBinaries(rep.Machine.Binaries))
	if o.CPUPinning != "" {
		pin, _ := parsePinning(o.CPUPinning) // checked by defaults
		did, err := pin.apply(ctrl.PID())
		if err != nil {
			return nil, fmt.Errorf("bench: CPU pinning: %w", err)
		}
		rep.Machine.CPUPinning = did
		e.Progressf("CPU pinning: %s", did)
	}
	if anyLoad(scenarios) {
		e.Progressf("calibrating the load generator against a null in-process target")
		g, err := e.calibrateGenerator(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		e.gen, rep.Machine.Generator = g, g
		e.Progressf("load generator alone: %.0f rps with %d connections, %.1f harness CPU-µs per request", g.MaxRPS, g.Connections, g.MicrosPerRequest)
	}

	if err := e.runScenarios(ctx, rep, scenarios, func(name string, res *reports.BenchScenario) error {
		proc := ctrl.Process()
		if proc == nil {
			return fmt.Errorf("bench: controller is not running after scenario %s: %s", name, res.Error)
		}
		if exited, _ := proc.Exited(); exited {
			e.Progressf("controller exited: %v", proc.ExitError())
			res.Status = reports.BenchFailed
			res.Error = fmt.Sprintf("controller exited: %v", proc.ExitError())
		}
		return nil
	}); err != nil && rep.Interrupted == "" {
		return nil, err
	}
	rep.DurationSeconds = time.Since(e.began).Seconds()
	rep.Machine.Noise = e.noise.summary()
	rep.Capacity = reports.PlanCapacity(rep, reports.CapacityOptions{TargetRPS: o.CapacityTargetRPS, CoresPerReplica: o.CapacityCoresPerReplica, Headroom: o.CapacityHeadroom})
	rep.Goals = Goals(rep)
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("maxima are closed loop (vegeta with a zero pacer and a bounded worker = connection count, swept over %v connections until %d windows in a row each add less than %.0f %% to the best so far, %d ms windows, %d repetitions); latency and CPU are open loop (constant rate, unbounded workers, through a pool of as many connections as reached the maximum) at %v of each target's own maximum (%v for secondary targets), %d ms windows%s",
			o.Connections, defaultPatience, defaultPlateau*100, o.ClosedLoopDuration.Milliseconds(), o.Repetitions, o.Fractions, o.SecondaryFractions, o.WindowDuration.Milliseconds(), pairsNote(o)),
		fmt.Sprintf("load generator (vegeta) and echo backends run in the harness process (GOMAXPROCS %d); the controller is a separate process tree; a maximum within %.0f %% of the generator's own (null target) is generator-bound and capped", runtime.GOMAXPROCS(0), o.GeneratorMargin*100),
		"controller CPU is its whole process tree (every descendant, every process left in its process group such as a data plane that daemonized, plus reaped children via cutime/cstime) from /proc (10 ms resolution) around each window; backend CPU is the harness process minus the generator's calibrated CPU per request; each window also has how long the threads of the controller's tree, of the harness and of any backend processes were ready to run but waited for a CPU (/proc/PID/task/TID/schedstat)",
		fmt.Sprintf("a window during which processes outside the run used more than %.2f cores is noisy and measured again (at most %d repeats per run); all processes share the same cores", o.NoiseMaxExternalCores, o.NoiseRetries),
	)
	rep.Notes = append(rep.Notes, e.notes...)
	return e.write(rep)
}

// write writes the report to Options.ReportDir. An interrupted run's report
// is written too (the scenarios that finished), and the error says so.
func (e *Env) write(rep *reports.BenchReport) (*reports.BenchReport, error) {
	dir := e.Opts.ReportDir
	if err := reports.WriteBench(dir, rep); err != nil {
		return rep, err
	}
	e.Progressf("report written to %s (%s, %s, %s) in %.0f s", dir, reports.BenchJSONFile, reports.BenchMarkdownFile, reports.BenchHTMLFile, rep.DurationSeconds)
	if rep.Interrupted != "" {
		return rep, fmt.Errorf("bench interrupted (%s): the report of the scenarios that finished is in %s", rep.Interrupted, dir)
	}
	return rep, nil
}

// Goals compares the report with the project's goals for the reference
// controller (goals, not pass/fail criteria). A capped maximum gives no
// ratio, so its goal is not met: it is unknown.
func Goals(r *reports.BenchReport) []reports.GoalResult {
	var g []reports.GoalResult
	if s := r.Scenario("single-route"); s != nil && s.Load != nil && len(s.Load.Comparisons) > 0 {
		c := s.Load.Comparisons[0].Checked(s.Load)
		switch {
		case c.RatioRefused != "":
			g = append(g, reports.GoalResult{Name: "single-route throughput / direct", Target: ">= 0.55", Measured: "unknown: " + c.RatioRefused})
		case c.ThroughputRatio.N > 0:
			g = append(g, reports.GoalResult{Name: "single-route throughput / direct", Target: ">= 0.55", Value: c.ThroughputRatio.Median,
				Measured: fmt.Sprintf("%.2f (%.2f..%.2f)", c.ThroughputRatio.Median, c.ThroughputRatio.Min, c.ThroughputRatio.Max), Met: c.ThroughputRatio.Median >= 0.55})
		}
		if ser := s.Load.SeriesNamed(c.Series); ser != nil {
			if pt := ser.PointAt(0.5); pt != nil && pt.P99Micros.N > 0 {
				g = append(g, reports.GoalResult{Name: "proxied p99 at 50 % of its own max", Target: "<= 1000 µs", Value: pt.P99Micros.Median,
					Measured: fmt.Sprintf("%.0f µs at %.0f rps", pt.P99Micros.Median, pt.RateRPS), Met: pt.P99Micros.Median <= 1000})
			}
		}
	}
	g = append(g, baselineGoals(r)...)
	if s := r.Scenario("propagation"); s != nil && s.Propagation != nil {
		p := s.Propagation
		ms := func(which string) string {
			c := p.Cell(p.FirstCorrectMillis, p.BeyondTimeout, which)
			if strings.HasPrefix(c, ">") { // censored: "> 5 s" carries its unit
				return c
			}
			return c + " ms"
		}
		measured := fmt.Sprintf("%s (p50 %s, %d events, %s)", ms("p99"), ms("p50"), p.Events, p.CensoredText(p.TimedOut, p.Events))
		g = append(g, reports.GoalResult{Name: "propagation p99", Target: "<= 250 ms", Value: p.FirstCorrectMillis.P99,
			Measured: measured, Met: p.FirstCorrectMillis.P99 <= 250 && p.TimedOut == 0})
	}
	if s := r.Scenario("scale"); s != nil && s.Scale != nil && s.Scale.Fit != nil {
		g = append(g, memoryGoal(s.Scale))
	}
	if s := r.Scenario("churn"); s != nil && s.Churn != nil {
		c := s.Churn
		bad := c.Errors + c.Non2xx + c.Misroutes
		g = append(g, reports.GoalResult{Name: "churn errors and misroutes", Target: "0", Value: float64(bad),
			Measured: fmt.Sprintf("%d errors, %d non-2xx, %d misroutes of %d; %d of %d changes applied", c.Errors, c.Non2xx, c.Misroutes, c.Requests, c.ChangesApplied, len(c.Phases)),
			Met:      bad == 0 && c.ChangesApplied == len(c.Phases)})
	}
	g = append(g, reliabilityGoals(r)...)
	limit, name := 900.0, "bench run time"
	if r.Quick {
		limit, name = 90, "bench --quick run time"
	}
	switch {
	case r.Interrupted != "": // an interrupted run's time says nothing of a whole run's
	case hasBaselines(r):
		// The raw engines are extra targets (--baselines): the limit is
		// for the run without them.
		g = append(g, reports.GoalResult{Name: name + " (with raw baselines)", Target: "(reported)", Value: r.DurationSeconds,
			Measured: fmt.Sprintf("%.0f s", r.DurationSeconds), Met: true})
	default:
		g = append(g, reports.GoalResult{Name: name, Target: fmt.Sprintf("<= %.0f s", limit), Value: r.DurationSeconds,
			Measured: fmt.Sprintf("%.0f s", r.DurationSeconds), Met: r.DurationSeconds <= limit})
	}
	return g
}

// memoryGoalBytes is the goal for memory per route (issue 13).
const memoryGoalBytes = 2048

// memoryGoal is the memory per route of the scale fit against
// memoryGoalBytes: the fit of the peaks while serving when the run sampled
// them, else of the one read after serving. A fit with a note (too few
// sizes, a poor fit, no growth) is not a measurement of it.
func memoryGoal(sc *reports.ScaleResult) reports.GoalResult {
	f, what, at := sc.Fit, "after serving them", func(pt reports.ScalePoint) uint64 { return pt.TreeRSSBytes }
	if sc.PeakFit != nil {
		f, what, at = sc.PeakFit, "peak while serving them", func(pt reports.ScalePoint) uint64 { return pt.PeakTreeRSSBytes }
	}
	g := reports.GoalResult{Name: "memory per route (process-tree RSS, least-squares fit)", Target: fmt.Sprintf("<= %d bytes", memoryGoalBytes), Value: f.Slope}
	if f.Note != "" {
		g.Measured = "unknown: " + f.Note
		return g
	}
	last := sc.Points[len(sc.Points)-1]
	g.Measured = fmt.Sprintf("%.0f bytes (R² %.3f over %d sizes; %.0f MiB at %d routes, %s)", f.Slope, f.R2, f.Points, float64(at(last))/(1<<20), last.Routes, what)
	g.Met = f.Slope <= memoryGoalBytes
	return g
}

// hasBaselines reports whether r measured raw engines (series via
// "baseline").
func hasBaselines(r *reports.BenchReport) bool {
	for _, sc := range r.Scenarios {
		if sc.Load == nil {
			continue
		}
		for _, s := range sc.Load.Series {
			if s.Via == "baseline" {
				return true
			}
		}
	}
	return false
}

// anyLoad reports whether a load scenario is selected.
func anyLoad(ss []Scenario) bool {
	return slices.ContainsFunc(ss, func(s Scenario) bool { return s.Kind == reports.BenchKindLoad })
}

// sameRatePairs is Options.SameRatePairs in a run with a raw HAProxy
// baseline (the only peer), else 0: no pair is measured.
func sameRatePairs(o Options) int {
	if !slices.Contains(o.Baselines, goalEngine) {
		return 0
	}
	return o.SameRatePairs
}

// pairsNote is the methodology note's part on same-rate pairs, if any.
func pairsNote(o Options) string {
	n := sameRatePairs(o)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; raw HAProxy's windows at the controller's 50 %% rate run each next to one of the controller's 50 %% windows, %d pairs per repetition", n)
}
