package integration_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// TestHostOwnershipFirstNamespace runs a controller with
// --host-ownership=first-namespace: a newer Ingress in another namespace
// cannot take over a path of a host that an older Ingress claimed; it keeps
// its own host, and says why with a warning and an Event naming the field.
// When the owner's Ingress goes, the host passes to the next claimant.
func TestHostOwnershipFirstNamespace(t *testing.T) {
	// The namespaces sort owner first, so that a creationTimestamp tie (one
	// second resolution) resolves the same way.
	owner := newNamespaceFor(t, "hostowner-a")
	intruder := newNamespaceFor(t, "hostowner-b")
	backend(t, owner, "site", 1)
	backend(t, intruder, "other", 1)
	ingressClass(t, "owned", "ingresslab.dev/owned", false)
	_, tg := startController(t, "owned", app.Options{
		ControllerName: "ingresslab.dev/owned", IngressClass: "owned", HostOwnership: string(translate.HostOwnershipFirstNamespace),
	})
	const shop, own = "shop.owned.example", "own.owned.example"
	createIngress(t, owner, "site", className("owned"), prefix(shop, "/", "site", "80"))
	tg.expectHTTP(t, shop, "/admin", want{namespace: owner, service: "site"})

	createIngress(t, intruder, "takeover", className("owned"),
		prefix(own, "/", "other", "80"), prefix(shop, "/admin", "other", "80"))
	// The intruder's own host is served: its Ingress is loaded...
	tg.expectHTTP(t, own, "/", want{namespace: intruder, service: "other"})
	// ...but not its rule for the owner's host.
	tg.expectHTTP(t, shop, "/admin", want{namespace: owner, service: "site"})
	w := expectWarning(t, tg, intruder, "takeover", translate.ReasonHostOwnedByNamespace)
	if w.Field != "spec.rules[1].host" {
		t.Errorf("warning field %q, want spec.rules[1].host (%s)", w.Field, w)
	}
	expectEvent(t, intruder, "Ingress", "takeover", translate.ReasonHostOwnedByNamespace, shop)

	// The owner leaves: the host passes to the next Ingress that claims it.
	if err := kube.NetworkingV1().Ingresses(owner).Delete(context.Background(), "site", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	tg.expectHTTP(t, shop, "/admin", want{namespace: intruder, service: "other"})
}
