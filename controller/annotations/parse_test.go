package annotations

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// tc is one table case: annotations by short name, the expected warnings
// ("short-name:Reason", any order) and a check of the policy.
type tc struct {
	name  string
	ann   map[string]string
	paths []string
	warn  []string
	check func(t *testing.T, p Policy)
}

func parseShort(d Dialect, c tc) (Policy, []Warning) {
	ann := map[string]string{"kubernetes.io/ingress.class": "x", "other.example/limit-rps": "junk"}
	for k, v := range c.ann {
		ann[d.Key(k)] = v
	}
	return Parse(Input{Namespace: "ns", Annotations: ann, Paths: c.paths}, Options{Dialect: d})
}

func warnKeys(d Dialect, ws []Warning) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		_, name, _ := SplitKey(w.Annotation)
		if !strings.HasPrefix(w.Annotation, d.Prefix()+"/") {
			name = "WRONG-PREFIX:" + w.Annotation
		}
		out = append(out, name+":"+w.Reason)
	}
	slices.Sort(out)
	return out
}

// policyJSON renders a policy without its dialect, for comparisons.
func policyJSON(t testing.TB, p Policy) string {
	t.Helper()
	p.Dialect = ""
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func runCases(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var first string
			for _, d := range Dialects() {
				p, ws := parseShort(d, c)
				want := slices.Clone(c.warn)
				slices.Sort(want)
				if got := warnKeys(d, ws); !slices.Equal(got, want) {
					t.Errorf("%s: warnings = %v, want %v\n%v", d, got, want, ws)
				}
				if p.Dialect != d {
					t.Errorf("dialect = %q, want %q", p.Dialect, d)
				}
				if c.check != nil {
					c.check(t, p)
				}
				if js := policyJSON(t, dialectNeutral(p)); first == "" {
					first = js
				} else if js != first {
					t.Errorf("dialects differ:\n%s\n%s", first, js)
				}
			}
		})
	}
}

func isEmpty(t *testing.T, p Policy) {
	t.Helper()
	if js := policyJSON(t, p); js != `{"dialect":""}` {
		t.Errorf("policy not empty: %s", js)
	}
}

func TestRewrite(t *testing.T) {
	runCases(t, []tc{
		{name: "target with captures", ann: map[string]string{"rewrite-target": "/$2", "use-regex": "true"}, paths: []string{"/something(/|$)(.*)"},
			check: func(t *testing.T, p Policy) {
				for in, want := range map[string]string{"/something": "/", "/something/": "/", "/something/new": "/new", "/SOMETHING/a/b": "/a/b"} {
					got, ok := p.Rewrite.Apply("/something(/|$)(.*)", in)
					if !ok || got != want {
						t.Errorf("Apply(%q) = %q, %v; want %q", in, got, ok, want)
					}
				}
				if _, ok := p.Rewrite.Apply("/something(/|$)(.*)", "/other"); ok {
					t.Error("non-matching path rewritten")
				}
			}},
		{name: "target implies regex mode", ann: map[string]string{"rewrite-target": "/"}, paths: []string{"/app"},
			check: func(t *testing.T, p Policy) {
				if got, ok := p.Rewrite.Apply("/app", "/app/x"); !ok || got != "/" {
					t.Errorf("Apply = %q %v", got, ok)
				}
			}},
		{name: "use-regex false alone", ann: map[string]string{"use-regex": "false"}, check: isEmpty},
		{name: "missing group expands empty", ann: map[string]string{"rewrite-target": "/x/$9"}, paths: []string{"/(a)"},
			check: func(t *testing.T, p Policy) {
				if got, _ := p.Rewrite.Apply("/(a)", "/a"); got != "/x/" {
					t.Errorf("got %q", got)
				}
			}},
		{name: "nginx variable refused", ann: map[string]string{"rewrite-target": "/$host/x"}, warn: []string{"rewrite-target:InvalidAnnotation"}, check: isEmpty},
		{name: "absolute URL refused", ann: map[string]string{"rewrite-target": "https://evil.example/"}, warn: []string{"rewrite-target:InvalidAnnotation"}, check: isEmpty},
		{name: "two-digit group refused", ann: map[string]string{"rewrite-target": "/$10"}, warn: []string{"rewrite-target:InvalidAnnotation"}},
		{name: "invalid use-regex disables target", ann: map[string]string{"rewrite-target": "/$1", "use-regex": "yes"},
			warn: []string{"use-regex:InvalidAnnotation", "rewrite-target:FeatureDisabled"}, check: isEmpty},
		{name: "invalid path regex", ann: map[string]string{"use-regex": "true"}, paths: []string{"/ok", "/(unclosed"},
			warn: []string{"use-regex:InvalidAnnotation"}, check: isEmpty},
		{name: "pcre lookahead is not RE2", ann: map[string]string{"use-regex": "true", "rewrite-target": "/$1"}, paths: []string{"/(?!admin)(.*)"},
			warn: []string{"use-regex:InvalidAnnotation", "rewrite-target:FeatureDisabled"}, check: isEmpty},
		{name: "app-root", ann: map[string]string{"app-root": "/app1?x=1"}, check: func(t *testing.T, p Policy) {
			if p.AppRoot != "/app1?x=1" {
				t.Errorf("AppRoot = %q", p.AppRoot)
			}
		}},
		{name: "app-root protocol-relative refused", ann: map[string]string{"app-root": "//evil.example"}, warn: []string{"app-root:InvalidAnnotation"}, check: isEmpty},
		{name: "app-root backslash refused", ann: map[string]string{"app-root": `/\evil.example`}, warn: []string{"app-root:InvalidAnnotation"}},
		{name: "app-root dot segments refused", ann: map[string]string{"app-root": "/a/../b"}, warn: []string{"app-root:InvalidAnnotation"}},
		{name: "x-forwarded-prefix", ann: map[string]string{"x-forwarded-prefix": "/api"}, check: func(t *testing.T, p Policy) {
			if p.XForwardedPrefix != "/api" {
				t.Error(p.XForwardedPrefix)
			}
		}},
		{name: "x-forwarded-prefix with quote", ann: map[string]string{"x-forwarded-prefix": `/a"b`}, warn: []string{"x-forwarded-prefix:InvalidAnnotation"}},
		{name: "upstream-vhost", ann: map[string]string{"upstream-vhost": "Internal.Example:8080"}, check: func(t *testing.T, p Policy) {
			if p.UpstreamVhost != "internal.example:8080" {
				t.Error(p.UpstreamVhost)
			}
		}},
		{name: "upstream-vhost ipv6", ann: map[string]string{"upstream-vhost": "[::1]:80"}, check: func(t *testing.T, p Policy) {
			if p.UpstreamVhost != "[::1]:80" {
				t.Error(p.UpstreamVhost)
			}
		}},
		{name: "upstream-vhost variable", ann: map[string]string{"upstream-vhost": "$host"}, warn: []string{"upstream-vhost:InvalidAnnotation"}},
		{name: "upstream-vhost bad port", ann: map[string]string{"upstream-vhost": "a.example:65536"}, warn: []string{"upstream-vhost:InvalidAnnotation"}},
	})
}

