package echoserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEchoDescribesTheRequest(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t)
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/some/path?a=1&a=2&b=x%20y", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "echo.example.test"
	req.Header.Add("X-Custom", "v1")
	req.Header.Add("X-Custom", "v2")
	var clientAddr string
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { clientAddr = info.Conn.LocalAddr().String() },
	}))
	resp, body := do(t, c, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, body has %d bytes", resp.ContentLength, len(body))
	}

	if !strings.Contains(string(body), `"path":"/some/path?a=1&a=2&b=x%20y"`) || !strings.HasSuffix(string(body), "}\n") {
		t.Errorf("body is not one line of unescaped JSON: %s", body)
	}
	got := decode[Response](t, body)
	_, port, _ := net.SplitHostPort(s.Addr())
	want := Response{
		Path:          "/some/path?a=1&a=2&b=x%20y",
		Host:          "echo.example.test",
		Method:        "POST",
		Proto:         "HTTP/1.1",
		Namespace:     "ns-a",
		Ingress:       "ing-a",
		Service:       "svc-a",
		Pod:           "pod-a-0",
		HTTPPort:      port,
		ServicePort:   "8080",
		ClientAddress: clientAddr,
		Query:         map[string][]string{"a": {"1", "2"}, "b": {"x y"}},
		BodyLength:    5,
	}
	headers := got.Headers
	got.Headers = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("response\n got %+v\nwant %+v", got, want)
	}
	if v := headers["X-Custom"]; !slices.Equal(v, []string{"v1", "v2"}) {
		t.Errorf("headers[X-Custom] = %q, want [v1 v2]", v)
	}
	if v := headers["Content-Length"]; !slices.Equal(v, []string{"5"}) {
		t.Errorf("headers[Content-Length] = %q, want [5]", v)
	}
	if _, ok := headers["User-Agent"]; !ok {
		t.Errorf("headers lack User-Agent: %v", headers)
	}

	// The wire names are the echo-basic ones; tls and query are left out
	// when there is nothing to say.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	})
	wantKeys := []string{"bodyLength", "clientAddress", "headers", "host", "httpPort", "ingress", "method",
		"namespace", "path", "pod", "proto", "query", "service", "servicePort"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("JSON keys %v, want %v", keys, wantKeys)
	}

	_, body = get(t, c, s.URL()+"/")
	raw = nil
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["query"]; ok {
		t.Errorf("query present without a query string: %s", body)
	}
}

func TestEmbeddedHandlerReportsItsPort(t *testing.T) {
	s, err := New(Options{Identity: testIdentity})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	_, body := get(t, newClient(t), ts.URL+"/x")
	got := decode[Response](t, body)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	if got.HTTPPort != port || got.Pod != "pod-a-0" || got.Path != "/x" {
		t.Errorf("got httpPort %q pod %q path %q, want %q pod-a-0 /x", got.HTTPPort, got.Pod, got.Path, port)
	}
}

func TestStatusControl(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/status/404", 404},
		{"/status/200", 200},
		{"/status/599", 599},
		{"/anything?status=503", 503},
		{"/status/418?status=202", 202},
	} {
		resp, body := get(t, c, s.URL()+tc.path)
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: status %d, want %d", tc.path, resp.StatusCode, tc.want)
			continue
		}
		if got := decode[Response](t, body); got.Path != tc.path || got.Pod != "pod-a-0" {
			t.Errorf("GET %s: echoed path %q pod %q", tc.path, got.Path, got.Pod)
		}
	}

	resp, body := get(t, c, s.URL()+"/status/204")
	if resp.StatusCode != 204 || len(body) != 0 {
		t.Errorf("GET /status/204: status %d body %q, want 204 and no body", resp.StatusCode, body)
	}

	// 1xx: an informational response, then the usual echo.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/status/103", nil)
	var informational []int
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			informational = append(informational, code)
			return nil
		},
	}))
	resp, body = do(t, c, req)
	if resp.StatusCode != 200 || !slices.Equal(informational, []int{103}) {
		t.Errorf("GET /status/103: final %d, informational %v; want 200 after [103]", resp.StatusCode, informational)
	}
	if got := decode[Response](t, body); got.Path != "/status/103" {
		t.Errorf("GET /status/103: echoed path %q", got.Path)
	}
}

