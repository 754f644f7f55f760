package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/ingresslab/ingresslab/controller/admin"
	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/loop"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/status"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// Defaults of Options (and of the binary's flags).
const (
	// DefaultHTTPAddr and DefaultHTTPSAddr are unprivileged ports, so the
	// controller runs as non-root in a Pod; a Service maps 80/443 to them.
	DefaultHTTPAddr  = ":8080"
	DefaultHTTPSAddr = ":8443"
	// DefaultAdminAddr keeps the admin server local (probes use the Pod IP:
	// set --admin-addr=:10254 in a Pod).
	DefaultAdminAddr = admin.DefaultAddr
	// DefaultShutdownTimeout is below the Pod's default 30s grace period.
	DefaultShutdownTimeout = 25 * time.Second
	// DefaultShutdownDelay is the in-cluster shutdown delay: a few
	// seconds for endpoint removal to reach kube-proxy and load balancers.
	// ShutdownDelay + ShutdownTimeout should stay below the Pod's
	// terminationGracePeriodSeconds (raise it, e.g. to 40s, or lower the
	// timeout).
	DefaultShutdownDelay = 5 * time.Second
	// DefaultLeaderElectionNamespace is used out of cluster when
	// POD_NAMESPACE is not set.
	DefaultLeaderElectionNamespace = "default"
	// serviceAccountNamespaceFile holds the Pod's namespace in a cluster.
	serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
)

