package integration_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// controllerBinary builds cmd/ingresslab-controller once per test run.
func controllerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ingresslab-controller-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ingresslab-controller")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/ingresslab/ingresslab/cmd/ingresslab-controller").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runBinary runs the controller binary to completion.
func runBinary(t *testing.T, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, controllerBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// oneLine checks that stderr is exactly one line naming the program and
// containing want, without a stack trace or usage dump.
func oneLine(t *testing.T, stderr, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "ingresslab-controller: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr = %q; want one line \"ingresslab-controller: ...%s...\"", stderr, want)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "Usage:") {
		t.Errorf("stderr has a stack trace or usage: %q", stderr)
	}
}

func TestBinaryHelpAndBadFlags(t *testing.T) {
	stdout, stderr, code := runBinary(t, time.Minute, "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr)
	}
	for _, flag := range []string{
		"--kubeconfig", "--controller-name", "--ingress-class", "--watch-ingress-without-class", "--watch-namespace",
		"--http-addr", "--https-addr", "--admin-addr", "--default-certificate", "--default-backend-service",
		"--https-redirect", "--enable-h2c", "--allow-external-name", "--trusted-proxies", "--publish-status-address",
		"--publish-service", "--leader-elect", "--leader-election-namespace", "--leader-election-name", "--access-log",
		"--log-level", "--log-format", "--shutdown-delay", "--shutdown-timeout", "--batch-holdoff", "--batch-max-delay", "--profiling",
		`(default "ingresslab.dev/ingress-controller")`, `(default ":8080")`, `(default "127.0.0.1:10254")`,
	} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}

	_, stderr, code = runBinary(t, time.Minute, "--no-such-flag")
	if code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	oneLine(t, stderr, "unknown flag: --no-such-flag")

	_, stderr, code = runBinary(t, time.Minute, "--shutdown-timeout=soon")
	if code != 2 {
		t.Errorf("bad duration: exit %d, want 2", code)
	}
	oneLine(t, stderr, "--shutdown-timeout")

	_, stderr, code = runBinary(t, time.Minute, "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	if code != 1 {
		t.Errorf("missing kubeconfig: exit %d, want 1", code)
	}
	oneLine(t, stderr, "--kubeconfig")

	_, stderr, code = runBinary(t, time.Minute, "--kubeconfig", "/dev/null", "--publish-service", "no-slash")
	if code == 0 {
		t.Errorf("bad --publish-service: exit 0")
	}
	oneLine(t, stderr, "--publish-service")
}

