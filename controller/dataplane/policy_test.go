package dataplane

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// parse parses ingresslab.dev/<name> annotations (name, value pairs) for
// an Ingress with the given paths, failing on any warning.
func parse(t testing.TB, paths []string, kv ...string) *annotations.Policy {
	t.Helper()
	in := annotations.Input{Namespace: "ns", Annotations: map[string]string{}, Paths: paths}
	for i := 0; i+1 < len(kv); i += 2 {
		in.Annotations[annotations.DialectIngressLab.Key(kv[i])] = kv[i+1]
	}
	pol, ws := annotations.Parse(in, annotations.Options{})
	if len(ws) > 0 {
		t.Fatalf("annotations %v: warnings %v", kv, ws)
	}
	return &pol
}

// policy is the routing.Policy of annotations (see parse), converted as
// the translation does. What the translation resolves from other objects
// is left to the test, except that basic auth gets a BasicAuth without
// users (refusing everyone) until the test sets one.
func policy(t testing.TB, kv ...string) *routing.Policy {
	t.Helper()
	pol := parse(t, nil, kv...)
	p := translate.RoutePolicy(pol)
	if ba := pol.BasicAuth; ba != nil {
		p.BasicAuth = &routing.BasicAuth{Realm: ba.Realm}
	}
	return p
}

// policyRoute is route() with a Policy.
func policyRoute(ingress, host, path string, be *routing.Backend, pol *routing.Policy) *routing.Route {
	r := route(ingress, host, path, routing.PathPrefix, be)
	r.Policy = pol
	return r
}

// rewrite is the Route.Rewrite of a path of an Ingress with rewrite-target,
// as the translation compiles it.
func rewrite(t testing.TB, path, target string) *routing.Rewrite {
	t.Helper()
	re, err := annotations.CompilePathRegex(path)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := routing.NewTemplate(target)
	if err != nil {
		t.Fatal(err)
	}
	return &routing.Rewrite{Regex: re.Regexp(), Target: tmpl}
}

