package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// startController starts an extra controller for the test (listeners on
// 127.0.0.1:0), stopped when the test ends, and waits until it is ready.
func startController(t *testing.T, name string, o app.Options) (*app.Controller, target) {
	t.Helper()
	o.RESTConfig = cl.RESTConfig()
	o.HTTPAddr, o.HTTPSAddr, o.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.Logger = testLogger(name)
	o.ShutdownTimeout = 5 * time.Second
	if o.LeaderElect == nil {
		o.LeaderElect = ptrTo(false)
	}
	c, err := app.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start controller %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			t.Errorf("shut down controller %s: %v", name, err)
		}
	})
	tg := targetOf(c)
	eventually(t, "controller "+name+" ready", func() error {
		code, body, err := tg.adminGet("/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	return c, tg
}

// statusWrites returns the controller's status write counter.
func statusWrites(t *testing.T, c *app.Controller) float64 {
	t.Helper()
	mfs, err := c.Metrics().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "ingresslab_status_writes_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func TestStatusClearedWhenClassChanges(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "moving", className(mainClass), prefix("moving.example", "/", "echo", "80"))
	mainTarget.expectHTTP(t, "moving.example", "/", want{namespace: ns, service: "echo"})
	expectStatus(t, ns, "moving", mainStatusIP)

	updateIngress(t, ns, "moving", func(ing *networkingv1.Ingress) {
		c := "someone-else"
		ing.Spec.IngressClassName = &c
	})
	expectStatus(t, ns, "moving")
	mainTarget.expectHTTP(t, "moving.example", "/", want{code: http.StatusNotFound})
}

func TestTwoControllersServeOnlyTheirClass(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "first", 1)
	backend(t, ns, "second", 1)
	ingressClass(t, "second", "ingresslab.dev/second", false)
	_, second := startController(t, "second", app.Options{
		ControllerName:          "ingresslab.dev/second",
		IngressClass:            "second",
		PublishStatusAddress:    "127.0.1.20",
		LeaderElect:             ptrTo(true),
		LeaderElectionNamespace: systemNamespace,
	})
	const host = "two.example"
	createIngress(t, ns, "for-first", className(mainClass), prefix(host, "/", "first", "80"))
	createIngress(t, ns, "for-second", className("second"), prefix(host, "/", "second", "80"))

	mainTarget.expectHTTP(t, host, "/", want{namespace: ns, service: "first"})
	second.expectHTTP(t, host, "/", want{namespace: ns, service: "second"})
	expectStatus(t, ns, "for-first", mainStatusIP)
	expectStatus(t, ns, "for-second", "127.0.1.20")
	// Legacy annotations are told apart too.
	createIngress(t, ns, "legacy-second", classAnnotation("second"), prefix("legacy-two.example", "/", "second", "80"))
	second.expectHTTP(t, "legacy-two.example", "/", want{namespace: ns, service: "second"})
	mainTarget.expectHTTP(t, "legacy-two.example", "/", want{code: http.StatusNotFound})
	expectStatus(t, ns, "legacy-second", "127.0.1.20")
	expectStatus(t, ns, "for-first", mainStatusIP)
}

func TestLeaderElectionFailover(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ingressClass(t, "failover", "ingresslab.dev/failover", false)
	opts := func(addr string) app.Options {
		return app.Options{
			ControllerName: "ingresslab.dev/failover", IngressClass: "failover",
			PublishStatusAddress: addr, LeaderElect: ptrTo(true),
			LeaderElectionNamespace: systemNamespace, LeaderElectionName: "failover-" + ns,
			LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 300 * time.Millisecond,
		}
	}
	first, firstTg := startController(t, "failover-1", opts("127.0.1.31"))
	eventually(t, "failover-1 leads", func() error {
		if !first.IsLeader() {
			return fmt.Errorf("not leader")
		}
		return nil
	})
	second, secondTg := startController(t, "failover-2", opts("127.0.1.32"))

	createIngress(t, ns, "ha", className("failover"), prefix("ha.example", "/", "echo", "80"))
	// Both serve traffic; only the leader writes status.
	firstTg.expectHTTP(t, "ha.example", "/", want{namespace: ns, service: "echo"})
	secondTg.expectHTTP(t, "ha.example", "/", want{namespace: ns, service: "echo"})
	expectStatus(t, ns, "ha", "127.0.1.31")
	if second.IsLeader() {
		t.Fatal("both instances lead")
	}
	if n := statusWrites(t, second); n != 0 {
		t.Fatalf("the standby instance wrote %v statuses", n)
	}
	// The leader compares before writing: one write, however many builds.
	if n := statusWrites(t, first); n != 1 {
		t.Fatalf("the leader wrote %v statuses, want 1", n)
	}

	// The leader goes away (releasing its Lease): the standby takes over
	// and re-applies its desired statuses.
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "failover-2 leads", func() error {
		if !second.IsLeader() {
			return fmt.Errorf("not leader")
		}
		return nil
	})
	expectStatus(t, ns, "ha", "127.0.1.32")
}

