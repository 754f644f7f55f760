package profile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The haproxy-tech profile's wrapper hands haproxy an edited copy of the
// controller's configuration and leaves the controller's file as it wrote
// it: the controller reads that file back on every sync and, edited in
// place, found its global section changed (limited-quic gone) and reloaded
// haproxy on every sync. On reload the master passes the copy's path; the
// wrapper copies the controller's current file again.
func TestHaproxyTechWrapperEditsACopy(t *testing.T) {
	for _, tool := range []string{"bash", "sed", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	p, err := Load("haproxy-tech")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	// A fake haproxy prints its arguments and the file it was given with -f.
	fake := filepath.Join(dir, "fake-haproxy")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"args: $*\"\nprev=\nfor a in \"$@\"; do [ \"$prev\" = -f ] && cat \"$a\"; prev=$a; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("INGRESSLAB_HAPROXY", fake)
	cmd, _, _, err := p.Render(Vars{Program: "/bin/true", RunDir: run, Kubeconfig: "/k", IngressClass: "c", Namespace: "ns",
		HTTPPort: 1, HTTPSPort: 2, AdminPort: 3, Ports: map[string]int{"stats": 4, "localpeer": 5, "defaultbackend": 6}})
	if err != nil {
		t.Fatal(err)
	}
	// The profile's command writes the wrapper, then execs the program
	// (/bin/true here).
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("profile command: %v\n%s", err, out)
	}
	wrapper := filepath.Join(run, "haproxy")

	cfg := filepath.Join(dir, "etc", "haproxy.cfg")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	const written = "global\n  daemon\n  limited-quic\n  master-worker\nfrontend stats\n  bind *:1024\nfrontend http\n  bind 127.0.0.1:80\n"
	if err := os.WriteFile(cfg, []byte(written), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(out []byte, wantArg, wantLine string) {
		t.Helper()
		s := string(out)
		if !strings.Contains(s, " "+wantArg) {
			t.Errorf("haproxy was not given %s:\n%s", wantArg, s)
		}
		for _, gone := range []string{"limited-quic", "daemon", "bind *:"} {
			if strings.Contains(s, gone) {
				t.Errorf("haproxy read %q:\n%s", gone, s)
			}
		}
		if !strings.Contains(s, "bind 127.0.0.1:1024") || !strings.Contains(s, wantLine) {
			t.Errorf("haproxy read an unexpected configuration (want %q):\n%s", wantLine, s)
		}
	}

	// A configuration check (-c): haproxy checks the edited copy.
	out, err := exec.Command(wrapper, "-c", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("wrapper -c: %v\n%s", err, out)
	}
	copyPath := filepath.Join(run, "edited") + "/" + cfg
	check(out, "-f "+copyPath, "master-worker")
	if b, _ := os.ReadFile(cfg); string(b) != written {
		t.Errorf("the controller's file was changed:\n%s", b)
	}

	// A reload: the master re-executes the wrapper with the copy's path;
	// the controller has written a new configuration meanwhile.
	const rewritten = "global\n  limited-quic\nfrontend stats\n  bind 0.0.0.0:1024\nbackend new\n"
	if err := os.WriteFile(cfg, []byte(rewritten), 0o644); err != nil {
		t.Fatal(err)
	}
	reload := exec.Command(wrapper, "-W", "-f", copyPath, "-sf", "42")
	reload.Env = append(os.Environ(), "HAPROXY_MWORKER_REEXEC=1")
	out, err = reload.CombinedOutput()
	if err != nil {
		t.Fatalf("wrapper on reload: %v\n%s", err, out)
	}
	check(out, "-f "+copyPath+" -sf 42", "backend new")
	if b, _ := os.ReadFile(cfg); string(b) != rewritten {
		t.Errorf("the controller's file was changed on reload:\n%s", b)
	}
}
