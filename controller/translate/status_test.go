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
