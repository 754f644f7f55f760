package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/source"
	statuspkg "github.com/ingresslab/ingresslab/controller/status"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// TestStatusOnlyUpdateSignalsNoChange: on the real API server, an update of
// an Ingress's status subresource goes to OnIngressStatus and leaves no
// change signal (no build, no longer batch); a change of its annotations
// signals.
func TestStatusOnlyUpdateSignalsNoChange(t *testing.T) {
	ns := newNamespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan *networkingv1.Ingress, 16)
	src, err := source.New(kube, source.Options{Namespace: ns, Logger: testLogger("source"),
		OnIngressStatus: func(ing *networkingv1.Ingress) { seen <- ing }})
	if err != nil {
		t.Fatal(err)
	}
	src.Start(ctx)
	defer src.Shutdown()
	defer cancel()
	if err := src.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing else lives in the namespace: after the Ingress is cached
	// (and the signals of its creation and of the initial list taken), a
	// signal carrying a time after the status write can only come from it.
	createIngress(t, ns, "echo", className("nobody"), prefix("echo.example", "/", "echo", "80"))
	eventually(t, "the Ingress in the cache", func() error {
		if _, ok := src.Ingress(ns, "echo"); !ok {
			return fmt.Errorf("not cached")
		}
		return nil
	})
	select {
	case <-src.Changes():
	default:
	}

	ing, err := kube.NetworkingV1().Ingresses(ns).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.9"}}
	written := time.Now()
	if _, err := kube.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen:
		if len(got.Status.LoadBalancer.Ingress) != 1 || got.Status.LoadBalancer.Ingress[0].IP != "192.0.2.9" {
			t.Fatalf("OnIngressStatus got status %v", got.Status.LoadBalancer.Ingress)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the status update never reached OnIngressStatus")
	}
	// The handler returned for that event: its signal would be pending now.
	select {
	case at := <-src.Changes():
		if !at.Before(written) {
			t.Fatal("a status-only update signalled a change")
		}
	default:
	}

	updateIngress(t, ns, "echo", func(ing *networkingv1.Ingress) {
		ing.Annotations = map[string]string{"example.com/note": "changed"}
	})
	select {
	case <-src.Changes():
	case <-time.After(30 * time.Second):
		t.Fatal("an annotation change did not signal")
	}
	if len(seen) != 0 {
		t.Errorf("the annotation change went to OnIngressStatus")
	}
}

// TestStatusEchoAndOverwriteCauseNoBuild: a controller writes the status of
// a new Ingress; neither the echo of that write nor someone else
// overwriting the status causes a build (the generation stays), and the
// overwritten status is written back. An unrelated change then builds and
// writes nothing: the status is already right in the cache.
func TestStatusEchoAndOverwriteCauseNoBuild(t *testing.T) {
	// No backend: its EndpointSlice's changes would cause builds. The
	// Ingress is served (503) and gets its status all the same.
	ns := newNamespace(t)
	ingressClass(t, "echoes", "ingresslab.dev/echoes", false)
	c, tg := startController(t, "echoes", app.Options{
		ControllerName: "ingresslab.dev/echoes", IngressClass: "echoes", WatchNamespace: ns,
		PublishStatusAddress: "127.0.1.30",
	})
	createIngress(t, ns, "echo", className("echoes"), prefix("echo.example", "/", "echo", "80"))
	tg.expectHTTP(t, "echo.example", "/", want{code: http.StatusServiceUnavailable})
	expectStatus(t, ns, "echo", "127.0.1.30")
	eventually(t, "one status write", func() error {
		if n := statusWrites(t, c); n != 1 {
			return fmt.Errorf("%v status writes", n)
		}
		return nil
	})
	gen := c.Generation()

	ing, err := kube.NetworkingV1().Ingresses(ns).Get(context.Background(), "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "198.51.100.7"}}
	if _, err := kube.NetworkingV1().Ingresses(ns).UpdateStatus(context.Background(), ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the overwritten status written back", func() error {
		if n := statusWrites(t, c); n != 2 {
			return fmt.Errorf("%v status writes", n)
		}
		return nil
	})
	expectStatus(t, ns, "echo", "127.0.1.30")
	if got := c.Generation(); got != gen {
		t.Errorf("generation %d -> %d: a status change caused a build", gen, got)
	}

	// An unrelated change builds; the Ingress's status is already right.
	createIngress(t, ns, "other", className("someone-else"), prefix("other.example", "/", "echo", "80"))
	eventually(t, "a build for the new Ingress", func() error {
		if got := c.Generation(); got <= gen {
			return fmt.Errorf("generation %d", got)
		}
		return nil
	})
	if n := statusWrites(t, c); n != 2 {
		t.Errorf("%v status writes after an unrelated build, want still 2", n)
	}
}

// staleCache answers every read with one stale copy of the Ingress.
type staleCache struct{ ing *networkingv1.Ingress }

func (s staleCache) Ingress(ns, name string) (*networkingv1.Ingress, bool) {
	if s.ing.Namespace == ns && s.ing.Name == name {
		return s.ing, true
	}
	return nil, false
}

