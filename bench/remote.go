package bench

import (
	"context"
	"fmt"
	"net"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/bench/generators"
	"github.com/ingresslab/ingresslab/cluster/existing"
	clusterkind "github.com/ingresslab/ingresslab/cluster/kind"
	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

// RemoteOptions configure `bench --provider kind|existing` and the
// distributed load generators (`--generators N`).
type RemoteOptions struct {
	// Address and HTTPSAddress are where this machine reaches the
	// controller (host:port on 127.0.0.1: a node port mapping or a
	// port-forward; the providers' traffic guard allows loopback only).
	// kind defaults: 127.0.0.1:80 and 127.0.0.1:443 (the node's mapped
	// ports). existing: Address is required; without HTTPSAddress the tls
	// scenario is skipped.
	Address, HTTPSAddress string
	// KubeContext is the kubeconfig context (existing). Default: current.
	KubeContext string
	// KindName is the kind cluster's name. Default kind.DefaultClusterName.
	KindName string
	// EchoImage runs the backends. Default: ingresslab's echo image on
	// kind (loaded by `ingresslab kind load`), the Gateway API echo-basic
	// image elsewhere.
	EchoImage string
	// Generators is the number of load generators. Default 1: vegeta in
	// this process. N > 1 runs each load window as an Indexed Job of N
	// Pods (kind and existing providers), each offering 1/N of the rate.
	Generators int
	// GeneratorAddress and GeneratorHTTPSAddress are where generator Pods
	// reach the controller inside the cluster (its Service, host:port).
	// kind default (the reference controller installed from kind/):
	// ingresslab-controller.ingresslab-system.svc:80 and :443; existing:
	// required with Generators > 1.
	GeneratorAddress, GeneratorHTTPSAddress string
	// GeneratorImage runs `ingresslab bench-agent`. Default
	// kind.BenchAgentImage (built by `ingresslab kind images`).
	GeneratorImage string
	// GeneratorStartLead is how far ahead the agreed start instant of a
	// generator Job lies: every Pod must be running by then. Default 30s.
	GeneratorStartLead time.Duration
}

func (r *RemoteOptions) defaults(provider string) error {
	switch provider {
	case "local", "kind", "existing":
	default:
		return fmt.Errorf("bench: unknown provider %q (available: local, kind, existing)", provider)
	}
	if r.Generators == 0 {
		r.Generators = 1
	}
	if r.Generators < 1 || r.Generators > 1000 {
		return fmt.Errorf("bench: --generators %d must be within 1..1000", r.Generators)
	}
	if provider == "local" {
		if r.Generators > 1 {
			return fmt.Errorf("bench: --generators %d runs generator Pods, which need a cluster with nodes: use --provider kind or existing (the local provider has no kubelet)", r.Generators)
		}
		return nil
	}
	if provider == "kind" {
		if r.KindName == "" {
			r.KindName = kind.DefaultClusterName
		}
		if r.Address == "" {
			r.Address = net.JoinHostPort(kind.ListenAddress, fmt.Sprint(kind.NodeHTTPPort))
		}
		if r.HTTPSAddress == "" {
			r.HTTPSAddress = net.JoinHostPort(kind.ListenAddress, fmt.Sprint(kind.NodeHTTPSPort))
		}
		if r.EchoImage == "" {
			r.EchoImage = kind.EchoImage
		}
		if r.GeneratorAddress == "" {
			r.GeneratorAddress = kind.ServiceName + "." + kind.Namespace + ".svc:80"
		}
		if r.GeneratorHTTPSAddress == "" {
			r.GeneratorHTTPSAddress = kind.ServiceName + "." + kind.Namespace + ".svc:443"
		}
	}
	if r.EchoImage == "" {
		r.EchoImage = kind.EchoBasicImage
	}
	for name, a := range map[string]string{"--address": r.Address, "--https-address": r.HTTPSAddress, "--generator-address": r.GeneratorAddress, "--generator-https-address": r.GeneratorHTTPSAddress} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("bench: %s %q is not host:port: %w", name, a, err)
		}
	}
	if r.Address == "" {
		return fmt.Errorf("bench --provider %s: tell the bench where this machine reaches the controller with --address 127.0.0.1:PORT (a node port mapping or kubectl port-forward)", provider)
	}
	if r.Generators > 1 && r.GeneratorAddress == "" {
		return fmt.Errorf("bench --generators %d: tell the generator Pods where the controller's Service is with --generator-address NAME.NAMESPACE.svc:PORT", r.Generators)
	}
	if r.GeneratorImage == "" {
		r.GeneratorImage = kind.BenchAgentImage
	}
	if r.GeneratorStartLead <= 0 {
		r.GeneratorStartLead = 30 * time.Second
	}
	return nil
}

// remoteRun is what a kind or existing run adds to the Env.
type remoteRun struct {
	// dist runs distributed windows (nil: in-process generator).
	dist *generators.Runner
	// labels are the run's labels (for the generator Jobs).
	labels map[string]string
	// jobs counts generator Jobs (their names).
	jobs int
	// notes go to the report.
	notes []string
}