func TestRedirects(t *testing.T) {
	runCases(t, []tc{
		{name: "ssl-redirect false", ann: map[string]string{"ssl-redirect": "false", "force-ssl-redirect": "true"}, check: func(t *testing.T, p Policy) {
			if p.SSLRedirect != False || p.SSLRedirect.Or(true) || !p.ForceSSLRedirect {
				t.Errorf("%v %v", p.SSLRedirect, p.ForceSSLRedirect)
			}
		}},
		{name: "ssl-redirect unset", ann: map[string]string{}, check: func(t *testing.T, p Policy) {
			if p.SSLRedirect != Unset || !p.SSLRedirect.Or(true) {
				t.Error(p.SSLRedirect)
			}
		}},
		{name: "ssl-redirect invalid", ann: map[string]string{"ssl-redirect": "sure"}, warn: []string{"ssl-redirect:InvalidAnnotation"}},
		{name: "permanent default code", ann: map[string]string{"permanent-redirect": "https://www.example.com/x"}, check: func(t *testing.T, p Policy) {
			if p.Redirect == nil || p.Redirect.Code != 301 || p.Redirect.Location("/q") != "https://www.example.com/x" {
				t.Errorf("%+v", p.Redirect)
			}
		}},
		{name: "permanent 308 with request uri", ann: map[string]string{"permanent-redirect": "https://new.example$request_uri", "permanent-redirect-code": "308"}, check: func(t *testing.T, p Policy) {
			if p.Redirect.Code != 308 || p.Redirect.Location("/a?b=1") != "https://new.example/a?b=1" {
				t.Errorf("%+v", p.Redirect)
			}
		}},
		{name: "temporal wins", ann: map[string]string{"permanent-redirect": "https://a.example/", "temporal-redirect": "http://b.example/"}, check: func(t *testing.T, p Policy) {
			if p.Redirect.Code != 302 || p.Redirect.URL != "http://b.example/" {
				t.Errorf("%+v", p.Redirect)
			}
		}},
		{name: "temporal code 307", ann: map[string]string{"temporal-redirect": "http://b.example/", "temporal-redirect-code": "307"}, check: func(t *testing.T, p Policy) {
			if p.Redirect.Code != 307 {
				t.Errorf("%+v", p.Redirect)
			}
		}},
		{name: "code out of range disables redirect", ann: map[string]string{"permanent-redirect": "https://a.example/", "permanent-redirect-code": "200"},
			warn: []string{"permanent-redirect-code:InvalidAnnotation", "permanent-redirect:FeatureDisabled"}, check: isEmpty},
		{name: "code boundaries", ann: map[string]string{"permanent-redirect": "https://a.example/", "permanent-redirect-code": "309"},
			warn: []string{"permanent-redirect-code:InvalidAnnotation", "permanent-redirect:FeatureDisabled"}},
		{name: "code without redirect", ann: map[string]string{"permanent-redirect-code": "301"}, warn: []string{"permanent-redirect-code:UnusedAnnotation"}},
		{name: "javascript scheme", ann: map[string]string{"permanent-redirect": "javascript:alert(1)"}, warn: []string{"permanent-redirect:InvalidAnnotation"}, check: isEmpty},
		{name: "user info", ann: map[string]string{"temporal-redirect": "https://user:pw@a.example/"}, warn: []string{"temporal-redirect:InvalidAnnotation"}},
		{name: "other variable", ann: map[string]string{"temporal-redirect": "https://a.example/$host"}, warn: []string{"temporal-redirect:InvalidAnnotation"}},
		{name: "relative", ann: map[string]string{"temporal-redirect": "/local"}, warn: []string{"temporal-redirect:InvalidAnnotation"}},
	})
}

