package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/testtools"
)

func buildCLI(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ingresslab")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestClusterUpDown(t *testing.T) {
	_, err := local.FindBinaries(context.Background(), local.Binaries{})
	testtools.Require(t, err)
	bin := buildCLI(t)
	state := t.TempDir()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	up := exec.Command(bin, "cluster", "up", "--name", "clitest", "--kubeconfig", kubeconfig)
	up.Env = append(os.Environ(), "INGRESSLAB_STATE_DIR="+state)
	stdout, _ := up.StdoutPipe()
	up.Stderr = os.Stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Process.Kill(); _ = up.Wait() })

	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var output []string
	deadline := time.After(2 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("cluster up exited early:\n%s", strings.Join(output, "\n"))
			}
			output = append(output, l)
			if strings.HasPrefix(l, "Press Ctrl-C") {
				break wait
			}
		case <-deadline:
			t.Fatalf("cluster up not ready in time:\n%s", strings.Join(output, "\n"))
		}
	}
	text := strings.Join(output, "\n")
	if !strings.Contains(text, "kubeconfig:  "+kubeconfig) || !strings.Contains(text, "API server:  https://127.0.0.1:") {
		t.Fatalf("output lacks kubeconfig or API server:\n%s", text)
	}
	// The kubeconfig works: list namespaces as kubectl would.
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	nss, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nss.Items) == 0 {
		t.Fatalf("list namespaces: %v (%d)", err, len(nss.Items))
	}

	// A second `up` with the same name is refused with a clear message.
	second := exec.Command(bin, "cluster", "up", "--name", "clitest")
	second.Env = up.Env
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already running") || strings.Contains(string(out), "goroutine") {
		t.Fatalf("second up: err=%v output=%s", err, out)
	}

	down := exec.Command(bin, "cluster", "down", "--name", "clitest")
	down.Env = up.Env
	if out, err := down.CombinedOutput(); err != nil {
		t.Fatalf("cluster down: %v\n%s", err, out)
	}
	for l := range lines {
		output = append(output, l)
	}
	if err := up.Wait(); err != nil {
		t.Fatalf("cluster up exited with %v", err)
	}
	if !strings.Contains(strings.Join(output, "\n"), "Stopped.") {
		t.Fatalf("cluster up did not report a clean stop:\n%s", strings.Join(output, "\n"))
	}
	if _, err := os.Stat(filepath.Join(state, "clitest.json")); !os.IsNotExist(err) {
		t.Fatal("state file left behind")
	}
	if _, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); err == nil {
		t.Fatal("API server still answers after cluster down")
	}
}

func TestUserMistakesGetOneLineErrors(t *testing.T) {
	bin := buildCLI(t)
	for _, args := range [][]string{
		{"cluster", "up", "--provider", "nope"},
		{"cluster", "down", "--name", "does-not-exist"},
		{"no-such-command"},
		{"cluster", "up", "--api-port", "notanumber"},
		{"report", "compare", "/nonexistent/a.json", "/nonexistent/b.json"},
		{"report", "compare", "only-one.json"},
		{"conformance", "--controller", "/nonexistent/profile.yaml"},
		{"conformance", "--features", "no-such-feature", "--multi-class=false", "--controller", "../../fixtures/profiles/reference.yaml", "--parallel", "2"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "INGRESSLAB_STATE_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%v: exit 0, want an error", args)
		}
		if !strings.Contains(string(out), "error:") || strings.Contains(string(out), "goroutine ") || strings.Contains(string(out), "panic") {
			t.Errorf("%v: output %q", args, out)
		}
	}
}

func TestReportCompare(t *testing.T) {
	bin := buildCLI(t)
	out, err := exec.Command(bin, "report", "compare", "../../reports/testdata/conformance.json", "../../reports/testdata/candidate.json").CombinedOutput()
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# Conformance comparison") || !strings.Contains(string(out), "## Differences") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
