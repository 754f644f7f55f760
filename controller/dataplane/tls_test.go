package dataplane

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/controller/routing"
)

func TestTLSCertificateBySNI(t *testing.T) {
	ca := newCA(t)
	certA, certB := ca.leaf(t, "a.example"), ca.leaf(t, "*.b.example")
	def := ca.leaf(t, "default.invalid")
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	table := buildTable(t, 1, func(b *routing.Builder) {
		b.AddCertificate("a.example", certA)
		b.AddCertificate("*.b.example", certB)
	},
		route("ns/a", "a.example", "/", routing.PathPrefix, be),
		route("ns/b", "x.b.example", "/", routing.PathPrefix, be),
		route("ns/c", "c.example", "/", routing.PathPrefix, be),
	)
	s := startServer(t, Options{DefaultCertificate: def}, table)

	serverCert := func(sni string) string {
		t.Helper()
		conn, err := tls.Dial("tcp", s.HTTPSAddr(), &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("handshake with SNI %q: %v", sni, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	for sni, want := range map[string]string{
		"a.example":     "a.example",
		"A.Example":     "a.example",
		"x.b.example":   "*.b.example",
		"c.example":     "default.invalid",
		"y.x.b.example": "default.invalid",
	} {
		if got := serverCert(sni); got != want {
			t.Errorf("SNI %q: served %q, want %q", sni, got, want)
		}
	}
	// No SNI at all (an IP literal as server name is not sent).
	if got := serverCert(""); got != "default.invalid" {
		t.Errorf("no SNI: served %q, want the default certificate", got)
	}

	// ALPN h2 end to end, with verification against the CA.
	c := clientTo(t, s.HTTPSAddr(), &tls.Config{RootCAs: ca.pool})
	resp, body := do(t, c, http.MethodGet, "https://a.example/p", nil, nil)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("https a.example: %d %s %q, want 200 over HTTP/2", resp.StatusCode, resp.Proto, body)
	}
	if !strings.Contains(body, `"X-Forwarded-Proto":["https"]`) || !strings.Contains(body, `"host":"a.example"`) {
		t.Errorf("upstream saw %s, want X-Forwarded-Proto https and Host a.example", body)
	}
	// SNI picks the certificate, Host picks the route.
	resp, body = do(t, c, http.MethodGet, "https://x.b.example/", nil, http.Header{"Host": {"c.example"}})
	if resp.StatusCode != 200 || !strings.Contains(body, `"host":"c.example"`) {
		t.Errorf("SNI x.b.example Host c.example: %d %q", resp.StatusCode, body)
	}
	// HTTP/1.1 over TLS still works.
	c1 := clientTo(t, s.HTTPSAddr(), &tls.Config{RootCAs: ca.pool, NextProtos: []string{"http/1.1"}})
	c1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	if resp, _ := do(t, c1, http.MethodGet, "https://a.example/", nil, nil); resp.ProtoMajor != 1 || resp.StatusCode != 200 {
		t.Errorf("https HTTP/1.1: %d %s", resp.StatusCode, resp.Proto)
	}
}

func TestTLSSelfSignedDefaultAndMinVersion(t *testing.T) {
	s := startServer(t, Options{}, buildTable(t, 1, nil))
	conn, err := tls.Dial("tcp", s.HTTPSAddr(), &tls.Config{ServerName: "unknown.example", InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	cert := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if cert.Subject.CommonName != defaultCertificateCommonName || cert.Issuer.String() != cert.Subject.String() ||
		cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil {
		t.Errorf("default certificate %q is not the generated self-signed one", cert.Subject.CommonName)
	}

	raw, err := net.Dial("tcp", s.HTTPSAddr())
	if err != nil {
		t.Fatal(err)
	}
	old := tls.Client(raw, &tls.Config{ServerName: "a.example", InsecureSkipVerify: true,
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err := old.Handshake(); err == nil {
		t.Error("TLS 1.1 handshake succeeded, want it refused")
	}
	old.Close()
}

func TestHTTPSRedirect(t *testing.T) {
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	table := buildTable(t, 1, func(b *routing.Builder) { b.SetHTTPSRedirect("secure.example") },
		route("ns/s", "secure.example", "/", routing.PathPrefix, be),
		route("ns/p", "plain.example", "/", routing.PathPrefix, be),
	)

	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	_, httpsPort, _ := net.SplitHostPort(s.HTTPSAddr())
	for url, want := range map[string]string{
		"http://secure.example/a/b?x=1&y=%20": "https://secure.example:" + httpsPort + "/a/b?x=1&y=%20",
		"http://secure.example:8080/":         "https://secure.example:" + httpsPort + "/",
	} {
		resp, _ := do(t, c, http.MethodPost, url, strings.NewReader("body"), nil)
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Errorf("POST %s: %d Location %q, want 308 to %q", url, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	if e := getEcho(t, c, "http://plain.example/", nil); e.ID != "up" {
		t.Errorf("plain host reached %q", e.ID)
	}
	if e := getEcho(t, c, "http://secure.example/.well-known/acme-challenge/token", nil); e.Path != "/.well-known/acme-challenge/token" {
		t.Errorf("ACME challenge reached %q", e.Path)
	}
	// Over TLS the same host is proxied.
	ct := clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true})
	if e := getEcho(t, ct, "https://secure.example/", nil); e.ID != "up" {
		t.Errorf("https secure.example reached %q", e.ID)
	}

	t.Run("port 443 omitted, configured port", func(t *testing.T) {
		s := startServer(t, Options{HTTPSRedirectPort: 443}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		resp, _ := do(t, c, http.MethodGet, "http://secure.example/x", nil, nil)
		if got := resp.Header.Get("Location"); got != "https://secure.example/x" {
			t.Errorf("Location %q, want https://secure.example/x", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		s := startServer(t, Options{NoHTTPSRedirect: true}, table)
		c := clientTo(t, s.HTTPAddr(), nil)
		if e := getEcho(t, c, "http://secure.example/", nil); e.ID != "up" {
			t.Errorf("reached %q", e.ID)
		}
	})
}
