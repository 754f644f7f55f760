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
