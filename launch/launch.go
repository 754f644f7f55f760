// Package launch starts an Ingress controller from its profile as a local
// process next to a cluster the harness controls (the local provider), the
// way a real cluster would run it: the IngressClass it serves, its own
// namespace and ServiceAccount with least-privilege RBAC from the profile's
// access section (a TokenRequest token and kubeconfig, never the admin
// credentials), the profile's objects (ConfigMaps, placeholder Pods), free
// loopback ports, the rendered command with inherited cluster variables
// removed, and a readiness wait. The conformance suites and the benchmarks
// both start controllers through it.
package launch

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/profile"
)

// Cluster is what launching needs of the cluster: admin clients to create
// the controller's identity and objects, and the runner that starts
// processes.
type Cluster struct {
	// Config holds admin credentials (for the API server URL and CA).
	Config  *rest.Config
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	Runner  cluster.ControllerRunner
	// Labels go on every object launching creates (e.g. the run label).
	Labels map[string]string
}

// NewCluster builds the clients from an admin REST config.
func NewCluster(cfg *rest.Config, runner cluster.ControllerRunner, labels map[string]string) (Cluster, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Cluster{}, fmt.Errorf("launch: client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Cluster{}, fmt.Errorf("launch: dynamic client: %w", err)
	}
	return Cluster{
		Config: cfg, Client: cs, Dynamic: dyn, Runner: runner, Labels: labels,
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery())),
	}, nil
}

func (c Cluster) labels() map[string]string { return maps.Clone(c.Labels) }

// Options say where a launched controller keeps its files and how long it
// may take to get ready.
type Options struct {
	// BinDir is the folder of the ingresslab binaries ({{.Bin}}).
	BinDir string
	// LogDir receives <name>.log and the working folder <name>-work.
	LogDir string
	// ReadyTimeout bounds the readiness wait (default 60 s).
	ReadyTimeout time.Duration
}

// Controller is a prepared (and, after Start, running) controller. Its
// ports, identity and objects stay the same across restarts.
type Controller struct {
	Profile *profile.Profile
	// Vars are the values its templates were rendered with.
	Vars profile.Vars
	// HTTPAddr and HTTPSAddr are its loopback listeners (host:port);
	// AdminURL is http://127.0.0.1:{{.AdminPort}}.
	HTTPAddr, HTTPSAddr, AdminURL string

	runner   cluster.ControllerRunner
	cmd, env []string
	readyURL string
	logDir   string
	timeout  time.Duration
	starts   int
	proc     *cluster.Process
}

// Prepare resolves the profile's program, creates its IngressClass,
// identity and objects, picks ports and renders its command. The caller
// must Close the controller.
func Prepare(ctx context.Context, c Cluster, p *profile.Profile, o Options) (ctl *Controller, err error) {
	program, err := p.FindBinary()
	if err != nil {
		return nil, err
	}
	if err := EnsureIngressClass(ctx, c.Client, p.IngressClass, p.Controller, c.Labels); err != nil {
		return nil, err
	}
	ports := make([]int, 3+len(p.Local.Ports))
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, fmt.Errorf("controller %s: free port: %w", p.Name, err)
		}
	}
	extra := map[string]int{}
	for i, name := range p.Local.Ports {
		extra[name] = ports[3+i]
	}
	workdir := filepath.Join(o.LogDir, p.Name+"-work")
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	// Credentials and runtime state stay out of the report folder: a short
	// private folder ({{.RunDir}}), removed by Close.
	runDir, err := os.MkdirTemp("", "ingresslab-"+dnsName(p.Name)+"-")
	if err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(runDir)
		}
	}()
	id, err := provisionIdentity(ctx, c, p, runDir)
	if err != nil {
		return nil, err
	}
	vars := profile.Vars{
		Name: p.Name, Bin: o.BinDir, Program: program, Kubeconfig: id.Kubeconfig, Controller: p.Controller, IngressClass: p.IngressClass,
		StatusAddress: p.StatusAddress, HTTPPort: ports[0], HTTPSPort: ports[1], AdminPort: ports[2], Ports: extra, Workdir: workdir, RunDir: runDir,
		APIServer: id.APIServer, CAFile: id.CAFile, Token: id.Token, TokenFile: id.TokenFile,
		Namespace: id.Namespace, ServiceAccount: id.ServiceAccount,
	}
	objects, err := p.RenderObjects(vars)
	if err != nil {
		return nil, err
	}
	if err := createObjects(ctx, c, p, objects, id.Namespace); err != nil {
		return nil, err
	}
	cmd, envv, readyURL, err := p.Render(vars)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cmd[0]); err != nil {
		return nil, fmt.Errorf("controller %s: program %s: %w (run `make build`, or fix local.command in %s)", p.Name, cmd[0], err, p.Source)
	}
	timeout := o.ReadyTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &Controller{
		Profile: p, Vars: vars, runner: c.Runner, cmd: cmd, env: envv, readyURL: readyURL, logDir: o.LogDir, timeout: timeout,
		HTTPAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		HTTPSAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		AdminURL:  "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2])),
	}, nil
}

