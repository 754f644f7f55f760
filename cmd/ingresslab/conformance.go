package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
	"github.com/ingresslab/ingresslab/suites"
	"github.com/ingresslab/ingresslab/suites/framework"
)

type conformanceFlags struct {
	provider, kubeconfig, controller, ingressClass string
	second, controllerBinary, secondBinary         string
	address, httpsAddress, reportDir, labelFilter  string
	features, failOn                               []string
	parallel                                       int
	shard                                          string
	record, compareTo                              string
	recordMerge                                    bool
	failOnDifference                               bool
	multiClass, verbose, reuse, keep               bool
	kindImages                                     []string
	timeouts                                       framework.Timeouts
}

func newConformanceCommand() *cobra.Command {
	var f conformanceFlags
	d := framework.DefaultTimeouts()
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Run the Ingress conformance suites against a controller",
		Long: `Stand up a cluster, start the controller described by a profile, run the Ginkgo conformance
specs against it over real HTTP, and write DIR/conformance.json, DIR/conformance.md and
DIR/junit.xml. The exit status is non-zero when a test of a --fail-on level fails (default:
core only, so a third-party controller's extended results are reported, not fatal).`,
		Example: `  ingresslab conformance --controller reference
  ingresslab conformance --controller ./my-controller.yaml --features path-rules,tls --report-dir out/mine
  ingresslab conformance --controller ingress-nginx --label-filter annotations --record fixtures/golden/ingress-nginx-v1.15.1
  ingresslab conformance --controller reference-nginx --label-filter annotations --compare-to fixtures/golden/ingress-nginx-v1.15.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConformance(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "local", "cluster provider: "+strings.Join(suites.Providers, ", "))
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "local and kind: write the admin kubeconfig here; existing: the cluster's kubeconfig (default $KUBECONFIG)")
	fl.BoolVar(&f.reuse, "reuse", false, "kind: reuse a running cluster of the same name")
	fl.BoolVar(&f.keep, "keep", false, "kind: keep the cluster (and the installed controller) afterwards")
	fl.StringSliceVar(&f.kindImages, "kind-images", []string{"out/images/ingresslab-controller.tar", "out/images/ingresslab-echo.tar"}, "kind: OCI image archives to load into the nodes (see 'ingresslab kind images')")
	fl.StringVar(&f.controller, "controller", "reference", "controller profile: a shipped name ("+strings.Join(profile.Shipped(), ", ")+") or a profile YAML file")
	fl.StringVar(&f.ingressClass, "ingress-class", "", "IngressClass name to use (default: the profile's)")
	fl.StringVar(&f.address, "address", "", "send HTTP requests here instead of the controller's own address (host:port)")
	fl.StringVar(&f.httpsAddress, "https-address", "", "send HTTPS requests here instead of the controller's own address (host:port)")
	fl.StringVar(&f.reportDir, "report-dir", "out", "folder for the reports and controller logs")
	fl.StringSliceVar(&f.features, "features", nil, "only these features ("+strings.Join(suites.Features, ", ")+")")
	fl.StringVar(&f.labelFilter, "label-filter", "", "Ginkgo label filter, e.g. 'core && !tls'")
	fl.StringSliceVar(&f.failOn, "fail-on", []string{string(reports.Core)}, "levels whose failed tests make the exit status non-zero: core, extended, implementation-specific")
	fl.IntVar(&f.parallel, "parallel", 1, "split the specs over N processes, each with its own cluster and controller (local provider)")
	fl.StringVar(&f.shard, "shard", "", "run only shard i/n of the specs (set by --parallel)")
	_ = fl.MarkHidden("shard")
	fl.BoolVar(&f.multiClass, "multi-class", true, "start a second controller (--second) with its own class for the multi-class specs")
	fl.StringVar(&f.second, "second", "reference-second", "local: profile of the second controller for the multi-class specs (a shipped name or a YAML file; its IngressClass and status address must differ)")
	fl.StringVar(&f.controllerBinary, "controller-binary", "", "path of the controller's program, for profiles with local.binary (default: the profile's env var, then PATH)")
	fl.StringVar(&f.secondBinary, "second-binary", "", "path of the second controller's program, for profiles with local.binary")
	fl.StringVar(&f.record, "record", "", "write the run's normalised observations to this folder (index.yaml and one file per spec), to compare other runs with")
	fl.BoolVar(&f.recordMerge, "record-merge", false, "with --record: add this run's specs to the recording already in the folder (same controller and version) instead of replacing it, e.g. to re-record one feature's specs")
	fl.StringVar(&f.compareTo, "compare-to", "", "compare the run with a recording (a --record folder, e.g. fixtures/golden/ingress-nginx-v1.15.1): per spec and field same, different or not applicable, in the reports")
	fl.BoolVar(&f.failOnDifference, "fail-on-difference", false, "with --compare-to: exit non-zero when a difference is not documented as a variant in the profile")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show every spec as it runs")
	fl.DurationVar(&f.timeouts.MaxTimeToConsistency, "timeout-consistency", d.MaxTimeToConsistency, "how long a check may take to converge")
	fl.DurationVar(&f.timeouts.Request, "timeout-request", d.Request, "timeout of one HTTP request")
	fl.DurationVar(&f.timeouts.Create, "timeout-create", d.Create, "timeout for creating objects")
	fl.DurationVar(&f.timeouts.Delete, "timeout-delete", d.Delete, "timeout for deleting a namespace")
	fl.DurationVar(&f.timeouts.Poll, "poll-interval", d.Poll, "wait after a failed check")
	fl.DurationVar(&f.timeouts.NoTrafficWindow, "no-traffic-window", d.NoTrafficWindow, "how long negative checks must hold")
	fl.DurationVar(&f.timeouts.ControllerStart, "timeout-controller-start", d.ControllerStart, "how long the controller may take to become ready")
	fl.IntVar(&f.timeouts.ConsecutiveSuccesses, "consecutive", d.ConsecutiveSuccesses, "correct responses in a row that make a check pass")
	fl.DurationVar(&f.timeouts.SlowHeaders, "timeout-slow-headers", 0, fmt.Sprintf("reliability: how long a slowloris connection may stay open (default: the profile's timeouts.slowHeaders, else %v)", d.SlowHeaders))
	fl.DurationVar(&f.timeouts.SlowBody, "timeout-slow-body", 0, fmt.Sprintf("reliability: how long a connection with a stalled body may stay open (default: the profile's timeouts.slowBody, else %v)", d.SlowBody))
	return cmd
}

func runConformance(cmd *cobra.Command, f conformanceFlags) (err error) {
	if f.parallel < 1 || f.parallel > 8 {
		return fmt.Errorf("--parallel %d: want 1 to 8", f.parallel)
	}
	for _, l := range f.failOn {
		if !slices.Contains([]reports.Level{reports.Core, reports.Extended, reports.ImplementationSpecific}, reports.Level(l)) {
			return fmt.Errorf("--fail-on %q: want core, extended or implementation-specific", l)
		}
	}
	if f.parallel > 1 && f.provider != "local" {
		return fmt.Errorf("--parallel %d: only the local provider can run several clusters at once", f.parallel)
	}
	if f.parallel > 1 && (f.record != "" || f.compareTo != "") {
		return fmt.Errorf("--parallel %d: --record and --compare-to need one process (drop --parallel)", f.parallel)
	}
	if f.recordMerge && f.record == "" {
		return fmt.Errorf("--record-merge goes with --record DIR (the recording to add to)")
	}
	if f.failOnDifference && f.compareTo == "" {
		return fmt.Errorf("--fail-on-difference: needs --compare-to")
	}
	var shard suites.Shard
	if f.shard != "" {
		if shard, err = suites.ParseShard(f.shard); err != nil {
			return err
		}
	}
	p, err := profile.Load(f.controller)
	if err != nil {
		return err
	}
	if _, err := suites.LabelFilter(f.labelFilter, f.features); err != nil {
		return err
	}
	if f.ingressClass != "" {
		p.IngressClass = f.ingressClass
	}
	if err := setBinary(p, f.controllerBinary, "--controller-binary"); err != nil {
		return err
	}
	var second *profile.Profile
	if f.multiClass && f.provider == "local" {
		if second, err = loadSecond(p, f.second, f.secondBinary); err != nil {
			return err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	began := time.Now()
	var rep *reports.ConformanceReport
	if f.parallel > 1 {
		rep, err = runShards(cmd.Context(), cmd.OutOrStdout(), f.parallel, f.reportDir)
	} else {
		rep, err = suites.Run(cmd.Context(), suites.Options{
			Provider: f.provider, Profile: p, Second: second, Reuse: f.reuse, Keep: f.keep, Images: kindImagesFor(f), BinDir: filepath.Dir(exe), Kubeconfig: f.kubeconfig,
			Address: f.address, HTTPSAddress: f.httpsAddress, LabelFilter: f.labelFilter, Features: f.features,
			Timeouts: f.timeouts, ReportDir: f.reportDir, Verbose: f.verbose, Out: cmd.OutOrStdout(),
			Command: "ingresslab " + strings.Join(os.Args[1:], " "), Shard: shard,
			Record: f.record, RecordMerge: f.recordMerge, CompareTo: f.compareTo,
		})
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "\n%s %s: %d passed, %d failed, %d skipped in %.0fs\n", p.Name, p.Version,
		rep.Summary.Passed, rep.Summary.Failed, rep.Summary.Skipped, time.Since(began).Seconds())
	if checks, specs, features := rep.BehaviourChecks(); checks > 0 {
		fmt.Fprintf(out, "Annotation behaviour checks passed: %d in %d specs over %d annotation features\n", checks, specs, features)
	}
	for _, pr := range rep.Profiles {
		fmt.Fprintf(out, "  %-24s %s (%d passed, %d failed, %d skipped)\n", pr.Name, pr.Result, pr.Summary.Passed, pr.Summary.Failed, pr.Summary.Skipped)
	}
	fmt.Fprintf(out, "Reports: %s\n", strings.Join([]string{
		filepath.Join(f.reportDir, "conformance.json"), filepath.Join(f.reportDir, "conformance.md"), filepath.Join(f.reportDir, "junit.xml"),
	}, ", "))
	if f.record != "" {
		fmt.Fprintf(out, "Recording: %s\n", filepath.Join(f.record, reports.RecordingIndexFile))
	}
	if g := rep.Golden; g != nil {
		s := g.Summary
		fmt.Fprintf(out, "Compared with %s (%s): specs %d same, %d different, %d not applicable; fields %d same, %d documented variants, %d unexpected differences\n",
			g.Label(), f.compareTo, s.Specs.Same, s.Specs.Different, s.Specs.NotApplicable, s.Fields.Same, s.Fields.Variant, s.Fields.Unexpected)
	}
	var failed []string
	for _, pr := range rep.Profiles {
		if slices.Contains(f.failOn, string(pr.Name)) && pr.Result == reports.Failure {
			failed = append(failed, fmt.Sprintf("%d %s test(s) failed: %s", len(pr.FailedTests), pr.Name, strings.Join(pr.FailedTests, "; ")))
		}
	}
	if g := rep.Golden; f.failOnDifference && g != nil && g.Summary.Fields.Unexpected > 0 {
		failed = append(failed, fmt.Sprintf("%d unexpected difference(s) from %s (see %s)", g.Summary.Fields.Unexpected, g.Label(), filepath.Join(f.reportDir, "conformance.md")))
	}
	if len(failed) > 0 {
		return exitError{code: 1, msg: strings.Join(failed, "\n")}
	}
	return nil
}

// kindImagesFor returns the archives to load: only for kind, and only the
// reference controller needs ours.
func kindImagesFor(f conformanceFlags) []string {
	if f.provider != "kind" {
		return nil
	}
	return f.kindImages
}

// setBinary pins a profile's program to path (from flag); empty keeps the
// profile's own lookup.
func setBinary(p *profile.Profile, path, flag string) error {
	if path == "" {
		return nil
	}
	if p.Local.Binary == nil {
		return fmt.Errorf("%s %s: profile %s has no local.binary section (its command names its program)", flag, path, p.Name)
	}
	p.Local.Binary.Path = path
	return nil
}

// loadSecond loads the multi-class partner of p and checks the two can run
// side by side.
func loadSecond(p *profile.Profile, name, binary string) (*profile.Profile, error) {
	second, err := profile.Load(name)
	if err != nil {
		return nil, fmt.Errorf("--second: %w", err)
	}
	switch {
	case second.Name == p.Name:
		return nil, fmt.Errorf("--second %s: it has the same name as the controller under test (%s)", name, p.Name)
	case second.IngressClass == p.IngressClass:
		return nil, fmt.Errorf("--second %s: both controllers use IngressClass %q", name, p.IngressClass)
	case second.StatusAddress != "" && second.StatusAddress == p.StatusAddress:
		return nil, fmt.Errorf("--second %s: both controllers publish status address %s", name, p.StatusAddress)
	}
	return second, setBinary(second, binary, "--second-binary")
}