func TestRateLimit(t *testing.T) {
	runCases(t, []tc{
		{name: "rps defaults", ann: map[string]string{"limit-rps": "10"}, check: func(t *testing.T, p Policy) {
			rl := p.RateLimit
			if rl == nil || rl.RPS != 10 || rl.BurstMultiplier != 5 || rl.RejectStatus != 503 || rl.Exempt != nil {
				t.Errorf("%+v", rl)
			}
		}},
		{name: "all", ann: map[string]string{"limit-rpm": "600", "limit-connections": "3", "limit-burst-multiplier": "2", "limit-allowlist": "10.0.0.0/8, 192.168.1.7"},
			check: func(t *testing.T, p Policy) {
				rl := p.RateLimit
				if rl.RPM != 600 || rl.Connections != 3 || rl.BurstMultiplier != 2 {
					t.Errorf("%+v", rl)
				}
				if !rl.Exempt.Contains(netip.MustParseAddr("10.1.2.3")) || !rl.Exempt.Contains(netip.MustParseAddr("192.168.1.7")) || rl.Exempt.Contains(netip.MustParseAddr("192.168.1.8")) {
					t.Error("exempt set wrong")
				}
			}},
		{name: "whitelist alias", ann: map[string]string{"limit-rps": "1", "limit-whitelist": "127.0.0.1"}, check: func(t *testing.T, p Policy) {
			if !p.RateLimit.Exempt.Contains(netip.MustParseAddr("127.0.0.1")) {
				t.Error("whitelist ignored")
			}
		}},
		{name: "allowlist beats whitelist", ann: map[string]string{"limit-rps": "1", "limit-whitelist": "127.0.0.1", "limit-allowlist": "10.0.0.1"},
			warn: []string{"limit-whitelist:UnusedAnnotation"}},
		{name: "upper bound", ann: map[string]string{"limit-rps": "1000000"}},
		{name: "over bound", ann: map[string]string{"limit-rps": "1000001"}, warn: []string{"limit-rps:InvalidAnnotation"}, check: isEmpty},
		{name: "negative", ann: map[string]string{"limit-rps": "-1"}, warn: []string{"limit-rps:InvalidAnnotation"}},
		{name: "zero is off", ann: map[string]string{"limit-rps": "0"}, check: isEmpty},
		{name: "float", ann: map[string]string{"limit-rpm": "1.5"}, warn: []string{"limit-rpm:InvalidAnnotation"}},
		{name: "huge", ann: map[string]string{"limit-connections": "99999999999999999999999999"}, warn: []string{"limit-connections:InvalidAnnotation"}},
		{name: "multiplier zero", ann: map[string]string{"limit-rps": "5", "limit-burst-multiplier": "0"},
			warn: []string{"limit-burst-multiplier:InvalidAnnotation", "limit-rps:FeatureDisabled"}, check: isEmpty},
		{name: "malformed cidr disables group", ann: map[string]string{"limit-rps": "5", "limit-allowlist": "10.0.0.0/33"},
			warn: []string{"limit-allowlist:InvalidAnnotation", "limit-rps:FeatureDisabled"}, check: isEmpty},
		{name: "multiplier alone", ann: map[string]string{"limit-burst-multiplier": "3"}, warn: []string{"limit-burst-multiplier:UnusedAnnotation"}},
	})
}

