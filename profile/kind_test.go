package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedKindProfiles parses every profile under fixtures/profiles/kind
// strictly and checks its manifests: URLs pinned to a release, files present.
func TestShippedKindProfiles(t *testing.T) {
	dir := filepath.Join("..", "fixtures", "profiles", "kind")
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"ingress-nginx": false, "traefik": false, "traefik-ingress-nginx": false, "haproxy-ingress": false, "contour": false}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(b, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := want[p.Name]; !ok {
			t.Errorf("%s: unexpected profile %q", path, p.Name)
		}
		want[p.Name] = true
		if p.Version == "" || len(p.Features) == 0 || len(p.Kind.Wait) == 0 || p.Kind.PodSelector == "" {
			t.Errorf("%s: version %q, %d features, wait %v, podSelector %q", path, p.Version, len(p.Features), p.Kind.Wait, p.Kind.PodSelector)
		}
		for _, m := range p.Kind.ResolveManifests(filepath.Dir(path)) {
			if strings.HasPrefix(m, "https://") {
				if !strings.Contains(m, p.Version) {
					t.Errorf("%s: manifest URL %s is not pinned to version %s", path, m, p.Version)
				}
				continue
			}
			if _, err := os.Stat(m); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("no kind profile %s", name)
		}
	}
}

func TestKindSectionValidate(t *testing.T) {
	good := KindSection{Namespace: "x", Manifests: []string{"https://example.com/v1.2.3/deploy.yaml", "local.yaml"}, Wait: []string{"deployment/a", "DaemonSet/b"},
		Patches: []KindPatch{{APIVersion: "apps/v1", Kind: "Deployment", Name: "a", Type: "json", Patch: "- op: add\n  path: /x\n  value: 1\n"}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]KindSection{
		"namespace":     {},
		"branch URL":    {Namespace: "x", Manifests: []string{"https://raw.githubusercontent.com/o/r/main/deploy.yaml"}},
		"http URL":      {Namespace: "x", Manifests: []string{"http://example.com/v1/deploy.yaml"}},
		"absolute file": {Namespace: "x", Manifests: []string{"/etc/deploy.yaml"}},
		"wait kind":     {Namespace: "x", Wait: []string{"statefulset/a"}},
		"patch type":    {Namespace: "x", Patches: []KindPatch{{APIVersion: "v1", Kind: "Service", Name: "s", Type: "xml", Patch: "{}"}}},
		"patch body":    {Namespace: "x", Patches: []KindPatch{{APIVersion: "v1", Kind: "Service", Name: "s", Patch: ""}}},
		"timeout":       {Namespace: "x", Timeout: "soon"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Parse([]byte("name: a\ncontroller: c\ningressClass: i\nkind: {namespace: n}\nunknown: 1\n"), "t.yaml"); err == nil {
		t.Error("unknown field accepted")
	}
	p, err := Parse([]byte("name: a\ncontroller: c\ningressClass: i\nkind: {namespace: n, manifests: [m.yaml]}\n"), "dir/t.yaml")
	if err != nil || p.Kind.ResolveManifests("dir")[0] != filepath.Join("dir", "m.yaml") {
		t.Fatalf("p %+v err %v", p, err)
	}
	if d, _ := p.Kind.TimeoutDuration(); d != DefaultKindTimeout {
		t.Fatalf("default timeout %s", d)
	}
}
