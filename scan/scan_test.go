package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/testtools"
)

func ingress(ns, name string, ann map[string]string) networkingv1.Ingress {
	class := "nginx"
	pt := networkingv1.PathTypePrefix
	return networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{
			Host: name + ".example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
}

const ng = "nginx.ingress.kubernetes.io/"

// fleet is a small cluster's worth of Ingresses.
func fleet() []networkingv1.Ingress {
	return []networkingv1.Ingress{
		ingress("shop", "web", map[string]string{ng + "limit-rps": "10", ng + "ssl-redirect": "false", "cert-manager.io/cluster-issuer": "le"}),
		ingress("shop", "api", map[string]string{ng + "limit-rps": "20", ng + "use-regex": "true", ng + "enable-cors": "true"}),
		ingress("blog", "www", map[string]string{ng + "configuration-snippet": "more_set_headers \"X: 1\";", ng + "limit-rps": "lots"}),
		ingress("blog", "legacy", map[string]string{ng + "ssl-passthrough": "true", ng + "frobnicate": "yes",
			"kubectl.kubernetes.io/last-applied-configuration": "{}"}),
		ingress("ops", "plain", nil),
	}
}

func usage(t *testing.T, r Report, key string) Usage {
	t.Helper()
	for _, u := range r.Annotations {
		if u.Key == key {
			return u
		}
	}
	t.Fatalf("%s not in report", key)
	return Usage{}
}

func checkFleetReport(t *testing.T, r Report) {
	t.Helper()
	if r.Candidate != "reference" || r.Ingresses != 5 {
		t.Errorf("candidate %q, %d ingresses", r.Candidate, r.Ingresses)
	}
	rps := usage(t, r, ng+"limit-rps")
	if rps.Count != 3 || rps.Verdict != Supported || rps.Feature != "rate-limit" || rps.Invalid != 1 ||
		!slices.Equal(rps.Ingresses, []string{"blog/www", "shop/api", "shop/web"}) || !strings.Contains(rps.InvalidExample, "blog/www") {
		t.Errorf("limit-rps: %+v", rps)
	}
	if u := usage(t, r, ng+"use-regex"); u.Verdict != Variant || u.Note == "" {
		t.Errorf("use-regex: %+v", u)
	}
	if u := usage(t, r, ng+"configuration-snippet"); u.Verdict != Unsupported || u.Feature != "snippet" || !strings.Contains(u.Note, "CVE-2025-1974") {
		t.Errorf("snippet: %+v", u)
	}
	if u := usage(t, r, ng+"ssl-passthrough"); u.Verdict != Unsupported || u.Feature != "tls" {
		t.Errorf("ssl-passthrough: %+v", u)
	}
	if u := usage(t, r, ng+"frobnicate"); u.Verdict != Unsupported || u.Count != 1 {
		t.Errorf("unknown: %+v", u)
	}
	if u := usage(t, r, "cert-manager.io/cluster-issuer"); u.Verdict != Other {
		t.Errorf("cert-manager: %+v", u)
	}
	for _, u := range r.Annotations {
		if strings.HasPrefix(u.Key, "kubectl.kubernetes.io/") {
			t.Errorf("bookkeeping annotation listed: %s", u.Key)
		}
	}
	want := Summary{Supported: 3, Variant: 1, Unsupported: 3, Other: 1, Ready: 3, Blocked: 2}
	if r.Summary != want {
		t.Errorf("summary %+v, want %+v", r.Summary, want)
	}
	wantBlocked := []IngressIssues{
		{Ingress: "blog/legacy", Keys: []string{ng + "frobnicate", ng + "ssl-passthrough"}},
		{Ingress: "blog/www", Keys: []string{ng + "configuration-snippet", ng + "limit-rps"}},
	}
	if !slices.EqualFunc(r.Blocked, wantBlocked, func(a, b IngressIssues) bool { return a.Ingress == b.Ingress && slices.Equal(a.Keys, b.Keys) }) {
		t.Errorf("blocked %+v", r.Blocked)
	}
	// Unsupported first, then variant, supported, other.
	if r.Annotations[0].Verdict != Unsupported || r.Annotations[len(r.Annotations)-1].Verdict != Other {
		t.Errorf("order: %+v", r.Annotations)
	}
}

func TestAnalyze(t *testing.T) {
	checkFleetReport(t, Analyze(fleet(), Reference()))
}

func TestReferenceProfile(t *testing.T) {
	p := Reference()
	for key, want := range map[string]Verdict{
		"ingresslab.dev/use-regex": Supported, ng + "use-regex": Variant, ng + "limit-rps": Supported,
		ng + "server-snippet": Unsupported, ng + "new-thing-snippet": Unsupported, ng + "mirror-target": Unsupported,
		"ingresslab.dev/nope": Unsupported, "traefik.ingress.kubernetes.io/router.middlewares": Other,
	} {
		if got := p.Judge(key); got.Verdict != want {
			t.Errorf("Judge(%s) = %+v, want %s", key, got, want)
		}
	}
	if _, err := Candidate("no-such-controller", nil); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestRender(t *testing.T) {
	ings := fleet()
	ings[2].Annotations[ng+"x|y"] = "1"
	r := Analyze(ings, Reference())
	r.Source = "test"
	var md bytes.Buffer
	if err := r.Write(&md, ""); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{"# Migration readiness: reference", "5 Ingresses: 3 ready, 2 blocked",
		"| `nginx.ingress.kubernetes.io/limit-rps` | rate-limit | supported | 3 | 1 |", "| blog/www | nginx.ingress.kubernetes.io/configuration-snippet, nginx.ingress.kubernetes.io/limit-rps, ",
		`x\|y`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	var js bytes.Buffer
	if err := r.Write(&js, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Summary != r.Summary || len(back.Annotations) != len(r.Annotations) {
		t.Errorf("json round trip: %v %+v", err, back.Summary)
	}
	if err := r.Write(&js, "html"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestScanLocalCluster runs the scan against a real API server.
func TestScanLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := local.FindBinaries(ctx, local.Binaries{})
	testtools.Require(t, err)
	p, err := local.Start(ctx, local.Options{Network: local.NetworkLoopback, NoControllerManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Destroy(context.Background()) })
	c := p.Client()
	for _, ns := range []string{"shop", "blog", "ops"} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ing := range fleet() {
		if _, err := c.NetworkingV1().Ingresses(ing.Namespace).Create(ctx, &ing, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s/%s: %v", ing.Namespace, ing.Name, err)
		}
	}

	// Through the kubeconfig file, as the CLI does; a page size of 2
	// exercises pagination.
	client, source, err := NewClient(p.KubeconfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Scan(ctx, client, Options{PageSize: 2, Source: source})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Source, "127.0.0.1") {
		t.Errorf("source %q", r.Source)
	}
	checkFleetReport(t, r)

	// Namespace and class filters.
	r, err = Scan(ctx, client, Options{Namespace: "shop"})
	if err != nil || r.Ingresses != 2 || r.Summary.Blocked != 0 {
		t.Errorf("namespace filter: %v %+v", err, r.Summary)
	}
	r, err = Scan(ctx, client, Options{IngressClass: "other"})
	if err != nil || r.Ingresses != 0 || len(r.Annotations) != 0 {
		t.Errorf("class filter: %v %+v", err, r)
	}
	if _, _, err := NewClient(p.KubeconfigPath(), "no-such-context"); err == nil {
		t.Error("unknown context accepted")
	}
}
