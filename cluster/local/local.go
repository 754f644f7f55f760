// Package local is the embedded default cluster provider: a real etcd and
// kube-apiserver (built from Go modules by `make tools`) run as local
// processes through controller-runtime's envtest, optionally with a
// kube-controller-manager that runs only the namespace and garbage-collector
// controllers.
//
// There is no kubelet, so there are no Pods: backends are echo servers
// started in-process and published as selectorless, headless Services with
// EndpointSlices (and core/v1 Endpoints). As root, the endpoints live on test
// hosts in a network namespace the provider creates (package cluster/netns);
// without root they fall back to FQDN EndpointSlices with 127.0.0.x addresses,
// which the API server accepts but which some controllers ignore.
//
// Services are headless (clusterIP: None) on purpose: no virtual IP exists
// that a controller could try to dial, so traffic only ever reaches the
// endpoint addresses on this machine.
package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/cluster/netns"
)

// BackendNetwork selects where backend endpoints listen.
type BackendNetwork string

const (
	// NetworkAuto uses NetworkNamespace when possible, else NetworkLoopback.
	NetworkAuto BackendNetwork = "auto"
	// NetworkNamespace puts endpoints on test hosts in a network namespace
	// (needs root) published as ordinary IPv4 EndpointSlices.
	NetworkNamespace BackendNetwork = "netns"
	// NetworkLoopback puts endpoints on 127.0.0.x, published as FQDN
	// EndpointSlices (the API server rejects loopback IPs). No core/v1
	// Endpoints are published in this mode.
	NetworkLoopback BackendNetwork = "loopback"
)

// Options configure the local provider. The zero value is usable.
type Options struct {
	// Binaries are explicit paths; empty fields are searched for (see
	// FindBinaries).
	Binaries Binaries
	// DataDir holds etcd data, certificates, the kubeconfig and logs.
	// Default: a new temporary folder, removed by Destroy.
	DataDir string
	// KubeconfigPath is where the admin kubeconfig is written. Default:
	// DataDir/kubeconfig.
	KubeconfigPath string
	// APIServerPort is the API server's secure port on 127.0.0.1. Default: a
	// random free port.
	APIServerPort int
	// StartTimeout bounds control-plane start-up. Default 60s.
	StartTimeout time.Duration
	// StopTimeout bounds control-plane shutdown. Default 20s.
	StopTimeout time.Duration
	// Network selects where backends listen. Default NetworkAuto.
	Network BackendNetwork
	// NoControllerManager skips kube-controller-manager even when found.
	NoControllerManager bool
	// ExtraControllers are run by kube-controller-manager besides the
	// namespace and garbage-collector controllers (e.g. "job" for tests of
	// the bench's generator Jobs; with no kubelet their Pods stay Pending).
	ExtraControllers []string
	// EchoBinary, when set, is an ingresslab-echo binary that serves every
	// backend endpoint's plain HTTP ports as a process of its own (one per
	// port, in a process group of its own, killed with the harness), on
	// the listening socket the provider opened in the backend network and
	// hands it as file descriptor 3. Default "": echo servers run inside
	// this process. A process of its own separates the backends' CPU and
	// scheduling from the caller's (the bench's load generator), as Pods
	// are separate; TLS ports are served in-process either way.
	EchoBinary string
}

func (o *Options) defaults() {
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 20 * time.Second
	}
	if o.Network == "" {
		o.Network = NetworkAuto
	}
}

// Provider is a running local cluster. Create one with Start.
type Provider struct {
	opts       Options
	env        controlPlane // nil before Start reached the control plane
	config     *rest.Config
	client     kubernetes.Interface
	kubeconfig string
	dataDir    string
	ownDataDir bool
	kcm        *cluster.Process
	network    *netns.Network // nil in loopback mode
	loopback   *loopbackPool  // non-nil in loopback mode

	mu       sync.Mutex
	backends map[*cluster.Backend]*backendState
	stopOnce sync.Once
	stopErr  error
}

var (
	_ cluster.Cluster          = (*Provider)(nil)
	_ cluster.BackendPublisher = (*Provider)(nil)
	_ cluster.ControllerRunner = (*Provider)(nil)
)

// dataDirPrefix names the provider's temporary folders; the owning PID
// follows, so leftovers of crashed runs can be found.
const dataDirPrefix = "ingresslab-local-"