func TestPolicyRedirects(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	table := buildTable(t, 1, func(b *routing.Builder) {
		b.SetHTTPSRedirect("tls-off.example")
		b.SetHTTPSRedirect("tls-on.example")
	},
		policyRoute("ns/off", "tls-off.example", "/", be, policy(t, "ssl-redirect", "false")),
		policyRoute("ns/on", "tls-on.example", "/", be, policy(t, "ssl-redirect", "true")),
		policyRoute("ns/force", "force.example", "/", be, policy(t, "force-ssl-redirect", "true")),
		policyRoute("ns/perm", "perm.example", "/", be, policy(t, "permanent-redirect", "https://new.example/landing")),
		policyRoute("ns/perm-code", "perm-code.example", "/", be,
			policy(t, "permanent-redirect", "https://new.example$request_uri", "permanent-redirect-code", "308")),
		policyRoute("ns/temp", "temp.example", "/", be, policy(t, "temporal-redirect", "https://temp.example/x")),
		policyRoute("ns/root", "root.example", "/", be, policy(t, "app-root", "/app")),
	)
	s := startServer(t, Options{HTTPSRedirectPort: 443}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	cases := []struct {
		url      string
		code     int
		location string
	}{
		{"http://tls-off.example/a", http.StatusOK, ""},
		{"http://tls-on.example/a?b=1", http.StatusPermanentRedirect, "https://tls-on.example/a?b=1"},
		{"http://force.example/a", http.StatusPermanentRedirect, "https://force.example/a"},
		{"http://perm.example/old?q=1", http.StatusMovedPermanently, "https://new.example/landing"},
		{"http://perm-code.example/old?q=1", http.StatusPermanentRedirect, "https://new.example/old?q=1"},
		{"http://temp.example/", http.StatusFound, "https://temp.example/x"},
		{"http://root.example/", http.StatusFound, "/app"},
		{"http://root.example/app", http.StatusOK, ""},
	}
	for _, tc := range cases {
		resp, body := do(t, c, http.MethodGet, tc.url, nil, nil)
		if resp.StatusCode != tc.code || resp.Header.Get("Location") != tc.location {
			t.Errorf("GET %s: %d Location %q (%q), want %d Location %q", tc.url, resp.StatusCode,
				resp.Header.Get("Location"), body, tc.code, tc.location)
		}
	}
	// Over HTTPS, force-ssl-redirect does not loop.
	tc := clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	if resp, _ := do(t, tc, http.MethodGet, "https://force.example/a", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET https://force.example/a: %d, want 200", resp.StatusCode)
	}
}

func TestPolicyUpstreamRewrite(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	rw := policyRoute("ns/rw", "rw.example", "/foo", be,
		policy(t, "rewrite-target", "/new-path", "upstream-vhost", "internal.svc", "x-forwarded-prefix", "/foo"))
	rw.Rewrite = rewrite(t, "/foo", "/new-path")
	table := buildTable(t, 1, nil,
		rw,
		policyRoute("ns/plain", "plain.example", "/", be, nil),
	)
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader("data")
			}
			resp, raw := do(t, c, method, "http://rw.example/foo/bar?x=1", body, http.Header{"X-Forwarded-Prefix": {"/spoof"}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("fast %v %s: %d %q", fast, method, resp.StatusCode, raw)
			}
			e := decodeEcho(t, raw)
			if e.Path != "/new-path" || e.Query != "x=1" || e.Host != "internal.svc" ||
				e.Header.Get("X-Forwarded-Host") != "rw.example" || strings.Join(e.Header["X-Forwarded-Prefix"], ",") != "/foo" {
				t.Errorf("fast %v %s: upstream saw path %q query %q host %q X-Forwarded-Host %q X-Forwarded-Prefix %q",
					fast, method, e.Path, e.Query, e.Host, e.Header.Get("X-Forwarded-Host"), e.Header["X-Forwarded-Prefix"])
			}
		}
		// A route without Policy is untouched (the client's header passes).
		e := getEcho(t, c, "http://plain.example/foo/bar", http.Header{"X-Forwarded-Prefix": {"/client"}})
		// The client's X-Forwarded-Prefix is dropped (clientOwned).
		if e.Path != "/foo/bar" || e.Host != "plain.example" || e.Header.Get("X-Forwarded-Prefix") != "" {
			t.Errorf("plain route: path %q host %q prefix %q", e.Path, e.Host, e.Header.Get("X-Forwarded-Prefix"))
		}
	}
}

