package dataplane

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestClientHopIdentityHeadersDropped: the client cannot hand the backend
// headers that name the client or the original request, which the
// controller owns: X-Real-IP, True-Client-IP, X-Original-URI and
// X-Forwarded-Prefix (set by the controller only for x-forwarded-prefix),
// nor any header whose name has an underscore (nginx's
// underscores_in_headers off), such as X_Forwarded_For, which backends
// that normalise '_' to '-' would read as X-Forwarded-For. The controller's
// own X-Forwarded-For still arrives. Fast path on and off, GET (fast) and
// POST (ReverseProxy).
func TestClientHopIdentityHeadersDropped(t *testing.T) {
	up := newEcho(t, "up")
	sent := http.Header{
		"X-Real-Ip":          {"203.0.113.7"},
		"True-Client-Ip":     {"203.0.113.7"},
		"X-Original-Uri":     {"/admin"},
		"X-Forwarded-Prefix": {"/spoof"},
		"X_Forwarded_For":    {"203.0.113.7"},
		"X_Real_IP":          {"203.0.113.7"},
		"x_real_ip":          {"203.0.113.7"},
		"Client_Header":      {"1"},
		"X-Keep":             {"1"},
	}
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, up.addr()))
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader("payload")
			}
			resp, raw := do(t, c, method, "http://f.example/owned", body, sent)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("fast=%v %s: status %d, body %q", fast, method, resp.StatusCode, raw)
			}
			e := decodeEcho(t, raw)
			for k, v := range e.Header {
				switch {
				case strings.Contains(k, "_"):
					t.Errorf("fast=%v %s: the backend got %s: %q", fast, method, k, v)
				case k == "X-Real-Ip" || k == "True-Client-Ip" || k == "X-Original-Uri" || k == "X-Forwarded-Prefix":
					t.Errorf("fast=%v %s: the backend got the client's %s: %q", fast, method, k, v)
				}
			}
			if got := e.Header["X-Forwarded-For"]; len(got) != 1 || got[0] != "127.0.0.1" {
				t.Errorf("fast=%v %s: X-Forwarded-For %q, want the controller's 127.0.0.1", fast, method, got)
			}
			if e.Header.Get("X-Keep") != "1" {
				t.Errorf("fast=%v %s: X-Keep lost", fast, method)
			}
		}
	}
}