// Start brings up etcd, kube-apiserver and (when available)
// kube-controller-manager, writes the kubeconfig and prepares the backend
// network. On error everything started so far is stopped again.
func Start(ctx context.Context, opts Options) (p *Provider, err error) {
	if err := checkOS(runtime.GOOS); err != nil {
		return nil, err
	}
	opts.defaults()
	bins, err := FindBinaries(ctx, opts.Binaries)
	if err != nil {
		return nil, fmt.Errorf("local cluster: %w", err)
	}
	if opts.EchoBinary != "" {
		if opts.EchoBinary, err = exec.LookPath(opts.EchoBinary); err != nil {
			return nil, fmt.Errorf("local cluster: Options.EchoBinary: %w", err)
		}
	}
	cleanupStaleControlPlanes()

	p = &Provider{opts: opts, backends: map[*cluster.Backend]*backendState{}}
	defer func() {
		if err != nil {
			_ = p.Destroy(context.WithoutCancel(ctx))
			p = nil
		}
	}()
	if err := p.prepareDataDir(); err != nil {
		return p, err
	}
	if opts.APIServerPort != 0 {
		if err := checkPortFree(opts.APIServerPort); err != nil {
			return p, err
		}
	}

	logDir := filepath.Join(p.dataDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return p, fmt.Errorf("local cluster: data dir %s: %w", p.dataDir, err)
	}
	apiLog, err := os.Create(filepath.Join(logDir, "kube-apiserver.log"))
	if err != nil {
		return p, fmt.Errorf("local cluster: %w", err)
	}
	defer apiLog.Close()
	etcdLog, err := os.Create(filepath.Join(logDir, "etcd.log"))
	if err != nil {
		return p, fmt.Errorf("local cluster: %w", err)
	}
	defer etcdLog.Close()

	certDir, etcdDir := filepath.Join(p.dataDir, "pki"), filepath.Join(p.dataDir, "etcd")
	for _, d := range []string{certDir, etcdDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return p, fmt.Errorf("local cluster: %w", err)
		}
	}
	var cfg *rest.Config
	var kubeconfig []byte
	p.env, cfg, kubeconfig, err = startControlPlane(controlPlaneSpec{
		bins: bins, opts: opts, certDir: certDir, etcdDir: etcdDir, apiLog: apiLog, etcdLog: etcdLog,
	})
	if err != nil {
		return p, fmt.Errorf("local cluster: start control plane: %w\nlast kube-apiserver log lines:\n%s\nlast etcd log lines:\n%s",
			err, cluster.TailFile(apiLog.Name(), 15), cluster.TailFile(etcdLog.Name(), 5))
	}
	cfg.WarningHandler = rest.NoWarnings{}
	p.config = cfg
	if p.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return p, fmt.Errorf("local cluster: client: %w", err)
	}
	p.kubeconfig = opts.KubeconfigPath
	if p.kubeconfig == "" {
		p.kubeconfig = filepath.Join(p.dataDir, "kubeconfig")
	}
	if err := os.MkdirAll(filepath.Dir(p.kubeconfig), 0o755); err != nil {
		return p, fmt.Errorf("local cluster: kubeconfig: %w", err)
	}
	if err := os.WriteFile(p.kubeconfig, kubeconfig, 0o600); err != nil {
		return p, fmt.Errorf("local cluster: write kubeconfig: %w", err)
	}
	if bins.ControllerManager != "" && !opts.NoControllerManager {
		if err := p.startControllerManager(bins.ControllerManager); err != nil {
			return p, err
		}
	}
	if err := p.prepareNetwork(ctx); err != nil {
		return p, err
	}
	return p, nil
}

func (p *Provider) prepareDataDir() error {
	if p.opts.DataDir == "" {
		d, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dataDirPrefix, os.Getpid()))
		if err != nil {
			return fmt.Errorf("local cluster: create data dir: %w", err)
		}
		p.dataDir, p.ownDataDir = d, true
		return nil
	}
	p.dataDir = p.opts.DataDir
	if err := os.MkdirAll(p.dataDir, 0o755); err != nil {
		return fmt.Errorf("local cluster: data dir %s is not usable: %w", p.dataDir, err)
	}
	probe := filepath.Join(p.dataDir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("local cluster: data dir %s is not writable: %w", p.dataDir, err)
	}
	return os.Remove(probe)
}

func (p *Provider) startControllerManager(bin string) error {
	proc, err := cluster.StartProcess(cluster.ControllerSpec{
		Name: "kube-controller-manager",
		Command: []string{bin,
			"--kubeconfig=" + p.kubeconfig,
			"--controllers=" + strings.Join(append([]string{"namespace", "garbagecollector"}, p.opts.ExtraControllers...), ","),
			"--leader-elect=false",
			"--secure-port=0",
			"--use-service-account-credentials=false",
		},
		LogPath: filepath.Join(p.dataDir, "logs", "kube-controller-manager.log"),
	})
	if err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	p.kcm = proc
	return nil
}

func (p *Provider) prepareNetwork(ctx context.Context) error {
	mode := p.opts.Network
	if mode == NetworkAuto {
		mode = NetworkNamespace
		if netns.Supported() != nil {
			mode = NetworkLoopback
		}
	}
	switch mode {
	case NetworkNamespace:
		n, err := netns.Create(ctx)
		if err != nil {
			return fmt.Errorf("local cluster: backend network: %w", err)
		}
		p.network = n
	case NetworkLoopback:
		p.loopback = newLoopbackPool()
	default:
		return fmt.Errorf("local cluster: unknown backend network %q (want auto, netns or loopback)", mode)
	}
	return nil
}