// unsupported says why a scenario cannot run on this run's provider ("" when
// it can): what needs the local provider says so in the report instead of
// failing.
func (e *Env) unsupported(name string) string {
	if e.Opts.Provider == "local" {
		return ""
	}
	switch name {
	case "scale":
		return "needs the local provider: it restarts the controller process and reads its process tree's memory"
	case "churn", "churn-scale":
		return "needs the local provider: it publishes an endpoint as terminating in an EndpointSlice, which on a real cluster follows Pod readiness"
	case "drain", "failover":
		return "needs the local provider: it signals and restarts the controller processes it started"
	case "direct":
		if e.Opts.Remote.Generators <= 1 {
			return "needs the local provider or --generators >= 2: the backend Pods' addresses are not reachable from this machine"
		}
	case "tls":
		if e.Opts.Remote.HTTPSAddress == "" || (e.remote != nil && e.remote.dist != nil && e.Opts.Remote.GeneratorHTTPSAddress == "") {
			return "needs --https-address (and --generator-https-address with --generators >= 2): where the controller serves HTTPS"
		}
	}
	return ""
}

// runRemote runs the bench against a controller already running in a kind
// or existing cluster: backends are echo Deployments in the run's labelled
// namespace (deleted at the end, Ctrl-C included), traffic goes to
// Options.Remote.Address (in-process generator) or to the controller's
// Service from N generator Pods.
func runRemote(ctx context.Context, o Options, prof *profile.Profile, scenarios []Scenario) (*reports.BenchReport, error) {
	r := o.Remote
	rep, e := newRun(o, prof, scenarios)
	e.Progressf("machine: %s, %d cores, GOMAXPROCS %d, load average %.2f", rep.Machine.CPUModel, rep.Machine.Cores, rep.Machine.GOMAXPROCS, rep.Machine.LoadAverage1)
	eo := existing.Options{Kubeconfig: o.Kubeconfig, Context: r.KubeContext, EchoImage: r.EchoImage}
	if o.Provider == "kind" {
		if eo.Kubeconfig == "" {
			eo.Kubeconfig = clusterkind.DefaultKubeconfig(r.KindName)
		}
		eo.Context, eo.Name = "kind-"+r.KindName, "kind"
	}
	e.Progressf("connecting to the %s cluster", o.Provider)
	ep, err := existing.New(ctx, eo)
	if err != nil {
		if o.Provider == "kind" {
			return nil, fmt.Errorf("bench: %w (create the cluster first: ingresslab cluster up --provider kind --install-reference)", err)
		}
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		if err := ep.Destroy(dctx); err != nil {
			e.Progressf("clean-up: %v", err)
		}
	}()
	cfg := ep.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: client: %w", err)
	}
	e.Kube, e.Backends = kube, ep
	rep.Network = "cluster"
	if err := ep.EnsureNamespace(ctx, Namespace); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := launch.EnsureIngressClass(ctx, kube, prof.IngressClass, prof.Controller, ep.RunLabels()); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e.Ctrl = &controllerProc{Controller: &launch.Controller{Profile: prof, HTTPAddr: r.Address, HTTPSAddr: r.HTTPSAddress}}
	e.remote = &remoteRun{labels: ep.RunLabels()}
	if r.Generators > 1 {
		e.remote.dist = &generators.Runner{Kube: kube, Gates: o.Gates, Progress: e.Progressf}
		e.Progressf("%d load generators per window: Indexed Jobs in %s (image %s), controller at %s", r.Generators, Namespace, r.GeneratorImage, r.GeneratorAddress)
	}
	e.Progressf("controller %s at %s (%s cluster %s, run %s)", prof.Name, r.Address, o.Provider, ep.KubernetesVersion(), ep.RunID())
	if anyLoad(scenarios) && r.Generators == 1 {
		e.Progressf("calibrating the load generator against a null in-process target")
		g, err := e.calibrateGenerator(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		e.gen, rep.Machine.Generator = g, g
		e.Progressf("load generator alone: %.0f rps with %d connections", g.MaxRPS, g.Connections)
	}
	if err := e.runScenarios(ctx, rep, scenarios, nil); err != nil && rep.Interrupted == "" {
		return nil, err
	}
	rep.DurationSeconds = time.Since(e.began).Seconds()
	rep.Machine.Noise = e.noise.summary()
	rep.Capacity = reports.PlanCapacity(rep, reports.CapacityOptions{TargetRPS: o.CapacityTargetRPS, CoresPerReplica: o.CapacityCoresPerReplica, Headroom: o.CapacityHeadroom})
	rep.Goals = Goals(rep)
	gen := "the load generator (vegeta) runs in the harness process on this machine and sends to " + r.Address
	if r.Generators > 1 {
		gen = fmt.Sprintf("every load window ran as an Indexed Job of %d generator Pods (ingresslab bench-agent, preferring different nodes) sending to %s, each offering 1/%d of the rate from one agreed start instant; their HDR histograms (3 significant digits) are merged, and every generator's lag and achieved rate is kept and gated", r.Generators, r.GeneratorAddress, r.Generators)
	}
	rep.Notes = append(rep.Notes,
		fmt.Sprintf("provider %s: the controller was already running in the cluster (not launched by the bench); backends are echo Deployments (image %s) in the run's labelled namespace %s, deleted at the end", o.Provider, r.EchoImage, Namespace),
		gen,
		"controller CPU per request is not measured on this provider (its processes are not on this machine): CPU columns say n/a",
	)
	rep.Notes = append(rep.Notes, e.remote.notes...)
	return e.write(rep)
}
