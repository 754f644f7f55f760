// Package app assembles the reference Ingress controller from its parts:
// source (informers) -> loop (translate, publish) -> dataplane, with status
// (leader-elected status writer) and admin (probes, metrics, debug views).
// The binary cmd/ingresslab-controller and the integration tests both start
// the controller through Start (or Run), so the tests exercise exactly what
// ships.
//
// Start order: options are validated, the API server is contacted once (so
// a wrong kubeconfig fails at start-up), the data plane and admin listeners
// are bound (so a port in use fails at start-up), then informers, the status
// writer and the control loop run in the background. Until the first table
// is published the data plane answers 503 and /readyz reports not ready.
// With --publish-service the first build also waits for that Service's
// watch to sync, so statuses are never cleared for lack of addresses.
//
// --default-backend-service and --default-certificate go to translate
// (Options.DefaultBackend, Options.DefaultCertificate): the Service and the
// Secret are read from the source's snapshot like any backend or TLS Secret,
// so a changed Service or a rotated Secret takes effect with the next build.
// The loop hands each build's default certificate to the data plane
// (dataplane.Server.SetDefaultCertificate) before publishing the table; a
// missing or invalid Secret serves a generated self-signed certificate and
// is reported as a warning on the Secret.
//
// Shutdown order: the data plane turns not ready (/readyz 503), keeps
// serving for Options.ShutdownDelay, stops accepting and drains in-flight
// requests up to Options.ShutdownTimeout; then the loop, status writer
// (releasing its Lease) and informers stop, pending Events are flushed, and
// the admin server stops last.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"

	"github.com/ingresslab/ingresslab/controller/admin"
	"github.com/ingresslab/ingresslab/controller/dataplane"
	"github.com/ingresslab/ingresslab/controller/loop"
	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/source"
	"github.com/ingresslab/ingresslab/controller/status"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// EventComponent is the source.component of the Events the controller
// emits.
const EventComponent = "ingresslab-controller"

// The parts fit the interfaces they are consumed through.
var (
	_ loop.Source          = (*source.Source)(nil)
	_ loop.Publisher       = (*dataplane.Server)(nil)
	_ loop.CertificateSink = (*dataplane.Server)(nil)
	_ loop.StatusSink      = (*status.Writer)(nil)
	_ admin.TableSource    = (*dataplane.Server)(nil)
	_ admin.WarningSource  = (*loop.Loop)(nil)
	_ status.AddressSource = (*status.ServiceAddresses)(nil)
)

// apiCheckTimeout bounds the start-up request to the API server.
const apiCheckTimeout = 15 * time.Second

// Controller is a running controller.
type Controller struct {
	cfg    *config
	log    *slog.Logger
	client kubernetes.Interface
	// statusClient writes Ingress statuses, with its own rate limiter.
	statusClient kubernetes.Interface
	metrics      *metrics.Metrics
	dp           *dataplane.Server
	admin        *admin.Server
	src          *source.Source
	loop         *loop.Loop
	writer       *status.Writer
	addresses    *status.ServiceAddresses // nil without --publish-service
	events       record.EventBroadcaster

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errc   chan error // fatal errors of background parts
	once   sync.Once
	err    error
}

// Run starts the controller, serves until ctx ends (or a background part
// fails), then shuts down gracefully. It returns start-up errors and fatal
// errors; an incomplete drain at shutdown is logged, not returned.
func Run(ctx context.Context, opts Options) error {
	c, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		c.log.Info("shutting down", slog.Any("cause", context.Cause(ctx)))
	case runErr = <-c.errc:
		c.log.Error("controller failed; shutting down", slog.Any("error", runErr))
	}
	// The delay and the drain are bounded by their options; the rest by a
	// few seconds.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.shutdownDelay+c.cfg.ShutdownTimeout+10*time.Second)
	defer cancel()
	if err := c.Shutdown(sctx); err != nil {
		c.log.Warn("shutdown incomplete", slog.Any("error", err))
	}
	return runErr
}