func TestProxyValues(t *testing.T) {
	runCases(t, []tc{
		{name: "timeouts", ann: map[string]string{"proxy-connect-timeout": "5", "proxy-read-timeout": "120", "proxy-send-timeout": "86400"}, check: func(t *testing.T, p Policy) {
			if time.Duration(p.Timeouts.Connect) != 5*time.Second || time.Duration(p.Timeouts.Read) != 2*time.Minute || time.Duration(p.Timeouts.Send) != 24*time.Hour {
				t.Errorf("%+v", p.Timeouts)
			}
		}},
		{name: "timeout zero", ann: map[string]string{"proxy-read-timeout": "0"}, warn: []string{"proxy-read-timeout:InvalidAnnotation"}, check: isEmpty},
		{name: "timeout over a day", ann: map[string]string{"proxy-read-timeout": "86401"}, warn: []string{"proxy-read-timeout:InvalidAnnotation"}},
		{name: "timeout with unit", ann: map[string]string{"proxy-send-timeout": "5s"}, warn: []string{"proxy-send-timeout:InvalidAnnotation"}},
		{name: "body size m", ann: map[string]string{"proxy-body-size": "8m"}, check: func(t *testing.T, p Policy) {
			if p.MaxBodySize != 8<<20 {
				t.Error(p.MaxBodySize)
			}
		}},
		{name: "body size bytes", ann: map[string]string{"proxy-body-size": "1000"}, check: func(t *testing.T, p Policy) {
			if p.MaxBodySize != 1000 {
				t.Error(p.MaxBodySize)
			}
		}},
		{name: "body size K G", ann: map[string]string{"proxy-body-size": "1G"}, check: func(t *testing.T, p Policy) {
			if p.MaxBodySize != 1<<30 {
				t.Error(p.MaxBodySize)
			}
		}},
		{name: "body size zero unlimited", ann: map[string]string{"proxy-body-size": "0"}, check: func(t *testing.T, p Policy) {
			if p.MaxBodySize != NoLimit {
				t.Error(p.MaxBodySize)
			}
		}},
		{name: "body size 1T bound", ann: map[string]string{"proxy-body-size": "1024g"}},
		{name: "body size over 1T", ann: map[string]string{"proxy-body-size": "1025g"}, warn: []string{"proxy-body-size:InvalidAnnotation"}},
		{name: "body size unit only", ann: map[string]string{"proxy-body-size": "m"}, warn: []string{"proxy-body-size:InvalidAnnotation"}},
		{name: "body size tb", ann: map[string]string{"proxy-body-size": "1t"}, warn: []string{"proxy-body-size:InvalidAnnotation"}},
		{name: "tries", ann: map[string]string{"proxy-next-upstream-tries": "3"}, check: func(t *testing.T, p Policy) {
			if p.NextUpstreamTries != 3 {
				t.Error(p.NextUpstreamTries)
			}
		}},
		{name: "tries zero unlimited", ann: map[string]string{"proxy-next-upstream-tries": "0"}, check: func(t *testing.T, p Policy) {
			if p.NextUpstreamTries != NoLimit {
				t.Error(p.NextUpstreamTries)
			}
		}},
		{name: "tries over", ann: map[string]string{"proxy-next-upstream-tries": "101"}, warn: []string{"proxy-next-upstream-tries:InvalidAnnotation"}},
	})
}

func TestBackend(t *testing.T) {
	runCases(t, []tc{
		{name: "grpc lower case", ann: map[string]string{"backend-protocol": "grpc"}, check: func(t *testing.T, p Policy) {
			if p.Backend == nil || p.Backend.Protocol != ProtocolGRPC || p.Backend.TLS != nil {
				t.Errorf("%+v", p.Backend)
			}
		}},
		{name: "h2c", ann: map[string]string{"backend-protocol": "H2C"}},
		{name: "ajp unsupported", ann: map[string]string{"backend-protocol": "AJP"}, warn: []string{"backend-protocol:InvalidAnnotation"}, check: isEmpty},
		{name: "https verify", ann: map[string]string{"backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-secret": "ns/ca", "proxy-ssl-name": "svc.internal", "proxy-ssl-server-name": "on", "proxy-ssl-verify-depth": "2"},
			check: func(t *testing.T, p Policy) {
				tl := p.Backend.TLS
				if tl == nil || !tl.Verify || *tl.Secret != (ObjectRef{"ns", "ca"}) || tl.ServerName != "svc.internal" || !tl.SNI || tl.VerifyDepth != 2 {
					t.Errorf("%+v", tl)
				}
			}},
		{name: "verify without secret denies", ann: map[string]string{"backend-protocol": "HTTPS", "proxy-ssl-verify": "on"},
			warn: []string{"proxy-ssl-verify:InvalidAnnotation"}, check: func(t *testing.T, p Policy) {
				if p.Denied == nil || p.Backend.TLS != nil {
					t.Errorf("%+v %+v", p.Denied, p.Backend)
				}
			}},
		{name: "cross namespace secret denies", ann: map[string]string{"backend-protocol": "GRPCS", "proxy-ssl-secret": "kube-system/ca"},
			warn: []string{"proxy-ssl-secret:InvalidAnnotation"}, check: func(t *testing.T, p Policy) {
				if p.Denied == nil {
					t.Error("not denied")
				}
			}},
		{name: "tls options on http backend", ann: map[string]string{"proxy-ssl-verify": "off"}, warn: []string{"proxy-ssl-verify:UnusedAnnotation"}, check: isEmpty},
	})
}

func TestSourceRange(t *testing.T) {
	runCases(t, []tc{
		{name: "allow and deny", ann: map[string]string{"allowlist-source-range": "10.0.0.0/8,2001:db8::/32", "denylist-source-range": "10.9.0.0/16"},
			check: func(t *testing.T, p Policy) {
				sr := p.SourceRange
				for a, want := range map[string]bool{"10.1.1.1": true, "10.9.1.1": false, "11.0.0.1": false, "2001:db8::1": true, "::ffff:10.1.1.1": true} {
					if got := sr.Permits(netip.MustParseAddr(a)); got != want {
						t.Errorf("Permits(%s) = %v", a, got)
					}
				}
			}},
		{name: "whitelist alias", ann: map[string]string{"whitelist-source-range": "192.168.0.0/24"}, check: func(t *testing.T, p Policy) {
			if p.SourceRange.Permits(netip.MustParseAddr("192.168.1.1")) {
				t.Error("outside address permitted")
			}
		}},
		{name: "unmasked cidr is masked", ann: map[string]string{"allowlist-source-range": "10.1.2.3/8"}, check: func(t *testing.T, p Policy) {
			if got := p.SourceRange.Allow; len(got) != 1 || got[0].String() != "10.0.0.0/8" {
				t.Error(got)
			}
		}},
		{name: "malformed cidr denies", ann: map[string]string{"allowlist-source-range": "10.0.0.0/8,300.1.1.1"},
			warn: []string{"allowlist-source-range:InvalidAnnotation"}, check: func(t *testing.T, p Policy) {
				if p.Denied == nil || p.SourceRange != nil {
					t.Errorf("%+v", p)
				}
			}},
		{name: "empty item", ann: map[string]string{"denylist-source-range": "10.0.0.0/8,,"}, warn: []string{"denylist-source-range:InvalidAnnotation"}},
		{name: "zone", ann: map[string]string{"denylist-source-range": "fe80::1%eth0"}, warn: []string{"denylist-source-range:InvalidAnnotation"}},
		{name: "hostname", ann: map[string]string{"denylist-source-range": "example.com"}, warn: []string{"denylist-source-range:InvalidAnnotation"}},
	})
}

