package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/profile"
)

// controllerProc is the controller under test, started from its profile
// through a cluster.ControllerRunner.
type controllerProc struct {
	runner  cluster.ControllerRunner
	profile *profile.Profile
	vars    profile.Vars
	logDir  string
	// started counts starts, for log file names.
	started int

	proc      *cluster.Process
	cmd       []string
	readyURL  string
	HTTPAddr  string
	HTTPSAddr string
	AdminURL  string
}

// newControllerProc picks free ports and renders nothing yet.
func newControllerProc(runner cluster.ControllerRunner, p *profile.Profile, binDir, kubeconfig, logDir string) (*controllerProc, error) {
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("controller %s: free port: %w", p.Name, err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	workdir := filepath.Join(logDir, p.Name+"-work")
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	c := &controllerProc{runner: runner, profile: p, logDir: logDir,
		vars: profile.Vars{Bin: binDir, Kubeconfig: kubeconfig, Controller: p.Controller, IngressClass: p.IngressClass,
			StatusAddress: p.StatusAddress, HTTPPort: ports[0], HTTPSPort: ports[1], AdminPort: ports[2], Workdir: workdir},
		HTTPAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		HTTPSAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		AdminURL:  "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2])),
	}
	cmd, _, readyURL, err := p.Render(c.vars)
	if err != nil {
		return nil, err
	}
	c.cmd, c.readyURL = cmd, readyURL
	return c, nil
}

// Flags are the rendered arguments (program excluded).
func (c *controllerProc) Flags() []string {
	if len(c.cmd) < 2 {
		return nil
	}
	return c.cmd[1:]
}

// PID of the running process (0 when stopped).
func (c *controllerProc) PID() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.PID()
}

// Start runs the controller and waits until it is ready (readyURL answers
// 2xx, or the HTTP port accepts connections), the process exits, or
// timeout passes.
func (c *controllerProc) Start(ctx context.Context, timeout time.Duration) error {
	cmd, env, _, err := c.profile.Render(c.vars)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cmd[0]); err != nil {
		return fmt.Errorf("controller %s: program %s: %w (run `make build`, or fix local.command in %s)", c.profile.Name, cmd[0], err, c.profile.Source)
	}
	c.started++
	name := c.profile.Name
	if c.started > 1 {
		name = fmt.Sprintf("%s-%d", name, c.started)
	}
	proc, err := c.runner.StartController(ctx, cluster.ControllerSpec{
		Name: name, Command: cmd, Env: env, Dir: c.vars.Workdir, LogPath: filepath.Join(c.logDir, name+".log"),
	})
	if err != nil {
		return err
	}
	c.proc = proc
	if err := c.waitReady(ctx, timeout); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = proc.Stop(sctx)
		cancel()
		return fmt.Errorf("controller %s: %w\nlast log lines (%s):\n%s", c.profile.Name, err, proc.LogPath, proc.LogTail(20))
	}
	return nil
}

// Stop ends the controller (SIGTERM, then SIGKILL after 20 s).
func (c *controllerProc) Stop(ctx context.Context) error {
	if c.proc == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	err := c.proc.Stop(sctx)
	c.proc = nil
	return err
}

func (c *controllerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if exited, _ := c.proc.Exited(); exited {
			return c.proc.ExitError()
		}
		var err error
		if c.readyURL != "" {
			var resp *http.Response
			if resp, err = client.Get(c.readyURL); err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = fmt.Errorf("%s answered %d", c.readyURL, resp.StatusCode)
				}
			}
		} else {
			var conn net.Conn
			if conn, err = net.DialTimeout("tcp", c.HTTPAddr, 2*time.Second); err == nil {
				conn.Close()
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
		case <-c.proc.Done():
		case <-tick.C:
		}
	}
}

// generationInfo is the JSON form of the reference controller's
// /generation?format=json.
type generationInfo struct {
	Generation uint64 `json:"generation"`
	Ready      bool   `json:"ready"`
	Stats      struct {
		Hosts  int `json:"hosts"`
		Routes int `json:"routes"`
	} `json:"stats"`
}

// Generation reads the admin /generation endpoint; ok is false when the
// controller has none (other controllers): callers then fall back to
// probing traffic only.
func (c *controllerProc) Generation(ctx context.Context) (generationInfo, bool) {
	var g generationInfo
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.AdminURL+"/generation?format=json", nil)
	if err != nil {
		return g, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return g, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &g) != nil {
		return g, false
	}
	return g, true
}

// waitGeneration polls until the generation exceeds after, or timeout.
func (c *controllerProc) waitGeneration(ctx context.Context, after uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if g, ok := c.Generation(ctx); !ok || g.Generation > after {
			return ok
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return false
}

// ensureIngressClass creates the IngressClass the profile serves.
func ensureIngressClass(ctx context.Context, kube kubernetes.Interface, p *profile.Profile) error {
	ic := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: p.IngressClass},
		Spec:       networkingv1.IngressClassSpec{Controller: p.Controller},
	}
	_, err := kube.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := kube.NetworkingV1().IngressClasses().Get(ctx, p.IngressClass, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("IngressClass %s: %w", p.IngressClass, gerr)
		}
		if cur.Spec.Controller != p.Controller {
			return fmt.Errorf("IngressClass %s exists with spec.controller %q, profile needs %q", p.IngressClass, cur.Spec.Controller, p.Controller)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create IngressClass %s: %w", p.IngressClass, err)
	}
	return nil
}

// versionOf is the profile's version, "unknown" when empty.
func versionOf(p *profile.Profile) string {
	if strings.TrimSpace(p.Version) == "" {
		return "unknown"
	}
	return p.Version
}
