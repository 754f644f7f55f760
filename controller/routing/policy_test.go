package routing

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestStatusSet(t *testing.T) {
	s := NewStatusSet(503, 404, 503, 99, 600, 599, 100)
	for code, want := range map[int]bool{100: true, 404: true, 503: true, 599: true, 99: false, 600: false, 200: false, -1: false, 1 << 20: false} {
		if s.Contains(code) != want {
			t.Errorf("Contains(%d) = %v", code, !want)
		}
	}
	if js, _ := json.Marshal(s); string(js) != "[503,404,599,100]" {
		t.Errorf("JSON %s", js)
	}
	var none *StatusSet
	var pages *ErrorPages
	if none.Contains(404) || pages.Intercepts(404) {
		t.Error("nil set contains 404")
	}
}

func TestAccess(t *testing.T) {
	a := &Access{Allow: Prefixes{netip.MustParsePrefix("10.0.0.0/8")}, Deny: Prefixes{netip.MustParsePrefix("10.9.0.0/16")}}
	for s, want := range map[string]bool{"10.1.1.1": true, "::ffff:10.1.1.1": true, "10.9.1.1": false, "192.0.2.1": false} {
		if got := a.Permits(netip.MustParseAddr(s)); got != want {
			t.Errorf("Permits(%s) = %v", s, got)
		}
	}
	var open *Access
	if !open.Permits(netip.MustParseAddr("192.0.2.1")) || !(&Access{Deny: a.Deny}).Permits(netip.MustParseAddr("192.0.2.1")) {
		t.Error("no allow list refuses")
	}
}

func TestRewriteTemplate(t *testing.T) {
	tmpl, err := NewTemplate("/v2/$2$1/x$0")
	if err != nil {
		t.Fatal(err)
	}
	rw := &Rewrite{Regex: regexp.MustCompile(`(?i)^/api(/|$)(.*)`), Target: tmpl}
	if got, ok := rw.Apply("/API/users"); !ok || got != "/v2/users//x/API/users" {
		t.Errorf("Apply = %q %v", got, ok)
	}
	if _, ok := rw.Apply("/other"); ok {
		t.Error("Apply matched /other")
	}
	for _, bad := range []string{"/$", "/$x", "/$12"} {
		if _, err := NewTemplate(bad); err == nil {
			t.Errorf("NewTemplate(%q) succeeded", bad)
		}
	}
}

func TestHTTPSRedirectMode(t *testing.T) {
	for _, c := range []struct {
		h           HTTPSRedirect
		off, onHost bool
	}{{HTTPSRedirectTLSHost, false, true}, {HTTPSRedirectNever, false, false}, {HTTPSRedirectAlways, true, true}} {
		if c.h.Redirects(false) != c.off || c.h.Redirects(true) != c.onHost {
			t.Errorf("%d: %v %v", c.h, c.h.Redirects(false), c.h.Redirects(true))
		}
	}
}

func TestCORSOrigins(t *testing.T) {
	c := NewCORS(CORS{AllowOrigins: []string{"https://a.example", "http://*.b.example:8080"}})
	for o, want := range map[string]bool{
		"https://a.example": true, "HTTPS://A.EXAMPLE": true, "http://a.example": false,
		"http://x.b.example:8080": true, "http://x.y.b.example:8080": false, "http://x.b.example": false,
		"http://-x.b.example:8080": false, "http://.b.example:8080": false,
	} {
		if got := c.AllowsOrigin(o); got != want {
			t.Errorf("AllowsOrigin(%q) = %v", o, got)
		}
	}
	if c.AnyOrigin() || !NewCORS(CORS{AllowOrigins: []string{"*"}}).AnyOrigin() {
		t.Error("AnyOrigin")
	}
}

// The wildcard origin check is RFC 1123's label rule, as the annotation
// parser validated it before it used routing's matcher.
func TestIsDNSLabelIsRFC1123Label(t *testing.T) {
	for _, s := range []string{"", "a", "a-b", "-a", "a-", "a.b", "A", "a_b", "0", "x9-y", "*",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "é", "a\n"} {
		if got, want := isDNSLabel(s), len(validation.IsDNS1123Label(s)) == 0; got != want {
			t.Errorf("isDNSLabel(%q) = %v, IsDNS1123Label says %v", s, got, want)
		}
	}
}
