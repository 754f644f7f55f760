package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/cluster"
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
	if !prof.HasLocal() {
		return nil, fmt.Errorf("bench: profile %s has no local section: it cannot run on the local provider", prof.Source)
	}
	scenarios, err := Select(o.Scenarios)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	rep := &reports.BenchReport{
		Command: o.Command, Started: began, Quick: o.Quick, Provider: o.Provider, Machine: Fingerprint(),
		Controller: reports.BenchController{Name: prof.Name, Version: versionOf(prof), Profile: prof.Source},
		Settings: reports.BenchSettings{SLO: o.SLO, Gates: o.Gates, StepMillis: o.StepDuration.Milliseconds(), Repetitions: o.Repetitions,
			Bisections: o.Bisections, StartRPS: o.StartRPS, StepFactor: o.StepFactor, MaxRPS: o.MaxRPS},
	}
	e := &Env{Opts: o, Profile: prof, began: began, out: o.Out, selected: map[string]bool{}, published: map[string]*cluster.Backend{}}
	for _, s := range scenarios {
		e.selected[s.Name] = true
	}
	e.Progressf("machine: %s, %d cores, GOMAXPROCS %d, load average %.2f", rep.Machine.CPUModel, rep.Machine.Cores, rep.Machine.GOMAXPROCS, rep.Machine.LoadAverage1)
	e.Progressf("starting the local cluster")
	prov, err := local.Start(ctx, local.Options{KubeconfigPath: o.Kubeconfig})
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

	deferred := -1
	for _, s := range scenarios {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e.Progressf("scenario %s: %s", s.Name, s.Description)
		t0 := time.Now()
		res, err := s.Run(ctx, e)
		if errors.Is(err, errDeferred) {
			deferred = len(rep.Scenarios)
			rep.Scenarios = append(rep.Scenarios, reports.BenchScenario{Name: s.Name, Description: s.Description, Kind: s.Kind, Status: reports.BenchSkipped})
			continue
		}
		if res == nil {
			res = &reports.BenchScenario{}
		}
		res.Name, res.Description, res.Kind, res.DurationSeconds = s.Name, s.Description, s.Kind, time.Since(t0).Seconds()
		res.Status = reports.BenchOK
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Status, res.Error = reports.BenchFailed, err.Error()
			res.Load, res.Propagation, res.Churn, res.Scale = nil, nil, nil, nil
			e.Progressf("scenario %s FAILED: %v", s.Name, err)
		}
		proc := ctrl.Process()
		if proc == nil {
			return nil, fmt.Errorf("bench: controller is not running after scenario %s: %s", s.Name, res.Error)
		}
		if exited, _ := proc.Exited(); exited {
			e.Progressf("controller exited: %v", proc.ExitError())
			res.Status = reports.BenchFailed
			res.Error = fmt.Sprintf("controller exited: %v", proc.ExitError())
		}
		rep.Scenarios = append(rep.Scenarios, *res)
	}
	if deferred >= 0 && e.pairedDirect != nil {
		s := &rep.Scenarios[deferred]
		s.Status = reports.BenchOK
		s.Load = &reports.LoadResult{Series: []reports.LoadSeries{*e.pairedDirect}}
		if sr := rep.Scenario("single-route"); sr != nil {
			s.DurationSeconds = sr.DurationSeconds / 2
		}
	}
	rep.DurationSeconds = time.Since(began).Seconds()
	rep.Capacity = reports.PlanCapacity(rep, reports.CapacityOptions{TargetRPS: o.CapacityTargetRPS})
	rep.Goals = Goals(rep)
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("load generator (vegeta, open loop, unbounded workers) and echo backends run in the harness process; the controller is a separate process; GOMAXPROCS of the harness %d", runtime.GOMAXPROCS(0)),
		"all processes share the same cores, and other work on the machine (builds, tests) may have run at the same time: compare only runs from the same session, and prefer the interleaved A/B ratios",
		fmt.Sprintf("controller CPU per request comes from /proc/PID/stat (10 ms resolution) over each %d ms step", o.StepDuration.Milliseconds()),
	)
	if err := reports.WriteBench(o.ReportDir, rep); err != nil {
		return rep, err
	}
	e.Progressf("report written to %s (%s, %s, %s) in %.0f s", o.ReportDir, reports.BenchJSONFile, reports.BenchMarkdownFile, reports.BenchHTMLFile, rep.DurationSeconds)
	return rep, nil
}

// Goals compares the report with the project's goals for the reference
// controller (goals, not pass/fail criteria).
func Goals(r *reports.BenchReport) []reports.GoalResult {
	var g []reports.GoalResult
	if s := r.Scenario("single-route"); s != nil && s.Load != nil && len(s.Load.Comparisons) > 0 {
		c := s.Load.Comparisons[0]
		if c.ThroughputRatio.N > 0 {
			g = append(g, reports.GoalResult{Name: "single-route throughput / direct", Target: ">= 0.55", Value: c.ThroughputRatio.Median,
				Measured: fmt.Sprintf("%.2f (%.2f..%.2f)", c.ThroughputRatio.Median, c.ThroughputRatio.Min, c.ThroughputRatio.Max), Met: c.ThroughputRatio.Median >= 0.55})
		}
		if c.AddedP99Micros.N > 0 {
			g = append(g, reports.GoalResult{Name: "added p99 at 50 % of direct max", Target: "<= 1000 µs", Value: c.AddedP99Micros.Median,
				Measured: fmt.Sprintf("%.0f µs at %.0f rps", c.AddedP99Micros.Median, c.FixedRPS), Met: c.AddedP99Micros.Median <= 1000})
		}
	}
	if s := r.Scenario("propagation"); s != nil && s.Propagation != nil {
		p := s.Propagation
		g = append(g, reports.GoalResult{Name: "propagation p99", Target: "<= 250 ms", Value: p.FirstCorrectMillis.P99,
			Measured: fmt.Sprintf("%.1f ms (p50 %.1f, max %.1f, %d events)", p.FirstCorrectMillis.P99, p.FirstCorrectMillis.P50, p.FirstCorrectMillis.Max, p.Events),
			Met:      p.FirstCorrectMillis.P99 <= 250 && p.TimedOut == 0})
	}
	if s := r.Scenario("churn"); s != nil && s.Churn != nil {
		c := s.Churn
		bad := c.Errors + c.Non2xx + c.Misroutes
		g = append(g, reports.GoalResult{Name: "churn errors and misroutes", Target: "0", Value: float64(bad),
			Measured: fmt.Sprintf("%d errors, %d non-2xx, %d misroutes of %d", c.Errors, c.Non2xx, c.Misroutes, c.Requests), Met: bad == 0})
	}
	limit, name := 600.0, "bench run time"
	if r.Quick {
		limit, name = 90, "bench --quick run time"
	}
	g = append(g, reports.GoalResult{Name: name, Target: fmt.Sprintf("<= %.0f s", limit), Value: r.DurationSeconds,
		Measured: fmt.Sprintf("%.0f s", r.DurationSeconds), Met: r.DurationSeconds <= limit})
	return g
}
