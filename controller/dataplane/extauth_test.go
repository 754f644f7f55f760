package dataplane

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// authSeen is one subrequest an auth server received.
type authSeen struct {
	method, path string
	header       http.Header
	body         string
}

// authServer is an external auth service on 127.0.0.1. Its answer is
// chosen by the original request's X-Test-Auth header (forwarded like every
// client header): "ok" (200 with X-Auth-User: alice), "ok-bare" (200 without
// headers), "401", "403", "302", "500", "hang" (until the client gives up).
type authServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []authSeen
}

func newAuthServer(t *testing.T, tlsOn bool) *authServer {
	t.Helper()
	a := &authServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.seen = append(a.seen, authSeen{method: r.Method, path: r.URL.RequestURI(), header: r.Header.Clone(), body: string(b)})
		a.mu.Unlock()
		switch mode := r.Header.Get("X-Test-Auth"); mode {
		case "ok":
			w.Header().Set("X-Auth-User", "alice")
			w.Header().Set("X-Auth-Other", "not-copied")
		case "ok-bare":
		case "401":
			w.Header().Add("Www-Authenticate", `Bearer realm="lab"`)
			w.WriteHeader(http.StatusUnauthorized)
		case "hang":
			<-r.Context().Done()
		default:
			code, _ := strconv.Atoi(mode)
			if code == http.StatusFound {
				w.Header().Set("Location", "http://elsewhere.example/")
			}
			w.WriteHeader(code)
		}
	})
	if tlsOn {
		a.Server = httptest.NewTLSServer(h)
	} else {
		a.Server = httptest.NewServer(h)
	}
	t.Cleanup(a.Close)
	return a
}

func (a *authServer) last(t *testing.T) authSeen {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		t.Fatal("the auth service received no subrequest")
	}
	return a.seen[len(a.seen)-1]
}

