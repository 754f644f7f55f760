package annotations

import (
	"reflect"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

func TestParseCacheDurations(t *testing.T) {
	d := func(x time.Duration) routing.Duration { return routing.Duration(x) }
	for in, want := range map[string][]routing.AuthCacheRule{
		"200 202 401 5m":  {{Codes: []int{200, 202, 401}, TTL: d(5 * time.Minute)}},
		"10m":             {{Codes: []int{200, 301, 302}, TTL: d(10 * time.Minute)}},
		"any 30":          {{TTL: d(30 * time.Second)}},
		"200 1h, 401 30s": {{Codes: []int{200}, TTL: d(time.Hour)}, {Codes: []int{401}, TTL: d(30 * time.Second)}},
		"200 2d":          {{Codes: []int{200}, TTL: d(48 * time.Hour)}},
	} {
		got, err := parseCacheDurations(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseCacheDurations(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "200 5x", "99 5m", "200 0m", "abc 5m", "200 31d", ",", "200 99999999999999d"} {
		if got, err := parseCacheDurations(bad); err == nil {
			t.Errorf("parseCacheDurations(%q) accepted: %+v", bad, got)
		}
	}
	// TTL: the first rule naming the status, then "any".
	c := &routing.AuthCache{Valid: []routing.AuthCacheRule{{Codes: []int{200}, TTL: d(time.Hour)}, {TTL: d(time.Minute)}, {Codes: []int{401}, TTL: d(time.Second)}}}
	for code, want := range map[int]time.Duration{200: time.Hour, 401: time.Second, 500: time.Minute} {
		if got := c.TTL(code); got != want {
			t.Errorf("TTL(%d) = %v, want %v", code, got, want)
		}
	}
	if got := (&routing.AuthCache{Valid: DefaultAuthCacheDuration}).TTL(403); got != 0 {
		t.Errorf("default durations keep a 403 for %v", got)
	}
}

func TestParseAuthCache(t *testing.T) {
	pol, ws := Parse(Input{Namespace: "ns", Annotations: map[string]string{
		"nginx.ingress.kubernetes.io/auth-url":       "http://auth.example/check",
		"nginx.ingress.kubernetes.io/auth-cache-key": "$remote_addr$http_authorization",
	}}, Options{Dialect: DialectNginx})
	if len(ws) != 0 || pol.ExternalAuth == nil || pol.ExternalAuth.Cache == nil ||
		pol.ExternalAuth.Cache.Key.Source != "$remote_addr$http_authorization" || !reflect.DeepEqual(pol.ExternalAuth.Cache.Valid, DefaultAuthCacheDuration) {
		t.Fatalf("policy %+v, warnings %v", pol.ExternalAuth, ws)
	}
	pol, ws = Parse(Input{Namespace: "ns", Annotations: map[string]string{
		"nginx.ingress.kubernetes.io/auth-url":            "http://auth.example/check",
		"nginx.ingress.kubernetes.io/auth-cache-duration": "200 5m",
	}}, Options{Dialect: DialectNginx})
	if pol.ExternalAuth == nil || pol.ExternalAuth.Cache != nil || len(ws) != 1 || ws[0].Reason != ReasonUnused {
		t.Errorf("duration without key: cache %+v, warnings %v", pol.ExternalAuth, ws)
	}
	pol, ws = Parse(Input{Namespace: "ns", Annotations: map[string]string{
		"nginx.ingress.kubernetes.io/auth-url":       "http://auth.example/check",
		"nginx.ingress.kubernetes.io/auth-cache-key": "$nginx_version",
	}}, Options{Dialect: DialectNginx})
	if pol.Denied == nil || pol.ExternalAuth != nil {
		t.Errorf("invalid cache key: denied %+v, auth %+v, warnings %v", pol.Denied, pol.ExternalAuth, ws)
	}
}