func TestAuth(t *testing.T) {
	runCases(t, []tc{
		{name: "basic", ann: map[string]string{"auth-type": "basic", "auth-secret": "htpasswd", "auth-realm": "Staff only"}, check: func(t *testing.T, p Policy) {
			b := p.BasicAuth
			if b == nil || b.Secret != (ObjectRef{"ns", "htpasswd"}) || b.SecretType != "auth-file" || b.Realm != "Staff only" || p.Denied != nil {
				t.Errorf("%+v", b)
			}
		}},
		{name: "basic auth-map same namespace", ann: map[string]string{"auth-type": "basic", "auth-secret": "ns/users", "auth-secret-type": "auth-map"}, check: func(t *testing.T, p Policy) {
			realm := DefaultAuthRealm
			if p.Dialect == DialectNginx {
				realm = "" // as ingress-nginx
			}
			if p.BasicAuth.SecretType != "auth-map" || p.BasicAuth.Realm != realm {
				t.Errorf("%+v", p.BasicAuth)
			}
		}},
		{name: "digest denied", ann: map[string]string{"auth-type": "digest", "auth-secret": "s"},
			warn: []string{"auth-type:InvalidAnnotation", "auth-secret:FeatureDisabled"}, check: func(t *testing.T, p Policy) {
				if p.Denied == nil || p.BasicAuth != nil {
					t.Errorf("%+v", p)
				}
			}},
		{name: "missing secret denied", ann: map[string]string{"auth-type": "basic"}, warn: []string{"auth-type:InvalidAnnotation"}, check: func(t *testing.T, p Policy) {
			if p.Denied == nil {
				t.Error("not denied")
			}
		}},
		{name: "realm injection denied", ann: map[string]string{"auth-type": "basic", "auth-secret": "s", "auth-realm": `x"; return 200; "`},
			warn: []string{"auth-realm:InvalidAnnotation", "auth-type:FeatureDisabled", "auth-secret:FeatureDisabled"}, check: func(t *testing.T, p Policy) {
				if p.Denied == nil {
					t.Error("not denied")
				}
			}},
		{name: "secret without type unused", ann: map[string]string{"auth-secret": "s"}, warn: []string{"auth-secret:UnusedAnnotation"}, check: isEmpty},
		{name: "external", ann: map[string]string{"auth-url": "http://auth.example/verify?x=1", "auth-method": "post", "auth-response-headers": "X-User, X-Email", "auth-signin": "https://login.example/start"},
			check: func(t *testing.T, p Policy) {
				e := p.ExternalAuth
				if e == nil || e.Method != "POST" || !slices.Equal(e.ResponseHeaders, []string{"X-User", "X-Email"}) || e.SignInRedirectParam != "rd" || e.URL != "http://auth.example/verify?x=1" {
					t.Errorf("%+v", e)
				}
			}},
		{name: "external bad scheme denied", ann: map[string]string{"auth-url": "file:///etc/passwd"}, warn: []string{"auth-url:InvalidAnnotation"}, check: func(t *testing.T, p Policy) {
			if p.Denied == nil || p.ExternalAuth != nil {
				t.Error("not denied")
			}
		}},
		{name: "external bad header denied", ann: map[string]string{"auth-url": "http://a.example/", "auth-response-headers": "X-Ok, Bad Header"},
			warn: []string{"auth-response-headers:InvalidAnnotation", "auth-url:FeatureDisabled"}, check: func(t *testing.T, p Policy) {
				if p.Denied == nil {
					t.Error("not denied")
				}
			}},
		{name: "auth-method without url", ann: map[string]string{"auth-method": "GET"}, warn: []string{"auth-method:UnusedAnnotation"}},
	})
}

