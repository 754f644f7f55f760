package existing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/testtools"
	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/profile"
)

// startLocal starts the local provider's API server (no kubelet: pods never
// run, so tests use NoWait) or skips when its binaries are missing.
func startLocal(t *testing.T) *local.Provider {
	t.Helper()
	_, err := local.FindBinaries(context.Background(), local.Binaries{})
	testtools.Require(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lp, err := local.Start(ctx, local.Options{Network: local.NetworkLoopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lp.Destroy(context.Background()) })
	return lp
}

func TestExistingProviderOnLocalAPIServer(t *testing.T) {
	lp := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("kubeconfig", func(t *testing.T) {
		p, err := New(ctx, Options{Kubeconfig: lp.KubeconfigPath(), Wait: NoWait})
		if err != nil {
			t.Fatal(err)
		}
		if p.KubeconfigPath() != lp.KubeconfigPath() || p.Name() != "existing" || len(p.RunID()) != 8 {
			t.Fatalf("kubeconfig %q name %q run %q", p.KubeconfigPath(), p.Name(), p.RunID())
		}
		if p.KubernetesVersion() == "" {
			t.Fatal("no server version")
		}
		_, err = New(ctx, Options{Kubeconfig: filepath.Join(t.TempDir(), "missing")})
		if err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("missing kubeconfig: err = %v, want it named", err)
		}
	})

	t.Run("backends", func(t *testing.T) {
		testBackends(ctx, t, lp)
	})
	t.Run("reference manifests dry-run", func(t *testing.T) {
		testManifestsDryRun(ctx, t, lp)
	})
	t.Run("profile files dry-run", func(t *testing.T) {
		testProfileFilesDryRun(ctx, t, lp)
	})
}