// Start validates opts, binds the listeners and starts the controller in
// the background; ctx bounds start-up only. Stop it with Shutdown.
func Start(ctx context.Context, opts Options) (_ *Controller, err error) {
	cfg, err := opts.complete()
	if err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, log: cfg.Logger, metrics: metrics.New(), errc: make(chan error, 4)}
	defer func() {
		if err != nil {
			_ = c.Shutdown(context.WithoutCancel(ctx))
		}
	}()

	restCfg, err := restConfig(cfg)
	if err != nil {
		return nil, err
	}
	if c.client, err = kubernetes.NewForConfig(restCfg); err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", restCfg.Host, err)
	}
	// Status writes have a rate limiter of their own: a backlog of them
	// never delays the informers' requests or the Lease renewals.
	statusCfg := rest.CopyConfig(restCfg)
	statusCfg.QPS, statusCfg.Burst = cfg.StatusQPS, int(2*cfg.StatusQPS)
	statusCfg.RateLimiter = nil
	if c.statusClient, err = kubernetes.NewForConfig(statusCfg); err != nil {
		return nil, fmt.Errorf("kubernetes status client for %s: %w", restCfg.Host, err)
	}
	if err := checkAPIServer(ctx, c.client, restCfg.Host); err != nil {
		return nil, err
	}

	c.dp, err = dataplane.New(dataplane.Options{
		HTTPAddr:          cfg.HTTPAddr,
		HTTPSAddr:         cfg.HTTPSAddr,
		NoHTTPSRedirect:   cfg.DisableHTTPSRedirect,
		HTTPSRedirectPort: cfg.HTTPSRedirectPort,
		H2C:               cfg.EnableH2C,
		DisableConnLoop:   cfg.DisableConnLoop,
		NetHTTPH2:         cfg.NetHTTPH2,
		TrustedProxies:    cfg.trusted,

		DialTimeout:             cfg.UpstreamConnectTimeout,
		ResponseHeaderTimeout:   cfg.UpstreamReadTimeout,
		ClientBodyTimeout:       cfg.ClientBodyTimeout,
		MaxResponseHeaderBytes:  cfg.MaxResponseHeaderBytes,
		MaxConnections:          cfg.MaxConnections,
		MaxConnectionsPerClient: cfg.MaxConnectionsPerClient,

		ShutdownDelay:   cfg.shutdownDelay,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Logger:          c.log.With(slog.String("component", "dataplane")),
		AccessLog:       cfg.AccessLog,
		Metrics:         c.metrics,
	})
	if err != nil {
		return nil, err
	}
	if err := c.dp.Start(ctx); err != nil {
		return nil, err
	}

	if err := c.build(); err != nil {
		return nil, err
	}
	c.admin, err = admin.New(admin.Options{
		Addr:     cfg.AdminAddr,
		Tables:   c.dp,
		Ready:    c.dp.Ready,
		Warnings: c.loop,
		Metrics:  c.metrics.Handler(),
		Pprof:    cfg.Profiling,
		Logger:   c.log.With(slog.String("component", "admin")),
	})
	if err != nil {
		return nil, err
	}
	if err := c.admin.Start(ctx); err != nil {
		return nil, err
	}
	c.run()
	c.log.Info("controller started", slog.String("controllerName", cfg.ControllerName),
		slog.String("ingressClass", cfg.IngressClass), slog.String("watchNamespace", cfg.WatchNamespace),
		slog.String("http", c.dp.HTTPAddr()), slog.String("https", c.dp.HTTPSAddr()),
		slog.String("admin", c.admin.Addr()), slog.Bool("leaderElection", cfg.leaderElect))
	return c, nil
}

// restConfig picks RESTConfig, the kubeconfig file or the in-cluster
// configuration.
func restConfig(cfg *config) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	switch {
	case cfg.RESTConfig != nil:
		rc = rest.CopyConfig(cfg.RESTConfig)
	case cfg.Kubeconfig != "":
		if rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", cfg.Kubeconfig, err)
		}
	default:
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("in-cluster configuration (pass --kubeconfig when running outside a cluster): %w", err)
		}
	}
	rc.UserAgent = EventComponent
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 100
	}
	return rc, nil
}

// checkAPIServer makes one request so that a wrong address or credentials
// fail at start-up with a clear message.
func checkAPIServer(ctx context.Context, client kubernetes.Interface, host string) error {
	ctx, cancel := context.WithTimeout(ctx, apiCheckTimeout)
	defer cancel()
	if _, err := client.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw(); err != nil {
		return fmt.Errorf("API server %s is not reachable: %w", host, err)
	}
	return nil
}

