package dataplane

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ingresslab/ingresslab/controller/routing"
)

func TestHostRedirect(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}
	for _, c := range []struct {
		host, uri  string
		serverPort bool
		want       string
	}{
		{"www.shop.example", "/a/b?x=1", false, "http://shop.example/a/b?x=1"},
		{"www.shop.example:8080", "/dir/", false, "http://shop.example:8080/dir"},
		{"www.shop.example", "/", false, "http://shop.example"},
		// The nginx dialect: the port the request arrived on, always.
		{"www.shop.example", "/a?x=1", true, "http://shop.example:8081/a?x=1"},
		{"www.shop.example:8080", "/dir/", true, "http://shop.example:8081/dir"},
	} {
		r := httptest.NewRequest(http.MethodGet, c.uri, nil)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(local)))
		r.Host = c.host
		if got := hostRedirect(r, "shop.example", c.serverPort); got != c.want {
			t.Errorf("%s%s (server port %v): %q, want %q", c.host, c.uri, c.serverPort, got, c.want)
		}
	}
}

func TestRewriteResponse(t *testing.T) {
	pol := &routing.Policy{
		ProxyRedirect: &routing.Rewrite2{From: "http://internal.example/", To: "https://public.example/"},
		CookiePath:    &routing.Rewrite2{From: "/", To: "/app/"},
		CookieDomain:  &routing.Rewrite2{From: "internal.example", To: "public.example"},
	}
	h := http.Header{
		"Location":   {"http://internal.example/login"},
		"Refresh":    {"5; url=http://internal.example/x"},
		"Set-Cookie": {"a=1; Path=/; Domain=.internal.example; HttpOnly", "b=2; path=/s", "c=3; Domain=other.example"},
	}
	rewriteResponse(pol, h)
	want := http.Header{
		"Location":   {"https://public.example/login"},
		"Refresh":    {"5; url=https://public.example/x"},
		"Set-Cookie": {"a=1; Path=/app/; Domain=public.example; HttpOnly", "b=2; path=/app/s", "c=3; Domain=other.example"},
	}
	for k, v := range want {
		if got := h[k]; len(got) != len(v) || func() bool {
			for i := range v {
				if got[i] != v[i] {
					return true
				}
			}
			return false
		}() {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
