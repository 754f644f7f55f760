// Package existing is the cluster provider for a Kubernetes cluster that
// already runs (`--provider existing --kubeconfig K`), and the in-cluster
// machinery that the kind provider (cluster/kind) shares:
//
//   - backends are echo Deployments (one container per distinct target
//     port) behind ordinary Services, scaled through the Deployment; the
//     image is configurable (ingresslab's echo image, or the Gateway API
//     echo-basic image, which reads the same environment variables);
//   - everything a run creates lives in namespaces labelled with the run's
//     ID (RunLabel), and Destroy deletes them (and the run's labelled
//     IngressClasses): the cluster itself is left alone;
//   - Applier applies manifests with server-side apply, Install installs a
//     controller from a profile's kind section and waits for it.
//
// Traffic: CheckTarget allows loopback addresses only. How requests reach
// the controller (its status address, a port mapping, --address) is the
// runner's business.
package existing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/kind"
)

const (
	// RunLabel marks every namespace (and cluster-scoped object) a run
	// creates; its value is the run ID. Same key as the suites' framework.
	RunLabel = "ingresslab.dev/run"
	// ManagedByLabel/ManagedBy mark objects the harness created.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "ingresslab"
	// BackendLabel names the backend on its Deployment, pods and Service.
	BackendLabel = "ingresslab.dev/backend"
)

// WaitFunc waits until the Deployment namespace/name has replicas ready
// pods (replicas may be 0).
type WaitFunc func(ctx context.Context, c kubernetes.Interface, namespace, name string, replicas int) error

// Options configure the provider. Give Config or a kubeconfig.
type Options struct {
	// Config is used as is when set (Kubeconfig and Context are ignored).
	Config *rest.Config
	// Kubeconfig is the kubeconfig file. Default: $KUBECONFIG, else
	// ~/.kube/config.
	Kubeconfig string
	// Context in the kubeconfig. Default: its current context.
	Context string
	// Name reported by Name(). Default "existing".
	Name string
	// RunID labels what the run creates. Default: random 8 hex digits.
	RunID string
	// EchoImage runs the backends. Default kind.EchoBasicImage (pullable
	// from a public registry); kind clusters use kind.EchoImage.
	EchoImage string
	// PullPolicy of the echo containers. Default IfNotPresent.
	PullPolicy corev1.PullPolicy
	// Wait is called after every create or scale. Default WaitDeployment
	// (polls until the pods are ready, within WaitTimeout).
	Wait WaitFunc
	// WaitTimeout bounds Wait. Default 3m.
	WaitTimeout time.Duration
	// DeleteTimeout bounds how long Destroy waits for the namespaces to be
	// gone. Default 2m; negative: do not wait.
	DeleteTimeout time.Duration
}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "existing"
	}
	if o.RunID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.RunID = hex.EncodeToString(b)
	}
	if o.EchoImage == "" {
		o.EchoImage = kind.EchoBasicImage
	}
	if o.PullPolicy == "" {
		o.PullPolicy = corev1.PullIfNotPresent
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = 3 * time.Minute
	}
	if o.Wait == nil {
		o.Wait = WaitDeployment
	}
	if o.DeleteTimeout == 0 {
		o.DeleteTimeout = 2 * time.Minute
	}
}

// Provider is a connection to an existing cluster.
type Provider struct {
	opts       Options
	config     *rest.Config
	client     kubernetes.Interface
	kubeconfig string
	version    string

	mu         sync.Mutex
	namespaces map[string]bool // created by this run
	backends   map[*cluster.Backend]bool
	destroyed  bool
}

var (
	_ cluster.Cluster          = (*Provider)(nil)
	_ cluster.BackendPublisher = (*Provider)(nil)
)

