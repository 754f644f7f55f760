package kind

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeDocker puts a docker script first on PATH that prints out and exits
// with code.
func fakeDocker(t *testing.T, out string, code int) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\necho '" + out + "'\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

func TestCheckDocker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("no docker command", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		err := CheckDocker(ctx)
		if !errors.Is(err, ErrDockerUnavailable) || !strings.Contains(err.Error(), "docker command is not on PATH") ||
			!strings.Contains(err.Error(), "install Docker") || !strings.Contains(err.Error(), "--provider local") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("engine down", func(t *testing.T) {
		fakeDocker(t, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", 1)
		err := CheckDocker(ctx)
		if !errors.Is(err, ErrDockerUnavailable) || !strings.Contains(err.Error(), "Docker engine is not reachable") ||
			!strings.Contains(err.Error(), "Cannot connect") || !strings.Contains(err.Error(), "start the Docker daemon") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("engine up", func(t *testing.T) {
		fakeDocker(t, "28.2.2", 0)
		if err := CheckDocker(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStartWithoutDocker runs against this machine's real Docker state:
// without an engine, Start fails up front with the Docker error and creates
// nothing; with one, the test is skipped (creating clusters belongs to e2e).
func TestStartWithoutDocker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if CheckDocker(ctx) == nil {
		t.Skip("a Docker engine is available; cluster creation is covered by `make e2e PROVIDER=kind`")
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	p, err := Start(ctx, Options{Name: "ingresslab-test", Kubeconfig: kubeconfig})
	if p != nil || !errors.Is(err, ErrDockerUnavailable) || !strings.Contains(err.Error(), "docker") {
		t.Fatalf("Start = %v, %v; want the Docker error", p, err)
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		t.Fatalf("kubeconfig written without a cluster (stat err %v)", err)
	}
	if err := Delete(ctx, Options{Name: "ingresslab-test"}); !errors.Is(err, ErrDockerUnavailable) {
		t.Fatalf("Delete: err = %v", err)
	}
}

func TestStartChecksDockerFirst(t *testing.T) {
	calls := 0
	sentinel := errors.New("no docker here")
	_, err := Start(context.Background(), Options{HTTPPort: 70000, CheckDocker: func(context.Context) error { calls++; return sentinel }})
	if !errors.Is(err, sentinel) || calls != 1 {
		t.Fatalf("err = %v, calls %d; the Docker check must come before anything else", err, calls)
	}
	_, err = Start(context.Background(), Options{HTTPPort: 70000, CheckDocker: func(context.Context) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("bad port: err = %v", err)
	}
}
