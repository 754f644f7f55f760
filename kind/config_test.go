package kind

import (
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func TestShippedConfig(t *testing.T) {
	c, err := Config(ConfigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" || c.Name != DefaultClusterName {
		t.Fatalf("type %s/%s name %q", c.APIVersion, c.Kind, c.Name)
	}
	if len(c.Nodes) != 1 {
		t.Fatalf("want one node, got %d", len(c.Nodes))
	}
	n := c.Nodes[0]
	if n.Role != v1alpha4.ControlPlaneRole || n.Labels[IngressReadyLabel] != "true" {
		t.Fatalf("node role %q labels %v", n.Role, n.Labels)
	}
	// Pinned by digest, to the image kind v0.33.0 ships (Kubernetes 1.37).
	if n.Image != defaults.Image || !strings.Contains(n.Image, "@sha256:") || !strings.HasPrefix(NodeImageVersion(n.Image), "v1.37.") {
		t.Fatalf("node image %q, want %q pinned by digest at v1.37.x", n.Image, defaults.Image)
	}
	want := []v1alpha4.PortMapping{
		{ContainerPort: 80, HostPort: 80, ListenAddress: "127.0.0.1", Protocol: v1alpha4.PortMappingProtocolTCP},
		{ContainerPort: 443, HostPort: 443, ListenAddress: "127.0.0.1", Protocol: v1alpha4.PortMappingProtocolTCP},
	}
	if len(n.ExtraPortMappings) != len(want) {
		t.Fatalf("port mappings %+v", n.ExtraPortMappings)
	}
	for i, m := range n.ExtraPortMappings {
		if m != want[i] {
			t.Fatalf("port mapping %d = %+v, want %+v", i, m, want[i])
		}
	}
	if len(c.KubeadmConfigPatchesJSON6902) != 1 || !strings.Contains(c.KubeadmConfigPatchesJSON6902[0].Patch, "service-node-port-range") ||
		c.KubeadmConfigPatchesJSON6902[0].Version != "v1beta4" {
		t.Fatalf("kubeadm patches %+v", c.KubeadmConfigPatchesJSON6902)
	}
	hp, hsp, err := HostPorts(c)
	if err != nil || hp != 80 || hsp != 443 {
		t.Fatalf("HostPorts = %d, %d, %v", hp, hsp, err)
	}
}

func TestConfigOverrides(t *testing.T) {
	c, err := Config(ConfigOptions{Name: "dev", NodeImage: "kindest/node:v1.37.9", HTTPPort: 8080, HTTPSPort: 8443})
	if err != nil {
		t.Fatal(err)
	}
	hp, hsp, err := HostPorts(c)
	if c.Name != "dev" || c.Nodes[0].Image != "kindest/node:v1.37.9" || hp != 8080 || hsp != 8443 || err != nil {
		t.Fatalf("name %q image %q ports %d/%d err %v", c.Name, c.Nodes[0].Image, hp, hsp, err)
	}
	for _, m := range c.Nodes[0].ExtraPortMappings {
		if m.ListenAddress != "127.0.0.1" {
			t.Fatalf("mapping %+v listens beyond loopback", m)
		}
	}
	// Rendering round-trips through kind's own types, strictly.
	b, err := RenderConfig(ConfigOptions{HTTPPort: 9080, HTTPSPort: 9443})
	if err != nil {
		t.Fatal(err)
	}
	var back v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(b, &back); err != nil {
		t.Fatalf("rendered config does not parse: %v\n%s", err, b)
	}
	if hp, hsp, _ := HostPorts(&back); hp != 9080 || hsp != 9443 || back.Nodes[0].Image != DefaultNodeImage {
		t.Fatalf("rendered: ports %d/%d image %q", hp, hsp, back.Nodes[0].Image)
	}
	for _, bad := range []ConfigOptions{{HTTPPort: 70000}, {HTTPPort: -1}, {HTTPPort: 8080, HTTPSPort: 8080}} {
		if _, err := Config(bad); err == nil {
			t.Errorf("Config(%+v) accepted", bad)
		}
	}
}

func TestNodeImageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"kindest/node:v1.37.0@sha256:abc": "v1.37.0",
		"kindest/node:v1.36.1":            "v1.36.1",
		"localhost:5000/node":             "",
	} {
		if got := NodeImageVersion(in); got != want {
			t.Errorf("NodeImageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
