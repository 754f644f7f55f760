package launch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/testtools"
	"github.com/ingresslab/ingresslab/profile"
)

func TestClusterRulesGrantOnlyWhatTheProfileReads(t *testing.T) {
	p := &profile.Profile{Name: "x", Access: profile.Access{
		Read:  []string{"secrets", "endpointslices", "services", "ingresses", "secrets"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"things"}, Verbs: []string{"get"}}},
	}}
	rules := clusterRules(p)
	allows := func(group, resource, verb string) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
		})
	}
	for _, want := range [][3]string{
		{"networking.k8s.io", "ingresses", "watch"}, {"networking.k8s.io", "ingressclasses", "list"},
		{"networking.k8s.io", "ingresses/status", "update"}, {"", "events", "create"},
		{"", "secrets", "watch"}, {"", "services", "get"}, {"discovery.k8s.io", "endpointslices", "list"},
		{"example.com", "things", "get"},
	} {
		if !allows(want[0], want[1], want[2]) {
			t.Errorf("rules do not allow %s %s/%s: %+v", want[2], want[0], want[1], rules)
		}
	}
	for _, deny := range [][3]string{
		{"", "configmaps", "get"}, {"", "pods", "list"}, {"", "nodes", "watch"}, {"", "secrets", "create"},
		{"networking.k8s.io", "ingresses", "update"}, {"networking.k8s.io", "ingresses", "delete"},
	} {
		if allows(deny[0], deny[1], deny[2]) {
			t.Errorf("rules allow %s %s/%s, the profile did not ask for it", deny[2], deny[0], deny[1])
		}
	}
	for _, r := range rules {
		if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") {
			t.Errorf("wildcard rule %+v", r)
		}
	}
}

func TestScrubEnvUnsetsInheritedClusterVariables(t *testing.T) {
	got := scrubEnv([]string{"/bin/ctl", "--flag"}, []string{"POD_NAMESPACE=ns"})
	joined := strings.Join(got, " ")
	if !strings.HasSuffix(joined, "-- /bin/ctl --flag") || !strings.Contains(joined, "-u KUBECONFIG") {
		t.Fatalf("scrubEnv = %q", joined)
	}
	if strings.Contains(joined, "-u POD_NAMESPACE") {
		t.Errorf("scrubEnv unsets POD_NAMESPACE the profile sets: %q", joined)
	}
}

func TestDNSName(t *testing.T) {
	for in, want := range map[string]string{"traefik-nginx": "traefik-nginx", "HAProxy Ingress": "haproxy-ingress", "__": "controller"} {
		if got := dnsName(in); got != want {
			t.Errorf("dnsName(%q) = %q, want %q", in, got, want)
		}
	}
}

// startLocal starts the local cluster (loopback backends) or skips when
// its binaries are missing (fails under INGRESSLAB_REQUIRE_TOOLS).
func startLocal(t *testing.T) (*local.Provider, Cluster) {
	t.Helper()
	_, err := local.FindBinaries(context.Background(), local.Binaries{})
	testtools.Require(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := local.Start(ctx, local.Options{Network: local.NetworkLoopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Destroy(context.Background()) })
	c, err := NewCluster(p.RESTConfig(), p, map[string]string{"ingresslab.dev/run": "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// The identity's kubeconfig is a ServiceAccount with exactly the access
// the profile declares: the API server itself says yes and no.
func TestIdentityIsLeastPrivilege(t *testing.T) {
	_, c := startLocal(t)
	ctx := context.Background()
	p, err := profile.Load("reference")
	if err != nil {
		t.Fatal(err)
	}
	p.Objects = []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{{.Name}}\ndata:\n  port: \"{{.HTTPPort}}\"\n"}
	dir := t.TempDir()
	id, err := provisionIdentity(ctx, c, p, dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := p.RenderObjects(profile.Vars{Name: p.Name, HTTPPort: 8080})
	if err != nil {
		t.Fatal(err)
	}
	if err := createObjects(ctx, c, p, objs, id.Namespace); err != nil {
		t.Fatal(err)
	}
	cm, err := c.Client.CoreV1().ConfigMaps(id.Namespace).Get(ctx, "cfg-reference", metav1.GetOptions{})
	if err != nil || cm.Data["port"] != "8080" {
		t.Fatalf("profile object: %v %v", cm, err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", id.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BearerToken == "" || len(cfg.CertData) != 0 {
		t.Fatalf("kubeconfig %s should carry a token and no client certificate", id.Kubeconfig)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list ingresses: %v", err)
	}
	if _, err := sa.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list endpointslices: %v", err)
	}
	if _, err := sa.Discovery().ServerVersion(); err != nil {
		t.Errorf("server version: %v", err)
	}
	forbidden := map[string]error{}
	_, forbidden["list serviceaccounts"] = sa.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{})
	_, forbidden["list pods"] = sa.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	_, forbidden["create ingress"] = sa.NetworkingV1().Ingresses("default").Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec:       networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "s", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	}, metav1.CreateOptions{})
	_, forbidden["list namespaces"] = sa.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v, want Forbidden", what, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sa-token")); err != nil || string(b) != id.Token {
		t.Errorf("token file: %v", err)
	}
	// Provisioning twice (a rerun against the same cluster) updates in place.
	if _, err := provisionIdentity(ctx, c, p, dir); err != nil {
		t.Errorf("second provisioning: %v", err)
	}
}

func TestMissingPeerBinaryIsNamed(t *testing.T) {
	p, err := profile.Load("traefik")
	if err != nil {
		t.Fatal(err)
	}
	p.Local.Binary.Path = filepath.Join(t.TempDir(), "traefik")
	_, err = p.FindBinary()
	if !errors.Is(err, profile.ErrBinaryNotFound) || !strings.Contains(err.Error(), "traefik") {
		t.Fatalf("FindBinary = %v", err)
	}
}