// build creates the source, status writer, event recorder and loop.
func (c *Controller) build() error {
	cfg := c.cfg
	var err error
	if c.src, err = source.New(c.client, source.Options{
		Namespace: cfg.WatchNamespace, WatchOpaqueSecrets: cfg.WatchOpaqueSecrets,
		Logger: c.log.With(slog.String("component", "source")),
		// Set before the informers start (run); called from them.
		OnIngressStatus: func(ing *networkingv1.Ingress) { c.writer.Observe(ing) },
	}); err != nil {
		return err
	}
	sopts := status.Options{Client: c.client, StatusClient: c.statusClient, Ingresses: c.src,
		Metrics: c.metrics, Logger: c.log.With(slog.String("component", "status"))}
	if cfg.leaderElect {
		sopts.LeaderElection = &status.LeaderElectionOptions{
			Namespace: cfg.LeaderElectionNamespace, Name: cfg.LeaderElectionName,
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
		}
	}
	var l *loop.Loop
	sopts.OnStartedLeading = func() { l.Trigger() }
	if c.writer, err = status.New(sopts); err != nil {
		return err
	}

	var addrs func() []corev1.LoadBalancerIngress
	switch {
	case cfg.statusAddresses != nil:
		addrs = cfg.statusAddresses.Addresses
	case cfg.PublishService != "":
		// An empty address list then means the Service has none: statuses
		// are cleared (translate.Options.ManageStatus).
		c.addresses, err = status.NewServiceAddresses(c.client, cfg.publishService.Namespace, cfg.publishService.Name,
			status.ServiceAddressOptions{OnChange: func() { l.Trigger() }, Logger: c.log.With(slog.String("component", "status"))})
		if err != nil {
			return err
		}
		addrs = c.addresses.Addresses
	}

	c.events = record.NewBroadcaster(record.WithContext(context.Background()))
	c.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	recorder := c.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: EventComponent})

	lopts := loop.Options{
		Source:    c.src,
		Publisher: c.dp,
		Translate: translate.Options{
			ControllerName:    cfg.ControllerName,
			IngressClassName:  cfg.IngressClass,
			WatchWithoutClass: cfg.WatchIngressWithoutClass,
			AllowExternalName: cfg.AllowExternalName,
			ManageStatus:      addrs != nil,
			DefaultBackend:    cfg.defaultBackend,
			AnnotationDialect: cfg.dialect,
			HostOwnership:     cfg.hostOwnership,
			CertCache:         translate.NewCertCache(), // used by the loop's goroutine only
		},
		StatusAddresses: addrs,
		Status:          c.writer,
		Recorder:        recorder,
		EmitEvents:      c.writer.IsLeader,
		Metrics:         c.metrics,
		Logger:          c.log.With(slog.String("component", "loop")),
		HoldOff:         cfg.BatchHoldOff,
		MaxDelay:        cfg.BatchMaxDelay,
		Settle:          cfg.BatchSettle,
		// Loading the cluster's objects (the initial lists, decoded and
		// translated) takes several times the memory they keep; without a
		// collection and a release now, the process would keep that peak
		// resident until the runtime's background scavenger gives it back.
		AfterInitialBuild: func() { go debug.FreeOSMemory() },
	}
	if cfg.DefaultCertificate != "" {
		lopts.Translate.DefaultCertificate = &cfg.defaultCert
		lopts.Certificates = c.dp
	}
	if l, err = loop.New(lopts); err != nil {
		return err
	}
	c.loop = l
	return nil
}

// run starts the background parts.
func (c *Controller) run() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.src.Start(ctx)
	if c.addresses != nil {
		c.addresses.Start(ctx)
	}
	c.wg.Go(func() {
		if err := c.writer.Run(ctx); err != nil {
			c.errc <- err
		}
	})
	c.wg.Go(func() {
		if c.addresses != nil {
			// Statuses follow the Service's addresses: wait for them so
			// that the first build does not clear statuses.
			if err := c.addresses.WaitForSync(ctx); err != nil {
				if ctx.Err() == nil {
					c.errc <- err
				}
				return
			}
		}
		if err := c.loop.Run(ctx); err != nil {
			c.errc <- err
		}
	})
}

// Shutdown stops the controller (see the package documentation for the
// order). The drain is bounded by Options.ShutdownTimeout and ctx; the
// error reports requests cut off by it. Later calls return the first
// result.
func (c *Controller) Shutdown(ctx context.Context) error {
	c.once.Do(func() {
		var errs []error
		if c.dp != nil {
			errs = append(errs, c.dp.Shutdown(ctx))
		}
		if c.cancel != nil {
			c.cancel()
			c.wg.Wait()
		}
		if c.src != nil {
			c.src.Shutdown()
		}
		if c.addresses != nil {
			c.addresses.Shutdown()
		}
		if c.events != nil {
			c.events.Shutdown()
		}
		if c.admin != nil {
			errs = append(errs, c.admin.Shutdown(ctx))
		}
		c.err = errors.Join(errs...)
		if c.cancel != nil {
			c.log.Info("controller stopped")
		}
	})
	return c.err
}

// HTTPAddr, HTTPSAddr and AdminAddr are the bound listen addresses.
func (c *Controller) HTTPAddr() string  { return c.dp.HTTPAddr() }
func (c *Controller) HTTPSAddr() string { return c.dp.HTTPSAddr() }
func (c *Controller) AdminAddr() string { return c.admin.Addr() }

// Ready reports whether the data plane serves a table and is not shutting
// down (the /readyz answer).
func (c *Controller) Ready() bool { return c.dp.Ready() }

// Generation is the generation of the last published table.
func (c *Controller) Generation() uint64 { return c.loop.Generation() }

// Warnings are the warnings of the last translation.
func (c *Controller) Warnings() []translate.Warning { return c.loop.CurrentWarnings() }

// IsLeader reports whether this instance writes statuses.
func (c *Controller) IsLeader() bool { return c.writer.IsLeader() }

// Metrics is the controller's metrics registry.
func (c *Controller) Metrics() *metrics.Metrics { return c.metrics }

// Err is signalled when a background part fails; Run shuts down then.
func (c *Controller) Err() <-chan error { return c.errc }
