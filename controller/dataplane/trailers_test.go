package dataplane

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestRequestTrailersProxied: a request's trailer fields reach the upstream
// after its body, over HTTP/1.1 (chunked), HTTP/2 on either server and h2c,
// to an HTTP/1.1 and to an h2c upstream. ReverseProxy clones the request's
// Trailer map before the body is read, so without sharing it the upstream
// got the names and no values.
func TestRequestTrailersProxied(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// r.Trailer is complete only after the body's EOF.
		_, _ = io.WriteString(w, r.Proto+" body="+string(b)+" sum="+r.Trailer.Get("X-Sum"))
	}
	h1 := httpUpstream(t, echo)
	h2c := h2cUpstream(t, echo)
	be := backend("ns/h2c:80", h2c)
	be.Protocol = routing.ProtocolH2C
	table := buildTable(t, 1, nil,
		route("ns/h1", "h1.example", "/", routing.PathPrefix, backend("ns/h1:80", h1)),
		route("ns/h2c", "h2c.example", "/", routing.PathPrefix, be))
	var h2cProto http.Protocols
	h2cProto.SetUnencryptedHTTP2(true)
	for _, m := range h2Modes {
		s := startServer(t, Options{NetHTTPH2: m.netHTTP, H2C: true}, table)
		clients := map[string]*http.Client{
			"http1": clientTo(t, s.HTTPAddr(), nil),
			"h2":    clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}), //nolint:gosec // test
			"h2c": func() *http.Client {
				c := clientTo(t, s.HTTPAddr(), nil)
				c.Transport.(*http.Transport).Protocols = &h2cProto
				return c
			}(),
		}
		for cname, c := range clients {
			if cname != "h2" && !m.netHTTP {
				continue // the HTTPS listener's server is all that differs
			}
			for _, host := range []string{"h1.example", "h2c.example"} {
				scheme := "http://"
				if cname == "h2" {
					scheme = "https://"
				}
				t.Run(m.name+"/"+cname+"/"+host, func(t *testing.T) {
					// A reader without Len: the client sends the body chunked (HTTP/1.1).
					req := mustReq(t, "POST", scheme+host+"/sum", io.MultiReader(strings.NewReader("payload")))
					req.Trailer = http.Header{"X-Sum": {"7"}}
					resp, body := doReq(t, c, req)
					if resp.StatusCode != 200 || !strings.HasSuffix(body, " body=payload sum=7") {
						t.Errorf("status %d, body %q: want the trailer X-Sum: 7 upstream", resp.StatusCode, body)
					}
				})
			}
		}
	}
}

// TestExpectContinueOnce: a client that sends "Expect: 100-continue" and
// waits gets one 100 Continue, then the upstream's response; the upstream
// does not see Expect (the data plane answered it, as nginx does).
func TestExpectContinueOnce(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "body="+string(b)+" expect="+r.Header.Get("Expect"))
	})
	table := buildTable(t, 1, nil, route("ns/e", "e.example", "/", routing.PathPrefix, backend("ns/e:80", up)))
	s := startServer(t, Options{}, table)

	t.Run("http1", func(t *testing.T) {
		c, br := dialLoop(t, s.HTTPAddr())
		if _, err := io.WriteString(c, "PUT /x HTTP/1.1\r\nHost: e.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if resp, _ := readResponse(t, br); resp.StatusCode != http.StatusContinue {
			t.Fatalf("first response %d, want 100", resp.StatusCode)
		}
		if _, err := io.WriteString(c, "abc"); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, br)
		if resp.StatusCode != 200 || body != "body=abc expect=" {
			t.Errorf("after the body: status %d, body %q; want 200 and no Expect upstream", resp.StatusCode, body)
		}
	})
	t.Run("h2", func(t *testing.T) {
		var continues atomic.Int32
		req := mustReq(t, "PUT", "https://e.example/x", strings.NewReader("abc"))
		req.Header.Set("Expect", "100-continue")
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
				if code == http.StatusContinue {
					continues.Add(1)
				}
				return nil
			},
		}))
		resp, body := doReq(t, h2Client(t, s.HTTPSAddr(), false), req)
		if resp.StatusCode != 200 || body != "body=abc expect=" || continues.Load() > 1 {
			t.Errorf("status %d, body %q, %d × 100 Continue; want 200, no Expect upstream, at most one 100", resp.StatusCode, body, continues.Load())
		}
	})
}
