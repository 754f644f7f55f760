package dataplane

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestClientCertificates runs auth-tls over real TLS: the handshake asks
// for a certificate only on the host with client authentication, a client
// without one (verify on) or with one of another CA gets 400, a valid one
// is served with the verification headers upstream (and forged ones from
// the client dropped), the error page redirects, and HTTP/2 is checked
// the same way.
func TestClientCertificates(t *testing.T) {
	ca := newCA(t)
	clientCA, err := certs.SelfSigned(certs.Options{CommonName: "client CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := certs.Issue(clientCA.TLS, certs.Options{CommonName: "alice", Organization: "team", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := certs.SelfSigned(certs.Options{CommonName: "other CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := certs.Issue(otherCA.TLS, certs.Options{CommonName: "mallory", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	on, err := routing.NewClientAuth(routing.ClientAuthOptions{CA: clientCA.CertPEM, PassCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	paged, err := routing.NewClientAuth(routing.ClientAuthOptions{CA: clientCA.CertPEM, ErrorPage: "https://login.example/cert"})
	if err != nil {
		t.Fatal(err)
	}
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	table := buildTable(t, 1, func(b *routing.Builder) {
		for _, h := range []string{"mtls.example", "paged.example", "open.example"} {
			b.AddCertificate(h, ca.leaf(t, h))
		}
		b.SetClientAuth("mtls.example", on)
		b.SetClientAuth("paged.example", paged)
	},
		route("ns/m", "mtls.example", "/", routing.PathPrefix, be),
		route("ns/p", "paged.example", "/", routing.PathPrefix, be),
		route("ns/o", "open.example", "/", routing.PathPrefix, be),
	)
	s := startServer(t, Options{NoHTTPSRedirect: true}, table)

	// The handshake asks for a certificate on the client-auth host only.
	asked := func(sni string) bool {
		t.Helper()
		var got bool
		conn, err := tls.Dial("tcp", s.HTTPSAddr(), &tls.Config{ServerName: sni, RootCAs: ca.pool,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				got = true
				return &tls.Certificate{}, nil
			}})
		if err != nil {
			t.Fatalf("handshake %s: %v", sni, err)
		}
		conn.Close()
		return got
	}
	if !asked("mtls.example") || asked("open.example") {
		t.Error("the handshake must ask for a client certificate on mtls.example only")
	}

	client := func(cert *tls.Certificate, h2 bool) *http.Client {
		conf := &tls.Config{RootCAs: ca.pool}
		if cert != nil {
			// Sent even when its CA is not among those the server names
			// (a client with Certificates would send nothing then).
			conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		c := clientTo(t, s.HTTPSAddr(), conf)
		if !h2 {
			c.Transport.(*http.Transport).ForceAttemptHTTP2 = false
			conf.NextProtos = []string{"http/1.1"}
		}
		return c
	}
	forged := http.Header{"Ssl-Client-Verify": {"SUCCESS"}, "Ssl-Client-Subject-Dn": {"CN=admin"}}
	for _, h2 := range []bool{false, true} {
		resp, body := do(t, client(nil, h2), http.MethodGet, "https://mtls.example/x", nil, forged)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No required SSL certificate was sent") {
			t.Errorf("h2=%v without a certificate: %d %q, want 400", h2, resp.StatusCode, body)
		}
		resp, body = do(t, client(mallory.TLS, h2), http.MethodGet, "https://mtls.example/x", nil, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The SSL certificate error") {
			t.Errorf("h2=%v with another CA's certificate: %d %q, want 400", h2, resp.StatusCode, body)
		}
		e := getEcho(t, client(alice.TLS, h2), "https://mtls.example/x", forged)
		for k, want := range map[string]string{"Ssl-Client-Verify": "SUCCESS", "Ssl-Client-Subject-Dn": "CN=alice,O=team", "Ssl-Client-Issuer-Dn": "CN=client CA,O=ingresslab"} {
			if got := e.Header[k]; len(got) != 1 || got[0] != want {
				t.Errorf("h2=%v upstream %s = %q, want exactly %q", h2, k, got, want)
			}
		}
		if got := e.Header["Ssl-Client-Cert"]; len(got) != 1 || !strings.HasPrefix(got[0], "-----BEGIN%20CERTIFICATE-----%0A") {
			t.Errorf("h2=%v upstream Ssl-Client-Cert = %q, want the URL-encoded PEM", h2, got)
		}
	}
	// An unrelated host is untouched; the error page redirects.
	getEcho(t, client(nil, false), "https://open.example/", nil)
	resp, _ := do(t, client(nil, false), http.MethodGet, "https://paged.example/", nil, nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://login.example/cert" {
		t.Errorf("error page: %d Location %q, want 302 to https://login.example/cert", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Plain HTTP carries no certificate: forged headers are dropped.
	e := getEcho(t, clientTo(t, s.HTTPAddr(), nil), "http://mtls.example/", forged)
	if _, ok := e.Header["Ssl-Client-Verify"]; ok {
		t.Errorf("plain HTTP: a client-sent Ssl-Client-Verify reached the backend: %v", e.Header)
	}
}
