package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/reports"
)

// Options configure Run. Zero fields take the documented defaults; Quick
// changes several defaults so a whole run stays within about 90 seconds.
type Options struct {
	// Provider is "local" (default: the embedded cluster, the controller
	// launched from its profile on this machine), "kind" (a running kind
	// cluster made by `ingresslab cluster up --provider kind`, reached
	// through its kubeconfig) or "existing" (any cluster, Kubeconfig and
	// KubeContext; Address is required). On kind and existing the
	// controller is already running: the bench only creates echo
	// Deployments, Ingresses and generator Jobs in its labelled namespace,
	// removed at the end. See Remote.
	Provider string
	// Remote configures the kind and existing providers and distributed
	// load generators (ignored by the local provider except Generators).
	Remote RemoteOptions
	// Controller is a shipped profile name or a profile YAML path. Default
	// "reference".
	Controller string
	// BinDir replaces {{.Bin}} in the profile's command (the folder of the
	// ingresslab binaries). Required.
	BinDir string
	// ReportDir receives bench.json, bench.md, bench.html and the controller
	// log. Default "out/bench".
	ReportDir string
	// Scenarios to run by name; default all, in registry order.
	Scenarios []string
	// Quick shortens everything for a smoke test.
	Quick bool
	// Repetitions of every measurement (closed-loop sweep and load
	// fraction). Default 3 (quick 1).
	Repetitions int
	// Connections is the closed-loop sweep that finds each target's
	// maximum (ascending; the last is the configured ceiling). Default 4,
	// 16, 64, 256, 1024 (quick 4, 16, 64).
	Connections []int
	// ClosedLoopDuration is one closed-loop window. Default 2s (quick 1s).
	ClosedLoopDuration time.Duration
	// Fractions of each primary target's own maximum where open-loop
	// latency and CPU are measured. Default 0.25, 0.5, 0.75, 0.9 (quick
	// 0.5, 0.9). SecondaryFractions are for the other targets (TLS, many
	// routes, no keep-alive). Default 0.5 (quick 0.5).
	Fractions, SecondaryFractions []float64
	// WindowDuration is one open-loop window at a fraction. Default 10s
	// (quick 1s): long enough for a stable p99.
	WindowDuration time.Duration
	// SameRatePairs is how many pairs of same-rate windows each repetition
	// measures for a target with a peer (a raw HAProxy baseline): the
	// target's 50 % window and the peer's window at that rate, next to
	// each other. Default 3 (quick 1). One pair's p99 ratio on a shared VM
	// spread from 0.28 to 2.39 in one run: the goal is the median of
	// Repetitions × SameRatePairs pairs. Targets without a peer measure
	// their 50 % window once per repetition.
	SameRatePairs int
	// BackendProcesses runs the local cluster's echo backends as processes
	// of their own (ingresslab-echo from BinDir, each on the socket the
	// cluster opened in its network namespace) instead of inside the
	// harness, beside the load generator: as Pods are, and as the issue 13
	// comparison was first measured. Their CPU is then measured, not
	// estimated, and their scheduling (and garbage collection) is apart
	// from the generator's. Local provider only. Default false.
	BackendProcesses bool
	// GeneratorMargin: a target whose maximum is within this share of the
	// generator's own maximum is generator-bound. Default 0.15.
	GeneratorMargin float64
	// NoiseMaxExternalCores is how much CPU processes outside the run may
	// use during a window before it is noisy. Default 0.25 cores.
	NoiseMaxExternalCores float64
	// NoiseRetries is how many noisy windows the whole run measures again
	// (a budget, so a busy machine cannot stretch the run). Default 10
	// (quick 2).
	NoiseRetries int
	// CPUPinning pins the harness (generator, echo backends) and the
	// controller's process tree to CPU sets: "generator=1,target=0" (CPU
	// lists as taskset takes them). Empty: no pinning.
	CPUPinning string
	// PropagationTimeout censors a propagation event. Default 30s (quick 5s).
	// PropagationBudget bounds the whole scenario (a controller that misses
	// changes costs a timeout per event). Default 3m (quick 30s).
	PropagationTimeout, PropagationBudget time.Duration
	// SLO a rate must meet. Default: success >= 99.9 %, no misroute,
	// p99 <= 25 ms.
	SLO reports.SLO
	// Gates a step must pass to be valid. Default: achieved/offered >=
	// 0.99, generator lag p99 <= 20 ms.
	Gates reports.Gates
	// PropagationEvents is the number of timed changes. Default 120 (quick
	// 15).
	PropagationEvents int
	// PropagationBackground is how many other Ingresses (one host x path
	// route each) are present while propagation is timed: the scenario
	// creates them, waits until they are served and (with a status
	// address in the profile) until each carries it in its status, so the
	// controller's status writes do not compete with the timed changes (the
	// report says how many were pending when the wait's bound ran out),
	// times the changes and removes them again. Default 0: only the changed
	// Ingress.
	PropagationBackground int
	// ChurnDuration, ChurnRPS and ChurnEvery shape the churn scenario: a
	// phase (one change and the traffic after it) lasts at least ChurnEvery
	// and long enough for 1,000 requests at ChurnRPS; ChurnDuration sets the
	// number of whole phases (at least 4, one of each change). Defaults 24s,
	// 500 rps, every 2s (quick 8s, 500 rps, 2s).
	ChurnDuration time.Duration
	ChurnRPS      float64
	ChurnEvery    time.Duration
	// ReliabilityRPS is the constant load of the reliability scenarios
	// (churn-scale, drain, failover) when single-route did not measure the
	// proxied maximum in this run (then they take half of it). Either way
	// at most ReliabilityMaxRPS. Defaults 1,000 and 2,000 rps.
	ReliabilityRPS, ReliabilityMaxRPS float64
	// ChurnScaleChanges is the number of changes of churn-scale. Default
	// 1,000 (quick 40).
	ChurnScaleChanges int
	// ChurnScaleBudget bounds churn-scale's changes: when it is reached,
	// fewer changes are made and the report says so (a controller that
	// reloads for every change can take seconds each). Default 4m (quick
	// 30s).
	ChurnScaleBudget time.Duration
	// ScaleSizes are the Ingress counts of the scale scenario. Default 100,
	// 1,000, 10,000 (quick 50, 100, 200): at least 3 sizes for a fit.
	ScaleSizes []int
	// ManyRoutesHosts x ManyRoutesPaths is the many-routes table. Default
	// 1,000 x 10 (quick 100 x 10).
	ManyRoutesHosts, ManyRoutesPaths int
	// CapacityTargetRPS is the rate the capacity plan is made for. Default
	// 10,000. The plan's SLO is SLO.MaxP99Micros; CapacityCoresPerReplica
	// (default 2) and CapacityHeadroom (default 0.3) shape it.
	CapacityTargetRPS       float64
	CapacityCoresPerReplica float64
	CapacityHeadroom        float64
	// Baselines are raw engines ("haproxy", "nginx": BaselineNames)
	// started beside the controller with a generated configuration for
	// the same routes and measured as extra series of the single-route,
	// post, policy, many-routes and tls scenarios (baselineScenarios; in
	// tls the engine terminates TLS); one of them must be selected; local
	// provider only. With baselines and no Scenarios, the optional
	// scenarios (post, policy) run too. An engine not found on PATH is
	// skipped with a hint in the progress output and the report's notes.
	// Default none.
	Baselines []string
	// BaselineThreads is HAProxy's nbthread and nginx's worker_processes.
	// Default: the CPUs the controller may use (its GOMAXPROCS default: the
	// CPU count, or the --cpus target set).
	BaselineThreads int
	// Kubeconfig, when set, is where the local cluster's kubeconfig goes.
	Kubeconfig string
	// Command is recorded in the report.
	Command string
	// Out receives progress lines. Default io.Discard.
	Out io.Writer
}

