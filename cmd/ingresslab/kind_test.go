package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	clusterkind "github.com/ingresslab/ingresslab/cluster/kind"
	"github.com/ingresslab/ingresslab/kind"
)

func TestKindConfigCommand(t *testing.T) {
	cmd := newKindCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"config", "--name", "dev", "--http-port", "8080", "--https-port", "8443"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(out.Bytes(), &c); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	hp, hsp, err := kind.HostPorts(&c)
	if c.Name != "dev" || hp != 8080 || hsp != 8443 || err != nil {
		t.Fatalf("name %q ports %d/%d err %v", c.Name, hp, hsp, err)
	}
}

func TestKindClusterUpWithoutDocker(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("INGRESSLAB_STATE_DIR", t.TempDir())
	cmd := &cobra.Command{}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetContext(context.Background())
	var f kindUpFlags
	addKindUpFlags(cmd.Flags(), &f)
	err := kindClusterUp(cmd, "ingresslab-test", "", f)
	if !errors.Is(err, clusterkind.ErrDockerUnavailable) || !strings.Contains(err.Error(), "docker") {
		t.Fatalf("err = %v", err)
	}
	if err := kindClusterDown(cmd, "ingresslab-test", "", 0); !errors.Is(err, clusterkind.ErrDockerUnavailable) {
		t.Fatalf("down: err = %v", err)
	}
}