func TestBinaryPortInUse(t *testing.T) {
	requireCluster(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, stderr, code := runBinary(t, time.Minute, "--kubeconfig", cl.KubeconfigPath(),
		"--http-addr", l.Addr().String(), "--https-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	if code != 1 {
		t.Errorf("port in use: exit %d, want 1", code)
	}
	oneLine(t, stderr, "address already in use")
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestBinaryGracefulShutdown(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	tg := target{http: freeAddr(t), https: freeAddr(t), admin: freeAddr(t)}
	cmd := exec.Command(controllerBinary(t), "--kubeconfig", cl.KubeconfigPath(),
		"--controller-name", "ingresslab.dev/binary", "--ingress-class", "binary",
		"--http-addr", tg.http, "--https-addr", tg.https, "--admin-addr", tg.admin,
		"--shutdown-timeout", "20s", "--log-format", "json", "--profiling")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it exited
		<-exited
	})

	createIngress(t, ns, "binary", classAnnotation("binary"), prefix("binary.example", "/", "echo", "80"))
	tg.expectHTTP(t, "binary.example", "/", want{namespace: ns, service: "echo"})
	// --profiling serves Go profiles on the admin address.
	if code, _, err := tg.adminGet("/debug/pprof/heap?debug=1"); err != nil || code != http.StatusOK {
		t.Errorf("--profiling: /debug/pprof/heap got %d, %v; want 200", code, err)
	}

	// One slow request is in flight when SIGTERM arrives.
	slow := make(chan error, 1)
	go func() {
		r, err := tg.get("binary.example", "/?delay=2s")
		if err == nil {
			err = want{namespace: ns, service: "echo"}.check(r)
		}
		slow <- err
	}()
	eventuallyWithin(t, 10*time.Second, "the slow request in flight", func() error {
		_, body, err := tg.adminGet("/metrics")
		if err != nil {
			return err
		}
		if !strings.Contains(string(body), "ingresslab_requests_in_flight 1") {
			return errors.New("ingresslab_requests_in_flight is not 1")
		}
		return nil
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Not ready at once, new connections refused, the slow request done.
	eventuallyWithin(t, 2*time.Second, "/readyz not ready", func() error {
		code, body, err := tg.adminGet("/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	if _, err := tg.get("binary.example", "/"); err == nil {
		t.Error("a new request was accepted during the drain")
	}
	select {
	case err := <-slow:
		if err != nil {
			t.Errorf("in-flight request: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("in-flight request did not finish")
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of SIGTERM\nstderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "controller stopped") {
		t.Errorf("stderr lacks the final log line:\n%s", stderr.String())
	}
}

// TestBinaryDrainsInFlightUnderLoad sends SIGTERM while 40 slow requests are
// in flight: every one is answered, and the process exits within
// --shutdown-timeout.
func TestBinaryDrainsInFlightUnderLoad(t *testing.T) {
	const inFlight = 40
	const shutdownTimeout = 5 * time.Second
	ns := newNamespace(t)
	backend(t, ns, "echo", 2)
	tg := target{http: freeAddr(t), https: freeAddr(t), admin: freeAddr(t)}
	cmd := exec.Command(controllerBinary(t), "--kubeconfig", cl.KubeconfigPath(),
		"--controller-name", "ingresslab.dev/drain", "--ingress-class", "drain",
		"--http-addr", tg.http, "--https-addr", tg.https, "--admin-addr", tg.admin,
		"--shutdown-timeout", shutdownTimeout.String(), "--log-format", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it exited
		<-exited
	})
	createIngress(t, ns, "drain", classAnnotation("drain"), prefix("drain.example", "/", "echo", "80"))
	tg.expectHTTP(t, "drain.example", "/", want{namespace: ns, service: "echo"})
	// Without --profiling there are no profiles.
	if code, _, err := tg.adminGet("/debug/pprof/"); err != nil || code != http.StatusNotFound {
		t.Errorf("no --profiling: /debug/pprof/ got %d, %v; want 404", code, err)
	}

	results := make(chan error, inFlight)
	for range inFlight {
		go func() {
			r, err := tg.get("drain.example", "/?delay=1500ms")
			if err == nil {
				err = want{namespace: ns, service: "echo"}.check(r)
			}
			results <- err
		}()
	}
	eventuallyWithin(t, 10*time.Second, "every slow request in flight", func() error {
		_, body, err := tg.adminGet("/metrics")
		if err != nil {
			return err
		}
		if !strings.Contains(string(body), fmt.Sprintf("ingresslab_requests_in_flight %d\n", inFlight)) {
			return fmt.Errorf("ingresslab_requests_in_flight is not %d", inFlight)
		}
		return nil
	})
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var failed []error
	for range inFlight {
		if err := <-results; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d requests in flight at SIGTERM failed; first: %v", len(failed), inFlight, failed[0])
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
		if took := time.Since(signalled); took > shutdownTimeout {
			t.Errorf("exited %s after SIGTERM, more than --shutdown-timeout %s", took, shutdownTimeout)
		}
	case <-time.After(shutdownTimeout + 10*time.Second):
		t.Fatalf("no exit within --shutdown-timeout %s (+10 s) of SIGTERM\nstderr:\n%s", shutdownTimeout, stderr.String())
	}
}
