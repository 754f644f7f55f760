package dataplane

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestCustomHeaders(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Frame-Options", "SAMEORIGIN") // replaced by the route's
		w.Header().Set("X-Upstream", "yes")
		io.WriteString(w, "ok")
	})
	hdrs := http.Header{"X-Frame-Options": {"DENY"}, "X-Served-By": {"lab"}}
	r := policyRoute("ns/hdrs", "hdrs.example", "/", backend("ns/up:80", up), policy(t, "custom-headers", "hdrs"))
	r.Policy.ResponseHeaders = hdrs
	denied := policyRoute("ns/denied", "denied.example", "/", backend("ns/up:80", up),
		policy(t, "custom-headers", "hdrs", "denylist-source-range", "127.0.0.0/8"))
	denied.Policy.ResponseHeaders = hdrs
	table := buildTable(t, 1, nil, r, denied)
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := do(t, c, method, "http://hdrs.example/x", strings.NewReader("b"), nil)
			if body != "ok" || strings.Join(resp.Header.Values("X-Frame-Options"), ",") != "DENY" ||
				resp.Header.Get("X-Served-By") != "lab" || resp.Header.Get("X-Upstream") != "yes" {
				t.Errorf("fast %v %s: %d %q headers %v", fast, method, resp.StatusCode, body, resp.Header)
			}
		}
		// The data plane's own answers carry them too.
		resp, _ := do(t, c, http.MethodGet, "http://denied.example/", nil, nil)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Served-By") != "lab" {
			t.Errorf("fast %v denied: %d headers %v", fast, resp.StatusCode, resp.Header)
		}
	}
	if hdrs["X-Frame-Options"][0] != "DENY" || len(hdrs["X-Frame-Options"]) != 1 {
		t.Errorf("the route's header values were modified: %v", hdrs)
	}
}

func TestCustomHTTPErrorsFromErrorBackend(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Leak", "internal")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "upstream trace")
	})
	type seen struct{ path, code, uri, ns, ing, svc, format string }
	got := make(chan seen, 16)
	errs := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.Path, r.Header.Get("X-Code"), r.Header.Get("X-Original-Uri"), r.Header.Get("X-Namespace"),
			r.Header.Get("X-Ingress-Name"), r.Header.Get("X-Service-Name"), r.Header.Get("X-Format")}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Leak", "error backend")
		io.WriteString(w, "<h1>custom "+r.Header.Get("X-Code")+"</h1>")
	})
	withEB := policyRoute("ns/errs", "errs.example", "/", backend("ns/up:80", up), policy(t, "custom-http-errors", "503", "default-backend", "errs"))
	withEB.Policy.ErrorPages.Backend = backend("ns/errs:80", errs)
	downEB := policyRoute("ns/down", "down.example", "/", backend("ns/up:80", up), policy(t, "custom-http-errors", "503", "default-backend", "errs"))
	downEB.Policy.ErrorPages.Backend = backend("ns/gone:80", closedAddr(t))
	table := buildTable(t, 1, nil, withEB, downEB)
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := do(t, c, method, "http://errs.example/a/b?q=1", strings.NewReader("x"), http.Header{"Accept": {"text/html"}})
			if resp.StatusCode != http.StatusServiceUnavailable || body != "<h1>custom 503</h1>" ||
				resp.Header.Get("Content-Type") != "text/html" || resp.Header.Get("X-Leak") != "" {
				t.Errorf("fast %v %s: %d %q %v, want the error backend's page with status 503", fast, method, resp.StatusCode, body, resp.Header)
			}
			select {
			case g := <-got:
				want := seen{"/", "503", "/a/b?q=1", "ns", "errs", "up", "text/html"}
				if g != want {
					t.Errorf("fast %v %s: error backend saw %+v, want %+v", fast, method, g, want)
				}
			default:
				t.Errorf("fast %v %s: the error backend was not asked", fast, method)
			}
			resp, body = do(t, c, method, "http://down.example/", strings.NewReader("x"), nil)
			if resp.StatusCode != http.StatusServiceUnavailable || body != "503 Service Unavailable\n" {
				t.Errorf("fast %v %s error backend down: %d %q, want the proxy's own page", fast, method, resp.StatusCode, body)
			}
		}
	}
}
