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
	// Provider must be "local" (the only provider bench supports so far).
	Provider string
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
	// StepDuration is the length of one open-loop step. Default 2s (quick
	// 500ms).
	StepDuration time.Duration
	// Repetitions of every rate search. Default 3 (quick 1).
	Repetitions int
	// Bisections after the stepped phase. Default 3 (quick 2).
	Bisections int
	// StartRPS is the first offered rate. Default 1000 (quick 500).
	StartRPS float64
	// StepFactor multiplies the rate between steps. Default 2.
	StepFactor float64
	// MaxRPS caps the offered rate. Default 100,000.
	MaxRPS float64
	// Retries is how many invalid steps per search are measured again.
	// Default 1.
	Retries int
	// MaxSteps bounds the stepped phase of one search. Default 10 (quick 5).
	MaxSteps int
	// SLO a rate must meet. Default: success >= 99.9 %, no misroute,
	// p99 <= 25 ms.
	SLO reports.SLO
	// Gates a step must pass to be valid. Default: achieved/offered >=
	// 0.99, generator lag p99 <= 20 ms.
	Gates reports.Gates
	// PropagationEvents is the number of timed changes. Default 120 (quick
	// 15).
	PropagationEvents int
	// ChurnDuration, ChurnRPS and ChurnEvery shape the churn scenario.
	// Defaults 20s, 500 rps, every 1s (quick 5s, 200 rps, 500ms).
	ChurnDuration time.Duration
	ChurnRPS      float64
	ChurnEvery    time.Duration
	// ScaleSizes are the Ingress counts of the scale scenario. Default 100,
	// 1,000, 10,000 (quick 50, 200).
	ScaleSizes []int
	// ManyRoutesHosts x ManyRoutesPaths is the many-routes table. Default
	// 1,000 x 10 (quick 100 x 10).
	ManyRoutesHosts, ManyRoutesPaths int
	// CapacityTargetRPS is the rate the capacity plan is made for. Default
	// 10,000.
	CapacityTargetRPS float64
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
	if o.Provider != "local" {
		return fmt.Errorf("bench: provider %q is not supported (only local: load numbers need the controller on this machine)", o.Provider)
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
	if o.StepDuration <= 0 {
		o.StepDuration = 2 * time.Second
		if o.Quick {
			o.StepDuration = 500 * time.Millisecond
		}
	}
	if o.Repetitions <= 0 {
		o.Repetitions = q(3, 1)
	}
	if o.Bisections <= 0 {
		o.Bisections = q(3, 2)
	}
	if o.StartRPS <= 0 {
		o.StartRPS = float64(q(1000, 500))
	}
	if o.StepFactor <= 1 {
		o.StepFactor = 2
	}
	if o.MaxRPS <= 0 {
		o.MaxRPS = 100000
	}
	if o.Retries <= 0 {
		o.Retries = 1
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = q(10, 5)
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
	if o.ChurnDuration <= 0 {
		o.ChurnDuration = time.Duration(q(20, 5)) * time.Second
	}
	if o.ChurnRPS <= 0 {
		o.ChurnRPS = float64(q(500, 200))
	}
	if o.ChurnEvery <= 0 {
		o.ChurnEvery = time.Duration(q(1000, 500)) * time.Millisecond
	}
	if len(o.ScaleSizes) == 0 {
		o.ScaleSizes = []int{100, 1000, 10000}
		if o.Quick {
			o.ScaleSizes = []int{50, 200}
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
	if _, err := Select(o.Scenarios); err != nil {
		return err
	}
	return nil
}

// Select returns the registry's scenarios named in names (all when names is
// empty), in registry order. Unknown names are an error listing the known
// ones.
func Select(names []string) ([]Scenario, error) {
	all := Registry()
	if len(names) == 0 {
		return all, nil
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