func TestCORS(t *testing.T) {
	runCases(t, []tc{
		{name: "defaults", ann: map[string]string{"enable-cors": "true"}, check: func(t *testing.T, p Policy) {
			c := p.CORS
			if c == nil || !c.AnyOrigin() || c.AllowMethods != DefaultCORSMethods || !c.AllowCredentials || c.MaxAge != 1728000 || !c.AllowsOrigin("https://x.example") {
				t.Errorf("%+v", c)
			}
			// The nginx dialect answers as ingress-nginx does.
			wantHeaders, everywhere := DefaultCORSHeaders, p.Dialect == DialectNginx
			if everywhere {
				wantHeaders = NginxDefaultCORSHeaders
			}
			if c != nil && (c.Everywhere != everywhere || c.AllowHeaders != wantHeaders) {
				t.Errorf("%s dialect: everywhere %v, headers %q", p.Dialect, c.Everywhere, c.AllowHeaders)
			}
		}},
		{name: "origins", ann: map[string]string{"enable-cors": "true", "cors-allow-origin": "https://a.example:4443, http://*.b.example", "cors-allow-methods": "get, post",
			"cors-allow-headers": "X-Forwarded-For, X-app123-XPTO", "cors-expose-headers": "*, X-Resp", "cors-allow-credentials": "false", "cors-max-age": "600"},
			check: func(t *testing.T, p Policy) {
				c := p.CORS
				for o, want := range map[string]bool{"https://a.example:4443": true, "https://a.example": false, "http://x.b.example": true, "http://x.y.b.example": false,
					"https://x.b.example": false, "http://b.example": false, "null": false} {
					if got := c.AllowsOrigin(o); got != want {
						t.Errorf("AllowsOrigin(%q) = %v", o, got)
					}
				}
				// The nginx dialect keeps the lists as written (as ingress-nginx).
				methods, headers := "GET, POST", "X-Forwarded-For, X-app123-XPTO"
				if p.Dialect == DialectNginx {
					methods = "get, post"
				}
				if c.AllowMethods != methods || c.AllowHeaders != headers || c.ExposeHeaders != "*, X-Resp" || c.AllowCredentials || c.MaxAge != 600 {
					t.Errorf("%s dialect: %+v", p.Dialect, c)
				}
			}},
		{name: "bad origin disables", ann: map[string]string{"enable-cors": "true", "cors-allow-origin": "https://a.example/path"},
			warn: []string{"cors-allow-origin:InvalidAnnotation", "enable-cors:FeatureDisabled"}, check: isEmpty},
		{name: "method with digits", ann: map[string]string{"enable-cors": "true", "cors-allow-methods": "GET, P0ST"},
			warn: []string{"cors-allow-methods:InvalidAnnotation", "enable-cors:FeatureDisabled"}},
		{name: "header injection", ann: map[string]string{"enable-cors": "true", "cors-allow-headers": "X-A; add_header X-Evil 1"},
			warn: []string{"cors-allow-headers:InvalidAnnotation", "enable-cors:FeatureDisabled"}},
		{name: "not enabled", ann: map[string]string{"cors-max-age": "5"}, warn: []string{"cors-max-age:UnusedAnnotation"}, check: isEmpty},
	})
}

func TestCanary(t *testing.T) {
	runCases(t, []tc{
		{name: "weight", ann: map[string]string{"canary": "true", "canary-weight": "30"}, check: func(t *testing.T, p Policy) {
			if p.Canary == nil || p.Canary.Weight != 30 || p.Canary.WeightTotal != 100 {
				t.Errorf("%+v", p.Canary)
			}
		}},
		{name: "weight total", ann: map[string]string{"canary": "true", "canary-weight": "1000", "canary-weight-total": "1000"}},
		{name: "weight over total inert", ann: map[string]string{"canary": "true", "canary-weight": "101"},
			warn: []string{"canary-weight:InvalidAnnotation", "canary:FeatureDisabled"}, check: func(t *testing.T, p Policy) {
				if p.Canary == nil || p.Canary.Weight != 0 || p.Canary.Header != "" {
					t.Errorf("%+v", p.Canary)
				}
			}},
		{name: "header value", ann: map[string]string{"canary": "true", "canary-by-header": "X-Canary", "canary-by-header-value": "yes", "canary-by-header-pattern": "^y"},
			warn: []string{"canary-by-header-pattern:UnusedAnnotation"}, check: func(t *testing.T, p Policy) {
				if p.Canary.Header != "X-Canary" || p.Canary.HeaderValue != "yes" || p.Canary.HeaderPattern != nil {
					t.Errorf("%+v", p.Canary)
				}
			}},
		{name: "header pattern", ann: map[string]string{"canary": "true", "canary-by-header": "X-Canary", "canary-by-header-pattern": "^(beta|alpha)$", "canary-by-cookie": "canary"},
			check: func(t *testing.T, p Policy) {
				if !p.Canary.HeaderPattern.MatchString("beta") || p.Canary.HeaderPattern.MatchString("gamma") || p.Canary.Cookie != "canary" {
					t.Errorf("%+v", p.Canary)
				}
			}},
		{name: "pcre backreference inert", ann: map[string]string{"canary": "true", "canary-by-header": "X", "canary-by-header-pattern": `(a)\1`},
			warn: []string{"canary-by-header-pattern:InvalidAnnotation", "canary:FeatureDisabled", "canary-by-header:FeatureDisabled"}},
		{name: "other annotations ignored on canary", ann: map[string]string{"canary": "true", "limit-rps": "5", "affinity": "cookie", "rewrite-target": "/"},
			warn: []string{"limit-rps:IgnoredOnCanary", "rewrite-target:IgnoredOnCanary"}, check: func(t *testing.T, p Policy) {
				if p.RateLimit != nil || p.Rewrite != nil || p.Affinity == nil || p.Canary == nil {
					t.Errorf("%+v", p)
				}
			}},
		{name: "invalid canary value is an inert canary", ann: map[string]string{"canary": "ture", "canary-weight": "50"},
			warn: []string{"canary:InvalidAnnotation", "canary-weight:FeatureDisabled"}, check: func(t *testing.T, p Policy) {
				if p.Canary == nil || p.Canary.Weight != 0 {
					t.Errorf("%+v", p.Canary)
				}
			}},
		{name: "canary false", ann: map[string]string{"canary": "false", "canary-weight": "50"}, warn: []string{"canary-weight:UnusedAnnotation"}, check: isEmpty},
		{name: "header name with colon", ann: map[string]string{"canary": "true", "canary-by-header": "X-Canary: always"},
			warn: []string{"canary-by-header:InvalidAnnotation", "canary:FeatureDisabled"}},
	})
}