func testBackends(ctx context.Context, t *testing.T, lp *local.Provider) {
	var waited []string
	wait := func(_ context.Context, _ kubernetes.Interface, ns, name string, replicas int) error {
		waited = append(waited, fmt.Sprintf("%s/%s=%d", ns, name, replicas))
		return nil
	}
	p, err := New(ctx, Options{Config: lp.RESTConfig(), RunID: "t3st", Wait: wait, DeleteTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cs := p.Client()
	// A namespace that is not the run's is never adopted (nor deleted).
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "foreign"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PublishBackend(ctx, cluster.BackendSpec{Namespace: "foreign", Name: "x", Replicas: 1}); err == nil || !strings.Contains(err.Error(), "does not belong to run t3st") {
		t.Fatalf("publish into a foreign namespace: err = %v", err)
	}

	spec := cluster.BackendSpec{
		Namespace: "ilab-t3st-a", Name: "echo", Replicas: 2, Labels: map[string]string{"suite": "backends"},
		Ports: []cluster.ServicePort{{Name: "http", Port: 80, TargetPort: 8080}, {Name: "alt", Port: 81, TargetPort: 8080}, {Name: "other", Port: 90, TargetPort: 9090}},
	}
	b, err := p.PublishBackend(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, spec.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels[RunLabel] != "t3st" || ns.Labels[ManagedByLabel] != ManagedBy {
		t.Fatalf("namespace labels = %v", ns.Labels)
	}
	dep, err := cs.AppsV1().Deployments(spec.Namespace).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 || dep.Labels[RunLabel] != "t3st" || dep.Spec.Template.Labels[BackendLabel] != "echo" {
		t.Fatalf("deployment replicas %d labels %v template labels %v", *dep.Spec.Replicas, dep.Labels, dep.Spec.Template.Labels)
	}
	ctrs := dep.Spec.Template.Spec.Containers
	if len(ctrs) != 2 || ctrs[0].Name != "echo-8080" || ctrs[1].Name != "echo-9090" {
		t.Fatalf("containers: one per distinct target port wanted, got %d: %v", len(ctrs), ctrs)
	}
	if ctrs[0].Image != kind.EchoBasicImage || envValue(ctrs[1], "HTTP_PORT") != "9090" || envValue(ctrs[1], "SERVICE_NAME") != "echo" {
		t.Fatalf("container 1: image %s env %v", ctrs[0].Image, ctrs[1].Env)
	}
	if sc := ctrs[0].SecurityContext; sc == nil || !*sc.ReadOnlyRootFilesystem || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation {
		t.Fatalf("container securityContext = %+v", sc)
	}
	svc, err := cs.CoreV1().Services(spec.Namespace).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Labels["suite"] != "backends" || svc.Labels[RunLabel] != "t3st" || svc.Spec.Selector[BackendLabel] != "echo" || len(svc.Spec.Ports) != 3 || svc.Spec.Ports[2].TargetPort.IntVal != 9090 {
		t.Fatalf("service labels %v selector %v ports %v", svc.Labels, svc.Spec.Selector, svc.Spec.Ports)
	}
	if len(b.Endpoints) != 0 {
		t.Fatalf("no kubelet, so no pods: endpoints = %v", b.Endpoints)
	}

	if err := p.ScaleBackend(ctx, b, 5); err != nil {
		t.Fatal(err)
	}
	dep, err = cs.AppsV1().Deployments(spec.Namespace).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 5 || b.Spec.Replicas != 5 {
		t.Fatalf("after scale: replicas %v (spec %d), err %v", dep.Spec.Replicas, b.Spec.Replicas, err)
	}
	if want := []string{"ilab-t3st-a/echo=2", "ilab-t3st-a/echo=5"}; !slices.Equal(waited, want) {
		t.Fatalf("waits = %v, want %v", waited, want)
	}
	if err := p.SetEndpointConditions(ctx, b, 0, cluster.EndpointConditions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SetEndpointConditions: err = %v, want ErrUnsupported", err)
	}
	if err := p.CheckTarget(ctx, netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckTarget(ctx, netip.MustParseAddr("10.96.0.10")); err == nil {
		t.Fatal("CheckTarget allowed a cluster address")
	}

	// A second backend, then delete the first.
	b2, err := p.PublishBackend(ctx, cluster.BackendSpec{Namespace: "ilab-t3st-b", Name: "solo"})
	if err != nil {
		t.Fatal(err)
	}
	if b2.Spec.Replicas != 0 || len(b2.Spec.Ports) != 1 || b2.Spec.Ports[0].TargetPort != 8080 {
		t.Fatalf("defaults: %+v", b2.Spec)
	}
	if err := p.DeleteBackend(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(spec.Namespace).Get(ctx, "echo", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("deployment after delete: err = %v", err)
	}
	if err := p.ScaleBackend(ctx, b, 1); err == nil {
		t.Fatal("scaling a deleted backend succeeded")
	}

	// A run IngressClass is cleaned up too; a foreign one is not.
	for name, labels := range map[string]map[string]string{"run-class": p.RunLabels(), "other-class": nil} {
		ic := &unstructured.Unstructured{}
		ic.SetAPIVersion("networking.k8s.io/v1")
		ic.SetKind("IngressClass")
		ic.SetName(name)
		ic.SetLabels(labels)
		_ = unstructured.SetNestedField(ic.Object, "example.com/x", "spec", "controller")
		a, err := NewApplier(p.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Apply(ctx, "", ic); err != nil {
			t.Fatal(err)
		}
	}

	if err := p.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: RunLabel + "=t3st"})
	if err != nil || len(left.Items) != 0 {
		t.Fatalf("run namespaces after Destroy: %v (err %v)", names(left), err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "foreign", metav1.GetOptions{}); err != nil {
		t.Fatalf("foreign namespace: %v", err)
	}
	if _, err := cs.NetworkingV1().IngressClasses().Get(ctx, "run-class", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("run IngressClass after Destroy: err = %v", err)
	}
	if _, err := cs.NetworkingV1().IngressClasses().Get(ctx, "other-class", metav1.GetOptions{}); err != nil {
		t.Fatalf("foreign IngressClass: %v", err)
	}
}

func names(l *corev1.NamespaceList) []string {
	if l == nil {
		return nil
	}
	var out []string
	for _, n := range l.Items {
		out = append(out, n.Name+"("+string(n.Status.Phase)+")")
	}
	return out
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// testManifestsDryRun validates every shipped manifest, as shipped and as
// the kind provider renders it, by server-side dry-run.
func testManifestsDryRun(ctx context.Context, t *testing.T, lp *local.Provider) {
	for _, tc := range []struct {
		name string
		opts kind.ManifestOptions
	}{
		{"as shipped", kind.ManifestOptions{}},
		{"kind", kind.ManifestOptions{HTTPNodePort: 30080, HTTPSNodePort: 30443, StatusAddress: "127.0.0.1", Replicas: 3, ExtraArgs: []string{"--access-log"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := kind.Manifests(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := InstallObjects(ctx, lp.RESTConfig(), kind.Namespace, objs, []string{"deployment/" + kind.DeploymentName}, InstallOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(inst.Objects) != len(objs) {
				t.Fatalf("applied %d of %d", len(inst.Objects), len(objs))
			}
			// Dry-run stored nothing but the namespace.
			if _, err := lp.Client().AppsV1().Deployments(kind.Namespace).Get(ctx, kind.DeploymentName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("dry-run stored the Deployment (err %v)", err)
			}
		})
	}
	// The dry-run really validates: a broken object is rejected.
	objs, err := kind.Manifests(kind.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "PodDisruptionBudget" {
			_ = unstructured.SetNestedField(o.Object, "not-a-number-or-percent", "spec", "minAvailable")
		}
	}
	a, err := NewApplier(lp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	a.DryRun = true
	if err := a.Apply(ctx, kind.Namespace, objs...); err == nil || !strings.Contains(err.Error(), "PodDisruptionBudget") {
		t.Fatalf("a broken PodDisruptionBudget passed the dry-run (err %v)", err)
	}
}

// testProfileFilesDryRun validates the manifest files shipped with the kind
// profiles (fixtures/profiles/kind) and their patches by dry-run.
func testProfileFilesDryRun(ctx context.Context, t *testing.T, lp *local.Provider) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "profiles", "kind")
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no kind profiles in %s (err %v)", dir, err)
	}
	checked := 0
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Parse(b, path)
		if err != nil {
			t.Fatal(err)
		}
		var local []string
		for _, m := range p.Kind.Manifests {
			if !strings.HasPrefix(m, "https://") {
				local = append(local, m)
			}
		}
		if len(local) == 0 {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			sec := *p.Kind
			sec.Manifests = local
			sec.Patches = nil // patches target objects of remote manifests too
			sec.Wait = nil
			if _, err := Install(ctx, lp.RESTConfig(), sec, InstallOptions{DryRun: true, BaseDir: filepath.Dir(path)}); err != nil {
				t.Fatal(err)
			}
			checked++
		})
	}
	if checked == 0 {
		t.Fatal("no profile shipped a local manifest file to validate")
	}
}
