package echoserver

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// tlsClient returns a client that trusts cert and sends serverName as SNI
// ("" for none), speaking the given protocols.
func tlsClient(t *testing.T, cert *tls.Certificate, serverName string, maxVersion uint16, h2 bool) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	var protocols http.Protocols
	protocols.SetHTTP1(!h2)
	protocols.SetHTTP2(h2)
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MaxVersion: maxVersion}
	if !h2 {
		cfg.NextProtos = []string{"http/1.1"} // the transport sends no ALPN for HTTP/1 alone
	}
	tr := &http.Transport{TLSClientConfig: cfg, Protocols: &protocols}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func TestTLS(t *testing.T) {
	cert, err := GenerateCertificate("echo.example.test")
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, Options{TLSAddr: "127.0.0.1:0", TLSCertificate: cert})
	if s.Certificate() != cert {
		t.Fatalf("Certificate() is not the given certificate")
	}
	_, tlsPort, _ := net.SplitHostPort(s.TLSAddr())

	for _, tc := range []struct {
		name       string
		maxVersion uint16
		h2         bool
		version    string
		alpn       string
		proto      string
	}{
		{"TLS1.3 h2", 0, true, "TLSv1.3", "h2", "HTTP/2.0"},
		{"TLS1.3 http/1.1", 0, false, "TLSv1.3", "http/1.1", "HTTP/1.1"},
		{"TLS1.2 h2", tls.VersionTLS12, true, "TLSv1.2", "h2", "HTTP/2.0"},
		{"TLS1.2 http/1.1", tls.VersionTLS12, false, "TLSv1.2", "http/1.1", "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tlsClient(t, cert, "echo.example.test", tc.maxVersion, tc.h2)
			req, _ := http.NewRequest(http.MethodGet, s.TLSURL()+"/secure?x=1", nil)
			req.Host = "echo.example.test"
			resp, body := do(t, c, req)
			got := decode[Response](t, body)
			if got.TLS == nil {
				t.Fatalf("no tls in %s", body)
			}
			want := TLSInfo{
				Version:            tc.version,
				ServerName:         "echo.example.test",
				NegotiatedProtocol: tc.alpn,
				CipherSuite:        tls.CipherSuiteName(resp.TLS.CipherSuite),
			}
			if !reflect.DeepEqual(*got.TLS, want) {
				t.Errorf("tls %+v, want %+v", *got.TLS, want)
			}
			if got.Proto != tc.proto || got.HTTPPort != tlsPort || got.Host != "echo.example.test" || got.Path != "/secure?x=1" {
				t.Errorf("proto %q httpPort %q host %q path %q; want %q %q echo.example.test /secure?x=1",
					got.Proto, got.HTTPPort, got.Host, got.Path, tc.proto, tlsPort)
			}
		})
	}

	// A client that offers no ALPN gets HTTP/1.1 and no negotiatedProtocol.
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	noALPN := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "echo.example.test"}}
	defer noALPN.CloseIdleConnections()
	_, body := get(t, &http.Client{Transport: noALPN}, s.TLSURL()+"/")
	if got := decode[Response](t, body); got.TLS == nil || got.TLS.NegotiatedProtocol != "" || got.Proto != "HTTP/1.1" ||
		strings.Contains(string(body), "negotiatedProtocol") {
		t.Errorf("no ALPN: proto %q body %s", got.Proto, body)
	}

	// The plain listener keeps serving without TLS.
	_, body = get(t, newClient(t), s.URL()+"/plain")
	if got := decode[Response](t, body); got.TLS != nil || got.Proto != "HTTP/1.1" {
		t.Errorf("plain listener: tls %+v proto %q", got.TLS, got.Proto)
	}
}

func TestTLSSelfSigned(t *testing.T) {
	s := start(t, Options{TLSAddr: "127.0.0.1:0"})
	cert := s.Certificate()
	if cert == nil || cert.Leaf == nil {
		t.Fatal("no generated certificate")
	}
	wantNames := []string{"localhost", "svc-a", "svc-a.ns-a", "svc-a.ns-a.svc", "svc-a.ns-a.svc.cluster.local"}
	if !slices.Equal(cert.Leaf.DNSNames, wantNames) || len(cert.Leaf.IPAddresses) != 2 {
		t.Errorf("DNS names %v IPs %v; want %v and 127.0.0.1, ::1", cert.Leaf.DNSNames, cert.Leaf.IPAddresses, wantNames)
	}
	// By IP: verified against the IP SAN, no SNI is sent.
	_, body := get(t, tlsClient(t, cert, "", 0, true), s.TLSURL()+"/")
	if got := decode[Response](t, body); got.TLS == nil || got.TLS.ServerName != "" || got.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("by IP: tls %+v, want no server name and h2", got.TLS)
	}
	// By name: the SNI is echoed.
	_, body = get(t, tlsClient(t, cert, "svc-a.ns-a.svc.cluster.local", 0, false), s.TLSURL()+"/")
	if got := decode[Response](t, body); got.TLS == nil || got.TLS.ServerName != "svc-a.ns-a.svc.cluster.local" {
		t.Errorf("by name: tls %+v", got.TLS)
	}
	// A client that does not trust the certificate fails the handshake.
	other, err := GenerateCertificate("localhost")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlsClient(t, other, "localhost", 0, false).Get(s.TLSURL() + "/"); err == nil {
		t.Errorf("a client trusting another certificate connected")
	}
}

// h2cClient speaks HTTP/2 with prior knowledge over plain TCP.
func h2cClient(t *testing.T) *http.Client {
	t.Helper()
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protocols}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func TestH2C(t *testing.T) {
	s := start(t, Options{H2C: true})
	resp, body := get(t, h2cClient(t), s.URL()+"/h2c?q=1")
	got := decode[Response](t, body)
	_, port, _ := net.SplitHostPort(s.Addr())
	if resp.ProtoMajor != 2 || got.Proto != "HTTP/2.0" || got.Path != "/h2c?q=1" || got.HTTPPort != port || got.TLS != nil {
		t.Errorf("h2c: response proto %q, echoed proto %q path %q httpPort %q tls %+v",
			resp.Proto, got.Proto, got.Path, got.HTTPPort, got.TLS)
	}
	// HTTP/1.1 on the same listener.
	_, body = get(t, newClient(t), s.URL()+"/h1")
	if got := decode[Response](t, body); got.Proto != "HTTP/1.1" {
		t.Errorf("HTTP/1.1 next to h2c: proto %q", got.Proto)
	}

	// Without H2C the prior-knowledge preface is refused.
	plain := start(t, Options{})
	if resp, err := h2cClient(t).Get(plain.URL() + "/"); err == nil {
		resp.Body.Close()
		t.Errorf("h2c request to a server without H2C succeeded with %s", resp.Proto)
	}
}
