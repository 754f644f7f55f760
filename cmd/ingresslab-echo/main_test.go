package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
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

	"github.com/ingresslab/ingresslab/echoserver"
)

// lockedBuffer is a bytes.Buffer safe to read while a process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestHelpListsFlagsWithDefaults(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), func() {}, []string{"--help"}, envMap(nil), &out, &out)
	if code != 0 {
		t.Errorf("--help exit code %d, want 0", code)
	}
	for _, want := range []string{"-addr", `(default ":3000")`, "-tls-addr", "-h2c", "-namespace", "env NAMESPACE",
		"-ingress", "env INGRESS_NAME", "-service", "env SERVICE_NAME", "-pod", "env POD_NAME",
		"-service-port", "env SERVICE_PORT", "-max-delay", "(default 30s)", "-shutdown-timeout", "/-/healthz"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadArgumentsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--bogus"}, nil, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, nil, `unexpected arguments ["extra"]`},
		{[]string{"--tls-cert", "c.pem"}, nil, "--tls-cert and --tls-key: give both or neither"},
		{[]string{"--tls-cert", "missing.pem", "--tls-key", "missing.key"}, nil, `flags --tls-cert "missing.pem" and --tls-key "missing.key"`},
		{nil, map[string]string{"H2C": "maybe"}, `env H2C: "maybe" is not a boolean`},
		{[]string{"--addr", ""}, nil, "flag --addr: must not be empty"},
		{[]string{"--listen-fd", "1"}, nil, "flag --listen-fd: 1 is standard input, output or error"},
		{[]string{"--listen-fd", "1000"}, nil, "flag --listen-fd: 1000"},
	} {
		var out bytes.Buffer
		code := run(context.Background(), func() {}, tc.args, envMap(tc.env), &out, &out)
		if code != 2 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("args %q env %v: exit %d output %q; want 2 and %q", tc.args, tc.env, code, out.String(), tc.want)
		}
	}
}