// Name is "local".
func (p *Provider) Name() string { return "local" }

// RESTConfig returns admin credentials.
func (p *Provider) RESTConfig() *rest.Config { return rest.CopyConfig(p.config) }

// KubeconfigPath is the admin kubeconfig file.
func (p *Provider) KubeconfigPath() string { return p.kubeconfig }

// Client is a clientset with admin credentials.
func (p *Provider) Client() kubernetes.Interface { return p.client }

// DataDir is the provider's data folder (logs are under logs/).
func (p *Provider) DataDir() string { return p.dataDir }

// NetworkMode reports where backends listen.
func (p *Provider) NetworkMode() BackendNetwork {
	if p.network != nil {
		return NetworkNamespace
	}
	return NetworkLoopback
}

// Network is the backend network namespace (nil in loopback mode).
func (p *Provider) Network() *netns.Network { return p.network }

// APIServerURL is the secure URL of the API server.
func (p *Provider) APIServerURL() string {
	if p.config == nil {
		return ""
	}
	return strings.TrimSuffix(p.config.Host, "/")
}

// Destroy stops backends, kube-controller-manager, kube-apiserver and etcd,
// deletes the backend network namespace and (when the provider created it)
// the data folder. It is safe to call more than once.
func (p *Provider) Destroy(ctx context.Context) error {
	p.stopOnce.Do(func() {
		var errs []error
		p.mu.Lock()
		for b, st := range p.backends {
			st.stopAll(ctx)
			delete(p.backends, b)
		}
		p.mu.Unlock()
		if p.kcm != nil {
			sctx, cancel := context.WithTimeout(ctx, p.opts.StopTimeout)
			errs = append(errs, p.kcm.Stop(sctx))
			cancel()
		}
		if p.env != nil {
			errs = append(errs, p.env.Stop())
		}
		if p.network != nil {
			errs = append(errs, p.network.Close(ctx))
		}
		if p.ownDataDir && p.dataDir != "" {
			errs = append(errs, os.RemoveAll(p.dataDir))
		}
		if err := errors.Join(errs...); err != nil {
			p.stopErr = fmt.Errorf("local cluster: destroy: %w", err)
		}
	})
	return p.stopErr
}

// ControlPlanePIDs lists the PIDs of this provider's etcd, kube-apiserver and
// kube-controller-manager processes (found through their command lines,
// which name the data folder).
func (p *Provider) ControlPlanePIDs() []int {
	if p.dataDir == "" {
		return nil
	}
	return pidsWithArg(p.dataDir)
}

// pidsWithArg scans /proc for processes whose command line contains s.
func pidsWithArg(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// controlPlane is a running etcd and kube-apiserver.
type controlPlane interface {
	Stop() error
}

// controlPlaneSpec is what startControlPlane needs.
type controlPlaneSpec struct {
	bins             Binaries
	opts             Options
	certDir, etcdDir string
	apiLog, etcdLog  *os.File
}

// ErrNeedsLinux is returned by Start outside Linux.
var ErrNeedsLinux = errors.New("the local provider needs Linux (network namespaces); use --provider kind or existing")

// checkOS fails outside Linux: the control plane runs from Linux builds of
// etcd and kube-apiserver, backends live in network namespaces, and
// processes are reaped through /proc.
func checkOS(goos string) error {
	if goos != "linux" {
		return fmt.Errorf("%w (this is %s)", ErrNeedsLinux, goos)
	}
	return nil
}

// cleanupStaleControlPlanes kills etcd/kube-apiserver processes left by a
// provider process that no longer exists (e.g. after SIGKILL), and removes
// their data folders.
func cleanupStaleControlPlanes() {
	tmp := os.TempDir()
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), dataDirPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		owner, err := strconv.Atoi(pidStr)
		if err != nil || owner == os.Getpid() || processExists(owner) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		for _, pid := range pidsWithArg(dir) {
			killProcess(pid)
		}
		_ = os.RemoveAll(dir)
	}
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("local cluster: API server port %d is not free: %w; choose another port or leave it unset for a random one", port, err)
	}
	return l.Close()
}

// CheckTarget allows loopback addresses and addresses of this provider's
// backend network that the kernel routes through its veth.
func (p *Provider) CheckTarget(ctx context.Context, addr netip.Addr) error {
	if addr.IsLoopback() {
		return nil
	}
	if p.network != nil && p.network.Subnet.Contains(addr) {
		return p.network.Verify(ctx, addr)
	}
	return fmt.Errorf("refusing to send traffic to %s: not loopback and not a test host of this run", addr)
}