// Options configure the controller; each field is one flag of
// cmd/ingresslab-controller. The zero value of a field means its default.
type Options struct {
	// Kubeconfig is a kubeconfig file for running out of cluster. Default
	// "": the in-cluster configuration (service account).
	Kubeconfig string
	// RESTConfig, when set, is used instead of Kubeconfig (tests).
	RESTConfig *rest.Config

	// ControllerName is the IngressClass spec.controller served. Default
	// translate.DefaultControllerName ("ingresslab.dev/ingress-controller").
	ControllerName string
	// IngressClass is the legacy kubernetes.io/ingress.class annotation
	// value served. Default translate.DefaultIngressClassName ("ingresslab").
	IngressClass string
	// WatchIngressWithoutClass serves Ingresses with neither class field nor
	// annotation. Default false (they are served only when one of our
	// IngressClasses is the cluster default).
	WatchIngressWithoutClass bool
	// AnnotationDialect is the annotation prefix read from our Ingresses:
	// "ingresslab" (ingresslab.dev/<name>) or "nginx"
	// (nginx.ingress.kubernetes.io/<name>, for clusters migrating from
	// ingress-nginx). One dialect at a time: annotations of the other
	// prefix are ignored, so a copied Ingress never gets two policies.
	// Default "ingresslab".
	AnnotationDialect string
	// WatchOpaqueSecrets also watches (and caches) Opaque Secrets, which
	// basic-auth annotations reference (auth-secret). Default false: only
	// kubernetes.io/tls Secrets are cached, which saves the memory of every
	// Opaque Secret of the cluster (or namespace) and keeps them out of the
	// controller; basic-auth Ingresses are then denied (503) with a
	// SecretNotFound warning.
	WatchOpaqueSecrets bool
	// WatchNamespace restricts namespaced objects to one namespace. Default
	// "": all.
	WatchNamespace string

	// HTTPAddr, HTTPSAddr and AdminAddr are listen addresses. Defaults
	// ":8080", ":8443", "127.0.0.1:10254". Port 0 picks a free port (see
	// Controller.HTTPAddr).
	HTTPAddr, HTTPSAddr, AdminAddr string
	// Profiling serves net/http/pprof under /debug/pprof/ on AdminAddr.
	// Default false.
	Profiling bool
	// HTTPSRedirectPort is the port written into HTTP->HTTPS redirects.
	// Default 0: the bound HTTPS port (omitted when 443).
	HTTPSRedirectPort int

	// DefaultCertificate is "namespace/name" of a kubernetes.io/tls Secret
	// served for unknown SNI; it is watched, so a rotated Secret is served
	// without a restart. Default "": a generated self-signed certificate
	// (also served, with a warning, while the Secret is missing or invalid).
	DefaultCertificate string
	// DefaultBackendService is "namespace/name:port" (port number or name)
	// of the Service that answers requests no rule matches, unless an
	// Ingress's spec.defaultBackend takes them. Default "": the built-in 404.
	DefaultBackendService string
	// DisableHTTPSRedirect turns off the 308 redirect of plain HTTP for TLS
	// hosts. Default false (redirect on).
	DisableHTTPSRedirect bool
	// EnableH2C accepts HTTP/2 without TLS (prior knowledge). Default false.
	EnableH2C bool
	// DisableConnLoop serves every plain-HTTP connection with net/http's
	// server instead of the data plane's connection loop
	// (dataplane.Options.DisableConnLoop): for comparisons. Default false.
	DisableConnLoop bool
	// NetHTTPH2 serves HTTP/2 over TLS with net/http's server instead of
	// the data plane's own (dataplane.Options.NetHTTPH2): for comparisons.
	// Default false.
	NetHTTPH2 bool
	// AllowExternalName routes to ExternalName Services. Default false.
	AllowExternalName bool
	// HostOwnership is "any" (the Ingress API's semantics: any Ingress may
	// add paths to any host) or "first-namespace" (a host belongs to the
	// namespace of the oldest Ingress that has it as a rule host; rules,
	// TLS hosts and canaries for it in other namespaces are dropped with a
	// HostOwnedByNamespace warning). Default "": any.
	HostOwnership string
	// Data plane limits (dataplane.Options fields of the same names); a
	// zero value takes the data plane's default, negative turns the limit
	// off: UpstreamConnectTimeout (DialTimeout, 5s), UpstreamReadTimeout
	// (ResponseHeaderTimeout, 60s), ClientBodyTimeout (60s),
	// MaxResponseHeaderBytes (1 MiB; not negative), MaxConnections (10000)
	// and MaxConnectionsPerClient (1000).
	UpstreamConnectTimeout  time.Duration
	UpstreamReadTimeout     time.Duration
	ClientBodyTimeout       time.Duration
	MaxResponseHeaderBytes  int
	MaxConnections          int
	MaxConnectionsPerClient int
	// TrustedProxies are CIDRs (or single IPs) whose X-Forwarded-* headers
	// are kept. Default none.
	TrustedProxies []string

	// PublishStatusAddress is a comma-separated list of IPs and host names
	// written to our Ingresses' status. Default "".
	PublishStatusAddress string
	// PublishService is "namespace/name" of a Service whose addresses are
	// written to our Ingresses' status (exclusive with
	// PublishStatusAddress). Default "". With neither, status is not
	// managed.
	PublishService string

	// LeaderElect enables Lease leader election for status writes. Default
	// nil: on in cluster, off when Kubeconfig or RESTConfig is set.
	LeaderElect *bool
	// LeaderElectionNamespace of the Lease. Default: $POD_NAMESPACE, else the
	// service account's namespace, else "default".
	LeaderElectionNamespace string
	// LeaderElectionName of the Lease. Default: derived from ControllerName
	// and IngressClass, so controllers of different classes elect
	// separately.
	LeaderElectionName string
	// LeaseDuration, RenewDeadline, RetryPeriod of the election. Defaults
	// 15s, 10s, 2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration

	// AccessLog logs one line per request. Default false.
	AccessLog bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ShutdownDelay is how long the data plane keeps serving after a
	// shutdown began and /readyz turned 503, before it stops accepting
	// connections: time for the EndpointSlice, kube-proxy and load
	// balancers to stop sending traffic. Default nil: DefaultShutdownDelay
	// (5s) in a cluster, 0 out of cluster (Kubeconfig or RESTConfig set).
	ShutdownDelay *time.Duration
	// ShutdownTimeout bounds draining in-flight requests (after the delay).
	// Default 25s.
	ShutdownTimeout time.Duration
	// BatchHoldOff and BatchMaxDelay tune the control loop's batching.
	// Defaults loop.DefaultHoldOff (50ms) and loop.DefaultMaxDelay (250ms).
	BatchHoldOff, BatchMaxDelay time.Duration
	// BatchSettle is the quiet time before building a change that finds
	// the loop idle. Default loop.DefaultSettle (2ms).
	BatchSettle time.Duration
	// StatusQPS is the rate of Ingress status writes, through a client of
	// their own (burst 2 x StatusQPS), apart from the client of the
	// informers and the Lease. Default DefaultStatusQPS (50).
	StatusQPS float32
}

