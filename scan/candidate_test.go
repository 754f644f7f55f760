package scan

import (
	"bytes"
	"strings"
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

func TestCandidateBehaviourFromComparison(t *testing.T) {
	golden := &reports.Recording{Dir: "golden", Index: reports.RecordingIndex{Implementation: reports.Implementation{Name: "ingress-nginx", Version: "controller-v1.15.1"}},
		Specs: map[string]*reports.SpecRecording{
			"cors": {Spec: "cors", Result: reports.Passed, Annotations: []string{ng + "enable-cors=true"},
				Observations: []reports.Observation{{Key: "GET http://cors.{ns}.test/", Fields: map[string]string{"status": "200", "response.header.access-control-allow-origin": "*"}}}},
			"rps": {Spec: "rps", Result: reports.Passed, Annotations: []string{ng + "limit-rps=5"},
				Observations: []reports.Observation{{Key: "GET http://rps.{ns}.test/", Fields: map[string]string{"status": "200 | 503"}}}},
		}}
	current := []*reports.SpecRecording{
		{Spec: "cors", Result: reports.Passed, Observations: []reports.Observation{{Key: "GET http://cors.{ns}.test/", Fields: map[string]string{"status": "200", "response.header.access-control-allow-origin": "https://app.example"}}}},
		{Spec: "rps", Result: reports.Passed, Observations: []reports.Observation{{Key: "GET http://rps.{ns}.test/", Fields: map[string]string{"status": "200 | 503"}}}},
	}
	results := &reports.ConformanceReport{Implementation: reports.Implementation{Name: "reference-nginx", Version: "dev"}, Golden: reports.CompareRecording(golden, current, nil)}
	p, err := Candidate("reference-nginx", results)
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(fleet(), p)
	cors := usage(t, r, ng+"enable-cors")
	if cors.Behaviour == nil || cors.Behaviour.Behaves() != reports.BehavesDiffers || cors.Verdict != Variant || len(cors.Behaviour.Differences) != 1 {
		t.Fatalf("enable-cors: %+v behaviour %+v", cors, cors.Behaviour)
	}
	d := cors.Behaviour.Differences[0]
	if d.Golden != "*" || d.Actual != "https://app.example" || d.Field != "response.header.access-control-allow-origin" {
		t.Errorf("difference %+v", d)
	}
	if !strings.Contains(cors.Note, "behaves differently from ingress-nginx controller-v1.15.1") {
		t.Errorf("note %q", cors.Note)
	}
	rps := usage(t, r, ng+"limit-rps")
	if rps.Behaviour == nil || rps.Behaviour.Behaves() != reports.BehavesSame || rps.Behaviour.Fields.Same != 2 {
		t.Errorf("limit-rps behaviour %+v", rps.Behaviour)
	}
	if u := usage(t, r, ng+"ssl-redirect"); u.Behaviour != nil {
		t.Errorf("ssl-redirect was not compared: %+v", u.Behaviour)
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Behaviour compared with ingress-nginx controller-v1.15.1", "| `" + ng + "enable-cors` | differs | 1 | 2 | 0 | 1 |", "| response.header.access-control-allow-origin | * | https://app.example | unexpected |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}
