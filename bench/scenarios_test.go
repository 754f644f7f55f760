package bench

import (
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

func TestRegistry(t *testing.T) {
	all := Registry()
	want := []string{"direct", "single-route", "post", "policy", "many-routes", "tls", "no-keepalive", "propagation", "churn", "scale", "churn-scale", "drain", "failover"}
	if !slices.Equal(Names(), want) {
		t.Fatalf("Names() = %v, want %v", Names(), want)
	}
	kinds := []string{reports.BenchKindLoad, reports.BenchKindPropagation, reports.BenchKindChurn, reports.BenchKindScale, reports.BenchKindReliability}
	for _, s := range all {
		if len(s.Description) < 20 || s.Run == nil || !slices.Contains(kinds, s.Kind) {
			t.Errorf("scenario %q: description %q, run set %v, kind %q", s.Name, s.Description, s.Run != nil, s.Kind)
		}
	}
}

func TestSelect(t *testing.T) {
	got, err := Select([]string{"scale", "direct"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "direct" || got[1].Name != "scale" {
		t.Fatalf("Select kept the wrong order: %v", got)
	}
	if _, err := Select([]string{"nope"}, false); err == nil || !strings.Contains(err.Error(), "single-route") {
		t.Fatalf("unknown scenario: %v (want an error listing the known ones)", err)
	}
	// The optional scenarios (post, policy) run when named, or by default
	// in a run with raw baselines.
	if all, _ := Select(nil, true); len(all) != len(Registry()) {
		t.Fatalf("Select(nil, true) = %d scenarios", len(all))
	}
	def, _ := Select(nil, false)
	if len(def) != len(Registry())-2 || slices.ContainsFunc(def, func(s Scenario) bool { return s.Name == "post" || s.Name == "policy" }) {
		t.Fatalf("Select(nil, false) = %v, want all but post and policy", Names())
	}
	if got, _ := Select([]string{"policy"}, false); len(got) != 1 || got[0].Name != "policy" {
		t.Fatalf("Select(policy) = %v", got)
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{BinDir: "bin", Quick: true}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	if o.Repetitions != 1 || o.WindowDuration.Seconds() != 1 || !slices.Equal(o.Connections, []int{4, 16, 64}) || o.SLO.MinSuccessRatio != 0.999 || o.Gates.MinAchievedRatio != 0.99 {
		t.Fatalf("quick defaults: %+v", o)
	}
	full := Options{BinDir: "bin"}
	if err := full.defaults(); err != nil {
		t.Fatal(err)
	}
	if full.Repetitions != 3 || !slices.Equal(full.Connections, []int{4, 16, 64, 256, 1024}) || !slices.Equal(full.ScaleSizes, []int{100, 1000, 10000}) || full.PropagationEvents < 100 ||
		full.WindowDuration.Seconds() < 10 || full.PropagationTimeout.Seconds() < 30 || len(full.Fractions) != 4 || churnPhase(full).Seconds()*full.ChurnRPS < minPhaseRequests {
		t.Fatalf("full defaults: %+v", full)
	}
	kind := Options{BinDir: "b", Provider: "kind", BackendProcesses: true}
	if err := kind.defaults(); err == nil || !strings.Contains(err.Error(), "backend processes need --provider local") {
		t.Errorf("backend processes on kind: %v", err)
	}
	for _, bad := range []Options{{}, {BinDir: "b", Provider: "cloud"}, {BinDir: "b", Provider: "existing"}, {BinDir: "b", Remote: RemoteOptions{Generators: 2}}, {BinDir: "b", ScaleSizes: []int{10, 5}}, {BinDir: "b", Scenarios: []string{"x"}}, {BinDir: "b", Connections: []int{16, 4}},
		{BinDir: "b", Fractions: []float64{1.5}}, {BinDir: "b", CPUPinning: "generator=x"}, {BinDir: "b", PropagationBackground: -1}} {
		if err := bad.defaults(); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

// TestBackgroundIngresses: the propagation scenario's background Ingresses
// are distinct from the timed ones and from scale's, one Prefix route each,
// and carry the label their removal selects.
func TestBackgroundIngresses(t *testing.T) {
	e := &Env{Profile: &profile.Profile{IngressClass: "lab"}}
	a, b := e.backgroundIngress(0), e.backgroundIngress(9999)
	if a.Name == b.Name || a.Spec.Rules[0].Host == b.Spec.Rules[0].Host {
		t.Fatalf("background Ingresses 0 and 9999 collide: %s %s", a.Name, b.Name)
	}
	for _, ing := range []*networkingv1.Ingress{a, b} {
		if strings.HasPrefix(ing.Name, "prop-") || strings.HasPrefix(ing.Name, "scale-") {
			t.Errorf("%s shares a prefix with the timed or scale Ingresses", ing.Name)
		}
		if ing.Labels[backgroundLabel] != "propagation" || ing.Labels["app.kubernetes.io/part-of"] != "ingresslab-bench" {
			t.Errorf("%s labels %v", ing.Name, ing.Labels)
		}
		if len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 1 || *ing.Spec.IngressClassName != "lab" ||
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "prop-a" {
			t.Errorf("%s is not one route to prop-a of class lab: %+v", ing.Name, ing.Spec)
		}
	}
	if e.backgroundIngress(1).Labels[backgroundLabel] == "" || len(e.ingress("x", nil, "").Labels) != 1 {
		t.Error("the background label leaked into other Ingresses (shared label map)")
	}
}

// TestLoadScenariosHaveTheirOwnBackends: single-route, tls and no-keepalive
// send their traffic to different echo backends, so the TIME_WAIT sockets a
// controller without upstream keep-alive leaves towards one endpoint do not
// slow down the next scenario's connects.
func TestLoadScenariosHaveTheirOwnBackends(t *testing.T) {
	if b := []string{echoName, tlsEcho, noKeepAliveEcho}; len(slices.Compact(slices.Sorted(slices.Values(b)))) != len(b) {
		t.Errorf("load scenarios share an echo backend: %v", b)
	}
}

// TestManyRoutesRemoval: the many-routes table is deleted when the
// scenario ends (only its own Ingresses; one already gone is fine), and a
// route counts as gone only on an answer that is not its backend's 200 (a
// transport error during a reload does not count).
func TestManyRoutesRemoval(t *testing.T) {
	e := &Env{Profile: &profile.Profile{IngressClass: "lab"}}
	kube := fake.NewClientset(e.ingress("many-0", nil, ""), e.ingress("many-1", nil, ""), e.ingress("single", nil, ""))
	if err := deleteIngresses(t.Context(), kube, []string{"many-0", "many-1", "many-2"}); err != nil {
		t.Fatal(err)
	}
	list, err := kube.NetworkingV1().Ingresses(Namespace).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "single" {
		t.Fatalf("left %v, want only single", list.Items)
	}
	for _, tc := range []struct {
		code    int
		service string
		gone    bool
	}{
		{200, "mr-3", false}, // still served
		{404, "", true},      // the default backend
		{200, "", true},      // another page
		{200, "mr-4", true},  // another backend (a catch-all)
		{503, "mr-3", true},
		{0, "", false}, // a transport error says nothing
	} {
		if got := routeGone(tc.code, tc.service, "mr-3"); got != tc.gone {
			t.Errorf("routeGone(%d, %q) = %t, want %t", tc.code, tc.service, got, tc.gone)
		}
	}
}