func TestPolicySourceRangesAndDenied(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	denied := policy(t, "ssl-redirect", "false")
	denied.Denied = &routing.Denial{Annotation: "whitelist-source-range", Reason: "invalid"}
	// An invalid source range fails closed in the parser too.
	bad, ws := annotations.Parse(annotations.Input{Namespace: "ns", Annotations: map[string]string{
		annotations.DialectIngressLab.Key("denylist-source-range"): "10.0.0.0/33"}}, annotations.Options{})
	if bad.Denied == nil || len(ws) == 0 {
		t.Fatalf("invalid denylist: Denied %v warnings %v, want denied with a warning", bad.Denied, ws)
	}
	table := buildTable(t, 1, nil,
		policyRoute("ns/a", "allow-other.example", "/", be, policy(t, "whitelist-source-range", "10.0.0.0/8, 192.168.0.0/16")),
		policyRoute("ns/b", "allow-local.example", "/", be, policy(t, "allowlist-source-range", "10.0.0.0/8,127.0.0.0/8")),
		policyRoute("ns/c", "deny-local.example", "/", be, policy(t, "denylist-source-range", "127.0.0.1/32")),
		policyRoute("ns/d", "deny-other.example", "/", be, policy(t, "denylist-source-range", "10.0.0.0/8")),
		policyRoute("ns/e", "denied.example", "/", be, denied),
		policyRoute("ns/f", "bad.example", "/", be, translate.RoutePolicy(&bad)),
	)
	want := map[string]int{
		"allow-other.example": http.StatusForbidden, "allow-local.example": http.StatusOK,
		"deny-local.example": http.StatusForbidden, "deny-other.example": http.StatusOK,
		"denied.example": http.StatusServiceUnavailable, "bad.example": http.StatusServiceUnavailable,
	}
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	before := up.hits.Load()
	for host, code := range want {
		if resp, body := do(t, c, http.MethodGet, "http://"+host+"/", nil, nil); resp.StatusCode != code {
			t.Errorf("GET %s: %d %q, want %d", host, resp.StatusCode, body, code)
		}
	}
	if got := up.hits.Load() - before; got != 2 {
		t.Errorf("upstream got %d requests, want 2 (refused ones must not reach it)", got)
	}
	// Behind a trusted proxy, the forwarded client address is checked.
	s2 := startServer(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, table)
	c2 := clientTo(t, s2.HTTPAddr(), nil)
	if resp, _ := do(t, c2, http.MethodGet, "http://allow-other.example/", nil, http.Header{"X-Forwarded-For": {"203.0.113.1, 10.1.2.3"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("trusted proxy forwarding 10.1.2.3: %d, want 200", resp.StatusCode)
	}
	if resp, _ := do(t, c2, http.MethodGet, "http://deny-other.example/", nil, http.Header{"X-Forwarded-For": {"10.1.2.3"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("trusted proxy forwarding denied 10.1.2.3: %d, want 403", resp.StatusCode)
	}
}

func TestPolicyBodySizeAndTries(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 1, nil,
		policyRoute("ns/small", "small.example", "/", backend("ns/up:80", up.addr()), policy(t, "proxy-body-size", "10")),
		policyRoute("ns/tries", "tries.example", "/", backend("ns/tries:80", closedAddr(t), up.addr()),
			policy(t, "proxy-next-upstream-tries", "1")),
	)
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	if resp, body := do(t, c, http.MethodPost, "http://small.example/", strings.NewReader("0123456789"), nil); resp.StatusCode != http.StatusOK {
		t.Errorf("10-byte body: %d %q, want 200", resp.StatusCode, body)
	}
	if resp, body := do(t, c, http.MethodPost, "http://small.example/", strings.NewReader("0123456789A"), nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("11-byte body: %d %q, want 413", resp.StatusCode, body)
	}
	// Unknown length (chunked): cut at the limit.
	chunked := io.MultiReader(strings.NewReader("01234"), strings.NewReader("56789ABCDEF"))
	if resp, body := do(t, c, http.MethodPost, "http://small.example/", chunked, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 16-byte body: %d %q, want 413", resp.StatusCode, body)
	}
	// One try: the dead endpoint (first in round-robin) is not retried.
	if resp, body := do(t, c, http.MethodGet, "http://tries.example/", nil, nil); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("GET with proxy-next-upstream-tries 1 and a dead first endpoint: %d %q, want 502", resp.StatusCode, body)
	}
}

func TestPolicyCORS(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://upstream-says.example")
		io.WriteString(w, "ok")
	})
	pol := policy(t, "enable-cors", "true", "cors-allow-origin", "https://app.example, https://*.good.example",
		"cors-allow-methods", "GET, PUT", "cors-allow-credentials", "true", "cors-max-age", "600")
	table := buildTable(t, 1, nil, policyRoute("ns/cors", "api.example", "/", backend("ns/up:80", up), pol))
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)

	resp, _ := do(t, c, http.MethodOptions, "http://api.example/x", nil,
		http.Header{"Origin": {"https://a.good.example"}, "Access-Control-Request-Method": {"PUT"}})
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://a.good.example" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT" || h.Get("Access-Control-Max-Age") != "600" ||
		h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: %d %v", resp.StatusCode, h)
	}
	resp, _ = do(t, c, http.MethodOptions, "http://api.example/x", nil,
		http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"PUT"}})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from a foreign origin: %d %v, want 204 without Allow-Origin", resp.StatusCode, resp.Header)
	}
	resp, body := do(t, c, http.MethodGet, "http://api.example/x", nil, http.Header{"Origin": {"https://app.example"}})
	if body != "ok" || strings.Join(resp.Header["Access-Control-Allow-Origin"], ",") != "https://app.example" {
		t.Errorf("GET with Origin: %q Allow-Origin %q, want the proxy's value only", body, resp.Header["Access-Control-Allow-Origin"])
	}
}

