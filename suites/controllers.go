package suites

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// runningController is a controller process started from a profile.
type runningController struct {
	proc *cluster.Process
	view *framework.Controller
	// secrets is the private folder with its token and kubeconfig,
	// removed when it stops.
	secrets string
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

// ensureIngressClass creates (or updates) the IngressClass the profile
// serves.
func ensureIngressClass(ctx context.Context, env *framework.Env, name, controller string) error {
	ic := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{framework.RunLabel: env.RunID}},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	_, err := env.Client.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := env.Client.NetworkingV1().IngressClasses().Get(ctx, name, metav1.GetOptions{})
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

// startController provisions the profile's ServiceAccount, RBAC and
// objects, renders its command, starts it through the runner and waits
// until it is ready.
func startController(ctx context.Context, runner cluster.ControllerRunner, env *framework.Env, p *profile.Profile, o Options, logDir string) (*runningController, error) {
	program, err := p.FindBinary()
	if err != nil {
		return nil, err
	}
	if err := ensureIngressClass(ctx, env, p.IngressClass, p.Controller); err != nil {
		return nil, err
	}
	ports := make([]int, 3+len(p.Local.Ports))
	for i := range ports {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("controller %s: free port: %w", p.Name, err)
		}
		ports[i] = port
	}
	extra := map[string]int{}
	for i, name := range p.Local.Ports {
		extra[name] = ports[3+i]
	}
	workdir := filepath.Join(logDir, p.Name+"-work")
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, err
	}
	// Credentials and runtime state stay out of the report folder: a short
	// private folder ({{.RunDir}}), removed when the controller stops.
	secrets, err := os.MkdirTemp("", "ingresslab-"+dnsName(p.Name)+"-")
	if err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	started := false
	defer func() {
		if !started {
			_ = os.RemoveAll(secrets)
		}
	}()
	id, err := provisionIdentity(ctx, env, p, secrets)
	if err != nil {
		return nil, err
	}
	vars := profile.Vars{
		Name: p.Name, Bin: o.BinDir, Program: program, Kubeconfig: id.Kubeconfig, Controller: p.Controller, IngressClass: p.IngressClass,
		StatusAddress: p.StatusAddress, HTTPPort: ports[0], HTTPSPort: ports[1], AdminPort: ports[2], Ports: extra, Workdir: workdir, RunDir: secrets,
		APIServer: id.APIServer, CAFile: id.CAFile, Token: id.Token, TokenFile: id.TokenFile,
		Namespace: id.Namespace, ServiceAccount: id.ServiceAccount,
	}
	objects, err := p.RenderObjects(vars)
	if err != nil {
		return nil, err
	}
	if err := createObjects(ctx, env, p, objects, id.Namespace); err != nil {
		return nil, err
	}
	cmd, envv, readyURL, err := p.Render(vars)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cmd[0]); err != nil {
		return nil, fmt.Errorf("controller %s: program %s: %w (run `make build`, or fix local.command in %s)", p.Name, cmd[0], err, p.Source)
	}
	proc, err := runner.StartController(ctx, cluster.ControllerSpec{
		Name: p.Name, Command: scrubEnv(cmd, envv), Env: envv, Dir: workdir, LogPath: filepath.Join(logDir, p.Name+".log"),
	})
	if err != nil {
		return nil, err
	}
	rc := &runningController{proc: proc, secrets: secrets}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	httpsAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	if o.Address != "" {
		httpAddr = o.Address
	}
	if o.HTTPSAddress != "" {
		httpsAddr = o.HTTPSAddress
	}
	if err := waitReady(ctx, proc, readyURL, httpAddr, env.Timeouts.ControllerStart); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = proc.Stop(sctx)
		cancel()
		return nil, fmt.Errorf("controller %s: %w\nlast log lines (%s):\n%s", p.Name, err, proc.LogPath, proc.LogTail(20))
	}
	rc.view = &framework.Controller{
		Profile:      p,
		IngressClass: p.IngressClass,
		HTTP:         &framework.Client{HTTPAddr: httpAddr, HTTPSAddr: httpsAddr, Timeout: env.Timeouts.Request, Guard: env.Guard()},
		Log:          proc.LogTail,
	}
	started = true
	return rc, nil
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
	deadline := time.Now().Add(timeout)
	client := http.Client{Timeout: 2 * time.Second}
	for {
		if exited, _ := proc.Exited(); exited {
			return proc.ExitError()
		}
		var err error
		if readyURL != "" {
			var resp *http.Response
			resp, err = client.Get(readyURL)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = fmt.Errorf("%s answered %d", readyURL, resp.StatusCode)
				}
			}
		} else {
			var c net.Conn
			c, err = net.DialTimeout("tcp", addr, 2*time.Second)
			if err == nil {
				c.Close()
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-proc.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (rc *runningController) stop(ctx context.Context) error {
	err := rc.proc.Stop(ctx)
	if rc.secrets != "" {
		_ = os.RemoveAll(rc.secrets)
	}
	return err
}
