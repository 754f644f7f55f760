package cluster

import "testing"

func TestBackendSpecWithDefaults(t *testing.T) {
	ports := []ServicePort{{Name: "web", Port: 81}}
	s, err := BackendSpec{Namespace: "ns", Name: "b", Ports: ports}.WithDefaults()
	if err != nil || s.Ports[0].TargetPort != 81 || ports[0].TargetPort != 0 {
		t.Fatalf("defaults: %+v, %v (caller's ports %+v)", s.Ports, err, ports)
	}
	if s, _ := (BackendSpec{Namespace: "ns", Name: "b"}).WithDefaults(); len(s.Ports) != 1 || s.Ports[0].Name != "http" || s.Ports[0].TargetPort != 8080 {
		t.Fatalf("default port: %+v", s.Ports)
	}
	for _, bad := range []BackendSpec{
		{Name: "b"},
		{Namespace: "ns", Name: "b", Replicas: -1},
		{Namespace: "ns", Name: "b", Ports: []ServicePort{{Port: 70000}}},
	} {
		if _, err := bad.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