// TestStatusWriteRetriesConflictWithFreshCopy: the Writer's cached copy is
// older than the Ingress (its labels changed since): the conditional write
// meets a conflict, the cache has nothing newer, so the Writer reads the
// Ingress once and writes again. Only the status changes: the annotation
// the cache dropped (kubectl's last-applied-configuration) and the new
// label are kept.
func TestStatusWriteRetriesConflictWithFreshCopy(t *testing.T) {
	ns := newNamespace(t)
	// A class only this test's Writer serves (the main controller leaves
	// the Ingress alone).
	const class, controller = "stale-writer", "ingresslab.dev/stale-writer"
	ing := createIngress(t, ns, "stale", className(class), prefix("stale.example", "/", "echo", "80"),
		func(ing *networkingv1.Ingress) {
			ing.Annotations = map[string]string{source.LastAppliedAnnotation: `{"kind":"Ingress"}`}
		})
	cached := ing.DeepCopy()
	delete(cached.Annotations, source.LastAppliedAnnotation)
	updateIngress(t, ns, "stale", func(ing *networkingv1.Ingress) { ing.Labels = map[string]string{"tier": "web"} })

	m := metrics.New()
	w, err := statuspkg.New(statuspkg.Options{Client: kube, Ingresses: staleCache{cached}, Metrics: m, Logger: testLogger("status")})
	if err != nil {
		t.Fatal(err)
	}
	runWriter(t, w)
	snap := &translate.Snapshot{Ingresses: []*networkingv1.Ingress{cached}, IngressClasses: []*networkingv1.IngressClass{{
		ObjectMeta: metav1.ObjectMeta{Name: class}, Spec: networkingv1.IngressClassSpec{Controller: controller}}}}
	res := translate.Translate(snap, translate.Options{ControllerName: controller, IngressClassName: class,
		StatusAddresses: []corev1.LoadBalancerIngress{{IP: "192.0.2.44"}}})
	if len(res.Statuses) != 1 {
		t.Fatalf("statuses %v", res.Statuses)
	}
	w.Update(res.StatusPlan)
	expectStatus(t, ns, "stale", "192.0.2.44")
	got, err := kube.NetworkingV1().Ingresses(ns).Get(context.Background(), "stale", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["tier"] != "web" || got.Annotations[source.LastAppliedAnnotation] == "" {
		t.Errorf("metadata after the status write: labels %v, annotations %v", got.Labels, got.Annotations)
	}
}

// hookCache is a Writer's Ingress cache that calls hook (once) when the
// Writer first reads the Ingress named at.
type hookCache struct {
	ings map[string]*networkingv1.Ingress
	at   string
	once sync.Once
	hook func()
}

func (c *hookCache) Ingress(_, name string) (*networkingv1.Ingress, bool) {
	if name == c.at {
		c.once.Do(c.hook)
	}
	ing, ok := c.ings[name]
	return ing, ok
}

// TestStatusNewerPlanRequeuesTheRest: a newer plan arrives while the
// Writer works through a plan's 40 updates. The Writer stops at its next
// check (every 16 Ingresses) and judges the rest against the newer plan,
// even though that plan lists no update for them (it was translated from a
// snapshot where they already had its status): the first 16 keep the old
// plan's address, the other 24 get the new one.
func TestStatusNewerPlanRequeuesTheRest(t *testing.T) {
	ns := newNamespace(t)
	const class, controller = "requeue-writer", "ingresslab.dev/requeue-writer"
	classes := []*networkingv1.IngressClass{{ObjectMeta: metav1.ObjectMeta{Name: class}, Spec: networkingv1.IngressClassSpec{Controller: controller}}}
	cache := &hookCache{ings: map[string]*networkingv1.Ingress{}, at: "ing-02"}
	var now, later translate.Snapshot
	for i := range 40 {
		name := fmt.Sprintf("ing-%02d", i)
		ing := createIngress(t, ns, name, className(class), prefix(name+".example", "/", "echo", "80"))
		cache.ings[name] = ing
		now.Ingresses = append(now.Ingresses, ing)
		moved := ing.DeepCopy()
		moved.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.62"}}
		later.Ingresses = append(later.Ingresses, moved)
	}
	now.IngressClasses, later.IngressClasses = classes, classes
	plan := func(snap *translate.Snapshot, ip string) *translate.StatusPlan {
		return translate.Translate(snap, translate.Options{ControllerName: controller, IngressClassName: class,
			StatusAddresses: []corev1.LoadBalancerIngress{{IP: ip}}}).StatusPlan
	}
	first, second := plan(&now, "192.0.2.61"), plan(&later, "192.0.2.62")
	if len(first.Updates) != 40 || len(second.Updates) != 0 || len(second.Owned) != 40 {
		t.Fatalf("plans: %d and %d updates, %d owned", len(first.Updates), len(second.Updates), len(second.Owned))
	}
	w, err := statuspkg.New(statuspkg.Options{Client: kube, Ingresses: cache, Metrics: metrics.New(), Logger: testLogger("status")})
	if err != nil {
		t.Fatal(err)
	}
	cache.hook = func() { w.Update(second) }
	runWriter(t, w)
	w.Update(first)
	for i := range 40 {
		want := "192.0.2.62"
		if i < 16 {
			want = "192.0.2.61"
		}
		expectStatus(t, ns, fmt.Sprintf("ing-%02d", i), want)
	}
}

// runWriter runs w until the test ends; Run must return no error.
func runWriter(t *testing.T, w *statuspkg.Writer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}