func (o *Options) defaults() error {
	if o.Provider == "" {
		o.Provider = "local"
	}
	if err := o.Remote.defaults(o.Provider); err != nil {
		return err
	}
	if o.Controller == "" {
		o.Controller = "reference"
	}
	if o.BinDir == "" {
		return fmt.Errorf("bench: Options.BinDir is empty")
	}
	if o.ReportDir == "" {
		o.ReportDir = "out/bench"
	}
	q := func(full, quick int) int {
		if o.Quick {
			return quick
		}
		return full
	}
	if o.Repetitions <= 0 {
		o.Repetitions = q(3, 1)
	}
	if len(o.Connections) == 0 {
		// 64 connections no longer saturate the reference on 2 cores once
		// the generator got cheaper. 1024 lets a sweep still rising at
		// 256 find its peak: h2 workers are streams, and raw HAProxy's h2
		// was "still rising" at 256 in 2 of 3 repetitions (a ceiling, so
		// no ratio) while at 1024 it fell to 7.3k from 13.5k rps: the peak
		// was at 256. With two flat windows ending a sweep, most sweeps
		// stop at 256 or 1024 (a full run pays about one more 2 s window
		// per target and repetition).
		o.Connections = []int{4, 16, 64, 256, 1024}
		if o.Quick {
			o.Connections = []int{4, 16, 64}
		}
	}
	if !slices.IsSorted(o.Connections) || o.Connections[0] <= 0 {
		return fmt.Errorf("bench: Options.Connections %v must be positive and ascending", o.Connections)
	}
	if o.ClosedLoopDuration <= 0 {
		o.ClosedLoopDuration = time.Duration(q(2000, 1000)) * time.Millisecond
	}
	if len(o.Fractions) == 0 {
		o.Fractions = []float64{0.25, 0.5, 0.75, 0.9}
		if o.Quick {
			o.Fractions = []float64{0.5, 0.9}
		}
	}
	if len(o.SecondaryFractions) == 0 {
		o.SecondaryFractions = []float64{0.5}
	}
	for _, f := range append(slices.Clone(o.Fractions), o.SecondaryFractions...) {
		if f <= 0 || f > 1 {
			return fmt.Errorf("bench: load fraction %v must be in (0, 1]", f)
		}
	}
	if o.WindowDuration <= 0 {
		o.WindowDuration = time.Duration(q(10000, 1000)) * time.Millisecond
	}
	if o.SameRatePairs <= 0 {
		o.SameRatePairs = q(3, 1)
	}
	if o.GeneratorMargin <= 0 {
		o.GeneratorMargin = 0.15
	}
	if o.NoiseMaxExternalCores <= 0 {
		o.NoiseMaxExternalCores = 0.25
	}
	if o.NoiseRetries < 0 {
		o.NoiseRetries = 0
	} else if o.NoiseRetries == 0 {
		o.NoiseRetries = q(10, 2)
	}
	if o.CPUPinning != "" {
		if _, err := parsePinning(o.CPUPinning); err != nil {
			return err
		}
	}
	if o.PropagationTimeout <= 0 {
		o.PropagationTimeout = time.Duration(q(30, 5)) * time.Second
	}
	if o.PropagationBudget <= 0 {
		o.PropagationBudget = time.Duration(q(180, 30)) * time.Second
	}
	if o.ChurnScaleBudget <= 0 {
		o.ChurnScaleBudget = time.Duration(q(240, 30)) * time.Second
	}
	if o.SLO.MinSuccessRatio <= 0 {
		o.SLO.MinSuccessRatio = 0.999
	}
	if o.SLO.MaxP99Micros <= 0 {
		o.SLO.MaxP99Micros = 25000
	}
	if o.Gates.MinAchievedRatio <= 0 {
		o.Gates.MinAchievedRatio = 0.99
	}
	if o.Gates.MaxLagP99Micros <= 0 {
		o.Gates.MaxLagP99Micros = 20000
	}
	if o.PropagationEvents <= 0 {
		o.PropagationEvents = q(120, 15)
	}
	if o.PropagationBackground < 0 {
		return fmt.Errorf("bench: Options.PropagationBackground %d is negative", o.PropagationBackground)
	}
	if o.ChurnDuration <= 0 {
		o.ChurnDuration = time.Duration(q(24, 8)) * time.Second
	}
	if o.ChurnRPS <= 0 {
		o.ChurnRPS = 500
	}
	if o.ChurnEvery <= 0 {
		o.ChurnEvery = 2 * time.Second
	}
	if len(o.ScaleSizes) == 0 {
		o.ScaleSizes = []int{100, 1000, 10000}
		if o.Quick {
			o.ScaleSizes = []int{50, 100, 200}
		}
	}
	if !slices.IsSorted(o.ScaleSizes) || o.ScaleSizes[0] <= 0 {
		return fmt.Errorf("bench: Options.ScaleSizes %v must be positive and ascending", o.ScaleSizes)
	}
	if o.ManyRoutesHosts <= 0 {
		o.ManyRoutesHosts = q(1000, 100)
	}
	if o.ManyRoutesPaths <= 0 {
		o.ManyRoutesPaths = 10
	}
	if o.CapacityTargetRPS <= 0 {
		o.CapacityTargetRPS = 10000
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	sel, err := Select(o.Scenarios, len(o.Baselines) > 0)
	if err != nil {
		return err
	}
	if len(o.Baselines) > 0 {
		if err := checkBaselines(o.Baselines); err != nil {
			return err
		}
		if o.Provider != "local" {
			return fmt.Errorf("bench: baselines %s need --provider local (they run on this machine in front of the echo backend)", strings.Join(o.Baselines, ","))
		}
		if !slices.ContainsFunc(sel, func(s Scenario) bool { return slices.Contains(baselineScenarios, s.Name) }) {
			return fmt.Errorf("bench: baselines %s are measured by the %s scenarios, none of which is selected", strings.Join(o.Baselines, ","), strings.Join(baselineScenarios, ", "))
		}
	}
	if o.BackendProcesses && o.Provider != "local" {
		return fmt.Errorf("bench: backend processes need --provider local (on %s, backends are Pods already)", o.Provider)
	}
	if o.BaselineThreads < 0 {
		return fmt.Errorf("bench: Options.BaselineThreads %d is negative", o.BaselineThreads)
	}
	return nil
}

// Select returns the registry's scenarios named in names, in registry
// order. Empty names select every scenario that is not optional, and the
// optional ones too when withOptional is set (a run with raw baselines).
// Unknown names are an error listing the known ones.
func Select(names []string, withOptional bool) ([]Scenario, error) {
	all := Registry()
	if len(names) == 0 {
		return slices.DeleteFunc(all, func(s Scenario) bool { return s.Optional && !withOptional }), nil
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.ContainsFunc(all, func(s Scenario) bool { return s.Name == n }) {
			return nil, fmt.Errorf("bench: unknown scenario %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		want[n] = true
	}
	var out []Scenario
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Names lists the registry's scenario names in order.
func Names() []string {
	var n []string
	for _, s := range Registry() {
		n = append(n, s.Name)
	}
	return n
}
