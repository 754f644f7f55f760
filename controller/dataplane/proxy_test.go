package dataplane

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

func TestRoutesByHostAndPath(t *testing.T) {
	foo, bar, wild := newEcho(t, "foo"), newEcho(t, "bar"), newEcho(t, "any")
	table := buildTable(t, 1, nil,
		route("ns/foo", "foo.example", "/", routing.PathPrefix, backend("ns/foo:80", foo.addr())),
		route("ns/foo", "foo.example", "/bar", routing.PathPrefix, backend("ns/bar:80", bar.addr())),
		route("ns/any", "*.wild.example", "/exact", routing.PathExact, backend("ns/any:80", wild.addr())),
	)
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)

	for _, tc := range []struct{ url, want, path string }{
		{"http://foo.example/", "foo", "/"},
		{"http://FOO.example:8080/x/y?q=1", "foo", "/x/y"},
		{"http://foo.example/bar", "bar", "/bar"},
		{"http://foo.example/bar/baz", "bar", "/bar/baz"},
		{"http://foo.example/barbaz", "foo", "/barbaz"},
		{"http://a.wild.example/exact", "any", "/exact"},
	} {
		e := getEcho(t, c, tc.url, nil)
		if e.ID != tc.want || e.Path != tc.path {
			t.Errorf("GET %s: reached %s%s, want %s%s", tc.url, e.ID, e.Path, tc.want, tc.path)
		}
	}
	e := getEcho(t, c, "http://FOO.example:8080/x?q=1&r=2", nil)
	if e.Host != "FOO.example:8080" || e.Query != "q=1&r=2" {
		t.Errorf("upstream saw Host %q query %q, want the original Host and query", e.Host, e.Query)
	}

	for _, url := range []string{"http://other.example/", "http://a.wild.example/exact/more", "http://b.a.wild.example/exact"} {
		resp, body := do(t, c, http.MethodGet, url, nil, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(body, "no route for host ") ||
			resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || len(body) > 300 {
			t.Errorf("GET %s: %d %q (%s), want a short plain-text 404", url, resp.StatusCode, body,
				resp.Header.Get("Content-Type"))
		}
	}
}

func TestDefaultBackendRoute(t *testing.T) {
	def := newEcho(t, "def")
	table := buildTable(t, 1, func(b *routing.Builder) {
		b.SetDefault(route("ns/d", "", "", routing.PathPrefix, backend("ns/def:80", def.addr())))
	})
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	if e := getEcho(t, c, "http://whatever.example/any/path", nil); e.ID != "def" {
		t.Errorf("reached %q, want the table default backend", e.ID)
	}
}

func TestUnavailableBackends(t *testing.T) {
	gone := backend("ns/gone:80")
	gone.Unavailable = "service ns/gone not found"
	table := buildTable(t, 1, nil,
		route("ns/a", "a.example", "/", routing.PathPrefix, gone),
		route("ns/b", "b.example", "/", routing.PathPrefix, backend("ns/empty:http")),
	)
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, tc := range []struct{ url, want string }{
		{"http://a.example/", "service ns/gone not found"},
		{"http://b.example/", "no endpoints for ns/empty:http"},
	} {
		resp, body := do(t, c, http.MethodGet, tc.url, nil, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %q, want 503 naming %q", tc.url, resp.StatusCode, body, tc.want)
		}
	}
}

func TestNoTableYet(t *testing.T) {
	s := startServer(t, Options{}, nil)
	if s.Ready() {
		t.Error("Ready before the first Publish")
	}
	c := clientTo(t, s.HTTPAddr(), nil)
	if resp, _ := do(t, c, http.MethodGet, "http://a.example/", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d before the first Publish, want 503", resp.StatusCode)
	}
	s.Publish(buildTable(t, 7, nil))
	if !s.Ready() || s.Table().Generation != 7 || s.Generation() != 7 {
		t.Errorf("after Publish: Ready %v generation %d, want true 7", s.Ready(), s.Generation())
	}
}

