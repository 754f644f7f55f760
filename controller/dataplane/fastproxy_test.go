package dataplane

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
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
			body           string
		}{
			{http.MethodGet, "/a/b?x=1&y=%20z", http.Header{
				"Connection": {"X-Listed, keep-alive"}, "X-Listed": {"no"}, "Te": {"trailers, deflate"},
				"X-Multi": {"1", "2"}, "User-Agent": {"ua/1"}, "Accept": {"*/*"},
				"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}, "Forwarded": {"for=203.0.113.7"},
				"X-Forwarded-Host": {"spoof.example"}, "Proxy-Authorization": {"Basic eA=="},
			}, ""},
			{http.MethodHead, "/h", nil, ""},
			{http.MethodDelete, "/d/%2Fe", http.Header{"X-Request-Id": {"mine"}}, ""},
			{http.MethodOptions, "/o?", nil, ""},
			{http.MethodGet, "/q?a;b=1", nil, ""}, // re-encoded query: ReverseProxy path either way
			// Bodies: read whole up to BufferSize, longer ones on ReverseProxy
			// either way; an empty POST gets "Content-Length: 0".
			{http.MethodPost, "/p", http.Header{"Content-Type": {"application/json"}}, `{"a":1}`},
			{http.MethodPost, "/p4k", nil, strings.Repeat("0123456789abcdef", 256)},
			{http.MethodPut, "/put", http.Header{"Idempotency-Key": {"k1"}}, strings.Repeat("x", 32<<10)},
			{http.MethodPatch, "/big", nil, strings.Repeat("y", 100<<10)},
			{http.MethodPost, "/empty", nil, ""},
			{http.MethodDelete, "/d", nil, "gone"},
			{http.MethodOptions, "/o", nil, "?"},
		} {
			got := func(s *Server, h2 bool) (echoed, http.Header, int) {
				c, url := clientTo(t, s.HTTPAddr(), nil), "http://"+s.HTTPAddr()+rq.target
				if h2 {
					c, url = clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}), "https://e.example"+rq.target
				}
				hdr := http.Header{}
				for k, v := range rq.hdr {
					if h2 && (k == "Connection" || k == "Te") {
						continue // not sent over HTTP/2 (but "TE: trailers")
					}
					hdr[k] = v
				}
				hdr.Set("Host", "e.example")
				var reqBody io.Reader
				if rq.body != "" {
					reqBody = strings.NewReader(rq.body)
				}
				resp, body := do(t, c, rq.method, url, reqBody, hdr)
				if h2 != (resp.ProtoMajor == 2) {
					t.Fatalf("%s %s: answered over %s", rq.method, rq.target, resp.Proto)
				}
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
			// The same number of requests to each server, in the same
			// order (the request IDs, and so the echoed lengths, match).
			for _, h2 := range []bool{false, true} {
				fe, fh, fc := got(fast, h2)
				se, sh, sc := got(slow, h2)
				if !reflect.DeepEqual(fe, se) || !reflect.DeepEqual(fh, sh) || fc != sc {
					t.Errorf("trusted=%v h2=%v %s %s differs:\nfast: %d %+v %v\nslow: %d %+v %v", trusted, h2, rq.method, rq.target, fc, fe, fh, sc, se, sh)
				}
				if !h2 && rq.method == http.MethodGet && strings.Contains(strings.Join(fe.Header["X-Listed"], ""), "no") {
					t.Errorf("a header named in Connection was forwarded")
				}
			}
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestFastEligibleHTTP2: HTTP/2 requests as net/http's server makes them
// (a Body on every request): a bodiless GET, HEAD, DELETE, OPTIONS or POST
// takes the fast path, and so does a body of declared length up to the
// bound; a GET with a body, a body of unknown length, one over the bound
// and other methods do not.
func TestFastEligibleHTTP2(t *testing.T) {
	var mu sync.Mutex
	got := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("%s %s over %s, want HTTP/2", r.Method, r.URL, r.Proto)
		}
		mu.Lock()
		got[r.Header.Get("X-Case")] = fastEligible(r, 1024)
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	c := srv.Client()
	for _, tc := range []struct {
		name, method string
		body         io.Reader
		length       int64
		want         bool
	}{
		{"GET", http.MethodGet, nil, 0, true},
		{"HEAD", http.MethodHead, nil, 0, true},
		{"DELETE", http.MethodDelete, nil, 0, true},
		{"OPTIONS", http.MethodOptions, nil, 0, true},
		{"GET with a body", http.MethodGet, strings.NewReader("abc"), 3, false},
		{"GET with a body of unknown length", http.MethodGet, io.MultiReader(strings.NewReader("abc")), -1, false},
		{"POST", http.MethodPost, nil, 0, true},
		{"POST with a body", http.MethodPost, strings.NewReader("abc"), 3, true},
		{"PUT with a body at the bound", http.MethodPut, strings.NewReader(strings.Repeat("x", 1024)), 1024, true},
		{"PATCH with a body over the bound", http.MethodPatch, strings.NewReader(strings.Repeat("x", 1025)), 1025, false},
		{"POST with a body of unknown length", http.MethodPost, io.MultiReader(strings.NewReader("abc")), -1, false},
		// net/http's HTTP/2 server answers "Expect: 100-continue" itself
		// (when the body is first read) and removes the field.
		{"POST expecting 100-continue", http.MethodPost, strings.NewReader("abc"), 3, true},
		{"PROPFIND", "PROPFIND", nil, 0, false},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+"/x", tc.body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = tc.length
		req.Header.Set("X-Case", tc.name)
		if strings.Contains(tc.name, "100-continue") {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		mu.Lock()
		g, ok := got[tc.name]
		mu.Unlock()
		if !ok || g != tc.want {
			t.Errorf("%s over HTTP/2: fastEligible %v (handled %v), want %v", tc.name, g, ok, tc.want)
		}
	}
}
