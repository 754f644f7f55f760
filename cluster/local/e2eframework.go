package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/support"
)

// KubernetesVersion is the version of the kube-apiserver `make tools` builds.
const KubernetesVersion = "v1.37.2"

// E2EProvider adapts the local provider to sigs.k8s.io/e2e-framework, so a
// user's own e2e-framework tests can run on ingresslab's local cluster:
//
//	testenv.Setup(envfuncs.CreateClusterWithOpts(local.NewE2EProvider(), "ingresslab"))
type E2EProvider struct {
	name    string
	opts    Options
	version string
	p       *Provider
}

var _ support.E2EClusterProvider = (*E2EProvider)(nil)

// NewE2EProvider returns an adapter with default Options.
func NewE2EProvider() *E2EProvider { return &E2EProvider{name: "ingresslab"} }

// WithName sets the cluster name (informational).
func (e *E2EProvider) WithName(name string) support.E2EClusterProvider { e.name = name; return e }

// WithVersion records the wanted Kubernetes version; Create fails unless it
// is KubernetesVersion (the binaries are built at one version).
func (e *E2EProvider) WithVersion(v string) support.E2EClusterProvider { e.version = v; return e }

// WithPath points at a folder holding kube-apiserver, etcd and
// (optionally) kube-controller-manager.
func (e *E2EProvider) WithPath(dir string) support.E2EClusterProvider {
	e.opts.Binaries = Binaries{
		APIServer: filepath.Join(dir, "kube-apiserver"),
		Etcd:      filepath.Join(dir, "etcd"),
	}
	if _, err := os.Stat(filepath.Join(dir, "kube-controller-manager")); err == nil {
		e.opts.Binaries.ControllerManager = filepath.Join(dir, "kube-controller-manager")
	}
	return e
}

// WithOpts applies e2e-framework cluster options.
func (e *E2EProvider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(e)
	}
	return e
}

// WithOptions sets the local provider's Options.
func (e *E2EProvider) WithOptions(o Options) *E2EProvider { e.opts = o; return e }

// SetDefaults does nothing: Options carry their own defaults.
func (e *E2EProvider) SetDefaults() support.E2EClusterProvider { return e }

// Create starts the cluster and returns the kubeconfig path.
func (e *E2EProvider) Create(ctx context.Context, _ ...string) (string, error) {
	if e.version != "" && e.version != KubernetesVersion {
		return "", fmt.Errorf("local provider: Kubernetes %s requested, but the local binaries are %s", e.version, KubernetesVersion)
	}
	p, err := Start(ctx, e.opts)
	if err != nil {
		return "", err
	}
	e.p = p
	return p.KubeconfigPath(), nil
}

// CreateWithConfig is Create; the local provider takes no config file.
func (e *E2EProvider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	if configFile != "" {
		return "", fmt.Errorf("local provider: config files are not supported (got %s); use WithOptions", configFile)
	}
	return e.Create(ctx)
}

// GetKubeconfig returns the kubeconfig path ("" before Create).
func (e *E2EProvider) GetKubeconfig() string {
	if e.p == nil {
		return ""
	}
	return e.p.KubeconfigPath()
}

// GenerateKubeconfig returns the same kubeconfig path.
func (e *E2EProvider) GenerateKubeconfig(...string) (string, error) {
	if e.p == nil {
		return "", fmt.Errorf("local provider: cluster %s not created", e.name)
	}
	return e.p.KubeconfigPath(), nil
}

// GetKubectlContext is the kubeconfig's only context.
func (e *E2EProvider) GetKubectlContext() string { return "" }

// ExportLogs copies the control-plane logs to dest.
func (e *E2EProvider) ExportLogs(_ context.Context, dest string) error {
	if e.p == nil {
		return fmt.Errorf("local provider: cluster %s not created", e.name)
	}
	src := filepath.Join(e.p.DataDir(), "logs")
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	for _, en := range entries {
		b, err := os.ReadFile(filepath.Join(src, en.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dest, en.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Destroy stops the cluster.
func (e *E2EProvider) Destroy(ctx context.Context) error {
	if e.p == nil {
		return nil
	}
	return e.p.Destroy(ctx)
}

// WaitForControlPlane waits until the default namespace can be read.
func (e *E2EProvider) WaitForControlPlane(ctx context.Context, c klient.Client) error {
	ns := &corev1.Namespace{}
	ns.Name = "default"
	return wait.For(func(ctx context.Context) (bool, error) {
		err := c.Resources().Get(ctx, "default", "", ns)
		return err == nil, nil
	}, wait.WithContext(ctx), wait.WithTimeout(time.Minute), wait.WithInterval(100*time.Millisecond))
}

// KubernetesRestConfig returns admin credentials (nil before Create).
func (e *E2EProvider) KubernetesRestConfig() *rest.Config {
	if e.p == nil {
		return nil
	}
	return e.p.RESTConfig()
}

// Provider is the running local provider (nil before Create).
func (e *E2EProvider) Provider() *Provider { return e.p }