func TestRoundRobinSurvivesPublish(t *testing.T) {
	ups := []*echoUpstream{newEcho(t, "u0"), newEcho(t, "u1"), newEcho(t, "u2")}
	addrs := []string{ups[0].addr(), ups[1].addr(), ups[2].addr()}
	mk := func(gen uint64, extra ...*routing.Route) *routing.Table {
		rs := append([]*routing.Route{route("ns/rr", "rr.example", "/", routing.PathPrefix, backend("ns/rr:80", addrs...))}, extra...)
		return buildTable(t, gen, nil, rs...)
	}
	s := startServer(t, Options{}, mk(1, route("ns/old", "old.example", "/", routing.PathPrefix, backend("ns/old:80", addrs[0]))))
	c := clientTo(t, s.HTTPAddr(), nil)

	var seq []string
	for range 30 {
		seq = append(seq, getEcho(t, c, "http://rr.example/", nil).ID)
	}
	counts := map[string]int{}
	for i, id := range seq {
		counts[id]++
		if i >= 3 && id != seq[i-3] {
			t.Fatalf("sequence %v is not round-robin", seq)
		}
	}
	if len(counts) != 3 || counts["u0"] != 10 || counts["u1"] != 10 || counts["u2"] != 10 {
		t.Fatalf("spread %v, want 10 each", counts)
	}
	getEcho(t, c, "http://old.example/", nil)
	if b, e := s.pool.sizes(); b != 2 || e != 3 {
		t.Fatalf("pool holds %d backends %d endpoints, want 2 and 3", b, e)
	}

	// One more request, then a new table: the cursor continues.
	last := getEcho(t, c, "http://rr.example/", nil).ID
	s.Publish(mk(2))
	next := getEcho(t, c, "http://rr.example/", nil).ID
	wantNext := map[string]string{"u0": "u1", "u1": "u2", "u2": "u0"}[last]
	if next != wantNext {
		t.Errorf("after Publish got %s following %s, want %s (cursor kept)", next, last, wantNext)
	}
	// The backend absent from generation 2 was pruned at Publish.
	if b, _ := s.pool.sizes(); b != 1 {
		t.Errorf("pool holds %d backends after Publish, want 1 (ns/old pruned)", b)
	}
}

