package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/cluster/netns"
	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/internal/testtools"
)

// requireBinaries skips when `make tools` has not been run (fails under
// INGRESSLAB_REQUIRE_TOOLS).
func requireBinaries(t *testing.T) {
	t.Helper()
	_, err := FindBinaries(context.Background(), Binaries{})
	testtools.Require(t, err)
}

func TestCheckOS(t *testing.T) {
	if err := checkOS("linux"); err != nil {
		t.Errorf("linux: %v", err)
	}
	for _, goos := range []string{"darwin", "windows"} {
		err := checkOS(goos)
		if !errors.Is(err, ErrNeedsLinux) || !strings.Contains(err.Error(), "use --provider kind or existing") {
			t.Errorf("%s: %v, want ErrNeedsLinux naming the other providers", goos, err)
		}
	}
}

// startProvider starts a provider that the test's end destroys (if the
// test did not: Destroy is safe twice).
func startProvider(ctx context.Context, t *testing.T, opts Options) *Provider {
	t.Helper()
	p, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Destroy(context.Background()) })
	return p
}

func TestLocalProviderEndToEnd(t *testing.T) {
	requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := startProvider(ctx, t, Options{})
	pids := p.ControlPlanePIDs()
	if len(pids) < 2 {
		t.Fatalf("expected etcd and kube-apiserver processes, found PIDs %v", pids)
	}
	kubeconfig, err := os.ReadFile(p.KubeconfigPath())
	if err != nil || !strings.Contains(string(kubeconfig), p.APIServerURL()) {
		t.Fatalf("kubeconfig %s does not name %s (err %v)", p.KubeconfigPath(), p.APIServerURL(), err)
	}
	v, err := p.Client().Discovery().ServerVersion()
	if err != nil || v.GitVersion != "v1.37.2" {
		t.Fatalf("server version = %+v, %v; want v1.37.2 (built with version ldflags)", v, err)
	}

	b, err := p.PublishBackend(ctx, cluster.BackendSpec{Namespace: "lp-test", Name: "echo", Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Read back what the API server stored.
	svc, err := p.Client().CoreV1().Services("lp-test").Get(ctx, "echo", metav1.GetOptions{})
	if err != nil || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].Port != 80 {
		t.Fatalf("service: %+v, %v", svc, err)
	}
	slice, err := p.Client().DiscoveryV1().EndpointSlices("lp-test").Get(ctx, "echo-ingresslab", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(slice.Endpoints) != 2 || *slice.Ports[0].Name != "http" || *slice.Ports[0].Port != 8080 {
		t.Fatalf("slice endpoints/ports wrong: %+v", slice)
	}
	if c := slice.Endpoints[0].Conditions; c.Ready == nil || !*c.Ready || c.Serving == nil || !*c.Serving || c.Terminating == nil || *c.Terminating {
		t.Fatalf("conditions not explicit: %+v", c)
	}
	if p.NetworkMode() == NetworkNamespace {
		eps, err := p.Client().CoreV1().Endpoints("lp-test").Get(ctx, "echo", metav1.GetOptions{})
		if err != nil || len(eps.Subsets) != 1 || len(eps.Subsets[0].Addresses) != 2 {
			t.Fatalf("core/v1 Endpoints: %+v, %v", eps, err)
		}
	}

	// Each endpoint answers over HTTP at the address in the slice, from the
	// root namespace, with its own identity.
	for i, addr := range slice.Endpoints {
		a := netip.MustParseAddr(addr.Addresses[0])
		if err := p.CheckTarget(ctx, a); err != nil {
			t.Fatal(err)
		}
		got := getEcho(t, "http://"+net.JoinHostPort(a.String(), "8080")+"/hello")
		if got.Pod != fmt.Sprintf("echo-%d", i) || got.Namespace != "lp-test" || got.Service != "echo" || got.Path != "/hello" {
			t.Fatalf("endpoint %d answered %+v", i, got)
		}
	}
	if err := p.CheckTarget(ctx, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Fatal("CheckTarget allowed an outside address")
	}

	// A refusing endpoint is published ready, but connections are refused.
	rb, err := p.PublishBackend(ctx, cluster.BackendSpec{Namespace: "lp-test", Name: "half", Replicas: 2, Refusing: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := getEcho(t, "http://"+net.JoinHostPort(rb.Endpoints[0].Address.String(), "8080")+"/"); got.Pod != "half-0" {
		t.Fatalf("serving endpoint answered %+v", got)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(rb.Endpoints[1].Address.String(), "8080"), 5*time.Second); err == nil {
		c.Close()
		t.Fatal("the refusing endpoint accepted a connection")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial the refusing endpoint: %v, want connection refused", err)
	}
	if _, err := (cluster.BackendSpec{Namespace: "x", Name: "y", Replicas: 1, Refusing: 2}).WithDefaults(); err == nil {
		t.Error("refusing > replicas accepted")
	}

	// Faults: a resetting endpoint logs what it swallowed; 100 % loss makes
	// connecting time out; the zero Fault restores it. The refusing
	// endpoint has no server to fault.
	halfURL := "http://" + net.JoinHostPort(rb.Endpoints[0].Address.String(), "8080")
	if err := p.SetEndpointFault(ctx, rb, 0, cluster.Fault{Mode: cluster.FaultReset}); err != nil {
		t.Fatal(err)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(halfURL + "/swallowed"); err == nil {
		resp.Body.Close()
		t.Fatal("a resetting endpoint answered")
	}
	// Go's client may send the GET once more after the reset: every entry
	// is the same request.
	if seen, err := p.FaultedRequests(rb, 0); err != nil || len(seen) == 0 || slices.ContainsFunc(seen, func(s string) bool { return s != "/swallowed" }) {
		t.Fatalf("FaultedRequests = %v, %v; want /swallowed (once or retried)", seen, err)
	}
	if p.NetworkMode() == NetworkNamespace {
		if err := p.SetEndpointFault(ctx, rb, 0, cluster.Fault{LossPercent: 100}); err != nil {
			t.Fatal(err)
		}
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(rb.Endpoints[0].Address.String(), "8080"), 500*time.Millisecond); err == nil {
			c.Close()
			t.Fatal("connected through 100 % loss")
		}
	}
	if err := p.SetEndpointFault(ctx, rb, 0, cluster.Fault{}); err != nil {
		t.Fatal(err)
	}
	if got := getEcho(t, halfURL+"/healed"); got.Pod != "half-0" {
		t.Fatalf("after the fault was removed: %+v", got)
	}
	if err := p.SetEndpointFault(ctx, rb, 1, cluster.Fault{Mode: cluster.FaultHang}); err == nil {
		t.Error("a fault on the refusing endpoint (no server) was accepted")
	}
	if err := p.SetEndpointFault(ctx, rb, 0, cluster.Fault{LossPercent: 101}); err == nil {
		t.Error("loss 101 % accepted")
	}

	// Scale up, mark one unready, scale down.
	if err := p.ScaleBackend(ctx, b, 3); err != nil {
		t.Fatal(err)
	}
	if err := p.SetEndpointConditions(ctx, b, 2, cluster.EndpointConditions{Serving: true, Terminating: true}); err != nil {
		t.Fatal(err)
	}
	slice, _ = p.Client().DiscoveryV1().EndpointSlices("lp-test").Get(ctx, "echo-ingresslab", metav1.GetOptions{})
	if len(slice.Endpoints) != 3 || *slice.Endpoints[2].Conditions.Ready || !*slice.Endpoints[2].Conditions.Terminating {
		t.Fatalf("after scale/condition change: %+v", slice.Endpoints)
	}
	removed := b.Endpoints[2].Address
	if err := p.ScaleBackend(ctx, b, 1); err != nil {
		t.Fatal(err)
	}
	slice, _ = p.Client().DiscoveryV1().EndpointSlices("lp-test").Get(ctx, "echo-ingresslab", metav1.GetOptions{})
	if len(slice.Endpoints) != 1 {
		t.Fatalf("after scale down: %d endpoints", len(slice.Endpoints))
	}
	c := http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get("http://" + net.JoinHostPort(removed.String(), "8080") + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("removed endpoint %s still answers", removed)
	}
	if err := p.DeleteBackend(ctx, b); err != nil {
		t.Fatal(err)
	}

	// With kube-controller-manager running, a deleted namespace goes away.
	if p.kcm != nil {
		if err := p.Client().CoreV1().Namespaces().Delete(ctx, "lp-test", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		gomega.NewWithT(t).Eventually(ctx, func(ctx context.Context) error {
			_, err := p.Client().CoreV1().Namespaces().Get(ctx, "lp-test", metav1.GetOptions{})
			return err
		}).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(gomega.HaveOccurred(), func() string {
			return "namespace lp-test not deleted; kube-controller-manager log:\n" + p.kcm.LogTail(20)
		})
	}

	network := p.Network()
	if err := p.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("control-plane process %d still runs after Destroy", pid)
		}
	}
	if _, err := os.Stat(p.DataDir()); !os.IsNotExist(err) {
		t.Errorf("data dir %s left behind", p.DataDir())
	}
	if network != nil {
		names, _ := netns.List()
		for _, n := range names {
			if n == network.Name {
				t.Errorf("network namespace %s left behind", n)
			}
		}
		if _, err := net.InterfaceByName(network.HostLink); err == nil {
			t.Errorf("veth %s left behind", network.HostLink)
		}
	}
}

func getEcho(t *testing.T, url string) echoserver.Response {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var r echoserver.Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return r
}

func TestMissingBinaryNamesTheFix(t *testing.T) {
	_, err := Start(context.Background(), Options{Binaries: Binaries{APIServer: "/nonexistent/kube-apiserver", Etcd: "/nonexistent/etcd"}})
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), "/nonexistent/kube-apiserver") {
		t.Fatalf("error = %v; want it to name the binary and `make tools`", err)
	}
}

func TestCorruptBinaryIsReported(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "kube-apiserver")
	if err := os.WriteFile(bad, []byte("\x7fELF garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := FindBinaries(context.Background(), Binaries{APIServer: bad, Etcd: bad})
	if err == nil || !strings.Contains(err.Error(), "not a working binary") || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("error = %v", err)
	}
}

func TestKubebuilderAssetsIsHonoured(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"kube-apiserver", "etcd"} {
		script := "#!/bin/sh\necho " + name + " fake\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KUBEBUILDER_ASSETS", dir)
	b, err := FindBinaries(context.Background(), Binaries{})
	if err != nil {
		t.Fatal(err)
	}
	if b.APIServer != filepath.Join(dir, "kube-apiserver") || b.Etcd != filepath.Join(dir, "etcd") {
		t.Fatalf("found %+v, want the KUBEBUILDER_ASSETS copies", b)
	}
}

