package framework

import (
	"context"
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/profile"
)

// Controller is one controller under test, as the specs see it.
type Controller struct {
	Profile      *profile.Profile
	IngressClass string
	HTTP         *Client
	// Log returns the controller's last n log lines ("" if unknown).
	Log func(n int) string
	// WarningsURL is the profile's diagnostics.warningsURL, rendered (""
	// when it declares none or the controller is not a local process).
	WarningsURL string
}

// Env is the environment of a conformance run, shared by every spec.
type Env struct {
	Provider          string
	KubernetesVersion string
	Config            *rest.Config
	Client            kubernetes.Interface
	Dynamic           dynamic.Interface
	Mapper            meta.RESTMapper
	// Resources is e2e-framework's klient view of the cluster, used to
	// apply fixtures.
	Resources *resources.Resources
	Backends  cluster.BackendPublisher
	Timeouts  Timeouts
	// RunID labels every namespace the run creates.
	RunID string
	// Controller is the controller under test.
	Controller *Controller
	// Second is another controller with its own IngressClass, for
	// multi-class specs; nil when not available.
	Second *Controller
	// Recorder, when set, records what every spec observes (--record,
	// --compare-to).
	Recorder *Recorder
}

// NewEnv builds the clients an Env needs from a REST config.
func NewEnv(cfg *rest.Config) (*Env, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	res, err := resources.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("klient resources: %w", err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	return &Env{
		Config:            cfg,
		Client:            cs,
		Dynamic:           dyn,
		Mapper:            restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery())),
		Resources:         res,
		KubernetesVersion: v.GitVersion,
		Timeouts:          DefaultTimeouts(),
	}, nil
}

// Guard returns a traffic guard that only allows loopback and, when the
// backends publisher can check them, its own test hosts.
func (e *Env) Guard() func(ctx context.Context, addr netip.Addr) error {
	return func(ctx context.Context, addr netip.Addr) error {
		if addr.IsLoopback() {
			return nil
		}
		if e.Backends != nil {
			return e.Backends.CheckTarget(ctx, addr)
		}
		return fmt.Errorf("refusing to send traffic to %s: not loopback", addr)
	}
}
