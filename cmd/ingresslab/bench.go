package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/bench"
	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

func newBenchCommand() *cobra.Command {
	var o bench.Options
	var sloP99 time.Duration
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a controller under load and change (vegeta); reports for capacity planning",
		Long: `Stand up the local cluster, start the controller described by a profile, and run the
benchmark scenarios: each target's closed-loop maximum (a swept, bounded number of
connections), then open-loop latency and CPU (the controller's whole process tree) at fractions
of that maximum, repeated, direct vs proxied interleaved; propagation of Ingress changes
(timeouts censored), traffic during churn (each change checked in traffic), and scale.
A maximum limited by the sweep or by the load generator is reported as "≥ N" and never
turned into a ratio. Writes DIR/bench.json, DIR/bench.md and DIR/bench.html.

With --provider kind or existing the controller already runs in the cluster: the bench creates
echo Deployments and Ingresses in its labelled namespace (deleted at the end) and sends to
--address; scenarios that need the local provider (scale, churn) are skipped with the reason.
--generators N > 1 runs every load window as an Indexed Job of N generator Pods that start at one
agreed instant; their results are merged (counts and rates add, HDR latency histograms merge,
each generator's lag and achieved rate is kept and gated).

Scenarios: ` + strings.Join(bench.Names(), ", ") + `.`,
		Example: `  ingresslab bench --controller reference --report-dir out/bench
  ingresslab bench --provider existing --kubeconfig ~/.kube/config --address 127.0.0.1:8080 \
      --generators 4 --generator-address ingress-nginx-controller.ingress-nginx.svc:80 --controller ingress-nginx
  ingresslab bench --quick --scenario single-route --scenario propagation
  ingresslab report compare out/bench-old/bench.json out/bench/bench.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			o.BinDir = filepath.Dir(exe)
			o.Out = cmd.OutOrStdout()
			o.Command = "ingresslab " + strings.Join(os.Args[1:], " ")
			o.SLO.MaxP99Micros = float64(sloP99.Microseconds())
			rep, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\n%s %s: %d scenarios in %.0f s\n", rep.Controller.Name, rep.Controller.Version, len(rep.Scenarios), rep.DurationSeconds)
			failed := 0
			for _, s := range rep.Scenarios {
				fmt.Fprintf(out, "  %-14s %s\n", s.Name, s.Status)
				if s.Status == reports.BenchFailed {
					failed++
				}
			}
			if c := rep.Capacity; c != nil {
				fmt.Fprintf(out, "  capacity: %.0f rps within p99 %.0f µs need %.1f cores, %d replicas of %.0f cores (N+1), from %s\n", c.TargetRPS, c.SLOP99Micros, c.CoresNeeded, c.Replicas, c.CoresPerReplica, c.Source)
				if c.Warning != "" {
					fmt.Fprintf(out, "  capacity warning: %s\n", c.Warning)
				}
			}
			for _, g := range rep.Goals {
				fmt.Fprintf(out, "  goal %-36s %-12s measured %s (met: %t)\n", g.Name, g.Target, g.Measured, g.Met)
			}
			fmt.Fprintf(out, "Reports: %s\n", strings.Join([]string{
				filepath.Join(o.ReportDir, reports.BenchJSONFile), filepath.Join(o.ReportDir, reports.BenchMarkdownFile), filepath.Join(o.ReportDir, reports.BenchHTMLFile),
			}, ", "))
			if failed > 0 {
				return exitError{code: 1, msg: fmt.Sprintf("%d scenario(s) failed", failed)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Provider, "provider", "local", "cluster provider: local (the controller launched here), kind or existing (the controller already runs in the cluster; see --address)")
	fl.StringVar(&o.Remote.Address, "address", "", "kind/existing: where this machine reaches the controller over HTTP, 127.0.0.1:PORT (kind default 127.0.0.1:80)")
	fl.StringVar(&o.Remote.HTTPSAddress, "https-address", "", "kind/existing: where this machine reaches the controller over HTTPS (kind default 127.0.0.1:443; existing: tls skipped without it)")
	fl.StringVar(&o.Remote.KubeContext, "context", "", "existing: kubeconfig context (default: the current one)")
	fl.StringVar(&o.Remote.KindName, "name", "", "kind: the kind cluster's name (default ingresslab)")
	fl.StringVar(&o.Remote.EchoImage, "echo-image", "", "kind/existing: image of the echo backends (default: ingresslab's on kind, the Gateway API echo-basic elsewhere)")
	fl.IntVar(&o.Remote.Generators, "generators", 1, "load generators: 1 = vegeta in this process; N > 1 = every load window as an Indexed Job of N Pods (kind/existing), each offering 1/N of the rate")
	fl.StringVar(&o.Remote.GeneratorAddress, "generator-address", "", "--generators > 1: the controller's in-cluster address the generator Pods send to (kind default ingresslab-controller.ingresslab-system.svc:80)")
	fl.StringVar(&o.Remote.GeneratorHTTPSAddress, "generator-https-address", "", "--generators > 1: the controller's in-cluster HTTPS address (kind default ...svc:443)")
	fl.StringVar(&o.Remote.GeneratorImage, "generator-image", "", "--generators > 1: image running 'ingresslab bench-agent' (default "+kind.BenchAgentImage+", built by 'ingresslab kind images')")
	fl.DurationVar(&o.Remote.GeneratorStartLead, "generator-start-lead", 0, "--generators > 1: how far ahead each Job's agreed start instant lies; every generator Pod must run by then (default 30s)")
	fl.StringVar(&o.Controller, "controller", "reference", "controller profile: a shipped name ("+strings.Join(profile.Shipped(), ", ")+") or a profile YAML file")
	fl.StringVar(&o.ReportDir, "report-dir", "out/bench", "folder for bench.json, bench.md, bench.html and the controller log")
	fl.StringSliceVar(&o.Scenarios, "scenario", nil, "run only these scenarios (repeatable; default all but post and policy, which run with --baselines or when named): "+strings.Join(bench.Names(), ", "))
	fl.BoolVar(&o.Quick, "quick", false, "smoke run: short windows, one repetition, fewer events and Ingresses (about a minute)")
	fl.IntVar(&o.Repetitions, "repetitions", 0, "repetitions of every closed-loop sweep and load fraction (default 3, 1 with --quick)")
	fl.IntVar(&o.SameRatePairs, "same-rate-pairs", 0, "pairs of same-rate windows per repetition for the p99 goal against raw HAProxy: the controller's 50 % window and HAProxy's at that rate, next to each other (default 3, 1 with --quick)")
	fl.BoolVar(&o.BackendProcesses, "backend-processes", false, "local: run the echo backends as processes of their own (bin/ingresslab-echo, in the cluster's network namespace) instead of inside the harness beside the load generator; their CPU is then measured, not estimated")
	fl.IntSliceVar(&o.Connections, "connections", nil, "closed-loop connection sweep, ascending; the last is the ceiling (default 4,16,64,256,1024; --quick 4,16,64)")
	fl.DurationVar(&o.ClosedLoopDuration, "closed-loop-duration", 0, "one closed-loop window (default 2s, 1s with --quick)")
	fl.Float64SliceVar(&o.Fractions, "fractions", nil, "load fractions of each target's own maximum for latency and CPU (default 0.25,0.5,0.75,0.9; 0.5,0.9 with --quick)")
	fl.Float64SliceVar(&o.SecondaryFractions, "secondary-fractions", nil, "fractions for the secondary targets: TLS, many routes, no keep-alive (default 0.5)")
	fl.DurationVar(&o.WindowDuration, "window", 0, "one open-loop window at a load fraction (default 10s, 1s with --quick)")
	fl.Float64Var(&o.NoiseMaxExternalCores, "noise-max-cores", 0, "CPU (cores) other processes may use during a window before it is noisy and repeated (default 0.25)")
	fl.IntVar(&o.NoiseRetries, "noise-retries", 0, "noisy windows the whole run may repeat (default 10, 2 with --quick; -1: none)")
	fl.StringVar(&o.CPUPinning, "cpus", "", "pin the harness and the controller's process tree: generator=CPUS,target=CPUS (e.g. generator=1,target=0)")
	fl.DurationVar(&o.PropagationTimeout, "propagation-timeout", 0, "a change not seen in traffic by then is censored (default 30s, 5s with --quick)")
	fl.DurationVar(&o.PropagationBudget, "propagation-budget", 0, "time budget of the propagation scenario; fewer events are measured when reached (default 3m, 30s with --quick)")
	fl.IntVar(&o.PropagationBackground, "propagation-background", 0, "other Ingresses (one route each) present while propagation is timed, created before (timing begins once they are served and carry the profile's status address) and removed after (default 0)")
	fl.Float64Var(&o.ReliabilityRPS, "reliability-rps", 0, "load of churn-scale, drain and failover when single-route did not measure the maximum first (then half of it; default 1000)")
	fl.Float64Var(&o.ReliabilityMaxRPS, "reliability-max-rps", 0, "upper bound of that load (default 2000)")
	fl.IntVar(&o.ChurnScaleChanges, "churn-scale-changes", 0, "changes made by churn-scale (default 1000, 40 with --quick)")
	fl.DurationVar(&o.ChurnScaleBudget, "churn-scale-budget", 0, "time budget of churn-scale's changes; fewer changes are made when reached, and the report says so (default 4m, 30s with --quick)")
	fl.DurationVar(&sloP99, "slo-p99", 25*time.Millisecond, "SLO: p99 latency bound of a load fraction (and of the capacity plan)")
	fl.Float64Var(&o.CapacityTargetRPS, "capacity-rps", 0, "target rate of the capacity plan, planned within --slo-p99 (default 10000)")
	fl.Float64Var(&o.CapacityCoresPerReplica, "replica-cores", 0, "CPU limit of one controller replica in the capacity plan (default 2)")
	fl.Float64Var(&o.CapacityHeadroom, "capacity-headroom", 0, "share of CPU kept free in the capacity plan (default 0.3)")
	fl.StringSliceVar(&o.Baselines, "baselines", nil, "raw engines measured beside the controller, with a generated config for the same routes, in single-route, post (4 KiB body), policy (rewrite, CORS, rate limit), many-routes (uniform mix) and tls (TLS terminated by the engine); HAProxy also runs at the controller's 50 % rate through its connection pool, for the same-rate p99 goal; the default scenarios then include post and policy: "+strings.Join(bench.BaselineNames(), ",")+" (found on PATH; skipped with a hint when absent)")
	fl.IntVar(&o.BaselineThreads, "baseline-threads", 0, "HAProxy nbthread and nginx worker_processes of the baselines (default: the CPUs the controller may use)")
	fl.StringVar(&o.Kubeconfig, "kubeconfig", "", "local: write the cluster's admin kubeconfig here; existing: the cluster's kubeconfig (default $KUBECONFIG, ~/.kube/config); kind: default the one 'cluster up --provider kind' wrote")
	return cmd
}