// New connects to the cluster and checks that it answers.
func New(ctx context.Context, opts Options) (*Provider, error) {
	opts.defaults()
	p := &Provider{opts: opts, namespaces: map[string]bool{}, backends: map[*cluster.Backend]bool{}}
	cfg := opts.Config
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if opts.Kubeconfig != "" {
			rules.ExplicitPath = opts.Kubeconfig
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
		var err error
		if cfg, err = cc.ClientConfig(); err != nil {
			return nil, fmt.Errorf("%s cluster: kubeconfig %s: %w", opts.Name, describeKubeconfig(opts.Kubeconfig), err)
		}
		p.kubeconfig = opts.Kubeconfig
		if p.kubeconfig == "" {
			p.kubeconfig = rules.GetDefaultFilename()
		}
	}
	p.config = rest.CopyConfig(cfg)
	p.config.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(p.config)
	if err != nil {
		return nil, fmt.Errorf("%s cluster: client: %w", opts.Name, err)
	}
	p.client = cs
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("%s cluster: API server %s does not answer: %w", opts.Name, p.config.Host, err)
	}
	p.version = v.GitVersion
	return p, nil
}

func describeKubeconfig(path string) string {
	if path == "" {
		return "(default: $KUBECONFIG or ~/.kube/config)"
	}
	return path
}

// Name is "existing" (or Options.Name).
func (p *Provider) Name() string { return p.opts.Name }

// RESTConfig returns the credentials in use.
func (p *Provider) RESTConfig() *rest.Config { return rest.CopyConfig(p.config) }

// KubeconfigPath is the kubeconfig file ("" when built from a rest.Config).
func (p *Provider) KubeconfigPath() string { return p.kubeconfig }

// Client is a clientset with the provider's credentials.
func (p *Provider) Client() kubernetes.Interface { return p.client }

// RunID is the value of RunLabel on everything this run creates.
func (p *Provider) RunID() string { return p.opts.RunID }

// KubernetesVersion is the API server's version.
func (p *Provider) KubernetesVersion() string { return p.version }

// RunLabels are the labels of objects this run creates.
func (p *Provider) RunLabels() map[string]string {
	return map[string]string{RunLabel: p.opts.RunID, ManagedByLabel: ManagedBy}
}

// EnsureNamespace creates a namespace labelled with the run ID. An
// existing namespace is only accepted when it carries this run's label:
// the run never adopts (and so never deletes) somebody else's namespace.
func (p *Provider) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: p.RunLabels()}}
	_, err := p.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := p.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("namespace %s: %w", name, gerr)
		}
		if cur.Labels[RunLabel] != p.opts.RunID {
			return fmt.Errorf("namespace %s already exists and does not belong to run %s (label %s=%q); choose another namespace or delete it", name, p.opts.RunID, RunLabel, cur.Labels[RunLabel])
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	p.mu.Lock()
	p.namespaces[name] = true
	p.mu.Unlock()
	return nil
}

// Destroy deletes every namespace and IngressClass labelled with this
// run's ID and waits (up to DeleteTimeout) for the namespaces to be gone.
// The cluster keeps running. Safe to call more than once.
func (p *Provider) Destroy(ctx context.Context) error {
	p.mu.Lock()
	p.destroyed = true
	p.backends = map[*cluster.Backend]bool{}
	p.mu.Unlock()
	sel := metav1.ListOptions{LabelSelector: RunLabel + "=" + p.opts.RunID}
	var errs []error
	nss, err := p.client.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return fmt.Errorf("%s cluster: list run namespaces: %w", p.opts.Name, err)
	}
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp != nil {
			continue
		}
		if err := p.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns.Name, err))
		}
	}
	if err := p.client.NetworkingV1().IngressClasses().DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete run IngressClasses: %w", err))
	}
	if p.opts.DeleteTimeout > 0 && len(errs) == 0 {
		err := wait.PollUntilContextTimeout(ctx, time.Second, p.opts.DeleteTimeout, true, func(ctx context.Context) (bool, error) {
			l, err := p.client.CoreV1().Namespaces().List(ctx, sel)
			if err != nil {
				return false, err
			}
			return len(l.Items) == 0, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("run namespaces still present after %s: %w", p.opts.DeleteTimeout, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s cluster: clean up run %s: %w", p.opts.Name, p.opts.RunID, err)
	}
	return nil
}

// CheckTarget allows loopback addresses only: a real cluster's pod and
// node addresses are not this machine.
func (p *Provider) CheckTarget(_ context.Context, addr netip.Addr) error {
	if addr.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to send traffic to %s: the %s provider only allows loopback addresses (reach the controller through a port mapping or port-forward on 127.0.0.1)", addr, p.opts.Name)
}
