package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// servedLeaf returns the leaf certificate the HTTPS listener presents for sni.
func servedLeaf(t *testing.T, addr, sni string) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec // test
	if err != nil {
		t.Fatalf("handshake for %q: %v", sni, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

func TestSetDefaultCertificateRotates(t *testing.T) {
	ca := newCA(t)
	own := ca.leaf(t, "own.example")
	table := buildTable(t, 1, func(b *routing.Builder) { b.AddCertificate("own.example", own) })
	s := startServer(t, Options{}, table)
	generated := s.DefaultCertificate()
	if generated == nil || generated.Leaf.Subject.CommonName != defaultCertificateCommonName {
		t.Fatalf("DefaultCertificate() = %v, want the generated one", generated)
	}
	if got := servedLeaf(t, s.HTTPSAddr(), "unknown.example"); !bytes.Equal(got, generated.Certificate[0]) {
		t.Fatal("unknown SNI does not get the generated certificate")
	}
	for i, cert := range []*tls.Certificate{ca.leaf(t, "default-1.example"), ca.leaf(t, "default-2.example"), nil} {
		s.SetDefaultCertificate(cert)
		want := cert
		if want == nil {
			want = generated // nil goes back to the generated certificate
		}
		if got := servedLeaf(t, s.HTTPSAddr(), "unknown.example"); !bytes.Equal(got, want.Certificate[0]) {
			t.Errorf("rotation %d: unknown SNI gets another certificate than the default", i)
		}
		if got := servedLeaf(t, s.HTTPSAddr(), ""); !bytes.Equal(got, want.Certificate[0]) {
			t.Errorf("rotation %d: a client without SNI gets another certificate than the default", i)
		}
		if got := servedLeaf(t, s.HTTPSAddr(), "own.example"); !bytes.Equal(got, own.Certificate[0]) {
			t.Errorf("rotation %d: a known host lost its own certificate", i)
		}
	}
}

func TestShutdownDelayKeepsServing(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 1, nil, route("ns/d", "d.example", "/", routing.PathPrefix, backend("ns/d:80", up.addr())))
	// The delay is long: the test ends it through the context, so nothing
	// here depends on how fast the machine is.
	s := startServer(t, Options{ShutdownDelay: time.Hour}, table)
	kept := clientTo(t, s.HTTPAddr(), nil)
	getEcho(t, kept, "http://d.example/before", nil) // a keep-alive connection

	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	waitFor(t, "Ready to turn false", func() bool { return !s.Ready() })

	// Not ready, but new connections are still accepted and served, and
	// the existing one keeps working.
	fresh := clientTo(t, s.HTTPAddr(), nil)
	fresh.Transport.(*http.Transport).DisableKeepAlives = true
	if e := getEcho(t, fresh, "http://d.example/during", nil); e.Path != "/during" {
		t.Errorf("new connection during the delay: path %q", e.Path)
	}
	getEcho(t, kept, "http://d.example/during-kept", nil)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v during the delay", err)
	default:
	}

	cancel() // ends the delay; the drain follows
	if err := <-shut; err != nil {
		t.Errorf("Shutdown with nothing in flight: %v", err)
	}
	if conn, err := net.Dial("tcp", s.HTTPAddr()); err == nil {
		conn.Close()
		t.Error("the listener still accepts after Shutdown returned")
	}
}

func TestShutdownDelayEndsByItself(t *testing.T) {
	table := buildTable(t, 1, nil)
	s := startServer(t, Options{ShutdownDelay: 50 * time.Millisecond}, table)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := New(Options{ShutdownDelay: -time.Second}); err == nil || !strings.Contains(err.Error(), "ShutdownDelay") {
		t.Errorf("New with a negative ShutdownDelay: %v", err)
	}
}

// rawGet sends a GET with a request target exactly as given (no client-side
// cleaning) and returns the status code and body.
func rawGet(t *testing.T, addr, host, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPathNormalizedForMatchingOnly routes by the normalised path and
// forwards the request target unchanged.
func TestPathNormalizedForMatchingOnly(t *testing.T) {
	public, admin := newEcho(t, "public"), newEcho(t, "admin")
	table := buildTable(t, 1, nil,
		route("ns/p", "n.example", "/public", routing.PathPrefix, backend("ns/public:80", public.addr())),
		route("ns/p", "n.example", "/admin", routing.PathExact, backend("ns/admin:80", admin.addr())))
	s := startServer(t, Options{}, table)
	for _, c := range []struct {
		target, upstream, rawPath string
		code                      int
	}{
		{"/public/x", "public", "/public/x", 200},
		{"/public/../admin", "admin", "/public/../admin", 200},
		{"/public/%2e%2e/admin", "admin", "/public/../admin", 200},
		{"/public%2F..%2Fadmin", "admin", "/public/../admin", 200},
		{"//public//x", "public", "//public//x", 200},
		{"/public/./x", "public", "/public/./x", 200},
		{"/public/../secret", "", "", 404},
		{"/admin/../public/y", "public", "/admin/../public/y", 200},
	} {
		code, body := rawGet(t, s.HTTPAddr(), "n.example", c.target)
		if code != c.code {
			t.Errorf("GET %s: %d %q, want %d", c.target, code, body, c.code)
			continue
		}
		if c.upstream != "" && !strings.Contains(body, `"id":"`+c.upstream+`"`) {
			t.Errorf("GET %s reached %q, want upstream %s", c.target, body, c.upstream)
		}
		// The upstream's own parse of what it received: the target is not
		// rewritten (Go's server decodes it, and does not clean it).
		if c.rawPath != "" && !strings.Contains(body, `"path":"`+c.rawPath+`"`) {
			t.Errorf("GET %s: upstream saw %q, want path %q", c.target, body, c.rawPath)
		}
	}
}

// TestPublishRemovesSeriesOfDeletedRoutes checks that the request series of
// an Ingress/Service pair that is no longer routed disappear at Publish.
func TestPublishRemovesSeriesOfDeletedRoutes(t *testing.T) {
	up := newEcho(t, "up")
	m := metrics.New()
	keep := route("ns/keep", "keep.example", "/", routing.PathPrefix, backend("ns/svc:80", up.addr()))
	gone := route("ns/gone", "gone.example", "/", routing.PathPrefix, backend("ns/other:80", up.addr()))
	s := startServer(t, Options{Metrics: m}, buildTable(t, 1, nil, keep, gone))
	c := clientTo(t, s.HTTPAddr(), nil)
	getEcho(t, c, "http://keep.example/", nil)
	getEcho(t, c, "http://gone.example/", nil)
	const goneSeries = `ingresslab_requests_total{code="200",ingress="ns/gone",service="ns/other"}`
	const keepSeries = `ingresslab_requests_total{code="200",ingress="ns/keep",service="ns/svc"}`
	scrapeEventually(t, m, goneSeries, "1")
	scrapeEventually(t, m, keepSeries, "1")
	s.Publish(buildTable(t, 2, nil, route("ns/keep", "keep.example", "/", routing.PathPrefix, backend("ns/svc:80", up.addr()))))
	if v := scrape(t, m, goneSeries); v != "" {
		t.Errorf("%s = %q after the route was removed, want no series", goneSeries, v)
	}
	if v := scrape(t, m, `ingresslab_request_duration_seconds_count{ingress="ns/gone",service="ns/other"}`); v != "" {
		t.Errorf("latency series of the removed route = %q, want none", v)
	}
	if v := scrape(t, m, keepSeries); v != "1" {
		t.Errorf("%s = %q, want 1 (kept)", keepSeries, v)
	}
}