// Launch is Prepare then Start.
func Launch(ctx context.Context, c Cluster, p *profile.Profile, o Options) (*Controller, error) {
	ctl, err := Prepare(ctx, c, p, o)
	if err != nil {
		return nil, err
	}
	if err := ctl.Start(ctx); err != nil {
		ctl.Close()
		return nil, err
	}
	return ctl, nil
}

// Flags are the rendered arguments (program excluded).
func (c *Controller) Flags() []string {
	if len(c.cmd) < 2 {
		return nil
	}
	return slices.Clone(c.cmd[1:])
}

// Process is the running process (nil when stopped).
func (c *Controller) Process() *cluster.Process { return c.proc }

// PID of the running process (0 when stopped).
func (c *Controller) PID() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.PID()
}

// LogTail returns the last n log lines of the current (or last) process.
func (c *Controller) LogTail(n int) string {
	if c.proc == nil {
		return ""
	}
	return c.proc.LogTail(n)
}

// Start runs the controller and waits until it is ready (its readyURL
// answers 2xx, or its HTTP port accepts connections), the process exits,
// or the ready timeout passes. A restarted controller logs to <name>-N.log.
func (c *Controller) Start(ctx context.Context) error {
	if c.proc != nil {
		return fmt.Errorf("controller %s: already running", c.Profile.Name)
	}
	c.starts++
	name := c.Profile.Name
	if c.starts > 1 {
		name = fmt.Sprintf("%s-%d", name, c.starts)
	}
	proc, err := c.runner.StartController(ctx, cluster.ControllerSpec{
		Name: name, Command: scrubEnv(c.cmd, c.env), Env: c.env, Dir: c.Vars.Workdir, LogPath: filepath.Join(c.logDir, name+".log"),
	})
	if err != nil {
		return err
	}
	c.proc = proc
	if err := waitReady(ctx, proc, c.readyURL, c.HTTPAddr, c.timeout); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = proc.Stop(sctx)
		cancel()
		c.proc = nil
		return fmt.Errorf("controller %s: %w\nlast log lines (%s):\n%s", c.Profile.Name, err, proc.LogPath, proc.LogTail(20))
	}
	return nil
}

// Stop ends the controller (SIGTERM, then SIGKILL when ctx ends; at most
// 30 s).
func (c *Controller) Stop(ctx context.Context) error {
	if c.proc == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := c.proc.Stop(sctx)
	c.proc = nil
	return err
}

// Close stops the controller and removes its private folder (token,
// kubeconfig, runtime state).
func (c *Controller) Close() {
	_ = c.Stop(context.Background())
	if c.Vars.RunDir != "" {
		_ = os.RemoveAll(c.Vars.RunDir)
	}
}

// EnsureIngressClass creates (or checks) the IngressClass name with
// spec.controller controller.
func EnsureIngressClass(ctx context.Context, cs kubernetes.Interface, name, controller string, labels map[string]string) error {
	ic := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	_, err := cs.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := cs.NetworkingV1().IngressClasses().Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("IngressClass %s: %w", name, gerr)
		}
		if cur.Spec.Controller != controller {
			return fmt.Errorf("IngressClass %s exists with spec.controller %q, profile needs %q (spec.controller is immutable)", name, cur.Spec.Controller, controller)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create IngressClass %s: %w", name, err)
	}
	return nil
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// inheritedClusterEnv are variables that would point a controller at
// another cluster than the one the harness gives it (a user's kubeconfig,
// the in-cluster config of a Pod the harness runs in).
var inheritedClusterEnv = []string{"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAME", "POD_NAMESPACE"}

// scrubEnv prefixes cmd with `env -u VAR` for every inherited cluster
// variable the profile does not set itself, so a controller only ever sees
// the credentials the harness made for it.
func scrubEnv(cmd, profileEnv []string) []string {
	envProg, err := exec.LookPath("env")
	if err != nil {
		return cmd
	}
	out := []string{envProg}
	for _, v := range inheritedClusterEnv {
		set := slices.ContainsFunc(profileEnv, func(e string) bool { return strings.HasPrefix(e, v+"=") })
		if !set {
			out = append(out, "-u", v)
		}
	}
	if len(out) == 1 {
		return cmd
	}
	return append(append(out, "--"), cmd...)
}

// waitReady polls readyURL (or connects to addr) until it answers, the
// process exits, or timeout passes.
func waitReady(ctx context.Context, proc *cluster.Process, readyURL, addr string, timeout time.Duration) error {
	client := http.Client{Timeout: 2 * time.Second}
	// An exit ends the wait at once, not at the next poll.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-proc.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := poll.Until(ctx, 50*time.Millisecond, timeout, func(ctx context.Context) error {
		if readyURL != "" {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, readyURL, nil)
			if err != nil {
				return poll.Stop(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("%s answered %d", readyURL, resp.StatusCode)
			}
			return nil
		}
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	})
	if exited, _ := proc.Exited(); exited {
		return proc.ExitError()
	}
	return err
}