// TestCanaryWeightTotalBelow100: the nginx dialect reads a total below 100
// as 100 (ingress-nginx's balancer draws from max(total, 100)), with a
// warning; the ingresslab dialect reads it as written.
func TestCanaryWeightTotalBelow100(t *testing.T) {
	c := tc{ann: map[string]string{"canary": "true", "canary-weight": "5", "canary-weight-total": "5"}}
	for d, want := range map[Dialect]struct {
		total int
		warn  []string
	}{
		DialectIngressLab: {5, []string{}},
		DialectNginx:      {100, []string{"canary-weight-total:" + ReasonNginxCompat}},
	} {
		p, ws := parseShort(d, c)
		if p.Canary == nil || p.Canary.Weight != 5 || p.Canary.WeightTotal != want.total {
			t.Errorf("%s: canary %+v, want 5 of %d", d, p.Canary, want.total)
		}
		if got := warnKeys(d, ws); !slices.Equal(got, want.warn) {
			t.Errorf("%s: warnings %v, want %v", d, got, want.warn)
		}
	}
	// 100 and more are read as written in both.
	for _, d := range Dialects() {
		p, ws := parseShort(d, tc{ann: map[string]string{"canary": "true", "canary-weight": "150", "canary-weight-total": "300"}})
		if p.Canary == nil || p.Canary.WeightTotal != 300 || len(ws) != 0 {
			t.Errorf("%s: canary %+v, warnings %v; want 150 of 300", d, p.Canary, ws)
		}
	}
}

func TestAffinity(t *testing.T) {
	runCases(t, []tc{
		{name: "defaults", ann: map[string]string{"affinity": "cookie"}, check: func(t *testing.T, p Policy) {
			a := p.Affinity
			if a == nil || a.CookieName != "INGRESSCOOKIE" || a.Mode != "balanced" {
				t.Errorf("%+v", a)
			}
		}},
		{name: "all", ann: map[string]string{"affinity": "cookie", "affinity-mode": "persistent", "session-cookie-name": "route", "session-cookie-path": "/app",
			"session-cookie-max-age": "172800", "session-cookie-expires": "3600", "session-cookie-samesite": "lax", "session-cookie-secure": "true",
			"session-cookie-domain": ".Example.com", "session-cookie-change-on-failure": "true"},
			check: func(t *testing.T, p Policy) {
				want := Affinity{Mode: "persistent", CookieName: "route", CookiePath: "/app", CookieDomain: "example.com", MaxAge: 172800, Expires: 3600, SameSite: "Lax", Secure: true, ChangeOnFailure: true}
				if *p.Affinity != want {
					t.Errorf("%+v", p.Affinity)
				}
			}},
		{name: "ip hash", ann: map[string]string{"affinity": "ip"}, warn: []string{"affinity:InvalidAnnotation"}, check: isEmpty},
		{name: "cookie name with semicolon", ann: map[string]string{"affinity": "cookie", "session-cookie-name": "a;b"},
			warn: []string{"session-cookie-name:InvalidAnnotation", "affinity:FeatureDisabled"}, check: isEmpty},
		{name: "samesite bogus", ann: map[string]string{"affinity": "cookie", "session-cookie-samesite": "Sometimes"},
			warn: []string{"session-cookie-samesite:InvalidAnnotation", "affinity:FeatureDisabled"}},
		{name: "without affinity", ann: map[string]string{"session-cookie-name": "x"}, warn: []string{"session-cookie-name:UnusedAnnotation"}},
	})
}

func TestMisc(t *testing.T) {
	runCases(t, []tc{
		{name: "custom headers", ann: map[string]string{"custom-headers": "ns/hdrs"}, check: func(t *testing.T, p Policy) {
			if *p.CustomHeaders != (ObjectRef{"ns", "hdrs"}) {
				t.Error(p.CustomHeaders)
			}
		}},
		{name: "custom headers other namespace", ann: map[string]string{"custom-headers": "other/hdrs"}, warn: []string{"custom-headers:InvalidAnnotation"}},
		{name: "server alias", ann: map[string]string{"server-alias": "A.example, *.b.example,a.example"}, check: func(t *testing.T, p Policy) {
			if !slices.Equal(p.ServerAliases, []string{"a.example", "*.b.example"}) {
				t.Error(p.ServerAliases)
			}
		}},
		{name: "server alias bad", ann: map[string]string{"server-alias": "a.example, bad_host"}, warn: []string{"server-alias:InvalidAnnotation"}, check: isEmpty},
		{name: "default backend", ann: map[string]string{"default-backend": "errors"}, check: func(t *testing.T, p Policy) {
			if p.DefaultBackend != "errors" {
				t.Error(p.DefaultBackend)
			}
		}},
		{name: "default backend namespaced", ann: map[string]string{"default-backend": "other/errors"}, warn: []string{"default-backend:InvalidAnnotation"}},
		{name: "custom http errors", ann: map[string]string{"custom-http-errors": "404, 503,404,599,400"}, check: func(t *testing.T, p Policy) {
			s := p.CustomHTTPErrors
			if !slices.Equal(s.Codes(), []int{400, 404, 503, 599}) || !s.Contains(404) || s.Contains(405) || s.Contains(200) || s.Contains(600) {
				t.Error(s.Codes())
			}
		}},
		{name: "custom http errors 200", ann: map[string]string{"custom-http-errors": "200"}, warn: []string{"custom-http-errors:InvalidAnnotation"}, check: isEmpty},
		{name: "custom http errors 600", ann: map[string]string{"custom-http-errors": "404,600"}, warn: []string{"custom-http-errors:InvalidAnnotation"}},
	})
}

