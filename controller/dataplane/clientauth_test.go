package dataplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

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

// TestClientCertCheckedPerConnection checks that a keep-alive connection's
// certificate is judged by the configuration in force: requests on one
// connection reuse the check, and a new table whose client CA no longer
// trusts the certificate refuses the next request on the same connection.
func TestClientCertCheckedPerConnection(t *testing.T) {
	ca := newCA(t)
	clientCA, err := certs.SelfSigned(certs.Options{CommonName: "client CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := certs.SelfSigned(certs.Options{CommonName: "other CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := certs.Issue(clientCA.TLS, certs.Options{CommonName: "alice", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	up := newEcho(t, "up")
	be := backend("ns/up:80", up.addr())
	table := func(gen uint64, caPEM []byte) *routing.Table {
		auth, err := routing.NewClientAuth(routing.ClientAuthOptions{CA: caPEM})
		if err != nil {
			t.Fatal(err)
		}
		return buildTable(t, gen, func(b *routing.Builder) {
			b.AddCertificate("mtls.example", ca.leaf(t, "mtls.example"))
			b.SetClientAuth("mtls.example", auth)
		}, route("ns/m", "mtls.example", "/", routing.PathPrefix, be))
	}
	s := startServer(t, Options{NoHTTPSRedirect: true}, table(1, clientCA.CertPEM))
	for _, h2 := range []bool{false, true} {
		conf := &tls.Config{RootCAs: ca.pool, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return alice.TLS, nil }}
		c := clientTo(t, s.HTTPSAddr(), conf)
		if !h2 {
			c.Transport.(*http.Transport).ForceAttemptHTTP2 = false
			conf.NextProtos = []string{"http/1.1"}
		}
		var conns []string
		get := func() int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, "https://mtls.example/", nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { conns = append(conns, info.Conn.LocalAddr().String()) }}))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("h2=%v: %v", h2, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		s.Publish(table(2, clientCA.CertPEM))
		if a, b := get(), get(); a != http.StatusOK || b != http.StatusOK {
			t.Errorf("h2=%v: a trusted certificate got %d then %d, want 200 twice", h2, a, b)
		}
		s.Publish(table(3, otherCA.CertPEM))
		if got := get(); got != http.StatusBadRequest {
			t.Errorf("h2=%v: after the client CA changed, the same connection got %d, want 400", h2, got)
		}
		if len(conns) != 3 || conns[0] != conns[1] || conns[1] != conns[2] {
			t.Errorf("h2=%v: requests went over connections %v, want one", h2, conns)
		}
		c.CloseIdleConnections()
		s.Publish(table(4, clientCA.CertPEM))
	}
}

// TestCheckOnce checks the per-connection cache directly: one check per
// configuration, reused while the certificates are valid, repeated for
// another configuration or once the client certificate has expired.
func TestCheckOnce(t *testing.T) {
	clientCA, err := certs.SelfSigned(certs.Options{CommonName: "client CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	// alice's certificate expires in 2 minutes,
	// before connCertMaxAge; bob's long after.
	alice, err := certs.Issue(clientCA.TLS, certs.Options{CommonName: "alice", Client: true, Validity: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := certs.Issue(clientCA.TLS, certs.Options{CommonName: "bob", Client: true, Validity: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	auth1, err := routing.NewClientAuth(routing.ClientAuthOptions{CA: clientCA.CertPEM})
	if err != nil {
		t.Fatal(err)
	}
	auth2, err := routing.NewClientAuth(routing.ClientAuthOptions{CA: clientCA.CertPEM})
	if err != nil {
		t.Fatal(err)
	}
	cc := new(connCert)
	r := httptest.NewRequest(http.MethodGet, "https://mtls.example/", nil)
	r = r.WithContext(context.WithValue(r.Context(), connCertKey{}, cc))
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{alice.Leaf}}
	now := time.Now()

	if res := checkOnce(r, auth1, now); res.Status != 0 || res.Header.Get(routing.HeaderClientVerify) != "SUCCESS" {
		t.Fatalf("first check: %+v, want SUCCESS", res)
	}
	first := cc.last.Load()
	if first == nil || first.ca != auth1 || !first.notAfter.Equal(alice.Leaf.NotAfter) {
		t.Fatalf("cached %+v, want auth1's result until the certificate's NotAfter %v", first, alice.Leaf.NotAfter)
	}
	checkOnce(r, auth1, now.Add(time.Minute))
	if cc.last.Load() != first {
		t.Error("a second request with the same configuration checked again")
	}
	checkOnce(r, auth2, now.Add(time.Minute))
	if got := cc.last.Load(); got == first || got.ca != auth2 {
		t.Error("another configuration reused the first one's result")
	}
	second := cc.last.Load()
	checkOnce(r, auth2, alice.Leaf.NotAfter.Add(time.Second))
	if cc.last.Load() == second {
		t.Error("a result was reused after the client certificate expired")
	}
	// Long-lived certificates are checked again after connCertMaxAge.
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{bob.Leaf}}
	bobs := new(connCert)
	r = r.WithContext(context.WithValue(context.Background(), connCertKey{}, bobs))
	checkOnce(r, auth1, now)
	if got := bobs.last.Load(); got == nil || !got.notAfter.Equal(now.Add(connCertMaxAge)) {
		t.Fatalf("cached %+v, want a result until now + %v", got, connCertMaxAge)
	}
	third := bobs.last.Load()
	checkOnce(r, auth1, now.Add(connCertMaxAge))
	if bobs.last.Load() == third {
		t.Error("a result was reused after connCertMaxAge")
	}
	// Without a connection cache (no ConnContext), every request is checked.
	plain := httptest.NewRequest(http.MethodGet, "https://mtls.example/", nil)
	plain.TLS = r.TLS
	if res := checkOnce(plain, auth1, now); res.Status != 0 {
		t.Errorf("uncached check: %+v, want success", res)
	}
}
