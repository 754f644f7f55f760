package annotations

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite fixtures/annotations/*.want.yaml")

const fixtureDir = "../../fixtures/annotations"

// golden is the rendered outcome of one fixture.
type golden struct {
	Policy   Policy    `json:"policy"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// TestGolden parses each fixtures/annotations/<case>.in.yaml (one Ingress
// manifest; "# options: {json}" lines set Options) and compares the policy
// and warnings with <case>.want.yaml. Every case is also parsed with its
// two dialects' prefixes swapped, which must give an equal policy and the
// same warnings.
func TestGolden(t *testing.T) {
	ins, err := filepath.Glob(filepath.Join(fixtureDir, "*.in.yaml"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ing, opts := loadFixture(t, data)
			pol, ws := ParseIngress(ing, opts)
			got := render(t, golden{Policy: pol, Warnings: ws})
			wantPath := filepath.Join(fixtureDir, name+".want.yaml")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", wantPath, got, want)
			}

			// The other dialect gives the same result.
			other := DialectIngressLab
			if opts.Dialect == DialectIngressLab {
				other = DialectNginx
			}
			moved := ing.DeepCopy()
			moved.Annotations = map[string]string{}
			for k, v := range ing.Annotations {
				if d, n, ok := SplitKey(k); ok { // swap the prefixes
					k = other.Key(n)
					if d == other {
						k = opts.Dialect.Key(n)
					}
				}
				moved.Annotations[k] = v
			}
			opts.Dialect = other
			pol2, ws2 := ParseIngress(moved, opts)
			if policyJSON(t, dialectNeutral(pol2)) != policyJSON(t, dialectNeutral(pol)) {
				t.Errorf("%s dialect gives another policy:\n%s\n%s", other, policyJSON(t, pol2), policyJSON(t, pol))
			}
			if len(ws2) != len(ws) {
				t.Fatalf("%s dialect: %d warnings, want %d", other, len(ws2), len(ws))
			}
			for i := range ws {
				_, n1, _ := SplitKey(ws[i].Annotation)
				_, n2, _ := SplitKey(ws2[i].Annotation)
				msg := strings.ReplaceAll(ws2[i].Message, other.Prefix(), pol.Dialect.Prefix())
				if n1 != n2 || ws[i].Reason != ws2[i].Reason || ws[i].Message != msg {
					t.Errorf("warning %d: %s vs %s", i, ws[i], ws2[i])
				}
			}
		})
	}
}

func loadFixture(t *testing.T, data []byte) (*networkingv1.Ingress, Options) {
	t.Helper()
	var opts Options
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# options:"); ok {
			if err := json.Unmarshal([]byte(v), &opts); err != nil {
				t.Fatalf("options %q: %v", v, err)
			}
		}
	}
	ing := &networkingv1.Ingress{}
	if err := yaml.UnmarshalStrict(data, ing); err != nil {
		t.Fatal(err)
	}
	if opts.Dialect == "" {
		opts.Dialect = DialectNginx
		for k := range ing.Annotations {
			if strings.HasPrefix(k, PrefixIngressLab+"/") {
				opts.Dialect = DialectIngressLab
			}
		}
	}
	return ing, opts
}

func render(t *testing.T, g golden) []byte {
	t.Helper()
	js, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// dialectNeutral drops what deliberately depends on the dialect: the nginx
// dialect's CORS is ingress-nginx's (routing.CORS.Everywhere, and its
// spelling of the default cors-allow-headers).
func dialectNeutral(pol Policy) Policy {
	if rl := pol.RateLimit; rl != nil && rl.BurstExcess {
		n := *rl
		n.BurstExcess = false
		pol.RateLimit = &n
	}
	if ba := pol.BasicAuth; ba != nil && ba.Realm == "" && pol.Dialect == DialectNginx {
		n := *ba
		n.Realm = DefaultAuthRealm
		pol.BasicAuth = &n
	}
	if c := pol.CORS; c != nil {
		n := *c
		n.Everywhere = false
		if n.AllowHeaders == NginxDefaultCORSHeaders {
			n.AllowHeaders = DefaultCORSHeaders
		}
		// The nginx dialect keeps the lists as written.
		list := func(s string, upper bool) string {
			items := strings.Split(s, ",")
			for i, it := range items {
				items[i] = strings.TrimSpace(it)
				if upper {
					items[i] = strings.ToUpper(items[i])
				}
			}
			return strings.Join(items, ", ")
		}
		n.AllowMethods, n.AllowHeaders, n.ExposeHeaders = list(n.AllowMethods, true), list(n.AllowHeaders, false), list(n.ExposeHeaders, false)
		pol.CORS = &n
	}
	return pol
}
