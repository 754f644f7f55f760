package annotations

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse feeds one annotation (by short name) plus a second one and an
// Ingress path through both dialects. Invariants: no panic, equal policies
// in both dialects, the policy marshals, accepted values carry no control
// characters, and every warning names a key of the dialect.
func FuzzParse(f *testing.F) {
	for _, s := range [][4]string{
		{"rewrite-target", "/$1", "use-regex", "true"},
		{"limit-rps", "10", "limit-whitelist", "10.0.0.0/8"},
		{"whitelist-source-range", "10.0.0.0/33", "denylist-source-range", "::1"},
		{"enable-cors", "true", "cors-allow-origin", "https://*.a.example:8443"},
		{"canary", "true", "canary-by-header-pattern", "(a+)+$"},
		{"permanent-redirect", "https://x.example$request_uri", "permanent-redirect-code", "308"},
		{"auth-type", "basic", "auth-realm", `"; return 200;`},
		{"auth-url", "http://auth/\n", "auth-method", "GET"},
		{"proxy-body-size", "1025g", "server-snippet", "return 200;"},
		{"custom-http-errors", "404,503", "server-alias", "*.a.example"},
		{"affinity", "cookie", "session-cookie-samesite", "None"},
		{"backend-protocol", "GRPCS", "proxy-ssl-secret", "ns/ca"},
	} {
		f.Add(s[0], s[1], s[2], s[3], "/(.*)")
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, path string) {
		var first string
		for _, d := range Dialects() {
			ann := map[string]string{d.Key(n1): v1, d.Key(n2): v2}
			pol, ws := Parse(Input{Namespace: "ns", Annotations: ann, Paths: []string{path}}, Options{Dialect: d})
			if _, err := json.Marshal(pol); err != nil {
				t.Fatalf("marshal: %v", err)
			}
			for _, w := range ws {
				if !strings.HasPrefix(w.Annotation, d.Prefix()+"/") {
					t.Fatalf("warning for a foreign key: %s", w)
				}
			}
			pol = dialectNeutral(pol)
			pol.Dialect = ""
			js, _ := json.Marshal(pol)
			if strings.ContainsFunc(strings.ReplaceAll(string(controlChecked(pol)), `\u`, ""), isControl) {
				t.Fatalf("control character in policy: %s", js)
			}
			if first == "" {
				first = string(js)
			} else if first != string(js) {
				t.Fatalf("dialects differ:\n%s\n%s", first, js)
			}
			if pol.Rewrite != nil && pol.Rewrite.Target != nil {
				pol.Rewrite.Apply(path, path+"/x")
			}
		}
	})
}

// controlChecked is the policy as JSON without the compiled paths: those
// are the Ingress's own paths compiled as written (the API server accepts
// any absolute path for ImplementationSpecific, and the expression never
// leaves the process), not annotation values that could reach a header.
func controlChecked(pol Policy) []byte {
	if pol.Rewrite != nil {
		rw := *pol.Rewrite
		rw.Paths = nil
		pol.Rewrite = &rw
	}
	js, _ := json.Marshal(pol)
	return js
}