// DefaultStatusQPS is the default Options.StatusQPS.
const DefaultStatusQPS = 50

// config is Options validated and parsed.
type config struct {
	Options
	inCluster       bool
	leaderElect     bool
	trusted         []netip.Prefix
	statusAddresses status.StaticAddresses
	publishService  routing.ObjectRef
	defaultCert     routing.ObjectRef
	defaultBackend  *translate.DefaultBackend
	shutdownDelay   time.Duration
	dialect         annotations.Dialect
	hostOwnership   translate.HostOwnership
}

// complete applies defaults and parses every field; errors name the flag.
func (o Options) complete() (*config, error) {
	c := &config{Options: o}
	if c.ControllerName == "" {
		c.ControllerName = translate.DefaultControllerName
	}
	if c.IngressClass == "" {
		c.IngressClass = translate.DefaultIngressClassName
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.HTTPSAddr == "" {
		c.HTTPSAddr = DefaultHTTPSAddr
	}
	if c.AdminAddr == "" {
		c.AdminAddr = DefaultAdminAddr
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("--shutdown-timeout %v is negative", c.ShutdownTimeout)
	}
	if c.BatchHoldOff < 0 || c.BatchMaxDelay < 0 || c.BatchSettle < 0 {
		return nil, fmt.Errorf("--batch-holdoff %v, --batch-max-delay %v and --batch-settle %v must not be negative", c.BatchHoldOff, c.BatchMaxDelay, c.BatchSettle)
	}
	hold, maxDelay := cmpOr(c.BatchHoldOff, loop.DefaultHoldOff), cmpOr(c.BatchMaxDelay, loop.DefaultMaxDelay)
	if maxDelay < hold {
		return nil, fmt.Errorf("--batch-max-delay %v is shorter than --batch-holdoff %v", maxDelay, hold)
	}
	if settle := cmpOr(c.BatchSettle, min(loop.DefaultSettle, hold)); settle > hold {
		return nil, fmt.Errorf("--batch-settle %v is longer than --batch-holdoff %v", settle, hold)
	}
	if c.StatusQPS < 0 {
		return nil, fmt.Errorf("--status-qps %v is negative", c.StatusQPS)
	}
	if c.StatusQPS == 0 {
		c.StatusQPS = DefaultStatusQPS
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if errs := validation.IsDomainPrefixedPath(nil, c.ControllerName); len(errs) > 0 {
		return nil, fmt.Errorf("--controller-name %q: %v", c.ControllerName, errs.ToAggregate())
	}
	if c.WatchNamespace != "" {
		if errs := validation.IsDNS1123Label(c.WatchNamespace); len(errs) > 0 {
			return nil, fmt.Errorf("--watch-namespace %q: %s", c.WatchNamespace, strings.Join(errs, "; "))
		}
	}
	d, derr := annotations.ParseDialect(c.AnnotationDialect)
	if derr != nil {
		return nil, fmt.Errorf("--annotation-dialect: %w", derr)
	}
	c.dialect = d
	if c.hostOwnership, derr = translate.ParseHostOwnership(c.HostOwnership); derr != nil {
		return nil, fmt.Errorf("--host-ownership: %w", derr)
	}
	if c.HTTPSRedirectPort < 0 || c.HTTPSRedirectPort > 65535 {
		return nil, fmt.Errorf("--https-redirect-port %d is out of range 0-65535", c.HTTPSRedirectPort)
	}
	for _, s := range c.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
		c.trusted = append(c.trusted, p)
	}

	var err error
	switch {
	case c.PublishStatusAddress != "" && c.PublishService != "":
		return nil, errors.New("--publish-status-address and --publish-service are exclusive: set one")
	case c.PublishStatusAddress != "":
		if c.statusAddresses, err = status.ParseAddresses(c.PublishStatusAddress); err != nil {
			return nil, fmt.Errorf("--publish-status-address: %w", err)
		}
	case c.PublishService != "":
		if c.publishService, err = parseRef(c.PublishService); err != nil {
			return nil, fmt.Errorf("--publish-service: %w", err)
		}
	}
	if c.DefaultCertificate != "" {
		if c.defaultCert, err = parseRef(c.DefaultCertificate); err != nil {
			return nil, fmt.Errorf("--default-certificate: %w", err)
		}
		if c.WatchNamespace != "" && c.defaultCert.Namespace != c.WatchNamespace {
			return nil, fmt.Errorf("--default-certificate %s is outside --watch-namespace %s, so it would not be watched",
				c.DefaultCertificate, c.WatchNamespace)
		}
	}
	if c.DefaultBackendService != "" {
		if c.defaultBackend, err = parseBackend(c.DefaultBackendService); err != nil {
			return nil, fmt.Errorf("--default-backend-service: %w", err)
		}
		if c.WatchNamespace != "" && c.defaultBackend.Namespace != c.WatchNamespace {
			return nil, fmt.Errorf("--default-backend-service %s is outside --watch-namespace %s, so its endpoints would not be watched",
				c.DefaultBackendService, c.WatchNamespace)
		}
	}

	c.inCluster = c.RESTConfig == nil && c.Kubeconfig == ""
	if c.inCluster {
		c.shutdownDelay = DefaultShutdownDelay
	}
	if c.ShutdownDelay != nil {
		if *c.ShutdownDelay < 0 {
			return nil, fmt.Errorf("--shutdown-delay %v is negative", *c.ShutdownDelay)
		}
		c.shutdownDelay = *c.ShutdownDelay
	}
	c.leaderElect = c.inCluster
	if c.LeaderElect != nil {
		c.leaderElect = *c.LeaderElect
	}
	if c.LeaderElectionNamespace == "" {
		c.LeaderElectionNamespace = defaultLeaseNamespace()
	}
	if c.LeaderElectionName == "" {
		c.LeaderElectionName = DefaultLeaderElectionName(c.ControllerName, c.IngressClass)
	}
	if errs := validation.IsDNS1123Subdomain(c.LeaderElectionName); len(errs) > 0 {
		return nil, fmt.Errorf("--leader-election-name %q: %s", c.LeaderElectionName, strings.Join(errs, "; "))
	}
	return c, nil
}

// DefaultLeaderElectionName derives the Lease name from the controller and
// class names: lower-case, other characters than [a-z0-9.-] become '-'.
func DefaultLeaderElectionName(controllerName, ingressClass string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-', r == '.':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, controllerName+"-"+ingressClass+"-leader")
	s = strings.Trim(s, "-.")
	if len(s) > 253 {
		s = strings.Trim(s[len(s)-253:], "-.")
	}
	return s
}

func defaultLeaseNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return DefaultLeaderElectionNamespace
}

