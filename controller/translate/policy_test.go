package translate

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// parsePolicy parses ingresslab.dev/<name> annotations for an Ingress with
// paths, failing on any warning.
func parsePolicy(t *testing.T, paths []string, kv ...string) *annotations.Policy {
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

// TestRoutePolicyMatchesAnnotations: the converted, neutral forms answer
// every question the data plane asks exactly as the parsed annotations did
// (origins, address ranges, status codes, rewrites, redirects, the HTTPS
// redirect decision).
func TestRoutePolicyMatchesAnnotations(t *testing.T) {
	pol := parsePolicy(t, []string{"/api(/|$)(.*)", "/x"},
		"enable-cors", "true", "cors-allow-origin", "https://app.example.com, http://*.example.org:8080, https://*.b.example",
		"whitelist-source-range", "10.0.0.0/8, 192.168.1.0/24, ::ffff:172.16.0.0/108, 2001:db8::/32",
		"denylist-source-range", "10.9.0.0/16",
		"limit-rps", "5", "limit-whitelist", "127.0.0.1, 10.1.0.0/16",
		"custom-http-errors", "404,503, 599",
		"rewrite-target", "/v2/$2$9x$0",
		"permanent-redirect", "https://new.example$request_uri")
	rp := RoutePolicy(pol)
	origins := []string{"https://app.example.com", "HTTPS://APP.EXAMPLE.COM", "https://app.example.com:443", "http://app.example.com",
		"http://a.example.org:8080", "http://a.example.org", "http://a.b.example.org:8080", "http://-a.example.org:8080",
		"https://x.b.example", "https://b.example", "https://x_y.b.example", "null", ""}
	for _, o := range origins {
		if got, want := rp.CORS.AllowsOrigin(o), pol.CORS.AllowsOrigin(o); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, annotations say %v", o, got, want)
		}
	}
	if rp.CORS.AnyOrigin() || !RoutePolicy(parsePolicy(t, nil, "enable-cors", "true")).CORS.AnyOrigin() {
		t.Error("AnyOrigin differs from the annotations")
	}
	for _, s := range []string{"10.1.2.3", "10.9.1.1", "192.168.1.9", "192.168.2.1", "172.16.3.4", "::ffff:10.1.2.3",
		"2001:db8::1", "2001:db9::1", "127.0.0.1", "10.1.9.9"} {
		a := netip.MustParseAddr(s)
		if got, want := rp.Access.Permits(a), pol.SourceRange.Permits(a); got != want {
			t.Errorf("Permits(%s) = %v, annotations say %v", s, got, want)
		}
		if got, want := rp.RateLimit.Exempt.Contains(a), pol.RateLimit.Exempt.Contains(a); got != want {
			t.Errorf("Exempt.Contains(%s) = %v, annotations say %v", s, got, want)
		}
	}
	for code := 0; code < 700; code++ {
		if got, want := rp.ErrorPages.Intercepts(code), pol.CustomHTTPErrors.Contains(code); got != want {
			t.Errorf("Intercepts(%d) = %v, annotations say %v", code, got, want)
		}
	}
	target := rewriteTarget(pol)
	for path, reqs := range map[string][]string{
		"/api(/|$)(.*)": {"/api", "/api/", "/API/users/7", "/apix", "/other"},
		"/x":            {"/x", "/X/y", "/y"},
	} {
		rw := &routing.Rewrite{Regex: pol.Rewrite.Paths[path].Regexp(), Target: target}
		for _, req := range reqs {
			got, gok := rw.Apply(req)
			want, wok := pol.Rewrite.Apply(path, req)
			if got != want || gok != wok {
				t.Errorf("rewrite %q of %q: %q %v, annotations say %q %v", req, path, got, gok, want, wok)
			}
		}
	}
	if got, want := rp.Redirect.Location("/a?b=1"), pol.Redirect.Location("/a?b=1"); got != want || rp.Redirect.Code != pol.Redirect.Code {
		t.Errorf("redirect %q %d, annotations say %q %d", got, rp.Redirect.Code, want, pol.Redirect.Code)
	}
	for _, kv := range [][]string{
		nil, {"ssl-redirect", "true"}, {"ssl-redirect", "false"}, {"force-ssl-redirect", "true"},
		{"ssl-redirect", "false", "force-ssl-redirect", "true"}, {"force-ssl-redirect", "false"},
	} {
		p := parsePolicy(t, nil, kv...)
		for _, tlsHost := range []bool{false, true} {
			want := tlsHost && p.SSLRedirect.Or(true) || p.ForceSSLRedirect
			if got := RoutePolicy(p).HTTPSRedirect.Redirects(tlsHost); got != want {
				t.Errorf("%v, TLS host %v: redirect %v, want %v", kv, tlsHost, got, want)
			}
		}
	}
}

// TestRoutePolicyPrecomputes: values the data plane used to derive per
// request are precomputed, with the same results.
func TestRoutePolicyPrecomputes(t *testing.T) {
	pol := parsePolicy(t, nil, "affinity", "cookie", "session-cookie-name", "route", "session-cookie-expires", "90",
		"session-cookie-samesite", "Strict", "auth-url", "http://auth.example/", "auth-response-headers", "x-user, X-EMAIL",
		"proxy-next-upstream-tries", "0", "proxy-read-timeout", "3")
	rp := RoutePolicy(pol)
	if a := rp.Affinity; a.CookiePath != "/" || a.SameSite != routing.SameSite(http.SameSiteStrictMode) ||
		time.Duration(a.Expires) != 90*time.Second || a.CookieName != "route" {
		t.Errorf("affinity %+v", a)
	}
	if h := rp.ExternalAuth.ResponseHeaders; len(h) != 2 || h[0] != "X-User" || h[1] != "X-Email" {
		t.Errorf("auth response headers %q, want canonical", h)
	}
	if rp.MaxAttempts != pol.NextUpstreamTries || time.Duration(rp.Timeouts.Read) != 3*time.Second {
		t.Errorf("MaxAttempts %d (annotations %d), read timeout %v", rp.MaxAttempts, pol.NextUpstreamTries, rp.Timeouts.Read)
	}
	c := parsePolicy(t, nil, "canary", "true", "canary-by-header", "x-canary", "canary-by-header-pattern", "^b", "canary-weight", "7")
	r := CanaryRule(c.Canary)
	if r.Header != "X-Canary" || r.Weight != 7 || !r.HeaderPattern.MatchString("beta") || r.HeaderPattern.String() != c.Canary.HeaderPattern.Pattern() {
		t.Errorf("canary rule %+v", r)
	}
	if RoutePolicy(nil) != nil || CanaryRule(nil) != nil {
		t.Error("nil does not convert to nil")
	}
}