func TestRetryOnDeadEndpoint(t *testing.T) {
	live := newEcho(t, "live")
	dead := closedAddr(t)
	m := metrics.New()
	mk := func(key string) *routing.Table {
		return buildTable(t, 1, nil, route("ns/r", "r.example", "/", routing.PathPrefix, backend(key, dead, live.addr())))
	}

	t.Run("GET is retried", func(t *testing.T) {
		s := startServer(t, Options{Metrics: m}, mk("ns/get:80"))
		c := clientTo(t, s.HTTPAddr(), nil)
		// The first pick is the dead endpoint (cursor 0): retried on the live one.
		for range 6 {
			if e := getEcho(t, c, "http://r.example/", nil); e.ID != "live" {
				t.Fatalf("reached %q", e.ID)
			}
		}
		// The dead endpoint is then in backoff: no second retry.
		if got := scrape(t, m, `ingresslab_upstream_retries_total`); got != "1" {
			t.Errorf("retries = %s, want 1 (passive health skips the dead endpoint)", got)
		}
	})

	t.Run("POST with body is not", func(t *testing.T) {
		s := startServer(t, Options{}, mk("ns/post:80"))
		c := clientTo(t, s.HTTPAddr(), nil)
		before := live.hits.Load()
		resp, body := do(t, c, http.MethodPost, "http://r.example/", strings.NewReader("payload"), nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "upstream connect error") {
			t.Errorf("POST to a dead endpoint: %d %q, want 502", resp.StatusCode, body)
		}
		if live.hits.Load() != before {
			t.Error("POST with a body was retried on another endpoint")
		}
		// The next POST skips the endpoint in backoff and succeeds.
		resp, body = do(t, c, http.MethodPost, "http://r.example/", strings.NewReader("payload"), nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"body":"payload"`) {
			t.Errorf("second POST: %d %q, want 200 from the live endpoint", resp.StatusCode, body)
		}
	})
}

func TestForwardedHeaders(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 1, nil, route("ns/f", "f.example", "/", routing.PathPrefix, backend("ns/f:80", up.addr())))
	spoof := http.Header{
		"X-Forwarded-For":   {"203.0.113.7"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host":  {"spoofed.example"},
		"X-Forwarded-Port":  {"1234"},
		"Forwarded":         {"for=203.0.113.7"},
	}

	t.Run("untrusted peer", func(t *testing.T) {
		s := startServer(t, Options{}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		_, port, _ := strings.Cut(s.HTTPAddr(), "127.0.0.1:")
		e := getEcho(t, c, "http://f.example/", spoof)
		want := map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "f.example",
			"X-Forwarded-Port": port, "Forwarded": "",
		}
		for k, v := range want {
			if got := strings.Join(e.Header[k], ","); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		e2 := getEcho(t, c, "http://f.example/", nil)
		id1, id2 := e.Header.Get("X-Request-Id"), e2.Header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{16}-[0-9]+$`).MatchString(id1) || id1 == id2 {
			t.Errorf("X-Request-Id %q then %q, want generated unique ids", id1, id2)
		}
		e3 := getEcho(t, c, "http://f.example/", http.Header{"X-Request-Id": {"client-id"}})
		if got := e3.Header.Get("X-Request-Id"); got != "client-id" {
			t.Errorf("X-Request-Id = %q, want the client's kept", got)
		}
	})

	t.Run("trusted peer", func(t *testing.T) {
		s := startServer(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		e := getEcho(t, c, "http://f.example/", spoof)
		want := map[string]string{
			"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https",
			"X-Forwarded-Host": "spoofed.example", "X-Forwarded-Port": "1234", "Forwarded": "for=203.0.113.7",
		}
		for k, v := range want {
			if got := strings.Join(e.Header[k], ","); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
}

func TestHopByHopHeadersRemoved(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"Connection", "Keep-Alive", "X-Conn-Listed", "Proxy-Authorization", "Te", "Upgrade"} {
			if v := r.Header.Get(h); v != "" {
				w.Header().Add("X-Leaked", h+"="+v)
			}
		}
		w.Header().Set("Connection", "X-Resp-Listed")
		w.Header().Set("X-Resp-Listed", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End-To-End", "kept")
		io.WriteString(w, "ok")
	})
	table := buildTable(t, 1, nil, route("ns/h", "h.example", "/", routing.PathPrefix, backend("ns/h:80", up)))
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	resp, body := do(t, c, http.MethodGet, "http://h.example/", nil, http.Header{
		"Connection":          {"X-Conn-Listed"},
		"X-Conn-Listed":       {"secret"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic Zm9vOmJhcg=="},
	})
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if leaked := resp.Header.Values("X-Leaked"); len(leaked) > 0 {
		t.Errorf("upstream received hop-by-hop headers %v", leaked)
	}
	if resp.Header.Get("X-Resp-Listed") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("client received hop-by-hop response headers %v", resp.Header)
	}
	if resp.Header.Get("X-End-To-End") != "kept" {
		t.Error("an end-to-end response header was dropped")
	}
}

func TestUpstreamFailureIs502(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		// Hijack and close without answering.
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	table := buildTable(t, 1, nil, route("ns/x", "x.example", "/", routing.PathPrefix, backend("ns/x:80", up)))
	m := metrics.New()
	s := startServer(t, Options{Metrics: m}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	resp, body := do(t, c, http.MethodPost, "http://x.example/", strings.NewReader("x"), nil)
	if resp.StatusCode != http.StatusBadGateway || body != "upstream error\n" {
		t.Errorf("%d %q, want 502 upstream error", resp.StatusCode, body)
	}
	scrapeEventually(t, m, `ingresslab_requests_total{code="502",ingress="ns/x",service="ns/x"}`, "1")
}

func TestMetricsRecorded(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 3, nil, route("ns/ing", "m.example", "/", routing.PathPrefix, backend("ns/svc:80", up.addr())))
	m := metrics.New()
	s := startServer(t, Options{Metrics: m}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	for range 3 {
		getEcho(t, c, "http://m.example/", nil)
	}
	do(t, c, http.MethodGet, "http://nothing.example/", nil, nil)
	for series, want := range map[string]string{
		`ingresslab_requests_total{code="200",ingress="ns/ing",service="ns/svc"}`:      "3",
		`ingresslab_requests_total{code="404",ingress="-",service="-"}`:                "1",
		`ingresslab_request_duration_seconds_count{ingress="ns/ing",service="ns/svc"}`: "3",
		`ingresslab_requests_in_flight`:                                                "0",
		`ingresslab_table_generation`:                                                  "3",
		`ingresslab_table_routes`:                                                      "1",
		`ingresslab_table_backends`:                                                    "1",
	} {
		scrapeEventually(t, m, series, want)
	}
	_ = s
}

func TestH2C(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 1, nil, route("ns/h", "h2c.example", "/", routing.PathPrefix, backend("ns/h:80", up.addr())))
	s := startServer(t, Options{H2C: true}, table)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := clientTo(t, s.HTTPAddr(), nil)
	c.Transport.(*http.Transport).Protocols = &p
	resp, body := do(t, c, http.MethodGet, "http://h2c.example/", nil, nil)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !strings.Contains(body, `"id":"up"`) {
		t.Errorf("h2c: %d %s %q", resp.StatusCode, resp.Proto, body)
	}

	// Without the option the plain listener does not speak h2c.
	s2 := startServer(t, Options{}, table)
	c2 := clientTo(t, s2.HTTPAddr(), nil)
	c2.Transport.(*http.Transport).Protocols = &p
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://h2c.example/", nil)
	if resp, err := c2.Do(req); err == nil {
		resp.Body.Close()
		if resp.ProtoMajor == 2 {
			t.Error("h2c accepted although Options.H2C is false")
		}
	}
}

// httpUpstream starts a plain upstream with handler h and returns its address.
func httpUpstream(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// scrape returns the value of one series from the metrics handler, "" when absent.
func scrape(t testing.TB, m *metrics.Metrics, series string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// scrapeEventually waits until series has the value want: a request's
// metrics are recorded once its response is written, so the client may
// see the response first.
func scrapeEventually(t testing.TB, m *metrics.Metrics, series, want string) {
	t.Helper()
	waitFor(t, series+" = "+want, func() bool { return scrape(t, m, series) == want })
}

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAccessLogAndUpstreamErrorLog(t *testing.T) {
	up := newEcho(t, "up")
	dead := closedAddr(t)
	table := buildTable(t, 1, nil,
		route("ns/ok", "ok.example", "/", routing.PathPrefix, backend("ns/ok:80", up.addr())),
		route("ns/dead", "dead.example", "/", routing.PathPrefix, backend("ns/dead:80", dead)),
	)
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	s := startServer(t, Options{AccessLog: true, Logger: logger}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	getEcho(t, c, "http://ok.example/logged", nil)
	do(t, c, http.MethodGet, "http://dead.example/x", nil, nil)
	waitFor(t, "two access log lines", func() bool { return strings.Count(buf.String(), "msg=request") == 2 })
	out := buf.String()
	for _, want := range []string{
		"msg=request method=GET host=ok.example path=/logged proto=HTTP/1.1 code=200",
		"ingress=ns/ok backend=ns/ok:80 endpoint=" + up.addr(),
		`msg="upstream error" host=dead.example path=/x`,
		"backend=ns/dead:80 endpoint=" + dead,
		"code=502",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
