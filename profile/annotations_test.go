package profile

import (
	"strings"
	"testing"
)

func TestAnnotationKeysTranslateAndRefuse(t *testing.T) {
	p, err := Parse([]byte(`
name: x
controller: a/b
ingressClass: c
local: {command: [x]}
annotations:
  prefix: example.com
  features:
    rewrite: {}
    cors:
      keys: {enable-cors: cors-enable, cors-allow-origin: other.io/origin}
      unsupportedKeys: {cors-max-age: "no max-age"}
      note: "credentials always sent"
    canary: {unsupported: "no canary"}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.AnnotationKeys("cors", map[string]string{"enable-cors": "true", "cors-allow-origin": "https://a", "cors-allow-methods": "GET"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"example.com/cors-enable": "true", "other.io/origin": "https://a", "example.com/cors-allow-methods": "GET"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	for _, tc := range []struct {
		feature string
		keys    map[string]string
		want    string
	}{
		{"cors", map[string]string{"cors-max-age": "5"}, "no max-age"},
		{"canary", map[string]string{"canary": "true"}, "no canary"},
		{"affinity", map[string]string{"affinity": "cookie"}, "not declared"},
	} {
		if _, err := p.AnnotationKeys(tc.feature, tc.keys); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: error %v, want one containing %q", tc.feature, tc.keys, err, tc.want)
		}
	}
	for feature, want := range map[string]string{"rewrite": AnnotationSupported, "cors": AnnotationVariant, "canary": AnnotationUnsupported, "affinity": AnnotationUnsupported} {
		if got, _ := p.AnnotationSupport(feature); got != want {
			t.Errorf("AnnotationSupport(%s) = %s, want %s", feature, got, want)
		}
	}
}

func TestAnnotationsSectionIsValidated(t *testing.T) {
	for name, tc := range map[string]struct{ section, want string }{
		"unknown-feature": {"prefix: a.io\n  features: {rewrites: {}}", "annotations.features.rewrites: unknown feature"},
		"foreign-key":     {"prefix: a.io\n  features: {cors: {keys: {limit-rps: x}}}", "annotations.features.cors.keys.limit-rps"},
		"bad-prefix":      {"prefix: a.io/x", "annotations.prefix"},
	} {
		_, err := Parse([]byte("name: x\ncontroller: a/b\ningressClass: c\nlocal: {command: [x]}\nannotations:\n  "+tc.section+"\n"), name)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func TestShippedProfilesDeclareEveryFeatureOrNothing(t *testing.T) {
	// A profile with an annotations section must say something about each
	// feature, so reports never show a silent gap.
	for _, name := range Shipped() {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Annotations == nil {
			continue
		}
		for f := range AnnotationFeatures {
			if _, ok := p.Annotations.Features[f]; !ok {
				t.Errorf("profile %s: annotations.features lacks %s (declare it, or unsupported with a reason)", name, f)
			}
		}
	}
}

func TestDocumentedVariants(t *testing.T) {
	p, err := Parse([]byte(`
name: x
controller: a/b
ingressClass: c
local: {command: [x]}
annotations:
  prefix: example.com
  commonVariants:
    - {field: "response.header.content-type", check: "* http://*/missing*", reason: "error pages are text/plain"}
    - {field: "status", feature: hostile-values, reason: "fails closed"}
  features:
    cors:
      variants:
        - {field: "response.header.access-control-*", reason: "origin echoed"}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		features   []string
		key, field string
		want       string
	}{
		{[]string{"annotations.cors"}, "GET http://a/", "response.header.access-control-allow-origin", "origin echoed"},
		{[]string{"annotations.rewrite"}, "GET http://a/", "response.header.access-control-allow-origin", ""},
		{[]string{"path-rules"}, "GET http://a.{ns}.test/missing/x", "response.header.content-type", "error pages are text/plain"},
		{[]string{"path-rules"}, "GET http://a.{ns}.test/found", "response.header.content-type", ""},
		{[]string{"annotations.cors"}, "GET http://a/", "status", ""},
		{[]string{"annotations.hostile-values"}, "GET http://a/", "status", "fails closed"},
	} {
		got, ok := p.DocumentedVariant(tc.features, tc.key, tc.field)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("DocumentedVariant(%v, %q, %q) = %q, %v; want %q", tc.features, tc.key, tc.field, got, ok, tc.want)
		}
	}
	var none *Profile
	if _, ok := none.DocumentedVariant(nil, "k", "f"); ok {
		t.Error("a nil profile documents nothing")
	}
	_, err = Parse([]byte(`
name: x
controller: a/b
ingressClass: c
local: {command: [x]}
annotations:
  prefix: example.com
  commonVariants: [{field: status}]
  features:
    cors: {variants: [{reason: "why"}]}
`), "bad.yaml")
	for _, want := range []string{"annotations.commonVariants[0] (field status).reason: empty", "annotations.features.cors.variants[0].field: empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"status", "status", true},
		{"status", "statuses", false},
		{"response.header.*", "response.header.x-a", true},
		{"*-origin", "response.header.access-control-allow-origin", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"*", "", true},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}
