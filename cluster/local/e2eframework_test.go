package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/e2e-framework/klient"
)

func TestE2EFrameworkProvider(t *testing.T) {
	requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := NewE2EProvider()
	e.WithName("e2e").WithVersion("v1.30.0")
	if _, err := e.Create(ctx); err == nil || !strings.Contains(err.Error(), KubernetesVersion) {
		t.Fatalf("wrong version accepted: %v", err)
	}
	e.WithVersion(KubernetesVersion)
	e.WithOptions(Options{Network: NetworkLoopback, NoControllerManager: true})
	kubeconfig, err := e.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy(context.Background())
	if kubeconfig == "" || e.GetKubeconfig() != kubeconfig {
		t.Fatalf("kubeconfig %q / %q", kubeconfig, e.GetKubeconfig())
	}
	c, err := klient.New(e.KubernetesRestConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WaitForControlPlane(ctx, c); err != nil {
		t.Fatal(err)
	}
	// klient works against it: list IngressClasses (none yet).
	var list networkingv1.IngressClassList
	if err := c.Resources().List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := e.ExportLogs(ctx, dest); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "kube-apiserver.log")); err != nil {
		t.Fatalf("exported logs lack kube-apiserver.log: %v", err)
	}
}