func decodeEcho(t testing.TB, raw string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("decode echo %q: %v", raw, err)
	}
	return e
}

func TestPolicyRateLimits(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	rpm2 := func() *routing.Policy { return policy(t, "limit-rpm", "2", "limit-burst-multiplier", "1") }
	mk := func(gen uint64, limited *routing.Policy) *routing.Table {
		return buildTable(t, gen, nil,
			policyRoute("ns/limited", "limited.example", "/", be, limited),
			policyRoute("ns/exempt", "exempt.example", "/", be,
				policy(t, "limit-rpm", "1", "limit-burst-multiplier", "1", "limit-whitelist", "127.0.0.0/8")))
	}
	s := startServer(t, Options{}, mk(1, rpm2()))
	c := clientTo(t, s.HTTPAddr(), nil)
	codes := func(host string, n int) []int {
		var out []int
		for range n {
			resp, _ := do(t, c, http.MethodGet, "http://"+host+"/", nil, nil)
			out = append(out, resp.StatusCode)
		}
		return out
	}
	// A bucket of 2 refilled at 2 per minute: the third request is refused.
	if got := codes("limited.example", 3); got[0] != 200 || got[1] != 200 || got[2] != http.StatusServiceUnavailable {
		t.Fatalf("limit-rpm 2: codes %v, want [200 200 503]", got)
	}
	// The counters survive a table swap that keeps the limits...
	s.Publish(mk(2, rpm2()))
	if got := codes("limited.example", 1); got[0] != http.StatusServiceUnavailable {
		t.Errorf("after a swap with the same limits: %v, want 503", got)
	}
	// ...and start afresh when the limits change.
	s.Publish(mk(3, policy(t, "limit-rpm", "3", "limit-burst-multiplier", "1")))
	if got := codes("limited.example", 4); got[2] != 200 || got[3] != http.StatusServiceUnavailable {
		t.Errorf("after changing to limit-rpm 3: %v, want [200 200 200 503]", got)
	}
	// limit-whitelist exempts the client.
	if got := codes("exempt.example", 3); got[2] != 200 {
		t.Errorf("exempt client: %v, want all 200", got)
	}
}

func TestPolicyConnectionLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	})
	table := buildTable(t, 1, nil, policyRoute("ns/conn", "conn.example", "/", backend("ns/up:80", up),
		policy(t, "limit-connections", "1")))
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	done := make(chan int)
	go func() {
		resp, err := c.Get("http://conn.example/slow")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	if resp, _ := do(t, c, http.MethodGet, "http://conn.example/fast", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second concurrent request: %d, want 503", resp.StatusCode)
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("first request: %d, want 200", code)
	}
	if resp, _ := do(t, c, http.MethodGet, "http://conn.example/fast", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("request after the first ended: %d, want 200", resp.StatusCode)
	}
}

func TestPolicyReadTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the proxy hanging up
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	})
	table := buildTable(t, 1, nil, policyRoute("ns/slow", "slow.example", "/", backend("ns/up:80", up),
		policy(t, "proxy-read-timeout", "1")))
	// The server-wide response header timeout is far longer: the
	// annotation's 1s is what ends the wait.
	s := startServer(t, Options{ResponseHeaderTimeout: time.Hour}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("x")
		}
		if resp, raw := do(t, c, method, "http://slow.example/hang", body, nil); resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("%s to a hanging upstream with proxy-read-timeout 1: %d %q, want 504", method, resp.StatusCode, raw)
		}
		if method == http.MethodPost {
			body = strings.NewReader("x")
		}
		if resp, raw := do(t, c, method, "http://slow.example/quick", body, nil); resp.StatusCode != http.StatusOK || raw != "ok" {
			t.Errorf("%s to a quick upstream: %d %q, want 200 ok", method, resp.StatusCode, raw)
		}
	}
}

func TestPolicyBasicAuth(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	pol := policy(t, "auth-type", "basic", "auth-secret", "users", "auth-realm", "Lab Users")
	users, err := routing.NewBasicAuth("Lab Users", []byte("alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbob:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n"))
	if err != nil {
		t.Fatal(err)
	}
	withUsers := *pol
	withUsers.BasicAuth = users
	protected := policyRoute("ns/auth", "auth.example", "/", be, &withUsers)
	// A BasicAuth without users refuses everyone.
	unresolved := policyRoute("ns/auth2", "unresolved.example", "/", be, pol)
	s := startServer(t, Options{}, buildTable(t, 1, nil, protected, unresolved))
	c := clientTo(t, s.HTTPAddr(), nil)
	before := up.hits.Load()
	for _, tc := range []struct {
		host, user, pass string
		code             int
	}{
		{"auth.example", "", "", http.StatusUnauthorized},
		{"auth.example", "alice", "wrong", http.StatusUnauthorized},
		{"auth.example", "mallory", "secret", http.StatusUnauthorized},
		{"auth.example", "alice", "secret", http.StatusOK},
		{"auth.example", "bob", "secret", http.StatusOK},
		{"unresolved.example", "alice", "secret", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s as %q/%q: %d, want %d", tc.host, tc.user, tc.pass, resp.StatusCode, tc.code)
		}
		if tc.code == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Basic realm="Lab Users"` {
			t.Errorf("%s as %q: WWW-Authenticate %q", tc.host, tc.user, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if got := up.hits.Load() - before; got != 2 {
		t.Errorf("upstream got %d requests, want 2", got)
	}
}

// TestPolicyBasicAuthRemovesCredentials: with RemoveCredentials (the nginx
// dialect), a request that passed reaches the backend without
// Authorization; without, the backend gets it as sent.
func TestPolicyBasicAuthRemovesCredentials(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	pol := policy(t, "auth-type", "basic", "auth-secret", "users")
	route := func(name, host string, remove bool) *routing.Route {
		users, err := routing.NewBasicAuth("r", []byte("alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"))
		if err != nil {
			t.Fatal(err)
		}
		users.RemoveCredentials = remove
		p := *pol
		p.BasicAuth = users
		return policyRoute(name, host, "/", be, &p)
	}
	s := startServer(t, Options{}, buildTable(t, 1, nil, route("ns/keep", "keep.example", false), route("ns/drop", "drop.example", true)))
	c := clientTo(t, s.HTTPAddr(), nil)
	sent := http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}} // alice:secret
	for host, want := range map[string]string{"keep.example": sent.Get("Authorization"), "drop.example": ""} {
		resp, raw := do(t, c, http.MethodGet, "http://"+host+"/", nil, sent)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d, want 200", host, resp.StatusCode)
		}
		if got := decodeEcho(t, raw).Header.Get("Authorization"); got != want {
			t.Errorf("%s: backend got Authorization %q, want %q", host, got, want)
		}
	}
}

func TestPolicyCanary(t *testing.T) {
	stable, canary := newEcho(t, "stable"), newEcho(t, "canary")
	mk := func(host string, kv ...string) *routing.Route {
		r := policyRoute("ns/main", host, "/", backend("ns/stable:80", stable.addr()), &routing.Policy{})
		r.Canary = &routing.Canary{Ingress: routing.ObjectRef{Namespace: "ns", Name: "canary"},
			Backend: backend("ns/canary:80", canary.addr()), Rule: canaryRule(t, kv...)}
		return r
	}
	table := buildTable(t, 1, nil,
		mk("header.example", "canary-by-header", "X-Canary", "canary-by-cookie", "canary_c"),
		mk("value.example", "canary-by-header", "X-Canary", "canary-by-header-value", "blue"),
		mk("all.example", "canary-weight", "100"),
		mk("none.example", "canary-weight", "0"),
	)
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, tc := range []struct {
		host string
		hdr  http.Header
		want string
	}{
		{"header.example", nil, "stable"},
		{"header.example", http.Header{"X-Canary": {"always"}}, "canary"},
		{"header.example", http.Header{"X-Canary": {"never"}, "Cookie": {"canary_c=always"}}, "stable"},
		{"header.example", http.Header{"Cookie": {"canary_c=always"}}, "canary"},
		{"header.example", http.Header{"X-Canary": {"other"}, "Cookie": {"canary_c=never"}}, "stable"},
		{"value.example", http.Header{"X-Canary": {"blue"}}, "canary"},
		{"value.example", http.Header{"X-Canary": {"always"}}, "stable"},
		{"all.example", nil, "canary"},
		{"none.example", nil, "stable"},
	} {
		if e := getEcho(t, c, "http://"+tc.host+"/", tc.hdr); e.ID != tc.want {
			t.Errorf("%s %v: reached %s, want %s", tc.host, tc.hdr, e.ID, tc.want)
		}
	}
}

func TestPolicyAffinity(t *testing.T) {
	a, b := newEcho(t, "a"), newEcho(t, "b")
	pol := policy(t, "affinity", "cookie", "session-cookie-name", "route", "session-cookie-max-age", "60",
		"session-cookie-samesite", "Lax")
	table := buildTable(t, 1, nil, policyRoute("ns/sticky", "sticky.example", "/", backend("ns/ab:80", a.addr(), b.addr()), pol))
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		resp, raw := do(t, c, http.MethodGet, "http://sticky.example/", nil, nil)
		first := decodeEcho(t, raw).ID
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "route" {
				cookie = ck
			}
		}
		if cookie == nil || cookie.MaxAge != 60 || cookie.SameSite != http.SameSiteLaxMode || !cookie.HttpOnly || cookie.Path != "/" {
			t.Fatalf("fast %v: first response cookies %v, want an affinity cookie", fast, resp.Header["Set-Cookie"])
		}
		for range 6 {
			resp, raw := do(t, c, http.MethodGet, "http://sticky.example/", nil, http.Header{"Cookie": {"route=" + cookie.Value}})
			if id := decodeEcho(t, raw).ID; id != first {
				t.Errorf("fast %v: with the cookie reached %s, want %s", fast, id, first)
			}
			if sc := resp.Header["Set-Cookie"]; len(sc) != 0 {
				t.Errorf("fast %v: cookie set again: %v", fast, sc)
			}
		}
		// Without the cookie, round-robin spreads requests (the next one
		// goes to the other endpoint) and each gets its endpoint's cookie.
		seen := map[string]bool{}
		for range 4 {
			resp, raw := do(t, c, http.MethodGet, "http://sticky.example/", nil, http.Header{"Cookie": {"route=stale"}})
			seen[decodeEcho(t, raw).ID] = true
			if len(resp.Header["Set-Cookie"]) != 1 {
				t.Errorf("fast %v: stale cookie not replaced: %v", fast, resp.Header["Set-Cookie"])
			}
		}
		if !seen["a"] || !seen["b"] {
			t.Errorf("fast %v: without a valid cookie reached %v, want both endpoints", fast, seen)
		}
	}
}

// TestPolicyAffinityHashesUnknownCookie: with HashUnknownCookie (the nginx
// dialect's balanced mode), an unknown cookie value is kept and hashed onto
// one endpoint; a known one still names its endpoint.
func TestPolicyAffinityHashesUnknownCookie(t *testing.T) {
	a, b := newEcho(t, "a"), newEcho(t, "b")
	pol := policy(t, "affinity", "cookie", "session-cookie-name", "route")
	keyed := *pol
	aff := *pol.Affinity
	aff.HashUnknownCookie = true
	keyed.Affinity = &aff
	table := buildTable(t, 1, nil, policyRoute("ns/sticky", "sticky.example", "/", backend("ns/ab:80", a.addr(), b.addr()), &keyed))
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		reached := map[string]map[string]bool{}
		for i := range 20 {
			value := fmt.Sprintf("bogus%d", i)
			reached[value] = map[string]bool{}
			for range 3 {
				resp, raw := do(t, c, http.MethodGet, "http://sticky.example/", nil, http.Header{"Cookie": {"route=" + value}})
				reached[value][decodeEcho(t, raw).ID] = true
				if sc := resp.Header["Set-Cookie"]; len(sc) != 0 {
					t.Errorf("fast %v: cookie %q replaced: %v", fast, value, sc)
				}
			}
			if len(reached[value]) != 1 {
				t.Errorf("fast %v: cookie %q reached %v, want one endpoint", fast, value, reached[value])
			}
		}
		// Twenty keys over two endpoints: both used (all on one side has
		// probability 2^-19 with the process's random hash seed).
		ends := map[string]bool{}
		for _, r := range reached {
			for id := range r {
				ends[id] = true
			}
		}
		if len(ends) != 2 {
			t.Errorf("fast %v: twenty cookie values reached only %v", fast, ends)
		}
		// A client without the cookie gets one, which keeps it where it is.
		resp, raw := do(t, c, http.MethodGet, "http://sticky.example/", nil, nil)
		first := decodeEcho(t, raw).ID
		var value string
		for _, ck := range resp.Cookies() {
			if ck.Name == "route" {
				value = ck.Value
			}
		}
		if value == "" {
			t.Fatalf("fast %v: no cookie for a new client: %v", fast, resp.Header["Set-Cookie"])
		}
		for range 4 {
			_, raw := do(t, c, http.MethodGet, "http://sticky.example/", nil, http.Header{"Cookie": {"route=" + value}})
			if id := decodeEcho(t, raw).ID; id != first {
				t.Errorf("fast %v: with its cookie reached %s, want %s", fast, id, first)
			}
		}
	}
}

func TestPolicyCustomHTTPErrors(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Leak", "internal")
		switch r.URL.Path {
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "stack trace of the upstream")
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "upstream teapot")
		default:
			io.WriteString(w, "ok")
		}
	})
	table := buildTable(t, 1, nil, policyRoute("ns/errs", "errs.example", "/", backend("ns/up:80", up),
		policy(t, "custom-http-errors", "404,503")))
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := do(t, c, method, "http://errs.example/missing", strings.NewReader(""), nil)
			if resp.StatusCode != http.StatusNotFound || body != "404 Not Found\n" || resp.Header.Get("X-Leak") != "" {
				t.Errorf("fast %v %s /missing: %d %q X-Leak %q, want the proxy's 404 page", fast, method, resp.StatusCode, body, resp.Header.Get("X-Leak"))
			}
			resp, body = do(t, c, method, "http://errs.example/teapot", strings.NewReader(""), nil)
			if resp.StatusCode != http.StatusTeapot || body != "upstream teapot" {
				t.Errorf("fast %v %s /teapot (not listed): %d %q, want the upstream's", fast, method, resp.StatusCode, body)
			}
		}
	}
}

// canaryRule is the rule of a canary Ingress with annotations kv (besides
// canary "true"), converted as the translation does.
func canaryRule(t testing.TB, kv ...string) *routing.CanaryRule {
	t.Helper()
	return translate.CanaryRule(parse(t, nil, append([]string{"canary", "true"}, kv...)...).Canary)
}
