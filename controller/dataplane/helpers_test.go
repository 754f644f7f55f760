package dataplane

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// echoed is what an echo upstream saw.
type echoed struct {
	ID      string      `json:"id"`
	Method  string      `json:"method"`
	Host    string      `json:"host"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Proto   string      `json:"proto"`
	Header  http.Header `json:"header"`
	Body    string      `json:"body"`
	Remote  string      `json:"remote"`
	Trailer http.Header `json:"trailer,omitempty"`
}

// echoUpstream is a plain httptest server that answers with what it received.
type echoUpstream struct {
	*httptest.Server
	id   string
	hits atomic.Int64
}

func newEcho(t testing.TB, id string) *echoUpstream {
	t.Helper()
	e := &echoUpstream{id: id}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", id)
		_ = json.NewEncoder(w).Encode(echoed{
			ID: id, Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.RawQuery,
			Proto: r.Proto, Header: r.Header, Body: string(body), Remote: r.RemoteAddr, Trailer: r.Trailer,
		})
	}))
	t.Cleanup(e.Close)
	return e
}

// addr returns the upstream's host:port.
func (e *echoUpstream) addr() string { return e.Listener.Addr().String() }

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func backend(key string, addrs ...string) *routing.Backend {
	ns, svc, _ := strings.Cut(key, "/")
	svc, port, _ := strings.Cut(svc, ":")
	b := &routing.Backend{Key: key, Namespace: ns, Service: svc, Port: port}
	for _, a := range addrs {
		b.Endpoints = append(b.Endpoints, routing.Endpoint{Address: a})
	}
	return b
}

func route(ingress, host, path string, pt routing.PathType, be *routing.Backend) *routing.Route {
	ns, name, _ := strings.Cut(ingress, "/")
	return &routing.Route{Ingress: routing.ObjectRef{Namespace: ns, Name: name}, Host: host, Path: path,
		PathType: pt, Backend: be}
}

// buildTable builds a table from routes (and lets fn add more).
func buildTable(t testing.TB, gen uint64, fn func(b *routing.Builder), routes ...*routing.Route) *routing.Table {
	t.Helper()
	b := routing.NewBuilder()
	for _, r := range routes {
		if err := b.AddRoute(r); err != nil {
			t.Fatalf("AddRoute: %v", err)
		}
	}
	if fn != nil {
		fn(b)
	}
	return b.Build(gen)
}

// testLogger discards logs unless -v, where it prints them through t.Log.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer starts a data plane on 127.0.0.1 ports with table published.
// netHTTPH2Tests runs every test server with Options.NetHTTPH2
// (INGRESSLAB_TEST_NETHTTP_H2=1, a second pass of `make test`): the
// package's HTTP/2 tests then exercise net/http's server.
var netHTTPH2Tests = os.Getenv("INGRESSLAB_TEST_NETHTTP_H2") == "1"

func startServer(t testing.TB, opts Options, table *routing.Table) *Server {
	t.Helper()
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	if opts.HTTPSAddr == "" {
		opts.HTTPSAddr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if netHTTPH2Tests {
		opts.NetHTTPH2 = true
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if table != nil {
		s.Publish(table)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// clientTo returns a client that connects every request to addr, whatever
// the URL's host, so tests can use real host names for Host and SNI.
func clientTo(t testing.TB, addr string, tlsConf *tls.Config) *http.Client {
	t.Helper()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   tlsConf,
		ForceAttemptHTTP2: tlsConf != nil,
		DisableKeepAlives: false,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends a request and returns the response with its body read.
func do(t testing.TB, c *http.Client, method, url string, body io.Reader, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if h := hdr.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, string(b)
}

// get sends GET url and decodes the echo; it fails unless the status is 200.
func getEcho(t testing.TB, c *http.Client, url string, hdr http.Header) echoed {
	t.Helper()
	resp, body := do(t, c, http.MethodGet, url, nil, hdr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %q", url, resp.StatusCode, body)
	}
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("GET %s: decode echo %q: %v", url, body, err)
	}
	return e
}

// testCA issues certificates for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t testing.TB) *testCA {
	t.Helper()
	c, err := certs.SelfSigned(certs.Options{CommonName: "ingresslab test CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	return &testCA{cert: c.Leaf, key: c.TLS.PrivateKey.(*ecdsa.PrivateKey), pool: pool}
}

// leaf issues a server certificate for names.
func (ca *testCA) leaf(t testing.TB, names ...string) *tls.Certificate {
	t.Helper()
	c, err := certs.Issue(&tls.Certificate{Leaf: ca.cert, PrivateKey: ca.key}, certs.Options{Hosts: names})
	if err != nil {
		t.Fatal(err)
	}
	return c.TLS
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
