package dataplane

import (
	"io"
	"net/http"
	"testing"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// nginxPolicy parses annotations in the nginx.ingress.kubernetes.io
// dialect into a route policy.
func nginxPolicy(t *testing.T, kv ...string) *routing.Policy {
	t.Helper()
	in := annotations.Input{Namespace: "ns", Annotations: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		in.Annotations[annotations.DialectNginx.Key(kv[i])] = kv[i+1]
	}
	pol, ws := annotations.Parse(in, annotations.Options{Dialect: annotations.DialectNginx})
	if len(ws) > 0 {
		t.Fatalf("annotations %v: warnings %v", kv, ws)
	}
	return translate.RoutePolicy(&pol)
}

// TestPolicyCORSNginxDialect checks ingress-nginx's CORS in the nginx
// dialect (what its template does: with the default origin "*" every
// answer says "Access-Control-Allow-Origin: *", credentials or not; every
// answer to an allowed origin carries all the CORS headers; any OPTIONS
// from an allowed origin is a preflight, others are proxied), against
// the ingresslab.dev dialect's specification behaviour.
func TestPolicyCORSNginxDialect(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream "+r.Method)
	})
	be := backend("ns/up:80", up)
	table := buildTable(t, 1, nil,
		policyRoute("ns/any", "any.example", "/", be, nginxPolicy(t, "enable-cors", "true")),
		policyRoute("ns/list", "list.example", "/", be, nginxPolicy(t, "enable-cors", "true", "cors-allow-origin", "https://app.example", "cors-max-age", "600")),
		policyRoute("ns/spec", "spec.example", "/", be, policy(t, "enable-cors", "true")),
	)
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	origin := http.Header{"Origin": {"https://app.example"}}

	resp, body := do(t, c, http.MethodGet, "http://any.example/x", nil, origin)
	h := resp.Header
	if body != "upstream GET" || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != annotations.DefaultCORSMethods || h.Get("Access-Control-Allow-Headers") != annotations.NginxDefaultCORSHeaders ||
		h.Get("Access-Control-Max-Age") != "1728000" || h.Get("Vary") != "" {
		t.Errorf("nginx dialect, enable-cors only, GET with Origin: %q %v", body, h)
	}
	resp, body = do(t, c, http.MethodOptions, "http://any.example/x", nil, origin)
	if resp.StatusCode != http.StatusNoContent || body != "" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("nginx dialect, OPTIONS without Access-Control-Request-Method: %d %q %v, want a 204 preflight", resp.StatusCode, body, resp.Header)
	}
	resp, _ = do(t, c, http.MethodGet, "http://list.example/x", nil, origin)
	if h := resp.Header; h.Get("Access-Control-Allow-Origin") != "https://app.example" || h.Get("Access-Control-Max-Age") != "600" || h.Get("Vary") != "" {
		t.Errorf("nginx dialect, listed origin, GET: %v", h)
	}
	resp, body = do(t, c, http.MethodOptions, "http://list.example/x", nil, http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"PUT"}})
	if resp.StatusCode != http.StatusOK || body != "upstream OPTIONS" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("nginx dialect, preflight from another origin: %d %q %v, want it proxied", resp.StatusCode, body, resp.Header)
	}

	// The ingresslab.dev dialect keeps the CORS specification's behaviour.
	resp, _ = do(t, c, http.MethodGet, "http://spec.example/x", nil, origin)
	if h := resp.Header; h.Get("Access-Control-Allow-Origin") != "https://app.example" || h.Get("Vary") != "Origin" || h.Get("Access-Control-Max-Age") != "" {
		t.Errorf("ingresslab dialect, enable-cors only, GET with Origin: %v", h)
	}
}

// TestPolicyCORSVaryKeepsUpstreams checks that the "Vary: Origin" of an
// answer to an allowed origin is added to the upstream's own Vary, not put
// in its place, and that the shared header values the data plane sets are
// never changed by one response for the next.
func TestPolicyCORSVaryKeepsUpstreams(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/vary" {
			w.Header().Set("Vary", "Accept-Encoding")
		}
		io.WriteString(w, "ok")
	})
	table := buildTable(t, 1, nil,
		policyRoute("ns/spec", "spec.example", "/", backend("ns/up:80", up), policy(t, "enable-cors", "true")))
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	origin := http.Header{"Origin": {"https://app.example"}}
	for i := range 3 {
		resp, _ := do(t, c, http.MethodGet, "http://spec.example/vary", nil, origin)
		if got := resp.Header.Values("Vary"); len(got) != 2 || got[0] != "Accept-Encoding" || got[1] != "Origin" {
			t.Fatalf("round %d, upstream Vary: Accept-Encoding: Vary %q, want both", i, got)
		}
		resp, _ = do(t, c, http.MethodGet, "http://spec.example/plain", nil, origin)
		if got := resp.Header.Values("Vary"); len(got) != 1 || got[0] != "Origin" {
			t.Fatalf("round %d, no upstream Vary: Vary %q, want Origin", i, got)
		}
		if got := resp.Header.Values("Access-Control-Allow-Credentials"); len(got) != 1 || got[0] != "true" {
			t.Fatalf("round %d: Access-Control-Allow-Credentials %q", i, got)
		}
	}
}