func (a *authServer) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// TestExternalAuth checks auth-url's subrequest and each kind of answer,
// over the fast path (GET) and ReverseProxy (POST).
func TestExternalAuth(t *testing.T) {
	up := newEcho(t, "up")
	auth := newAuthServer(t, false)
	be := backend("ns/up:80", up.addr())
	table := buildTable(t, 1, nil,
		policyRoute("ns/auth", "auth.example", "/", be, policy(t, "auth-url", auth.URL+"/check?x=1",
			"auth-response-headers", "X-Auth-User, X-Auth-Missing")),
		policyRoute("ns/post", "post.example", "/", be, policy(t, "auth-url", auth.URL+"/check", "auth-method", "POST")),
		policyRoute("ns/signin", "signin.example", "/", be, policy(t, "auth-url", auth.URL+"/check",
			"auth-signin", "https://login.example/start?app=1")),
		policyRoute("ns/signin-param", "signin-param.example", "/", be, policy(t, "auth-url", auth.URL+"/check",
			"auth-signin", "https://login.example/start", "auth-signin-redirect-param", "return_to")),
		policyRoute("ns/down", "down.example", "/", be, policy(t, "auth-url", "http://"+closedAddr(t)+"/check")),
		policyRoute("ns/signin-nginx", "signin-nginx.example", "/", be, nginxSignIn(policy(t, "auth-url", auth.URL+"/check",
			"auth-signin", "https://login.example/start"))),
	)
	s := startServer(t, Options{ExternalAuthTimeout: 300 * time.Millisecond}, table)
	c := clientTo(t, s.HTTPAddr(), nil)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("upload")
		}
		// 2xx: the named headers come from the auth response, replacing the
		// client's; one the response lacks is removed.
		resp, raw := do(t, c, method, "http://auth.example/app/page?q=1", body, http.Header{
			"X-Test-Auth": {"ok"}, "X-Auth-User": {"mallory"}, "X-Auth-Missing": {"spoofed"},
			"Authorization": {"Bearer tok"}, "X-Original-Url": {"http://spoof/"}, "X-Forwarded-For": {"203.0.113.9"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s with auth ok: %d %q", method, resp.StatusCode, raw)
		}
		e := decodeEcho(t, raw)
		if got := e.Header["X-Auth-User"]; len(got) != 1 || got[0] != "alice" {
			t.Errorf("%s: upstream X-Auth-User %q, want [alice] from the auth response", method, got)
		}
		if got, ok := e.Header["X-Auth-Missing"]; ok {
			t.Errorf("%s: upstream X-Auth-Missing %q, want none (the auth response has none)", method, got)
		}
		if e.Header.Get("X-Auth-Other") != "" || e.Header.Get("Authorization") != "Bearer tok" ||
			method == http.MethodPost && e.Body != "upload" {
			t.Errorf("%s: upstream headers %v body %q", method, e.Header, e.Body)
		}
		a := auth.last(t)
		h := a.header
		wantURL := "http://auth.example/app/page?q=1"
		if a.method != http.MethodGet || a.path != "/check?x=1" || a.body != "" || h.Get("Content-Length") != "" ||
			h.Get("X-Original-Url") != wantURL || h.Get("X-Original-Method") != method ||
			h.Get("X-Auth-Request-Redirect") != "/app/page?q=1" || h.Get("Authorization") != "Bearer tok" ||
			h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Host") != "auth.example" ||
			h.Get("X-Real-Ip") != "127.0.0.1" || h.Get("X-Sent-From") != "ingresslab" {
			t.Errorf("%s: auth subrequest %s %s body %q headers %v", method, a.method, a.path, a.body, h)
		}
		// The generated request ID is the same on both requests.
		if id := h.Get("X-Request-Id"); id == "" || e.Header.Get("X-Request-Id") != id {
			t.Errorf("%s: X-Request-Id auth %q upstream %q, want one shared generated ID", method, id, e.Header.Get("X-Request-Id"))
		}
	}

	hits := up.hits.Load()
	for _, tc := range []struct {
		host, mode string
		code       int
		location   string
		wwwAuth    string
	}{
		{"auth.example", "401", 401, "", `Bearer realm="lab"`},
		{"auth.example", "403", 403, "", ""},
		{"auth.example", "302", 500, "", ""},
		{"auth.example", "500", 500, "", ""},
		{"auth.example", "hang", 500, "", ""},
		{"down.example", "ok", 500, "", ""},
		{"signin.example", "401", 302, "https://login.example/start?app=1&rd=" + url.QueryEscape("http://signin.example/p?a=b"), ""},
		{"signin-param.example", "401", 302, "https://login.example/start?return_to=" + url.QueryEscape("http://signin-param.example/p?a=b"), ""},
		{"signin.example", "403", 403, "", ""},
		// The nginx dialect: only the request URI is escaped, as ingress-nginx.
		{"signin-nginx.example", "401", 302, "https://login.example/start?rd=http://signin-nginx.example%2Fp%3Fa%3Db", ""},
	} {
		resp, raw := do(t, c, http.MethodGet, "http://"+tc.host+"/p?a=b", nil, http.Header{"X-Test-Auth": {tc.mode}})
		if resp.StatusCode != tc.code || resp.Header.Get("Location") != tc.location || resp.Header.Get("Www-Authenticate") != tc.wwwAuth {
			t.Errorf("%s auth %s: %d Location %q WWW-Authenticate %q (%q), want %d %q %q", tc.host, tc.mode, resp.StatusCode,
				resp.Header.Get("Location"), resp.Header.Get("Www-Authenticate"), raw, tc.code, tc.location, tc.wwwAuth)
		}
	}
	if n := up.hits.Load(); n != hits {
		t.Errorf("the upstream got %d requests that the auth service refused", n-hits)
	}

	// auth-method POST: the subrequest uses it, still without a body.
	if resp, raw := do(t, c, http.MethodPut, "http://post.example/x", strings.NewReader("data"),
		http.Header{"X-Test-Auth": {"ok-bare"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT post.example: %d %q", resp.StatusCode, raw)
	}
	if a := auth.last(t); a.method != http.MethodPost || a.body != "" || a.header.Get("X-Original-Method") != http.MethodPut {
		t.Errorf("auth-method POST: subrequest %s body %q X-Original-Method %q", a.method, a.body, a.header.Get("X-Original-Method"))
	}
}

// TestExternalAuthHTTPS: an https auth URL is verified against
// Options.ExternalAuthRootCAs.
func TestExternalAuthHTTPS(t *testing.T) {
	up := newEcho(t, "up")
	auth := newAuthServer(t, true)
	table := buildTable(t, 1, nil, policyRoute("ns/auth", "auth.example", "/", backend("ns/up:80", up.addr()),
		policy(t, "auth-url", auth.URL+"/check")))
	pool := x509.NewCertPool()
	pool.AddCert(auth.Certificate())
	trusted := startServer(t, Options{ExternalAuthRootCAs: pool}, table)
	untrusted := startServer(t, Options{}, table)
	for _, tc := range []struct {
		s    *Server
		code int
	}{{trusted, 200}, {untrusted, 500}} {
		resp, raw := do(t, clientTo(t, tc.s.HTTPAddr(), nil), http.MethodGet, "http://auth.example/", nil, http.Header{"X-Test-Auth": {"ok"}})
		if resp.StatusCode != tc.code {
			t.Errorf("https auth URL: %d %q, want %d", resp.StatusCode, raw, tc.code)
		}
	}
}

// TestPolicyCheckOrder: redirects (rewrite phase) come before rate limits
// and access checks, as in ingress-nginx: a plain-HTTP request to a TLS
// host is redirected without asking for credentials or calling the auth
// service, and so are permanent redirects and CORS preflights; a denied
// Ingress answers 503 before anything.
func TestPolicyCheckOrder(t *testing.T) {
	up := newEcho(t, "up")
	auth := newAuthServer(t, false)
	be := backend("ns/up:80", up.addr())
	authed := func(kv ...string) []string {
		return append([]string{"auth-type", "basic", "auth-secret", "htpasswd", "auth-url", auth.URL + "/check",
			"whitelist-source-range", "192.0.2.0/24"}, kv...)
	}
	denied := policy(t, authed()...)
	denied.Denied = &routing.Denial{Annotation: "auth-secret", Reason: "test"}
	table := buildTable(t, 1, func(b *routing.Builder) {
		b.SetHTTPSRedirect("tls.example")
		b.SetHTTPSRedirect("denied.example")
	},
		policyRoute("ns/tls", "tls.example", "/", be, policy(t, authed()...)),
		policyRoute("ns/perm", "perm.example", "/", be, policy(t, authed("permanent-redirect", "https://new.example/")...)),
		policyRoute("ns/cors", "cors.example", "/", be, policy(t, authed("enable-cors", "true")...)),
		policyRoute("ns/denied", "denied.example", "/", be, denied),
		policyRoute("ns/plain", "plain.example", "/", be, policy(t, authed()...)),
	)
	s := startServer(t, Options{HTTPSRedirectPort: 443}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, tc := range []struct {
		method, url string
		hdr         http.Header
		code        int
		location    string
	}{
		{http.MethodGet, "http://tls.example/a", nil, http.StatusPermanentRedirect, "https://tls.example/a"},
		{http.MethodGet, "http://perm.example/a", nil, http.StatusMovedPermanently, "https://new.example/"},
		{http.MethodOptions, "http://cors.example/a", http.Header{"Origin": {"https://x.example"}, "Access-Control-Request-Method": {"PUT"}},
			http.StatusNoContent, ""},
		{http.MethodGet, "http://denied.example/a", nil, http.StatusServiceUnavailable, ""},
		// Without a redirect, the access checks apply: the client is not in
		// the source range (checked before basic and external auth).
		{http.MethodGet, "http://plain.example/a", nil, http.StatusForbidden, ""},
	} {
		resp, raw := do(t, c, tc.method, tc.url, nil, tc.hdr)
		if resp.StatusCode != tc.code || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s %s: %d Location %q (%q), want %d %q", tc.method, tc.url, resp.StatusCode, resp.Header.Get("Location"), raw,
				tc.code, tc.location)
		}
	}
	if n := auth.count(); n != 0 {
		t.Errorf("the auth service got %d subrequests, want none", n)
	}
	// Over HTTPS the TLS host's access checks apply.
	tc := clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	if resp, _ := do(t, tc, http.MethodGet, "https://tls.example/a", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET https://tls.example/a: %d, want 403", resp.StatusCode)
	}
}

// nginxSignIn is pol with the nginx dialect's sign-in redirect parameter.
func nginxSignIn(pol *routing.Policy) *routing.Policy {
	ea := *pol.ExternalAuth
	ea.SignInEscapeURI = true
	p := *pol
	p.ExternalAuth = &ea
	return &p
}
