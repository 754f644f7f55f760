package status

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestParseAddresses(t *testing.T) {
	got, err := ParseAddresses(" 203.0.113.7, LB.Example.com ,2001:db8::1")
	if err != nil {
		t.Fatal(err)
	}
	want := StaticAddresses{{IP: "203.0.113.7"}, {Hostname: "lb.example.com"}, {IP: "2001:db8::1"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].IP != want[i].IP || got[i].Hostname != want[i].Hostname {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if a := got.Addresses(); len(a) != 3 {
		t.Errorf("Addresses() = %v", a)
	}
	for _, bad := range []string{"", "a,,b", "not a host!", "fe80::1%eth0", "-bad.example"} {
		if _, err := ParseAddresses(bad); err == nil {
			t.Errorf("ParseAddresses(%q) succeeded", bad)
		} else if !strings.Contains(err.Error(), "address list") {
			t.Errorf("ParseAddresses(%q) error %q does not name the list", bad, err)
		}
	}
}

func TestAddressesOf(t *testing.T) {
	for _, c := range []struct {
		name string
		svc  *corev1.Service
		want string
	}{
		{"nil", nil, ""},
		{"load balancer wins", &corev1.Service{
			Spec:   corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.9"}, ClusterIP: "10.0.0.1"},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {Hostname: "lb.example"}}}},
		}, "192.0.2.1,lb.example"},
		{"external IPs", &corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.9", "192.0.2.10"}, ClusterIP: "10.0.0.1"}}, "192.0.2.9,192.0.2.10"},
		{"external name", &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "lb.example."}}, "lb.example"},
		{"cluster IPs", &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1", ClusterIPs: []string{"10.0.0.1", "fd00::1"}}}, "10.0.0.1,fd00::1"},
		{"cluster IP only", &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.2"}}, "10.0.0.2"},
		{"headless", &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, ClusterIPs: []string{corev1.ClusterIPNone}}}, ""},
	} {
		var parts []string
		for _, lb := range AddressesOf(c.svc) {
			parts = append(parts, lb.IP+lb.Hostname)
		}
		if got := strings.Join(parts, ","); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a client succeeded")
	}
	if _, err := NewServiceAddresses(nil, "ns", "name", ServiceAddressOptions{}); err == nil {
		t.Error("NewServiceAddresses without a client succeeded")
	}
	if id := DefaultIdentity(); !strings.Contains(id, "_") || id == DefaultIdentity() {
		t.Errorf("DefaultIdentity() = %q: want host_random, different each call", id)
	}
}

func TestNewLeaderElectionOptions(t *testing.T) {
	// A client that is never contacted here.
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Options{Client: client})
	if err != nil || !w.IsLeader() {
		t.Fatalf("without leader election: leader %v, err %v; want always leader", w != nil && w.IsLeader(), err)
	}
	w, err = New(Options{Client: client, LeaderElection: &LeaderElectionOptions{Namespace: "ns", Name: "lease"}})
	if err != nil || w.IsLeader() {
		t.Fatalf("with leader election: leader %v, err %v; want not leader before Run", w != nil && w.IsLeader(), err)
	}
	for name, le := range map[string]*LeaderElectionOptions{
		"no namespace":                {Name: "lease"},
		"no name":                     {Namespace: "ns"},
		"renew deadline after expiry": {Namespace: "ns", Name: "lease", LeaseDuration: 5 * time.Second, RenewDeadline: 6 * time.Second},
	} {
		if _, err := New(Options{Client: client, LeaderElection: le}); err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if !strings.Contains(err.Error(), "lease") {
			t.Errorf("%s: error %q does not name the lease", name, err)
		}
	}
}
