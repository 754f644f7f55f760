package dataplane

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// tlsEchoed is what a TLS echo upstream saw.
type tlsEchoed struct {
	Method     string `json:"method"`
	Host       string `json:"host"`
	Proto      string `json:"proto"`
	Body       string `json:"body"`
	SNI        string `json:"sni"`
	ClientCert string `json:"clientCert"` // the client certificate's CN
}

// tlsUpstream starts an HTTP/1.1-only HTTPS server with chain (leaf
// first), answering with a tlsEchoed unless handler is set; with askClient
// it requires a client certificate (any: the test only reports its CN).
func tlsUpstream(t *testing.T, chain *tls.Certificate, askClient bool, handler http.Handler) string {
	t.Helper()
	if handler == nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			e := tlsEchoed{Method: r.Method, Host: r.Host, Proto: r.Proto, Body: string(body), SNI: r.TLS.ServerName}
			if pc := r.TLS.PeerCertificates; len(pc) > 0 {
				e.ClientCert = pc[0].Subject.CommonName
			}
			_ = json.NewEncoder(w).Encode(e)
		})
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*chain}}
	if askClient {
		srv.TLS.ClientAuth = tls.RequireAnyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// issue makes a certificate for names (a CA when isCA) signed by parent
// (self-signed when parent is nil).
func issue(t *testing.T, parent *tls.Certificate, isCA bool, cn string, names ...string) *tls.Certificate {
	t.Helper()
	c, err := certs.Issue(parent, certs.Options{CommonName: cn, Hosts: names, CA: isCA})
	if err != nil {
		t.Fatal(err)
	}
	return c.TLS
}

func certPEM(c *tls.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
}

func keyPEM(t *testing.T, c *tls.Certificate) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// upstreamTLS is routing.NewUpstreamTLS failing the test on error.
func upstreamTLS(t *testing.T, proto routing.UpstreamProtocol, o routing.UpstreamTLSOptions) *routing.Upstream {
	t.Helper()
	u, err := routing.NewUpstreamTLS(o)
	if err != nil {
		t.Fatal(err)
	}
	return &routing.Upstream{Protocol: proto, TLS: u}
}

// TestUpstreamHTTPS proxies to HTTPS backends (backend-protocol HTTPS) with
// proxy-ssl-verify on and off, right and wrong CAs and names, SNI, a client
// certificate and proxy-ssl-verify-depth, over the fast-path-eligible GET
// and the body-carrying POST; and checks that transports are cached by
// configuration across table swaps.
func TestUpstreamHTTPS(t *testing.T) {
	// The backend's own identity: a self-signed CA certificate (certs).
	self, err := certs.SelfSigned(certs.Options{Hosts: []string{"secure.ns.svc", "secure.example"}, CA: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.SelfSigned(certs.Options{Hosts: []string{"secure.ns.svc"}, CA: true})
	if err != nil {
		t.Fatal(err)
	}
	plain := tlsUpstream(t, self.TLS, false, nil)
	needsClient := tlsUpstream(t, self.TLS, true, nil)
	// root -> inter1 -> inter2 -> leaf: 2 intermediates.
	root := issue(t, nil, true, "root")
	inter1 := issue(t, root, true, "inter1")
	inter2 := issue(t, inter1, true, "inter2")
	leaf := issue(t, inter2, false, "deep.ns.svc", "deep.ns.svc")
	leaf.Certificate = append(leaf.Certificate, inter2.Certificate[0], inter1.Certificate[0])
	deep := tlsUpstream(t, leaf, false, nil)
	client := issue(t, nil, false, "ingresslab-client")

	right := routing.UpstreamTLSOptions{Verify: true, CA: self.CertPEM}
	with := func(o routing.UpstreamTLSOptions, f func(*routing.UpstreamTLSOptions)) routing.UpstreamTLSOptions {
		f(&o)
		return o
	}
	type tc struct {
		host, addr, svc string
		opts            routing.UpstreamTLSOptions
		code            int
		sni, clientCN   string
	}
	cases := []tc{
		{host: "verify.example", addr: plain, svc: "ns/secure:443", opts: right, code: 200},
		{host: "wrong-ca.example", addr: plain, svc: "ns/secure:443", opts: routing.UpstreamTLSOptions{Verify: true, CA: other.CertPEM}, code: 502},
		{host: "no-verify.example", addr: plain, svc: "ns/secure:443", opts: routing.UpstreamTLSOptions{CA: other.CertPEM}, code: 200},
		{host: "no-verify-no-ca.example", addr: plain, svc: "ns/elsewhere:443", opts: routing.UpstreamTLSOptions{}, code: 200},
		// The default verified name is the Service's: elsewhere.ns.svc is not in the certificate.
		{host: "wrong-svc-name.example", addr: plain, svc: "ns/elsewhere:443", opts: right, code: 502},
		{host: "wrong-name.example", addr: plain, svc: "ns/secure:443", opts: with(right, func(o *routing.UpstreamTLSOptions) { o.ServerName = "nope.example" }), code: 502},
		{host: "name.example", addr: plain, svc: "ns/elsewhere:443", opts: with(right, func(o *routing.UpstreamTLSOptions) { o.ServerName = "secure.example" }), code: 200},
		{host: "sni.example", addr: plain, svc: "ns/elsewhere:443",
			opts: with(right, func(o *routing.UpstreamTLSOptions) { o.ServerName, o.SNI = "secure.example", true }), code: 200, sni: "secure.example"},
		{host: "client-cert.example", addr: needsClient, svc: "ns/secure:443",
			opts: with(right, func(o *routing.UpstreamTLSOptions) { o.Cert, o.Key = certPEM(client), keyPEM(t, client) }), code: 200, clientCN: "ingresslab-client"},
		{host: "no-client-cert.example", addr: needsClient, svc: "ns/secure:443", opts: right, code: 502},
		{host: "depth1.example", addr: deep, svc: "ns/deep:443", opts: routing.UpstreamTLSOptions{Verify: true, CA: certPEM(root), VerifyDepth: 1}, code: 502},
		{host: "depth2.example", addr: deep, svc: "ns/deep:443", opts: routing.UpstreamTLSOptions{Verify: true, CA: certPEM(root), VerifyDepth: 2}, code: 200},
	}
	build := func(gen uint64) *routing.Table {
		var routes []*routing.Route
		for _, c := range cases {
			r := policyRoute("ns/"+strings.TrimSuffix(c.host, ".example"), c.host, "/", backend(c.svc, c.addr),
				policy(t, "backend-protocol", "HTTPS"))
			r.Upstream = upstreamTLS(t, routing.UpstreamHTTPS, c.opts)
			routes = append(routes, r)
		}
		return buildTable(t, gen, nil, routes...)
	}
	s := startServer(t, Options{}, build(1))
	cl := clientTo(t, s.HTTPAddr(), nil)
	for _, c := range cases {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader("payload")
			}
			resp, raw := do(t, cl, method, "http://"+c.host+"/x", body, nil)
			if resp.StatusCode != c.code {
				t.Errorf("%s %s: %d %q, want %d", method, c.host, resp.StatusCode, raw, c.code)
				continue
			}
			if c.code != 200 {
				continue
			}
			var e tlsEchoed
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				t.Fatalf("%s %s: %q: %v", method, c.host, raw, err)
			}
			if e.Method != method || e.Host != c.host || e.Proto != "HTTP/1.1" || e.SNI != c.sni || e.ClientCert != c.clientCN ||
				method == http.MethodPost && e.Body != "payload" {
				t.Errorf("%s %s: upstream saw %+v, want host %q HTTP/1.1 SNI %q client %q", method, c.host, e, c.host, c.sni, c.clientCN)
			}
		}
	}

	// One transport per configuration (and verified name), kept across a
	// table with equal (newly parsed) configurations, dropped with them.
	transports := func() map[string]*http.Transport {
		s.upstreams.mu.Lock()
		defer s.upstreams.mu.Unlock()
		m := map[string]*http.Transport{}
		for k, v := range s.upstreams.m {
			m[k] = v
		}
		return m
	}
	before := transports()
	want := map[string]bool{} // verify.example and no-client-cert.example share one
	for r := range build(9).Routes() {
		k, _ := upstreamKey(r.Upstream, r.Backend)
		want[k] = true
	}
	if len(before) != len(want) || len(want) != len(cases)-1 {
		t.Errorf("%d transports cached, want one per distinct configuration and name (%d of %d cases)", len(before), len(want), len(cases))
	}
	s.Publish(build(2))
	for _, c := range cases[:3] {
		if resp, raw := do(t, cl, http.MethodGet, "http://"+c.host+"/x", nil, nil); resp.StatusCode != c.code {
			t.Errorf("after the swap, GET %s: %d %q, want %d", c.host, resp.StatusCode, raw, c.code)
		}
	}
	after := transports()
	for k, rt := range before {
		if after[k] != rt {
			t.Errorf("transport %q rebuilt after a table swap with the same configuration", k)
		}
	}
	s.Publish(buildTable(t, 3, nil, route("ns/plain", "verify.example", "/", routing.PathPrefix, backend("ns/x:80", plain))))
	if n := s.upstreams.size(); n != 0 {
		t.Errorf("%d transports cached after publishing a table without upstream TLS, want 0", n)
	}
}

