package dataplane

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestNoContentTypeAdded: a response the upstream sent without
// Content-Type reaches the client without one, on every path (the fast
// path, http.Transport for bodies, and with the fast path off): net/http
// must not sniff one on the proxy's behalf.
func TestNoContentTypeAdded(t *testing.T) {
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no sniffing at the upstream either
		if r.URL.Path == "/nosniff" {
			w.Header().Set("X-Content-Type-Options", "nosniff")
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "<html><body>hi</body></html>")
	})
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, addr))
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, path := range []string{"/", "/nosniff"} {
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader("x")
				}
				resp, got := do(t, c, method, "http://f.example"+path, body, nil)
				if ct, ok := resp.Header["Content-Type"]; ok || resp.StatusCode != 200 || got != "<html><body>hi</body></html>" {
					t.Errorf("fast=%v %s %s: %d Content-Type %q (present %v), want 200 and none", fast, method, path, resp.StatusCode, ct, ok)
				}
			}
		}
	}
}
