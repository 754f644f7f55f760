package dataplane

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// targetRecorder is an upstream that records "METHOD request-target Host".
type targetRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (tr *targetRecorder) handler(w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	tr.seen = append(tr.seen, r.Method+" "+r.RequestURI+" "+r.Host)
	tr.mu.Unlock()
	w.Write([]byte("ok"))
}

func (tr *targetRecorder) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := tr.seen
	tr.seen = nil
	return s
}

// TestRequestTargetForms: a request target that is neither origin-form
// ("/..."), absolute-form with an http or https scheme, nor "*" of
// OPTIONS is answered 400 and reaches no backend (RFC 9112 section 3.2):
// "a:b" used to reach it as "GET b", and "GET *" as "GET *". The
// absolute-form keeps working, with the host from the target (RFC 9112
// section 3.2.2). HTTP/1.1 over raw TCP, fast path on and off.
func TestRequestTargetForms(t *testing.T) {
	rec := &targetRecorder{}
	addr, _ := countingUpstream(t, rec.handler)
	table := buildTable(t, 1, nil,
		route("ns/f", "f.example", "/", routing.PathPrefix, backend("ns/f:80", addr)),
		route("ns/g", "g.example", "/", routing.PathPrefix, backend("ns/g:80", closedAddr(t))))
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, table)
		for _, tc := range []struct {
			method, target string
			code           int
			want           string // what the backend saw; "" nothing
		}{
			{"GET", "a:b", 400, ""},
			{"GET", "a:/b", 400, ""},
			{"GET", "http:b", 400, ""},
			{"GET", "ftp://f.example/x", 400, ""},
			{"GET", "*", 400, ""},
			{"DELETE", "*", 400, ""},
			{"POST", "*", 400, ""},
			{"GET", "/ok?q=1", 200, "GET /ok?q=1 f.example"},
			{"GET", "http://f.example/abs?q=1", 200, "GET /abs?q=1 f.example"},
			{"GET", "HTTPS://f.example/abs", 200, "GET /abs f.example"},
			{"GET", "http://f.example", 200, "GET / f.example"},
		} {
			var body string
			if tc.method == "POST" {
				body = "Content-Length: 2\r\n\r\nhi"
			} else {
				body = "\r\n"
			}
			// With an absolute-form target the Host field names g.example
			// (whose backend is down): the target's host replaces it.
			host := "f.example"
			if l := strings.ToLower(tc.target); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
				host = "g.example"
			}
			resp, got := rawExchange(t, s.HTTPAddr(), tc.method+" "+tc.target+" HTTP/1.1\r\nHost: "+host+"\r\n"+body)
			seen := rec.take()
			if resp.StatusCode != tc.code {
				t.Errorf("fast=%v %s %s: status %d (%q), want %d", fast, tc.method, tc.target, resp.StatusCode, got, tc.code)
			}
			if tc.want == "" && len(seen) > 0 || tc.want != "" && (len(seen) != 1 || seen[0] != tc.want) {
				t.Errorf("fast=%v %s %s: the backend saw %q, want %q", fast, tc.method, tc.target, seen, tc.want)
			}
		}
		// OPTIONS * is served (net/http's upstream answers it itself).
		if resp, got := rawExchange(t, s.HTTPAddr(), "OPTIONS * HTTP/1.1\r\nHost: f.example\r\n\r\n"); resp.StatusCode != 200 {
			t.Errorf("fast=%v OPTIONS *: status %d (%q), want 200", fast, resp.StatusCode, got)
		}
	}
}

// h2Status sends one HTTP/2 request with the given :method and :path
// (as is, which http2.Transport would refuse) over an h2c prior-knowledge
// connection to addr and returns the response's :status, or the error
// code of a stream reset.
func h2Status(t *testing.T, addr, method, path string) (status string, reset http2.ErrCode) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // upper bound only
	fr := h2Framer(t, conn)
	h2Request(t, fr, 1, method, "http", "f.example", path)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("%s %s: reading frames: %v", method, path, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == 1 {
				return f.PseudoValue("status"), 0
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				return "", f.ErrCode
			}
		case *http2.GoAwayFrame:
			t.Fatalf("%s %s: GOAWAY %v", method, path, f.ErrCode)
		}
	}
}

// TestH2RequestTargets: an HTTP/2 request with ":path *" and a method other
// than OPTIONS, or a :path that is neither "/..." nor "*", is answered 400
// and reaches no backend; "OPTIONS *" and "/..." are served.
func TestH2RequestTargets(t *testing.T) {
	rec := &targetRecorder{}
	addr, _ := countingUpstream(t, rec.handler)
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{H2C: true, DisableFastPath: !fast}, singleRoute(t, addr))
		for _, tc := range []struct{ method, path, status, want string }{
			{"GET", "*", "400", ""},
			{"DELETE", "*", "400", ""},
			{"GET", "a:b", "400", ""},
			{"OPTIONS", "*", "200", ""}, // net/http's upstream answers OPTIONS * itself
			{"GET", "/ok", "200", "GET /ok f.example"},
		} {
			status, reset := h2Status(t, s.HTTPAddr(), tc.method, tc.path)
			seen := rec.take()
			if status != tc.status {
				t.Errorf("fast=%v %s %s: status %q (reset %v), want %s", fast, tc.method, tc.path, status, reset, tc.status)
			}
			if tc.want == "" && len(seen) > 0 || tc.want != "" && (len(seen) != 1 || seen[0] != tc.want) {
				t.Errorf("fast=%v %s %s: the backend saw %q, want %q", fast, tc.method, tc.path, seen, tc.want)
			}
		}
	}
}
