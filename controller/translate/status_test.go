package translate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func TestStatusKeyComparesAsSets(t *testing.T) {
	errText := "pending"
	a := []networkingv1.IngressLoadBalancerIngress{
		{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP}, {Port: 80, Protocol: corev1.ProtocolTCP}}},
		{Hostname: "lb.example"},
	}
	b := []networkingv1.IngressLoadBalancerIngress{
		{Hostname: "lb.example"},
		{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 443, Protocol: corev1.ProtocolTCP}}},
	}
	if StatusKey(a) != StatusKey(b) {
		t.Errorf("order changes the key: %q vs %q", StatusKey(a), StatusKey(b))
	}
	c := []networkingv1.IngressLoadBalancerIngress{{Hostname: "lb.example"},
		{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP, Error: &errText}, {Port: 443, Protocol: corev1.ProtocolTCP}}}}
	for name, other := range map[string][]networkingv1.IngressLoadBalancerIngress{
		"port error": c,
		"fewer":      a[:1],
		"none":       nil,
		"ip vs host": {{IP: "lb.example"}, {IP: "192.0.2.1"}},
	} {
		if StatusKey(a) == StatusKey(other) {
			t.Errorf("%s: same key %q", name, StatusKey(a))
		}
	}
	if StatusKey(nil) != StatusKey([]networkingv1.IngressLoadBalancerIngress{}) {
		t.Error("nil and empty differ")
	}
}

// TestSameStatusAgreesWithStatusKey: the shortcut of statusUpdates decides
// exactly as comparing StatusKeys does, in and out of order.
func TestSameStatusAgreesWithStatusKey(t *testing.T) {
	e1, e2 := "pending", "other"
	lbs := [][]networkingv1.IngressLoadBalancerIngress{
		nil,
		{},
		{{IP: "192.0.2.1"}},
		{{Hostname: "192.0.2.1"}},
		{{IP: "192.0.2.1"}, {Hostname: "lb.example"}},
		{{Hostname: "lb.example"}, {IP: "192.0.2.1"}},
		{{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}}}},
		{{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolUDP}}}},
		{{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP, Error: &e1}}}},
		{{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP, Error: &e2}}}},
		{{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 443, Protocol: corev1.ProtocolTCP}}}},
		{{IP: "192.0.2.1", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP}, {Port: 80, Protocol: corev1.ProtocolTCP}}}},
	}
	for i, cur := range lbs {
		for j, des := range lbs {
			want := StatusKey(cur) == StatusKey(des)
			if got := sameStatus(cur, des, StatusKey(des)); got != want {
				t.Errorf("sameStatus(%d, %d) = %v, StatusKey says %v", i, j, got, want)
			}
		}
	}
}

// TestStatusUpdatesShareAddresses: the updates of one result share one
// read-only, clipped address list (10,000 new Ingresses are 10,000
// updates), so appending to one cannot change another.
func TestStatusUpdatesShareAddresses(t *testing.T) {
	var ings []*networkingv1.Ingress
	for _, n := range []string{"a", "b", "c"} {
		ing := &networkingv1.Ingress{}
		ing.Namespace, ing.Name = "ns", n
		ings = append(ings, ing)
	}
	desired := []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	out := statusUpdates(ings, ings, true, desired, true)
	if len(out) != 3 {
		t.Fatalf("%d updates, want 3", len(out))
	}
	for _, u := range out {
		if len(u.LoadBalancer) != 1 || &u.LoadBalancer[0] != &out[0].LoadBalancer[0] || cap(u.LoadBalancer) != 1 {
			t.Fatalf("update %v: not the one shared, clipped list of the result", u)
		}
	}
	if &out[0].LoadBalancer[0] == &desired[0] {
		t.Fatal("the updates share the caller's slice")
	}
	plan := newStatusPlan(true, desired, ings[:1], nil)
	u, ok := plan.Update(ings[0])
	if !ok || len(u.LoadBalancer) != 1 || cap(u.LoadBalancer) != 1 {
		t.Fatalf("plan update %v, %v: want the plan's one address, clipped", u, ok)
	}
}
