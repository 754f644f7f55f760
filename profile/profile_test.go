package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedReferenceProfile(t *testing.T) {
	p, err := Load("reference")
	if err != nil {
		t.Fatal(err)
	}
	if p.Controller != "ingresslab.dev/ingress-controller" || p.IngressClass != "ingresslab" || !p.Supports("tls") {
		t.Fatalf("unexpected reference profile: %+v", p)
	}
	cmd, _, ready, err := p.Render(Vars{Bin: "/b", Kubeconfig: "/k", Controller: p.Controller, IngressClass: "c", StatusAddress: "127.0.1.1", HTTPPort: 1, HTTPSPort: 2, AdminPort: 3})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(cmd, " ")
	for _, want := range []string{"/b/ingresslab-controller", "--kubeconfig=/k", "--http-addr=127.0.0.1:1", "--https-addr=127.0.0.1:2", "--ingress-class=c"} {
		if !strings.Contains(joined, want) {
			t.Errorf("command %q lacks %q", joined, want)
		}
	}
	if ready != "http://127.0.0.1:3/readyz" {
		t.Errorf("ready URL %q", ready)
	}
}

func TestBadProfilesNameTheField(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ yaml, want string }{
		"missing-fields": {"name: x\n", "controller is required"},
		"unknown-field":  {"name: x\ncontroller: a/b\ningressClass: c\nlocal: {command: [x]}\nbogus: 1\n", "bogus"},
		"bad-template":   {"name: x\ncontroller: a/b\ningressClass: c\nlocal: {command: [\"{{.Nope}}\"]}\n", "local.command[0]"},
	} {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := Load(path)
		if err == nil {
			_, _, _, err = p.Render(Vars{})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), "x") {
			t.Errorf("%s: error %v, want it to mention %q", name, err, tc.want)
		}
	}
	if _, err := Load("no-such-profile"); err == nil || !strings.Contains(err.Error(), "reference") {
		t.Errorf("unknown shipped profile: %v", err)
	}
}
