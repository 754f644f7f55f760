package framework

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/echoserver"
)

const testNS = "ann-cors-3fa2b1"

func testNormaliser() *normaliser {
	return newNormaliser(testNS, "127.0.0.1:31080", "127.0.0.1:31443", nil)
}

func TestNormaliserText(t *testing.T) {
	n := testNormaliser()
	for in, want := range map[string]string{
		"cors." + testNS + ".test":                           "cors.{ns}.test",
		"https://force." + testNS + ".test:31443/secure?q=1": "https://force.{ns}.test:{https-port}/secure?q=1",
		"31080":                        "{http-port}",
		"131080":                       "131080", // not a port: a longer number
		"http://198.18.4.7:8080/check": "http://{backend-ip}:8080/check",
		"id 4f1c2a3b-1234-4abc-8def-0123456789ab": "id {uuid}",
		"req 0123456789abcdef0123456789abcdef":    "req {hex}",
		"short cafe01":                            "short cafe01",
		"Expires=Sat, 05 Dec 2026 06:00:00 GMT":   "Expires={date}",
		"/app1":                                   "/app1",
	} {
		if got := n.text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormaliserCookies(t *testing.T) {
	n := testNormaliser()
	if got, want := n.cookies("use_canary=always; route=1733383727.551.62.371|9c7e1b"), "use_canary=always; route={value}"; got != want {
		t.Errorf("cookies = %q, want %q", got, want)
	}
	for in, want := range map[string]string{
		"route=abc123def456; Path=/; HttpOnly":                                                    "route; HttpOnly; Path=/",
		"sess=x; Expires=Sat, 05 Dec 2026 07:00:00 GMT; Max-Age=3600; path=/app; SameSite=Strict": "sess; Expires; Max-Age=3600; Path=/app; SameSite=Strict",
	} {
		if got := n.setCookie(in); got != want {
			t.Errorf("setCookie(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignature(t *testing.T) {
	n := testNormaliser()
	r := Request{Method: http.MethodOptions, Host: "cors." + testNS + ".test", Path: "/api", HTTPS: true, SNI: "other." + testNS + ".test", HTTP2: true,
		Headers: map[string]string{"origin": "https://app.example", "Cookie": "route=0123456789abcdef"}, Body: make([]byte, 10)}
	want := "OPTIONS https://cors.{ns}.test/api sni=other.{ns}.test h2 [Cookie: route={value}; Origin: https://app.example] body=10B"
	if got := n.signature(r); got != want {
		t.Errorf("signature = %q\nwant        %q", got, want)
	}
	if got := n.signature(Request{Host: "a." + testNS + ".test"}); got != "GET http://a.{ns}.test/" {
		t.Errorf("signature of a plain GET = %q", got)
	}
}

// controller serves an echo backend behind a small proxy-like handler, so
// that observations come from real HTTP over a socket.
func controller(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Client{HTTPAddr: strings.TrimPrefix(srv.URL, "http://"), Timeout: 5 * time.Second}
}

func TestObserveRealResponses(t *testing.T) {
	echo, err := echoserver.New(echoserver.Options{Identity: echoserver.Identity{Namespace: testNS, Service: "echo", Pod: "echo-0"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://"+r.Host+"/new")
		w.WriteHeader(http.StatusMovedPermanently)
	})
	mux.HandleFunc("/denied", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("WWW-Authenticate", `Basic realm="Members only"`)
		w.Header().Set("Server", "nginx/1.22")
		w.Header().Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "<html>401</html>")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Forwarded-Host", r.Host)
		r.Header.Set("X-Forwarded-For", "127.0.0.1")
		r.Header.Set("User-Agent", "dropped")
		r.Header.Set("X-Request-Id", "5f0c1e-17")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Add("Set-Cookie", "route=0123456789abcdef; Path=/; HttpOnly")
		echo.ServeHTTP(w, r)
	})
	c := controller(t, mux)
	n := newNormaliser(testNS, c.HTTPAddr, "", nil)
	host := "cors." + testNS + ".test"

	got := n.observe(c.Do(context.Background(), Request{Host: host, Path: "/api?x=1", Headers: map[string]string{"X-Canary": "always"}}))
	want := map[string]string{
		"status": "200", "body": "echo", "backend": "echo",
		"upstream.method": "GET", "upstream.path": "/api?x=1", "upstream.host": "cors.{ns}.test", "upstream.tls": "no",
		"upstream.header.x-forwarded-host": "cors.{ns}.test", "upstream.header.x-forwarded-for": "127.0.0.1", "upstream.header.x-canary": "always", "upstream.header.x-request-id": "{id}",
		"response.header.access-control-allow-origin": "*", "response.header.set-cookie": "route; HttpOnly; Path=/",
		"response.header.content-type": "application/json", "response.header.x-content-type-options": "nosniff",
	}
	if !reflect.DeepEqual(got.fields, want) {
		t.Errorf("echo observation:\n got %v\nwant %v", got.fields, want)
	}
	if got.pod != "echo-0" || got.signature != "GET http://cors.{ns}.test/api?x=1 [X-Canary: always]" {
		t.Errorf("pod %q signature %q", got.pod, got.signature)
	}

	got = n.observe(c.Do(context.Background(), Request{Host: host, Path: "/moved"}))
	if got.fields["status"] != "301" || got.fields["body"] != "redirect" || got.fields["response.header.location"] != "https://cors.{ns}.test/new" {
		t.Errorf("redirect observation: %v", got.fields)
	}
	got = n.observe(c.Do(context.Background(), Request{Host: host, Path: "/denied"}))
	want = map[string]string{
		"status": "401", "body": "controller-page", "response.header.content-type": "text/html",
		"response.header.www-authenticate": `Basic realm="Members only"`, "response.header.x-request-id": "{id}",
	}
	if !reflect.DeepEqual(got.fields, want) {
		t.Errorf("error page observation:\n got %v\nwant %v", got.fields, want)
	}
}

func TestObserveTimingAndErrors(t *testing.T) {
	n := testNormaliser()
	for name, tc := range map[string]struct {
		r      Response
		fields map[string]string
	}{
		"504 after a second": {Response{StatusCode: 504, Elapsed: 1080 * time.Millisecond}, map[string]string{"status": "504", "body": "empty", "timing": "~1s"}},
		"delayed answer":     {Response{Request: Request{Path: "/?delay=1500ms"}, StatusCode: 200, Elapsed: 1620 * time.Millisecond, Body: []byte("x")}, map[string]string{"status": "200", "body": "other", "timing": "~1.5s"}},
		"fast 503":           {Response{StatusCode: 503, Elapsed: 3 * time.Millisecond, Body: []byte("x")}, map[string]string{"status": "503", "body": "controller-page"}},
		"refused":            {Response{Err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED)}, map[string]string{"status": "error", "error": "connection refused"}},
		"timeout":            {Response{Err: context.DeadlineExceeded, Elapsed: 10 * time.Second}, map[string]string{"status": "error", "error": "timeout", "timing": "~10s"}},
		"closed":             {Response{Err: fmt.Errorf("read: %w", errors.New("EOF"))}, map[string]string{"status": "error", "error": "other error"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := n.observe(tc.r).fields; !reflect.DeepEqual(got, tc.fields) {
				t.Errorf("got %v, want %v", got, tc.fields)
			}
		})
	}
	if got := timingClass(300 * time.Millisecond); got != "under 0.5s" {
		t.Errorf("timingClass(300ms) = %q", got)
	}
}

func TestObserveCertificates(t *testing.T) {
	c, err := GenerateCertificate("tls.example")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	client := &Client{HTTPSAddr: addr, Timeout: 5 * time.Second}
	r := client.Do(context.Background(), Request{Host: "tls.example", HTTPS: true})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	served := r.TLS.PeerCertificates[0].Raw
	n := newNormaliser("", "", addr, map[[32]byte]string{sha256.Sum256(served): "site-tls"})
	if got := n.observe(r).fields; got["tls.certificate"] != "secret:site-tls" || got["proto"] != "HTTP/1.1" || got["body"] != "empty" {
		t.Errorf("answer with the spec's certificate: %v", got)
	}
	n = newNormaliser("", "", addr, map[[32]byte]string{sha256.Sum256(c.Leaf.Raw): "site-tls"})
	if got := n.observe(r).fields["tls.certificate"]; got != "other" {
		t.Errorf("unknown certificate = %q", got)
	}
}

func TestAggregate(t *testing.T) {
	items := []observed{
		{fields: map[string]string{"status": "200", "backend": "echo"}, pod: "echo-0"},
		{fields: map[string]string{"status": "503", "body": "controller-page"}},
		{fields: map[string]string{"status": "200", "backend": "echo"}, pod: "echo-1"},
	}
	want := map[string]string{"status": "200 | 503", "backend": "(absent) | echo", "body": "(absent) | controller-page", "requests": "3", "endpoints": "2"}
	if got := aggregate(items); !reflect.DeepEqual(got, want) {
		t.Errorf("aggregate = %v, want %v", got, want)
	}
	one := map[string]string{"status": "200"}
	if got := aggregate([]observed{{fields: one, pod: "p"}}); !reflect.DeepEqual(got, one) {
		t.Errorf("a single answer is kept as is: %v", got)
	}
}

func TestRecorderChecks(t *testing.T) {
	rec := NewRecorder()
	spec := "Annotations: rate-limit refuses requests over limit-rps"
	ok := func(sig, status string) observed {
		return observed{signature: sig, fields: map[string]string{"status": status}}
	}
	// Eventually: attempts until one converges; only the last counts.
	rec.begin(spec, "eventually")
	for _, s := range []string{"404", "503", "200"} {
		rec.attempt(spec)
		rec.add(spec, ok("GET /", s))
	}
	rec.end(spec, false)
	// Requests outside a check, then a poll whose last attempt is a burst.
	rec.add(spec, ok("GET /", "200"))
	rec.add(spec, ok("GET /x", "200"))
	rec.begin(spec, "poll")
	rec.attempt(spec)
	rec.add(spec, ok("GET /", "200"))
	rec.attempt(spec)
	rec.add(spec, ok("GET /", "200"))
	rec.add(spec, ok("GET /", "503"))
	// A check inside the poll belongs to it.
	rec.begin(spec, "within")
	rec.add(spec, ok("GET /y", "200"))
	rec.end(spec, false)
	rec.end(spec, false)
	// A failed check keeps its last answer, marked.
	rec.begin(spec, "eventually")
	rec.attempt(spec)
	rec.add(spec, ok("GET /", "404"))
	rec.end(spec, true)
	rec.annotate(spec, []string{"b=2", "a=1"})

	obs, ann := rec.Take(spec)
	type row struct {
		key, check, status string
		failed             bool
	}
	var got []row
	for _, o := range obs {
		got = append(got, row{o.Key, o.Check, o.Fields["status"], o.Failed})
	}
	want := []row{
		{"GET /", "eventually", "200", false},
		{"GET / #2", "do", "200", false},
		{"GET /x", "do", "200", false},
		{"GET / #3", "poll", "200 | 503", false},
		{"GET /y", "poll", "200", false},
		{"GET / #4", "eventually", "404", true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("observations:\n got %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(ann, []string{"a=1", "b=2"}) {
		t.Errorf("annotations = %v", ann)
	}
	if obs, _ := rec.Take(spec); obs != nil {
		t.Errorf("Take forgets the spec; got %v again", obs)
	}
}
