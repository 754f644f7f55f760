package dataplane

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestFastProxyMatchesReverseProxy sends the same requests through the fast
// proxy and through httputil.ReverseProxy (Options.DisableFastPath) and
// compares what the upstream received and what the client got back.
func TestFastProxyMatchesReverseProxy(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 1, nil, route("ns/e", "e.example", "/", routing.PathPrefix, backend("ns/e:80", up.addr())))
	for _, trusted := range []bool{false, true} {
		var tp []netip.Prefix
		if trusted {
			tp = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		fast := startServer(t, Options{TrustedProxies: tp}, table)
		slow := startServer(t, Options{TrustedProxies: tp, DisableFastPath: true}, table)
		for _, rq := range []struct {
			method, target string
			hdr            http.Header
		}{
			{http.MethodGet, "/a/b?x=1&y=%20z", http.Header{
				"Connection": {"X-Listed, keep-alive"}, "X-Listed": {"no"}, "Te": {"trailers, deflate"},
				"X-Multi": {"1", "2"}, "User-Agent": {"ua/1"}, "Accept": {"*/*"},
				"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}, "Forwarded": {"for=203.0.113.7"},
				"X-Forwarded-Host": {"spoof.example"}, "Proxy-Authorization": {"Basic eA=="},
			}},
			{http.MethodHead, "/h", nil},
			{http.MethodDelete, "/d/%2Fe", http.Header{"X-Request-Id": {"mine"}}},
			{http.MethodOptions, "/o?", nil},
			{http.MethodGet, "/q?a;b=1", nil}, // re-encoded query: ReverseProxy path either way
		} {
			got := func(s *Server) (echoed, http.Header, int) {
				c := clientTo(t, s.HTTPAddr(), nil)
				hdr := http.Header{}
				for k, v := range rq.hdr {
					hdr[k] = v
				}
				hdr.Set("Host", "e.example")
				resp, body := do(t, c, rq.method, "http://"+s.HTTPAddr()+rq.target, nil, hdr)
				var e echoed
				if rq.method != http.MethodHead {
					if err := jsonUnmarshal(body, &e); err != nil {
						t.Fatalf("%s %s: %v: %q", rq.method, rq.target, err, body)
					}
				}
				delete(e.Header, "X-Request-Id")
				delete(e.Header, "X-Forwarded-Port") // the two servers listen on different ports
				e.Remote = ""
				h := resp.Header.Clone()
				delete(h, "Date")
				return e, h, resp.StatusCode
			}
			fe, fh, fc := got(fast)
			se, sh, sc := got(slow)
			if !reflect.DeepEqual(fe, se) || !reflect.DeepEqual(fh, sh) || fc != sc {
				t.Errorf("trusted=%v %s %s differs:\nfast: %d %+v %v\nslow: %d %+v %v", trusted, rq.method, rq.target, fc, fe, fh, sc, se, sh)
			}
			if rq.method == http.MethodGet && strings.Contains(strings.Join(fe.Header["X-Listed"], ""), "no") {
				t.Errorf("a header named in Connection was forwarded")
			}
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