func TestBadControlsAre400(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t)
	for _, tc := range []struct {
		path, setHeader, want string
	}{
		{"/status/99", "", `path "/status/99": "99" is not a status code in 100..599`},
		{"/status/600", "", `"600" is not a status code in 100..599`},
		{"/status/abc", "", `path "/status/abc"`},
		{"/status/200/more", "", `path "/status/200/more"`},
		{"/status/101", "", "status 101 needs a real upgrade"},
		{"/?status=x", "", `query parameter status: "x" is not a status code`},
		{"/?delay=abc", "", `query parameter delay: "abc" is not a Go duration`},
		{"/?delay=-1s", "", `query parameter delay: "-1s" is not a Go duration`},
		{"/?delay=1h", "", "query parameter delay: 1h0m0s is more than the maximum 30s"},
		{"/?stream=0", "", `query parameter stream: "0" is not a chunk count in 1..1000`},
		{"/?stream=1001", "", `"1001" is not a chunk count in 1..1000`},
		{"/?stream=x", "", `query parameter stream: "x"`},
		{"/?interval=1s", "", "query parameter interval: only valid together with stream=N"},
		{"/?stream=2&interval=1m", "", "query parameter interval: 1m0s is more than the maximum 30s"},
		{"/?stream=1000&interval=1s", "", "the stream would last 16m39s, more than the maximum 30s"},
		{"/", "novalue", `header X-Echo-Set-Header: entry "novalue": want NAME:VALUE`},
		{"/", "Bad Name:v", `entry "Bad Name:v": want NAME:VALUE with a valid header name`},
		{"/", "X-Ok:1,Content-Length:5", `entry "Content-Length:5": Content-Length cannot be set`},
		{"/", "Transfer-Encoding:chunked", "Transfer-Encoding cannot be set"},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+tc.path, nil)
		if tc.setHeader != "" {
			req.Header.Set(SetHeaderHeader, tc.setHeader)
		}
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s (%s %q): status %d, want 400", tc.path, SetHeaderHeader, tc.setHeader, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", tc.path, ct)
		}
		if got := decode[ErrorResponse](t, body); !strings.Contains(got.Error, tc.want) {
			t.Errorf("GET %s (%s %q): error %q, want it to contain %q", tc.path, SetHeaderHeader, tc.setHeader, got.Error, tc.want)
		}
	}
}

func TestDelayWaitsOnTheServer(t *testing.T) {
	logs := &recordHandler{}
	s := start(t, Options{Logger: slog.New(logs), LogRequests: true})
	c := newClient(t)
	const delay = 200 * time.Millisecond
	began := time.Now()
	resp, body := get(t, c, s.URL()+"/slow?delay=200ms")
	if elapsed := time.Since(began); elapsed < delay {
		t.Errorf("answered after %v, before the %v delay", elapsed, delay)
	}
	if got := decode[Response](t, body); resp.StatusCode != 200 || got.Path != "/slow?delay=200ms" {
		t.Errorf("status %d path %q", resp.StatusCode, got.Path)
	}

	// A client that gives up ends the wait: the handler returns without an
	// answer (logged with status 0) long before the 30s delay.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { cancel() },
	}), http.MethodGet, s.URL()+"/gone?delay=30s", nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: err %v, want context.Canceled", err)
	}
	waitFor(t, "the delayed handler to return", func() bool {
		for _, rec := range logs.requestLogs() {
			if rec["uri"].String() == "/gone?delay=30s" {
				if st := rec["status"].Int64(); st != 0 {
					t.Errorf("cancelled request logged with status %d, want 0", st)
				}
				return true
			}
		}
		return false
	})
}

func TestSetHeaderControl(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/h", nil)
	req.Header.Add(SetHeaderHeader, "X-Foo:bar, x-lower: v2")
	req.Header.Add(SetHeaderHeader, "X-Foo:baz,Content-Type:text/plain,X-Empty:")
	resp, body := do(t, c, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for name, want := range map[string][]string{
		"X-Foo":        {"bar,baz"},
		"X-Lower":      {"v2"},
		"Content-Type": {"text/plain"},
		"X-Empty":      {""},
	} {
		if got := resp.Header[name]; !slices.Equal(got, want) {
			t.Errorf("response header %s = %q, want %q", name, got, want)
		}
	}
	if got := decode[Response](t, body); len(got.Headers[SetHeaderHeader]) != 2 {
		t.Errorf("echoed %s = %q, want both values", SetHeaderHeader, got.Headers[SetHeaderHeader])
	}
}

func TestHealth(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t)
	resp, body := get(t, c, s.URL()+HealthPath)
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthy: %d %q, want 200 ok", resp.StatusCode, body)
	}
	s.SetHealthy(false)
	if resp, _ := get(t, c, s.URL()+HealthPath); resp.StatusCode != 503 {
		t.Errorf("unhealthy: %d, want 503", resp.StatusCode)
	}
	if resp, _ := get(t, c, s.URL()+"/status/200"); resp.StatusCode != 200 {
		t.Errorf("/status/200 while unhealthy: %d, want 200", resp.StatusCode)
	}
	// Paths next to the health path are echoed.
	resp, body = get(t, c, s.URL()+"/healthz")
	if got := decode[Response](t, body); resp.StatusCode != 200 || got.Path != "/healthz" {
		t.Errorf("/healthz: %d path %q, want an echo", resp.StatusCode, got.Path)
	}
}