func TestSnippetsUnknownUnsupported(t *testing.T) {
	runCases(t, []tc{
		{name: "snippets refused", ann: map[string]string{"server-snippet": "return 200;", "configuration-snippet": "more_set_headers \"X: y\";",
			"auth-snippet": "x", "stream-snippet": "server {}", "modsecurity-snippet": "SecRuleEngine On", "brand-new-snippet": "x"},
			warn: []string{"server-snippet:RefusedAnnotation", "configuration-snippet:RefusedAnnotation", "auth-snippet:RefusedAnnotation",
				"stream-snippet:RefusedAnnotation", "modsecurity-snippet:RefusedAnnotation", "brand-new-snippet:RefusedAnnotation"}, check: isEmpty},
		{name: "unknown", ann: map[string]string{"rewrite-targt": "/"}, warn: []string{"rewrite-targt:UnknownAnnotation"}, check: isEmpty},
		{name: "unsupported", ann: map[string]string{"ssl-passthrough": "true", "mirror-target": "http://x/"}, warn: []string{"ssl-passthrough:UnsupportedAnnotation", "mirror-target:UnsupportedAnnotation"}},
	})
	for _, w := range func() []Warning {
		_, ws := parseShort(DialectNginx, tc{ann: map[string]string{"server-snippet": "x"}})
		return ws
	}() {
		if !strings.Contains(w.Message, "CVE-2025-1974") {
			t.Errorf("refusal does not cite the CVE: %s", w)
		}
	}
}

func TestOtherDialectIgnored(t *testing.T) {
	p, ws := Parse(Input{Annotations: map[string]string{"nginx.ingress.kubernetes.io/limit-rps": "5", "nginx.ingress.kubernetes.io/server-snippet": "x"}}, Options{})
	if p.RateLimit != nil || len(ws) != 0 || p.Dialect != DialectIngressLab {
		t.Errorf("ingresslab dialect read nginx annotations: %+v %v", p, ws)
	}
}

func TestParseDialect(t *testing.T) {
	for in, want := range map[string]Dialect{"": DialectIngressLab, "ingresslab": DialectIngressLab, "NGINX": DialectNginx, "nginx.ingress.kubernetes.io": DialectNginx, "ingresslab.dev": DialectIngressLab} {
		if got, err := ParseDialect(in); err != nil || got != want {
			t.Errorf("ParseDialect(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseDialect("traefik"); err == nil {
		t.Error("unknown dialect accepted")
	}
}

func TestParseHeaders(t *testing.T) {
	ref := ObjectRef{"ns", "h"}
	hs, err := ParseHeaders(ref, map[string]string{"x-frame-options": "DENY", "X-Req": "$req_id"})
	if err != nil || len(hs) != 2 || hs[0] != (Header{"X-Frame-Options", "DENY"}) || hs[1] != (Header{"X-Req", "$req_id"}) {
		t.Fatalf("%v %v", hs, err)
	}
	for name, data := range map[string]map[string]string{
		"newline value":  {"X-A": "a\r\nSet-Cookie: x=1"},
		"bad name":       {"X A": "1"},
		"framing header": {"content-length": "0"},
		"duplicate":      {"x-a": "1", "X-A": "2"},
		"huge value":     {"X-A": strings.Repeat("a", DefaultMaxValueBytes+1)},
	} {
		if hs, err := ParseHeaders(ref, data); err == nil || hs != nil || !strings.Contains(err.Error(), "ns/h") {
			t.Errorf("%s: %v %v", name, hs, err)
		}
	}
}

// parseTemplate compiles with routing.NewTemplate but keeps the parser's
// own message for a bad "$".
func TestParseTemplateDollarMessage(t *testing.T) {
	const want = `"$" must be followed by a single capture group digit ($1..$9)`
	for _, bad := range []string{"/$", "/$x", "/$12"} {
		if _, err := parseTemplate(bad); err == nil || err.Error() != want {
			t.Errorf("parseTemplate(%q) error = %v, want %q", bad, err, want)
		}
	}
	tmpl, err := parseTemplate("/a/$0/$1")
	if err != nil || tmpl.String() != "/a/$0/$1" {
		t.Errorf("parseTemplate(/a/$0/$1) = %v, %v", tmpl, err)
	}
}
