package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinaryOrder(t *testing.T) {
	dir := t.TempDir()
	exe := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	onPath, fromEnv, explicit := exe("peerctl"), exe("from-env"), exe("explicit")
	t.Setenv("PATH", dir)
	t.Setenv("INGRESSLAB_TEST_PEER_BIN", "")
	p := &Profile{Name: "peer", Local: Local{Binary: &Binary{Name: "peerctl", Env: "INGRESSLAB_TEST_PEER_BIN"}}}
	if got, err := p.FindBinary(); err != nil || got != onPath {
		t.Errorf("PATH lookup = %q, %v", got, err)
	}
	t.Setenv("INGRESSLAB_TEST_PEER_BIN", fromEnv)
	if got, err := p.FindBinary(); err != nil || got != fromEnv {
		t.Errorf("env lookup = %q, %v", got, err)
	}
	p.Local.Binary.Path = explicit
	if got, err := p.FindBinary(); err != nil || got != explicit {
		t.Errorf("explicit path = %q, %v", got, err)
	}
	p.Local.Binary.Path = dir
	if _, err := p.FindBinary(); !errors.Is(err, ErrBinaryNotFound) {
		t.Errorf("a directory was accepted: %v", err)
	}
	p.Local.Binary.Path = ""
	t.Setenv("INGRESSLAB_TEST_PEER_BIN", "")
	t.Setenv("PATH", t.TempDir())
	_, err := p.FindBinary()
	if !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), "INGRESSLAB_TEST_PEER_BIN") {
		t.Errorf("absent binary: %v", err)
	}
	if got, err := (&Profile{}).FindBinary(); got != "" || err != nil {
		t.Errorf("profile without binary section: %q, %v", got, err)
	}
}

func TestAccessAndPortsAreValidated(t *testing.T) {
	base := "name: x\ncontroller: a/b\ningressClass: c\nlocal: {command: [x], ports: [%s]}\naccess: {read: [%s]}\n"
	for _, tc := range []struct{ ports, read, want string }{
		{"stats", "services, widgets", `access.read[1]: unknown resource "widgets"`},
		{"stats-port", "services", `local.ports[0]`},
	} {
		_, err := Parse([]byte(strings.NewReplacer("[%s]}\naccess", "["+tc.ports+"]}\naccess", "read: [%s]", "read: ["+tc.read+"]").Replace(base)), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// Every shipped local profile renders with loopback listeners only and a
// status address of its own.
func TestShippedLocalProfilesRender(t *testing.T) {
	seen := map[string]string{}
	for _, name := range Shipped() {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasLocal() {
			continue
		}
		if other, dup := seen[p.StatusAddress]; dup {
			t.Errorf("%s and %s share status address %s", name, other, p.StatusAddress)
		}
		seen[p.StatusAddress] = name
		v := Vars{Name: p.Name, Bin: "/b", Program: "/peer", Kubeconfig: "/k", Controller: p.Controller, IngressClass: p.IngressClass,
			StatusAddress: p.StatusAddress, HTTPPort: 1, HTTPSPort: 2, AdminPort: 3, Workdir: "/w", APIServer: "https://127.0.0.1:6443",
			RunDir: "/r", CAFile: "/ca", Token: "t", TokenFile: "/t", Namespace: "ns", ServiceAccount: "sa", Ports: map[string]int{}}
		for i, n := range p.Local.Ports {
			v.Ports[n] = 10 + i
		}
		cmd, _, _, err := p.Render(v)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := p.RenderObjects(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, arg := range cmd {
			if strings.Contains(arg, "0.0.0.0") || strings.Contains(arg, "=:") {
				t.Errorf("%s: argument %q may listen on all interfaces", name, arg)
			}
		}
	}
}