func TestPublishServiceAddresses(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ingressClass(t, "pubsvc", "ingresslab.dev/pubsvc", false)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lb"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "lb-1.ingresslab.test"},
	}
	ctx := context.Background()
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	startController(t, "pubsvc", app.Options{
		ControllerName: "ingresslab.dev/pubsvc", IngressClass: "pubsvc",
		PublishService: ns + "/lb",
	})
	createIngress(t, ns, "published", className("pubsvc"), prefix("pubsvc.example", "/", "echo", "80"))
	expectStatus(t, ns, "published", "lb-1.ingresslab.test")

	// The Service is watched: a new address is written.
	got, err := kube.CoreV1().Services(ns).Get(ctx, "lb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Spec.ExternalName = "lb-2.ingresslab.test"
	if _, err := kube.CoreV1().Services(ns).Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, ns, "published", "lb-2.ingresslab.test")

	// The Service is gone, so the controller is reachable nowhere: the
	// status is cleared, not left pointing at the old address.
	if err := kube.CoreV1().Services(ns).Delete(ctx, "lb", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, ns, "published")
}

func TestDefaultBackendServiceFlag(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "fallback", 1)
	backend(t, ns, "own-default", 1)
	backend(t, ns, "echo", 1)
	ingressClass(t, "withdefault", "ingresslab.dev/withdefault", false)
	_, tg := startController(t, "withdefault", app.Options{
		ControllerName: "ingresslab.dev/withdefault", IngressClass: "withdefault",
		DefaultBackendService: ns + "/fallback:http",
	})
	createIngress(t, ns, "app", className("withdefault"), prefix("app.example", "/app", "echo", "80"))
	tg.expectHTTP(t, "app.example", "/app", want{namespace: ns, service: "echo"})
	tg.expectHTTP(t, "app.example", "/elsewhere", want{namespace: ns, service: "fallback"})
	tg.expectHTTP(t, "nobody.example", "/", want{namespace: ns, service: "fallback"})
	// The main controller keeps its built-in 404.
	mainTarget.expectHTTP(t, "nobody.example", "/", want{code: http.StatusNotFound})

	// An Ingress's own spec.defaultBackend takes precedence.
	createIngress(t, ns, "own", className("withdefault"), defaultBackend("own-default", "80"))
	tg.expectHTTP(t, "nobody.example", "/", want{namespace: ns, service: "own-default"})
}

func TestWarningsAndEvents(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	const name = "broken"
	createIngress(t, ns, name, className(mainClass),
		prefix("warnings.example", "/ok", "echo", "80"),
		prefix("warnings.example", "/bad-port", "echo", "no-such-port"))
	mainTarget.expectHTTP(t, "warnings.example", "/ok", want{namespace: ns, service: "echo"})
	mainTarget.expectHTTP(t, "warnings.example", "/bad-port", want{code: http.StatusServiceUnavailable})

	w := expectWarning(t, mainTarget, ns, name, translate.ReasonServicePortNotFound)
	if !strings.HasPrefix(w.Field, "spec.rules[0].http.paths[1].backend") {
		t.Errorf("warning field = %q, want the second path's backend", w.Field)
	}
	first := expectEvent(t, ns, "Ingress", name, translate.ReasonServicePortNotFound, "no-such-port")

	// Later builds with the same warning emit no new Event: rebuild a few
	// times (each change of the Ingress is a new generation).
	for i := range 3 {
		before := mainTarget.generation(t)
		updateIngress(t, ns, name, func(ing *networkingv1.Ingress) {
			if ing.Annotations == nil {
				ing.Annotations = map[string]string{}
			}
			ing.Annotations["example.com/touch"] = fmt.Sprint(i)
		})
		eventually(t, "a new generation", func() error {
			if g := mainTarget.generation(t); g <= before {
				return fmt.Errorf("generation still %d", g)
			}
			return nil
		})
	}
	// A new warning's Event is written after any re-emitted old one (one
	// broadcaster, in order): once it shows, the old count is final.
	updateIngress(t, ns, name, func(ing *networkingv1.Ingress) {
		prefix("warnings.example", "/other-bad", "echo", "other-port")(ing)
	})
	expectEvent(t, ns, "Ingress", name, translate.ReasonServicePortNotFound, "other-port")
	evs, err := events(ns, "Ingress", name, translate.ReasonServicePortNotFound)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Name == first.Name && e.Count != 1 {
			t.Errorf("event %q was emitted %d times, want once", e.Message, e.Count)
		}
	}
	if len(evs) != 2 {
		t.Errorf("got %d %s events, want 2 (one per warning)", len(evs), translate.ReasonServicePortNotFound)
	}

	// Fixing the Ingress clears its warnings.
	updateIngress(t, ns, name, func(ing *networkingv1.Ingress) {
		ing.Spec.Rules[0].HTTP.Paths = ing.Spec.Rules[0].HTTP.Paths[:1]
	})
	eventually(t, "warnings of "+name+" cleared", func() error {
		for _, w := range mainCtrl.Warnings() {
			if w.Object.Namespace == ns {
				return fmt.Errorf("still warned: %s", w)
			}
		}
		return nil
	})
}

func TestWatchNamespace(t *testing.T) {
	watched := newNamespace(t)
	other := newNamespace(t)
	backend(t, watched, "echo", 1)
	backend(t, other, "echo", 1)
	ingressClass(t, "scoped", "ingresslab.dev/scoped", false)
	_, tg := startController(t, "scoped", app.Options{
		ControllerName: "ingresslab.dev/scoped", IngressClass: "scoped", WatchNamespace: watched,
	})
	createIngress(t, other, "outside", className("scoped"), prefix("outside.example", "/", "echo", "80"))
	createIngress(t, watched, "inside", className("scoped"), prefix("inside.example", "/", "echo", "80"))
	tg.expectHTTP(t, "inside.example", "/", want{namespace: watched, service: "echo"})
	// The Ingress in the other namespace was created first; it is still
	// not served.
	tg.expectHTTP(t, "outside.example", "/", want{code: http.StatusNotFound})
}