// TestUpstreamGRPCS streams gRPC-style messages to a gRPC server over TLS
// (backend-protocol GRPCS, HTTP/2 with ALPN, verified), and with
// backend-protocol GRPC to an h2c server whose Service has no appProtocol.
// GRPCS to a TLS server that offers only HTTP/1.1 fails (502).
func TestUpstreamGRPCS(t *testing.T) {
	self, err := certs.SelfSigned(certs.Options{Hosts: []string{"grpc.ns.svc"}, CA: true})
	if err != nil {
		t.Fatal(err)
	}
	h2 := httptest.NewUnstartedServer(grpcEcho)
	h2.Config.ErrorLog = log.New(io.Discard, "", 0)
	h2.TLS = &tls.Config{Certificates: []tls.Certificate{*self.TLS}}
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	h1 := tlsUpstream(t, self.TLS, false, nil)

	grpcs := upstreamTLS(t, routing.UpstreamH2, routing.UpstreamTLSOptions{Verify: true, CA: self.CertPEM})
	r1 := policyRoute("ns/grpcs", "grpcs.example", "/", backend("ns/grpc:443", h2.Listener.Addr().String()), policy(t, "backend-protocol", "GRPCS"))
	r1.Upstream = grpcs
	r2 := policyRoute("ns/grpc", "grpc.example", "/", backend("ns/grpc:50051", grpcUpstream(t)), policy(t, "backend-protocol", "GRPC"))
	r2.Upstream = &routing.Upstream{Protocol: routing.UpstreamH2C}
	r3 := policyRoute("ns/h1", "h1.example", "/", backend("ns/grpc:443", h1), policy(t, "backend-protocol", "GRPCS"))
	r3.Upstream = grpcs
	s := startServer(t, Options{}, buildTable(t, 1, nil, r1, r2, r3))
	c := clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test

	for _, host := range []string{"grpcs.example", "grpc.example"} {
		pr, pw := io.Pipe()
		req, err := http.NewRequest(http.MethodPost, "https://"+host+"/echo.Echo/Chat", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		go pw.Write(grpcFrame("hello"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("%s: status %d %q", host, resp.StatusCode, b)
		}
		// Full duplex: the answer arrives while the request is still open.
		if got, err := readGRPCFrame(resp.Body); err != nil || got != "HELLO" {
			t.Fatalf("%s: echo %q, %v", host, got, err)
		}
		pw.Close()
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Fatalf("%s: after the last message: %q, %v", host, rest, err)
		}
		resp.Body.Close()
		if st := resp.Trailer.Get("Grpc-Status"); st != "0" {
			t.Errorf("%s: grpc-status %q, want 0 (trailer %v)", host, st, resp.Trailer)
		}
	}
	resp, body := do(t, c, http.MethodPost, "https://h1.example/echo.Echo/Chat", bytes.NewReader(grpcFrame("x")),
		http.Header{"Content-Type": {"application/grpc"}, "Te": {"trailers"}})
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("GRPCS to an HTTP/1.1-only TLS server: %d %q, want 502", resp.StatusCode, body)
	}
}