func TestEnvironmentFallbacks(t *testing.T) {
	env := map[string]string{
		"NAMESPACE": "ns-env", "INGRESS_NAME": "ing-env", "SERVICE_NAME": "svc-env", "POD_NAME": "pod-env",
		"SERVICE_PORT": "http", "HTTP_PORT": "3100", "HTTPS_PORT": "8543", "H2C": "true", "LOG_REQUESTS": "1",
	}
	c, err := parseArgs(nil, envMap(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantID := echoserver.Identity{Namespace: "ns-env", Ingress: "ing-env", Service: "svc-env", Pod: "pod-env", ServicePort: "http"}
	if c.opts.Identity != wantID || c.opts.Addr != ":3100" || c.opts.TLSAddr != ":8543" || !c.opts.H2C || !c.opts.LogRequests {
		t.Errorf("from env: %+v", c.opts)
	}
	// Flags win over the environment.
	c, err = parseArgs([]string{"--namespace", "ns-flag", "--pod", "pod-flag", "--addr", "127.0.0.1:0", "--h2c=false"}, envMap(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.Identity.Namespace != "ns-flag" || c.opts.Identity.Pod != "pod-flag" || c.opts.Identity.Ingress != "ing-env" ||
		c.opts.Addr != "127.0.0.1:0" || c.opts.H2C {
		t.Errorf("flags over env: %+v", c.opts)
	}
	// Without anything: echo-basic's port, no HTTPS, the host name as pod.
	c, err = parseArgs(nil, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if c.opts.Addr != ":3000" || c.opts.TLSAddr != "" || c.opts.Identity.Pod != host || c.shutdownTimeout != 10*time.Second {
		t.Errorf("defaults: %+v shutdown %v", c.opts, c.shutdownTimeout)
	}
}

// writeCertificate writes a certificate for "echo.example.test" and its key
// as PEM files and returns their paths and the certificate.
func writeCertificate(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	c, err := echoserver.GenerateCertificate("echo.example.test")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, c.Leaf
}

func TestCertificateFilesEnableHTTPS(t *testing.T) {
	certFile, keyFile, leaf := writeCertificate(t)
	c, err := parseArgs([]string{"--tls-cert", certFile, "--tls-key", keyFile}, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.TLSAddr != ":8443" || c.opts.TLSCertificate == nil || !bytes.Equal(c.opts.TLSCertificate.Certificate[0], leaf.Raw) {
		t.Errorf("TLSAddr %q certificate %v", c.opts.TLSAddr, c.opts.TLSCertificate != nil)
	}
}

// buildBinary builds the command into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ingresslab-echo")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryListenFD passes a listening socket as file descriptor 3, as
// the local cluster does for backend processes: the process serves on it,
// with the identity of its flags, and stops on SIGTERM.
func TestBinaryListenFD(t *testing.T) {
	bin := buildBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--listen-fd", "3", "--namespace", "ns-fd", "--service", "svc-fd", "--pod", "pod-fd-0", "--service-port", "80")
	cmd.ExtraFiles = []*os.File{f}
	stderr := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	exited := start(t, cmd)
	f.Close() // the child holds the socket now
	// The socket listens already: no wait for the process to start.
	got := answer(t, &http.Client{Timeout: 20 * time.Second}, "http://"+addr+"/fd")
	if got.Path != "/fd" || got.Namespace != "ns-fd" || got.Service != "svc-fd" || got.Pod != "pod-fd-0" || got.ServicePort != "80" {
		t.Errorf("answer %+v", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20s of SIGTERM")
	}
}

// start starts cmd and kills it at the end of the test if it still runs;
// the channel gets its exit.
func start(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return exited
}

// answer GETs url and decodes the echo backend's answer.
func answer(t *testing.T, c *http.Client, url string) echoserver.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got echoserver.Response
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestBinary builds the command, runs it on free ports, sends requests and
// stops it with SIGTERM while a stream is in flight.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	certFile, keyFile, leaf := writeCertificate(t)

	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0", "--tls-cert", certFile,
		"--tls-key", keyFile, "--pod", "pod-bin", "--log-requests")
	cmd.Env = append(os.Environ(), "NAMESPACE=ns-bin", "SERVICE_NAME=svc-bin", "SERVICE_PORT=80")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	exited := start(t, cmd)

	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var httpURL, httpsURL string
	deadline := time.After(20 * time.Second)
	for httpURL == "" || httpsURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed before both addresses were printed; stderr:\n%s", stderr.String())
			}
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				if strings.HasPrefix(u, "https://") {
					httpsURL = u
				} else {
					httpURL = u
				}
			}
		case <-deadline:
			t.Fatalf("no listening lines within 20s; stderr:\n%s", stderr.String())
		}
	}

	client := &http.Client{Timeout: 20 * time.Second}
	got := answer(t, client, httpURL+"/bin?x=1")
	if got.Path != "/bin?x=1" || got.Namespace != "ns-bin" || got.Service != "svc-bin" || got.Pod != "pod-bin" || got.ServicePort != "80" {
		t.Errorf("plain answer %+v", got)
	}

	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	tlsClient := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "echo.example.test"}, ForceAttemptHTTP2: true}}
	got = answer(t, tlsClient, httpsURL+"/secure")
	if got.TLS == nil || got.TLS.ServerName != "echo.example.test" || got.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("https answer tls %+v", got.TLS)
	}

	// SIGTERM while a stream is in flight: the stream completes, then the
	// process exits 0.
	resp, err := client.Get(httpURL + "/stream?stream=3&interval=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadBytes('\n'); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || strings.Count(string(rest), "\n") != 2 {
		t.Errorf("after SIGTERM: read %q, %v; want the 2 remaining chunks", rest, err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `uri="/bin?x=1"`) {
		t.Errorf("--log-requests did not log the request; stderr:\n%s", stderr.String())
	}
}
