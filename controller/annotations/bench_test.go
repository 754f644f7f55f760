package annotations

import (
	"net/netip"
	"testing"
)

var benchAnn = map[string]string{
	"nginx.ingress.kubernetes.io/use-regex":              "true",
	"nginx.ingress.kubernetes.io/rewrite-target":         "/$2",
	"nginx.ingress.kubernetes.io/limit-rps":              "10",
	"nginx.ingress.kubernetes.io/limit-whitelist":        "10.0.0.0/8,192.168.0.0/16",
	"nginx.ingress.kubernetes.io/enable-cors":            "true",
	"nginx.ingress.kubernetes.io/cors-allow-origin":      "https://a.example, https://*.b.example",
	"nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8",
	"nginx.ingress.kubernetes.io/custom-http-errors":     "404,503",
	"nginx.ingress.kubernetes.io/proxy-body-size":        "8m",
}

func BenchmarkParse(b *testing.B) {
	in := Input{Namespace: "ns", Annotations: benchAnn, Paths: []string{"/something(/|$)(.*)", "/api/(.*)"}}
	b.ReportAllocs()
	for b.Loop() {
		Parse(in, Options{Dialect: DialectNginx})
	}
}

// BenchmarkHotPath is what the data plane does per request.
func BenchmarkHotPath(b *testing.B) {
	pol, _ := Parse(Input{Namespace: "ns", Annotations: benchAnn, Paths: []string{"/something(/|$)(.*)"}}, Options{Dialect: DialectNginx})
	addr := netip.MustParseAddr("10.1.2.3")
	b.ReportAllocs()
	for b.Loop() {
		_ = pol.SourceRange.Permits(addr)
		_ = pol.RateLimit.Exempt.Contains(addr)
		_ = pol.CORS.AllowsOrigin("https://x.b.example")
		_ = pol.CustomHTTPErrors.Contains(503)
		_, _ = pol.Rewrite.Apply("/something(/|$)(.*)", "/something/new/path")
	}
}
