package dataplane

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
)

// TestEarlyHintsKeepHeadersSetBeforeProxying: headers the data plane set
// before proxying (custom-headers) reach the final response when the
// upstream sends a 103 Early Hints first.
func TestEarlyHintsKeepHeadersSetBeforeProxying(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "final")
	})
	r := policyRoute("ns/hdrs", "hdrs.example", "/", backend("ns/up:80", up), policy(t, "custom-headers", "hdrs"))
	r.Policy.ResponseHeaders = http.Header{"X-Served-By": {"lab"}}
	table := buildTable(t, 1, nil, r)
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var got []int
			var link string
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				got = append(got, code)
				link = h.Get("Link")
				return nil
			}}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				method, "http://hdrs.example/", strings.NewReader("b"))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "final" || len(got) != 1 || link != "</style.css>; rel=preload" {
				t.Errorf("fast=%v %s: %d %q, informational %v Link %q", fast, method, resp.StatusCode, body, got, link)
			}
			if resp.Header.Get("X-Served-By") != "lab" || resp.Header.Get("Link") != "" {
				t.Errorf("fast=%v %s: final response headers %v, want X-Served-By: lab and no Link", fast, method, resp.Header)
			}
		}
	}
}
