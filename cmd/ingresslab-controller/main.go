// Command ingresslab-controller is the reference Ingress controller. It only
// turns flags into app.Options and runs app.Run; run it with --help for the
// flags and their defaults.
//
// Start-up errors (a bad flag, an unreadable kubeconfig, an unreachable API
// server, a port in use) are printed as one line on stderr and the exit
// status is non-zero (2 for flag errors, 1 otherwise). On SIGTERM or SIGINT
// the controller turns not ready (/readyz 503), keeps serving for
// --shutdown-delay (default 5s in a cluster, 0 with --kubeconfig) so that
// endpoint removal reaches kube-proxy and load balancers, stops accepting
// connections, drains in-flight requests for up to --shutdown-timeout and
// exits 0; a second signal exits at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/controller/dataplane"
	"github.com/ingresslab/ingresslab/controller/gctune"
	"github.com/ingresslab/ingresslab/controller/loop"
	"github.com/ingresslab/ingresslab/controller/procs"
	"github.com/ingresslab/ingresslab/controller/translate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal terminates at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// flagError marks command-line mistakes (exit status 2).
type flagError struct{ error }

// run executes the command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand(stderr)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var fe flagError
	if errors.As(err, &fe) {
		fmt.Fprintf(stderr, "ingresslab-controller: %v (see --help)\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "ingresslab-controller: %v\n", err)
	return 1
}

func newCommand(stderr io.Writer) *cobra.Command {
	var (
		o                   app.Options
		httpsRedirect       bool
		leaderElect         bool
		shutdownDelay       time.Duration
		logLevel, logFormat string
		gcHeadroom          string
		adaptiveProcs       bool
	)
	cmd := &cobra.Command{
		Use:   "ingresslab-controller [flags]",
		Short: "ingresslab's reference Ingress controller",
		Long: `ingresslab-controller serves networking.k8s.io/v1 Ingresses: Ingresses whose
spec.ingressClassName names an IngressClass with spec.controller equal to
--controller-name, Ingresses annotated kubernetes.io/ingress.class: <--ingress-class>,
and Ingresses without a class when one of our IngressClasses is the cluster
default (or with --watch-ingress-without-class).

It proxies HTTP on --http-addr and HTTPS on --https-addr (SNI picks the
certificate, Host picks the route), and serves /healthz, /readyz, /metrics,
/generation, /debug/table and /warnings on --admin-addr.

Configuration comes from --kubeconfig when given, else from the in-cluster
service account. Status (status.loadBalancer.ingress) is written only with
--publish-status-address or --publish-service, and only by the leader when
--leader-elect is on (default: on in a cluster, off with --kubeconfig).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return flagError{fmt.Errorf("unexpected argument %q: this command takes flags only", args[0])}
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := app.NewLogger(stderr, logLevel, logFormat)
			if err != nil {
				return flagError{err}
			}
			slog.SetDefault(logger)
			klog.SetSlogLogger(logger)
			o.Logger = logger
			o.DisableHTTPSRedirect = !httpsRedirect
			if cmd.Flags().Changed("leader-elect") {
				o.LeaderElect = &leaderElect
			}
			if cmd.Flags().Changed("shutdown-delay") {
				o.ShutdownDelay = &shutdownDelay
			}
			headroom, err := parseHeadroom(gcHeadroom)
			if err != nil {
				return flagError{err}
			}
			if headroom > 0 {
				defer gctune.New(gctune.Options{Headroom: headroom, Logger: logger}).Stop()
			}
			if adaptiveProcs {
				defer procs.New(procs.Options{Logger: logger}).Stop()
			}
			return app.Run(cmd.Context(), o)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })

	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file for running outside a cluster (default: in-cluster service account)")
	f.StringVar(&o.ControllerName, "controller-name", translate.DefaultControllerName, "IngressClass spec.controller this controller serves")
	f.StringVar(&o.IngressClass, "ingress-class", translate.DefaultIngressClassName, "value of the legacy kubernetes.io/ingress.class annotation this controller serves")
	f.BoolVar(&o.WatchIngressWithoutClass, "watch-ingress-without-class", false, "also serve Ingresses with neither ingressClassName nor class annotation")
	f.StringVar(&o.AnnotationDialect, "annotation-dialect", "ingresslab", "annotation prefix read from Ingresses: ingresslab (ingresslab.dev/*) or nginx (nginx.ingress.kubernetes.io/*); the other prefix is ignored")
	f.BoolVar(&o.WatchOpaqueSecrets, "watch-opaque-secrets", false, "also cache Opaque Secrets, for basic-auth annotations (auth-secret); without it such Ingresses are denied (503)")
	f.StringVar(&o.WatchNamespace, "watch-namespace", "", "watch Ingresses, Services, EndpointSlices and Secrets in this namespace only (default: all)")
	f.StringVar(&o.HTTPAddr, "http-addr", app.DefaultHTTPAddr, "plain HTTP listen address")
	f.StringVar(&o.HTTPSAddr, "https-addr", app.DefaultHTTPSAddr, "HTTPS listen address")
	f.StringVar(&o.AdminAddr, "admin-addr", app.DefaultAdminAddr, "admin listen address (probes, metrics, debug); use :10254 in a Pod")
	f.BoolVar(&o.Profiling, "profiling", false, "serve Go profiles (net/http/pprof) under /debug/pprof/ on --admin-addr")
	f.StringVar(&o.DefaultCertificate, "default-certificate", "", "namespace/name of a kubernetes.io/tls Secret served for unknown SNI, watched for rotation (default, and while it is missing or invalid: generated self-signed)")
	f.StringVar(&o.DefaultBackendService, "default-backend-service", "", "namespace/name:port of the Service for requests no rule matches (default: built-in 404)")
	f.BoolVar(&httpsRedirect, "https-redirect", true, "redirect plain HTTP to HTTPS (308) for hosts listed in an Ingress's spec.tls")
	f.IntVar(&o.HTTPSRedirectPort, "https-redirect-port", 0, "port written into HTTPS redirects (default: the bound HTTPS port, omitted when 443)")
	f.BoolVar(&o.EnableH2C, "enable-h2c", false, "accept HTTP/2 without TLS (prior knowledge) on --http-addr")
	f.BoolVar(&o.DisableConnLoop, "disable-conn-loop", false, "serve every plain-HTTP connection with net/http's server instead of the data plane's connection loop (for comparisons)")
	f.BoolVar(&o.NetHTTPH2, "net-http-h2", false, "serve HTTP/2 over TLS with net/http's server instead of the data plane's own (for comparisons)")
	f.BoolVar(&o.AllowExternalName, "allow-external-name", false, "route to ExternalName Services")
	f.StringVar(&o.HostOwnership, "host-ownership", string(translate.HostOwnershipAny), "who may add routes to a host: any (the Ingress API's semantics) or first-namespace (the namespace of the oldest Ingress with the host as a rule host; other namespaces' rules, TLS hosts and canaries for it are dropped with a warning)")
	f.DurationVar(&o.UpstreamConnectTimeout, "upstream-connect-timeout", dataplane.DefaultDialTimeout, "bound on connecting to a backend endpoint, unless proxy-connect-timeout is annotated (504)")
	f.DurationVar(&o.UpstreamReadTimeout, "upstream-read-timeout", dataplane.DefaultResponseHeaderTimeout, "bound on waiting for a backend's response head, unless proxy-read-timeout is annotated (504); negative: none")
	f.DurationVar(&o.ClientBodyTimeout, "client-body-timeout", dataplane.DefaultClientBodyTimeout, "bound on one read of a request body from the client, until the backend answers (408); negative: none")
	f.IntVar(&o.MaxResponseHeaderBytes, "max-response-header-bytes", dataplane.DefaultMaxResponseHeaderBytes, "largest backend response head accepted (502 beyond)")
	f.IntVar(&o.MaxConnections, "max-connections", dataplane.DefaultMaxConnections, "client connections open at once on both listeners (more are closed when accepted); negative: no limit")
	f.IntVar(&o.MaxConnectionsPerClient, "max-connections-per-client", 0, "client connections open at once per client IP; 0: no limit (the default: behind a load balancer or NAT many clients share one address)")
	f.StringSliceVar(&o.TrustedProxies, "trusted-proxies", nil, "comma-separated CIDRs or IPs whose X-Forwarded-* headers are kept (default: none)")
	f.StringVar(&o.PublishStatusAddress, "publish-status-address", "", "comma-separated IPs and host names written to our Ingresses' status")
	f.StringVar(&o.PublishService, "publish-service", "", "namespace/name of a Service whose addresses are written to our Ingresses' status")
	f.BoolVar(&leaderElect, "leader-elect", false, "elect one status writer with a Lease (default: on in a cluster, off with --kubeconfig)")
	f.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else the service account's namespace, else \"default\")")
	f.StringVar(&o.LeaderElectionName, "leader-election-name", "", "name of the Lease (default: derived from --controller-name and --ingress-class)")
	f.BoolVar(&o.AccessLog, "access-log", false, "log one line per request")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "log format: json or text")
	f.DurationVar(&shutdownDelay, "shutdown-delay", 0, fmt.Sprintf("after SIGTERM, keep serving this long while /readyz reports not ready, before closing the listeners (default: %v in a cluster, 0 with --kubeconfig)", app.DefaultShutdownDelay))
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", app.DefaultShutdownTimeout, "how long in-flight requests may finish once the listeners are closed (after --shutdown-delay)")
	f.DurationVar(&o.BatchHoldOff, "batch-holdoff", loop.DefaultHoldOff, "rebuild this long after the last change of a burst")
	f.DurationVar(&o.BatchSettle, "batch-settle", 0, "rebuild this long after a change that finds the controller idle (no build within --batch-holdoff); 0: 2ms, or --batch-holdoff if shorter")
	f.DurationVar(&o.BatchMaxDelay, "batch-max-delay", loop.DefaultMaxDelay, "rebuild at most this long after the first change of a burst")
	f.Float32Var(&o.StatusQPS, "status-qps", app.DefaultStatusQPS, "Ingress status writes per second (burst twice that), through their own API client apart from the watches")
	f.StringVar(&gcHeadroom, "gc-headroom", "8Mi", "heap growth allowed between garbage collections (a quantity, e.g. 16Mi), or at least 25 % of the live heap: memory per route is about the live heap's instead of twice it with Go's default; \"off\" leaves GOGC at Go's default, and a GOGC environment variable turns this off")
	f.BoolVar(&adaptiveProcs, "adaptive-procs", true, "match GOMAXPROCS to the CPU in use: lowered every second to the fewest Ps that the CPU used keeps at most 70 % busy (1 at light load), doubled up to Go's default (CPUs, affinity, cgroup quota) when two 20ms samples in a row find them 90 % busy; an idle P costs a thread wake-up and spin per goroutine hand-off; a GOMAXPROCS environment variable turns this off")
	return cmd
}

// parseHeadroom reads --gc-headroom: a positive quantity, or "off" (0).
func parseHeadroom(s string) (uint64, error) {
	if s == "off" {
		return 0, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() <= 0 {
		return 0, fmt.Errorf("--gc-headroom %q: want a positive quantity such as 16Mi, or off", s)
	}
	return uint64(q.Value()), nil
}
