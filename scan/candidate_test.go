package scan

import (
	"testing"

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

func TestFromProfileJudgesByFeature(t *testing.T) {
	p, err := profile.Parse([]byte(`
name: cand
controller: a/b
ingressClass: c
local: {command: [x]}
annotations:
  prefix: cand.example
  features:
    rewrite: {}
    cors: {keys: {enable-cors: cors-enable}, unsupportedKeys: {cors-max-age: "no max-age"}}
    canary: {unsupported: "weights live in CRDs"}
    affinity: {note: "cookie path always /"}
`), "cand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp := FromProfile(p, nil)
	for key, want := range map[string]Verdict{
		ng + "rewrite-target":         Variant, // renamed into the candidate's prefix
		ng + "enable-cors":            Variant,
		ng + "cors-max-age":           Unsupported,
		ng + "cors-expose-headers":    Variant, // supported feature, key not mapped: unverified
		ng + "canary-weight":          Unsupported,
		ng + "session-cookie-name":    Variant,
		ng + "limit-rps":              Unsupported, // feature not declared
		ng + "made-up":                Unsupported,
		"cand.example/rewrite-target": Supported,
		"cand.example/cors-enable":    Supported,
		"cert-manager.io/issuer":      Other,
	} {
		if got := sp.Judge(key); got.Verdict != want {
			t.Errorf("Judge(%s) = %+v, want %s", key, got, want)
		}
	}
	if n := sp.Judge(ng + "canary-weight").Note; n != "weights live in CRDs" {
		t.Errorf("canary note %q", n)
	}

	// A candidate reading ingress-nginx's own keys is judged supported,
	// unless its conformance results show the feature failing.
	p.Annotations.Prefix = "nginx.ingress.kubernetes.io"
	if got := FromProfile(p, nil).Judge(ng + "use-regex"); got.Verdict != Supported {
		t.Errorf("use-regex under the same prefix: %+v", got)
	}
	res := &reports.ConformanceReport{Implementation: reports.Implementation{Name: "cand", Version: "v1"}, Tests: []reports.TestResult{
		{Name: "r", Features: []string{reports.AnnotationFeaturePrefix + "rewrite"}, Result: reports.Failed},
	}}
	res.Finalize()
	if got := FromProfile(p, res).Judge(ng + "use-regex"); got.Verdict != Variant || got.Note == "" {
		t.Errorf("use-regex with failing specs: %+v", got)
	}
}

func TestShippedCandidates(t *testing.T) {
	for _, name := range []string{"reference-nginx"} {
		sp, err := Candidate(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := sp.Judge(ng + "server-snippet"); got.Verdict == Other {
			t.Errorf("%s: server-snippet not judged: %+v", name, got)
		}
	}
	if got := mustCandidate(t, "reference-nginx").Judge(ng + "rewrite-target"); got.Verdict != Variant {
		t.Errorf("reference-nginx rewrite-target (documented RE2 difference): %+v", got)
	}
}

func mustCandidate(t *testing.T, name string) Profile {
	t.Helper()
	sp, err := Candidate(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}
