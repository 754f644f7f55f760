package routing

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseHashKey(t *testing.T) {
	for _, bad := range []string{"", "literal", "$nope", "${jndi:x}", "$(id)", "a b$uri", "$http_"} {
		if _, err := ParseHashKey(bad); err == nil {
			t.Errorf("ParseHashKey(%q) accepted", bad)
		}
	}
	r := httptest.NewRequest("GET", "http://shop.example:8080/a/b?id=7&x=1", nil)
	r.Header.Set("X-User", "alice")
	r.AddCookie(nil2("sess", "c1"))
	r.RemoteAddr = "10.0.0.9:5555"
	for expr, want := range map[string]string{
		"$request_uri":          "/a/b?id=7&x=1",
		"$uri":                  "/a/b",
		"$host":                 "shop.example",
		"$remote_addr":          "10.0.0.9",
		"$http_x_user":          "alice",
		"$cookie_sess":          "c1",
		"$arg_id":               "7",
		"u-$http_x_user-$arg_x": "u-alice-1",
	} {
		k, err := ParseHashKey(expr)
		if err != nil {
			t.Fatalf("ParseHashKey(%q): %v", expr, err)
		}
		if got := k.Key(r, false); got != want {
			t.Errorf("%s: key %q, want %q", expr, got, want)
		}
	}
}

func TestPickIsStableAndConsistent(t *testing.T) {
	eps := []Endpoint{{Address: "10.0.0.1:80"}, {Address: "10.0.0.2:80"}, {Address: "10.0.0.3:80"}, {Address: "10.0.0.4:80"}}
	seen := map[int]bool{}
	moved := 0
	for i := range 400 {
		key := fmt.Sprint("/item/", i)
		a := Pick(key, eps)
		if Pick(key, eps) != a {
			t.Fatalf("key %s picked differently twice", key)
		}
		seen[a] = true
		// Removing the last endpoint moves only the keys it had.
		if b := Pick(key, eps[:3]); a != 3 && b != a {
			moved++
		}
	}
	if len(seen) != 4 || moved != 0 {
		t.Errorf("400 keys reached endpoints %v; %d keys of the remaining endpoints moved when one was removed", seen, moved)
	}
}

func TestRewrite2Prefix(t *testing.T) {
	r := &Rewrite2{From: "http://internal.example/", To: "https://public.example/"}
	if got, ok := r.Prefix("HTTP://internal.example/login"); !ok || got != "https://public.example/login" {
		t.Errorf("Prefix: %q %v", got, ok)
	}
	if got, ok := r.Prefix("http://other.example/"); ok || got != "http://other.example/" {
		t.Errorf("Prefix of another URL: %q %v", got, ok)
	}
}

func nil2(name, value string) *http.Cookie { return &http.Cookie{Name: name, Value: value} }
