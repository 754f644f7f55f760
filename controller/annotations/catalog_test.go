package annotations

import (
	"testing"
)

// issueFeatures are the annotations issue 8 requires, all supported.
var issueFeatures = []string{"rewrite-target", "use-regex", "app-root", "x-forwarded-prefix", "upstream-vhost", "ssl-redirect", "force-ssl-redirect",
	"permanent-redirect", "permanent-redirect-code", "temporal-redirect", "limit-rps", "limit-rpm", "limit-connections", "limit-burst-multiplier",
	"limit-whitelist", "proxy-connect-timeout", "proxy-read-timeout", "proxy-send-timeout", "proxy-body-size", "proxy-next-upstream-tries",
	"backend-protocol", "proxy-ssl-verify", "proxy-ssl-secret", "proxy-ssl-name", "whitelist-source-range", "allowlist-source-range",
	"denylist-source-range", "auth-type", "auth-secret", "auth-secret-type", "auth-realm", "auth-url", "auth-response-headers", "auth-method",
	"auth-signin", "enable-cors", "cors-allow-origin", "cors-allow-methods", "cors-allow-headers", "cors-allow-credentials", "cors-max-age",
	"canary", "canary-weight", "canary-weight-total", "canary-by-header", "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie",
	"affinity", "session-cookie-name", "session-cookie-path", "session-cookie-max-age", "session-cookie-samesite", "custom-headers",
	"server-alias", "default-backend", "custom-http-errors"}

func TestCatalog(t *testing.T) {
	cat := Catalog()
	if len(cat) != 2*len(specs) {
		t.Fatalf("%d entries for %d specs", len(cat), len(specs))
	}
	seen := map[string]bool{}
	for i, e := range cat {
		if seen[e.Key] {
			t.Errorf("duplicate %s", e.Key)
		}
		seen[e.Key] = true
		if e.Key != e.Dialect.Key(e.Name) || e.Feature == "" || e.Scope == "" {
			t.Errorf("bad entry %+v", e)
		}
		if got, ok := Lookup(e.Key); !ok || got != e {
			t.Errorf("Lookup(%s) = %+v", e.Key, got)
		}
		if i > 0 && dialectIndex(cat[i-1].Dialect) == dialectIndex(e.Dialect) && cat[i-1].Feature > e.Feature {
			t.Errorf("not sorted at %s", e.Key)
		}
		if (e.Feature == FeatureSnippet) != (e.Status == StatusRefused) {
			t.Errorf("%s: snippets and only snippets are refused", e.Key)
		}
	}
	for _, n := range issueFeatures {
		for _, d := range Dialects() {
			if e, ok := Lookup(d.Key(n)); !ok || e.Status != StatusSupported {
				t.Errorf("%s not supported", d.Key(n))
			}
		}
	}
	if e, ok := Lookup("nginx.ingress.kubernetes.io/some-future-snippet"); !ok || e.Status != StatusRefused {
		t.Errorf("unlisted snippet: %+v", e)
	}
	if _, ok := Lookup("cert-manager.io/cluster-issuer"); ok {
		t.Error("foreign key found")
	}
	// Only the nginx dialect carries differences from ingress-nginx.
	if e, _ := Lookup("ingresslab.dev/use-regex"); e.Differences != "" {
		t.Error("ingresslab dialect entry has differences")
	}
	if e, _ := Lookup("nginx.ingress.kubernetes.io/use-regex"); e.Differences == "" {
		t.Error("nginx use-regex has no differences")
	}
}

// TestCatalogMatchesParser checks that every supported name is read by the
// parser (no "unknown" warning, no silent drop) and every unsupported or
// refused one is reported.
func TestCatalogMatchesParser(t *testing.T) {
	for _, e := range Catalog() {
		_, ws := Parse(Input{Namespace: "ns", Annotations: map[string]string{e.Key: "\x01"}}, Options{Dialect: e.Dialect})
		want := map[Status]string{StatusSupported: ReasonInvalid, StatusRefused: ReasonRefused, StatusUnsupported: ReasonUnsupported}[e.Status]
		if len(ws) != 1 || ws[0].Reason != want {
			t.Errorf("%s: %v, want one %s", e.Key, ws, want)
		}
	}
}