// parseRef parses "namespace/name".
func parseRef(s string) (routing.ObjectRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return routing.ObjectRef{}, fmt.Errorf("%q: want namespace/name", s)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return routing.ObjectRef{}, fmt.Errorf("%q: namespace: %s", s, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return routing.ObjectRef{}, fmt.Errorf("%q: name: %s", s, strings.Join(errs, "; "))
	}
	return routing.ObjectRef{Namespace: ns, Name: name}, nil
}

// parseBackend parses "namespace/name:port".
func parseBackend(s string) (*translate.DefaultBackend, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || i == len(s)-1 {
		return nil, fmt.Errorf("%q: want namespace/name:port (port number or name)", s)
	}
	ref, err := parseRef(s[:i])
	if err != nil {
		return nil, fmt.Errorf("%q: want namespace/name:port: %w", s, err)
	}
	port := s[i+1:]
	db := &translate.DefaultBackend{Namespace: ref.Namespace, Service: ref.Name}
	if n, err := strconv.Atoi(port); err == nil {
		if n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %d is out of range 1-65535", s, n)
		}
		db.Port.Number = int32(n)
		return db, nil
	}
	if errs := validation.IsValidPortName(port); len(errs) > 0 {
		return nil, fmt.Errorf("%q: port name %q: %s", s, port, strings.Join(errs, "; "))
	}
	db.Port.Name = port
	return db, nil
}

// parsePrefix parses a CIDR or a single IP (as a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// NewLogger returns a slog logger writing to w: level debug, info, warn or
// error; format json or text.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}