func TestPortInUse(t *testing.T) {
	requireBinaries(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{APIServerPort: port})
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(port)+" is not free") {
		t.Fatalf("error = %v", err)
	}
}

func TestUnwritableDataDir(t *testing.T) {
	requireBinaries(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{DataDir: filepath.Join(file, "data")})
	if err == nil || !strings.Contains(err.Error(), "data dir") {
		t.Fatalf("error = %v", err)
	}
}

func TestAPIServerNeverReadyShowsLogTail(t *testing.T) {
	requireBinaries(t)
	real, err := FindBinaries(context.Background(), Binaries{})
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "kube-apiserver")
	script := "#!/bin/sh\ncase \"$1\" in --version|--help) echo Kubernetes v1.37.2; exit 0;; esac\necho 'fatal: pretend the API server cannot start' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), Options{
		Binaries:     Binaries{APIServer: fake, Etcd: real.Etcd},
		StartTimeout: 2 * time.Second,
		Network:      NetworkLoopback,
	})
	if err == nil || !strings.Contains(err.Error(), "pretend the API server cannot start") {
		t.Fatalf("error = %v; want the tail of the API server log", err)
	}
}

// TestLocalProviderEchoProcesses serves backends with ingresslab-echo
// processes (Options.EchoBinary): each endpoint answers with its own
// identity from a process of its own, scaling down stops that process,
// answers cannot be faulted, and Destroy leaves none running.
func TestLocalProviderEchoProcesses(t *testing.T) {
	requireBinaries(t)
	if testing.Short() {
		t.Skip("builds ingresslab-echo")
	}
	echo := filepath.Join(t.TempDir(), "ingresslab-echo")
	if out, err := exec.Command("go", "build", "-o", echo, "../../cmd/ingresslab-echo").CombinedOutput(); err != nil {
		t.Fatalf("go build ingresslab-echo: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := Start(ctx, Options{EchoBinary: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "Options.EchoBinary") {
		t.Fatalf("a missing echo binary: %v, want an error naming Options.EchoBinary", err)
	}
	p := startProvider(ctx, t, Options{EchoBinary: echo})
	b, err := p.PublishBackend(ctx, cluster.BackendSpec{Namespace: "lp-proc", Name: "echo", Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	pids := p.BackendPIDs()
	if len(pids) != 2 {
		t.Fatalf("BackendPIDs = %v, want 2 processes", pids)
	}
	for _, pid := range pids {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.HasPrefix(string(cmdline), echo+"\x00--listen-fd=3") {
			t.Errorf("process %d runs %q (%v), want %s --listen-fd=3", pid, cmdline, err, echo)
		}
	}
	for i, ep := range b.Endpoints {
		got := getEcho(t, "http://"+net.JoinHostPort(ep.Address.String(), "8080")+"/proc")
		if got.Pod != fmt.Sprintf("echo-%d", i) || got.Namespace != "lp-proc" || got.Service != "echo" || got.ServicePort != "80" || got.Path != "/proc" {
			t.Fatalf("endpoint %d answered %+v", i, got)
		}
	}
	if err := p.SetEndpointFault(ctx, b, 0, cluster.Fault{Mode: cluster.FaultReset}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("fault on an echo process: %v, want ErrUnsupported", err)
	}
	removed := b.Endpoints[1].Address
	if err := p.ScaleBackend(ctx, b, 1); err != nil {
		t.Fatal(err)
	}
	if left := p.BackendPIDs(); len(left) != 1 || !slices.Contains(pids, left[0]) {
		t.Fatalf("after scaling to 1: BackendPIDs = %v (were %v)", left, pids)
	}
	for _, pid := range pids {
		if !slices.Contains(p.BackendPIDs(), pid) && syscall.Kill(pid, 0) == nil {
			t.Errorf("the removed endpoint's process %d still runs", pid)
		}
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(removed.String(), "8080"), 2*time.Second); err == nil {
		c.Close()
		t.Errorf("removed endpoint %s still accepts connections", removed)
	}
	if err := p.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("echo process %d still runs after Destroy", pid)
		}
	}
}
