package routing

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/certs"
)

// clientPKI is a CA, a client certificate it signed, an intermediate CA it
// signed with a client certificate below it (deep), a second intermediate
// below that one with a client certificate below it (deeper), and a client
// certificate of another CA.
type clientPKI struct {
	ca, inter, inter2             *certs.Certificate
	client, deep, deeper, foreign *certs.Certificate
}

func newClientPKI(t *testing.T) clientPKI {
	t.Helper()
	must := func(c *certs.Certificate, err error) *certs.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var p clientPKI
	p.ca = must(certs.SelfSigned(certs.Options{CommonName: "client CA", CA: true}))
	p.inter = must(certs.Issue(p.ca.TLS, certs.Options{CommonName: "intermediate CA", CA: true}))
	p.client = must(certs.Issue(p.ca.TLS, certs.Options{CommonName: "alice", Organization: "team", Client: true}))
	p.deep = must(certs.Issue(p.inter.TLS, certs.Options{CommonName: "bob", Client: true}))
	p.inter2 = must(certs.Issue(p.inter.TLS, certs.Options{CommonName: "second intermediate CA", CA: true}))
	p.deeper = must(certs.Issue(p.inter2.TLS, certs.Options{CommonName: "carol", Client: true}))
	other := must(certs.SelfSigned(certs.Options{CommonName: "other CA", CA: true}))
	p.foreign = must(certs.Issue(other.TLS, certs.Options{CommonName: "mallory", Client: true}))
	return p
}

func state(cs ...*certs.Certificate) *tls.ConnectionState {
	st := &tls.ConnectionState{}
	for _, c := range cs {
		st.PeerCertificates = append(st.PeerCertificates, c.Leaf)
	}
	return st
}

func TestClientAuthCheck(t *testing.T) {
	p := newClientPKI(t)
	mk := func(o ClientAuthOptions) *ClientAuth {
		t.Helper()
		o.CA = p.ca.CertPEM
		ca, err := NewClientAuth(o)
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	on := mk(ClientAuthOptions{})
	if on.Verify != ClientVerifyOn || on.Depth != 1 {
		t.Fatalf("defaults: verify %q depth %d, want on and 1", on.Verify, on.Depth)
	}
	if auth, pool := on.TLSClientAuth(); auth != tls.RequestClientCert || pool == nil {
		t.Errorf("handshake asks %v with pool %v, want a requested (not required) certificate and the CA pool", auth, pool)
	}
	deep := mk(ClientAuthOptions{Depth: 2, Verify: ClientVerifyOptional, PassCertificate: true})
	noCA := mk(ClientAuthOptions{Verify: ClientVerifyOptionalNoCA})
	cn := mk(ClientAuthOptions{MatchCN: "CN=alice"})
	for _, tc := range []struct {
		name    string
		ca      *ClientAuth
		cs      *tls.ConnectionState
		status  int
		verify  string
		subject string
	}{
		{"on, no certificate", on, state(), 400, "NONE", ""},
		{"on, no TLS state", on, nil, 400, "NONE", ""},
		{"on, signed by the CA", on, state(p.client), 0, "SUCCESS", "CN=alice,O=team"},
		{"on, another CA", on, state(p.foreign), 400, "FAILED:", ""},
		// Depth counts intermediate CAs (OpenSSL): 1 allows one.
		{"on, one intermediate", on, state(p.deep, p.inter), 0, "SUCCESS", "CN=bob,O=ingresslab"},
		{"on, two intermediates", on, state(p.deeper, p.inter2, p.inter), 400, "FAILED:", ""},
		{"depth 2, two intermediates", deep, state(p.deeper, p.inter2, p.inter), 0, "SUCCESS", "CN=carol,O=ingresslab"},
		{"optional, no certificate", deep, state(), 0, "NONE", ""},
		{"optional, another CA", deep, state(p.foreign), 400, "FAILED:", ""},
		{"optional_no_ca, another CA", noCA, state(p.foreign), 0, "FAILED:", "CN=mallory,O=ingresslab"},
		{"match-cn, matching", cn, state(p.client), 0, "SUCCESS", "CN=alice,O=team"},
		{"match-cn, not matching", cn, state(p.deep, p.inter), 403, "SUCCESS", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.ca.Check(tc.cs)
			if res.Status != tc.status {
				t.Errorf("status %d (%s), want %d", res.Status, res.Reason, tc.status)
			}
			if v := res.Header.Get(HeaderClientVerify); !strings.HasPrefix(v, tc.verify) || tc.verify == "" && v != "" {
				t.Errorf("%s %q, want %q", HeaderClientVerify, v, tc.verify)
			}
			if res.Status == 0 {
				if got := res.Header.Get(HeaderClientSubjectDN); got != tc.subject {
					t.Errorf("subject %q, want %q", got, tc.subject)
				}
			}
		})
	}
	// match-cn refuses a valid certificate with another subject: 403.
	p2 := mk(ClientAuthOptions{MatchCN: "CN=bob", Depth: 2})
	if res := p2.Check(state(p.client)); res.Status != http.StatusForbidden {
		t.Errorf("match-cn CN=bob with alice's certificate: %d, want 403", res.Status)
	}
	// The certificate goes upstream only with PassCertificate, as
	// URL-encoded PEM that decodes to the client's certificate.
	if res := on.Check(state(p.client)); res.Header.Get(HeaderClientCert) != "" {
		t.Error("certificate passed upstream without PassCertificate")
	}
	res := deep.Check(state(p.deeper, p.inter2, p.inter))
	raw, err := url.QueryUnescape(res.Header.Get(HeaderClientCert))
	if err != nil || strings.Contains(res.Header.Get(HeaderClientCert), "\n") || raw != string(p.deeper.CertPEM) {
		t.Errorf("escaped certificate %q (%v) does not decode to the client's PEM", res.Header.Get(HeaderClientCert), err)
	}
	off := mk(ClientAuthOptions{Verify: ClientVerifyOff})
	if auth, _ := off.TLSClientAuth(); auth != tls.NoClientCert {
		t.Error("verify off asks for a certificate")
	}
	if res := off.Check(state()); res.Status != 0 || len(res.Header) != 0 {
		t.Errorf("verify off: %+v", res)
	}
}

func TestNewClientAuthErrors(t *testing.T) {
	for _, o := range []ClientAuthOptions{
		{CA: []byte("not PEM")},
		{CA: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
		{CA: nil},
		{CA: []byte("x"), Verify: "sometimes"},
		{CA: []byte("x"), MatchCN: "CN=(["},
	} {
		if _, err := NewClientAuth(o); err == nil {
			t.Errorf("NewClientAuth(%+v) accepted", o)
		}
	}
}

func TestTableClientAuthPerHost(t *testing.T) {
	p := newClientPKI(t)
	ca, err := NewClientAuth(ClientAuthOptions{CA: p.ca.CertPEM})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewClientAuth(ClientAuthOptions{CA: p.ca.CertPEM, Verify: ClientVerifyOptional})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	be := &Backend{Key: "ns/svc:80"}
	for _, h := range []string{"mtls.example", "open.example", "*.wild.example"} {
		if err := b.AddRoute(&Route{Host: h, Path: "/", PathType: PathPrefix, Backend: be}); err != nil {
			t.Fatal(err)
		}
	}
	if !b.SetClientAuth("mtls.example", ca) {
		t.Fatal("SetClientAuth refused the first authentication")
	}
	if again := b.SetClientAuth("mtls.example", ca); !again {
		t.Fatal("SetClientAuth refused the same authentication again")
	}
	if b.SetClientAuth("mtls.example", other) {
		t.Error("a second authentication replaced the first")
	}
	if !b.SetClientAuth("*.wild.example", other) {
		t.Fatal("SetClientAuth refused a wildcard host")
	}
	tab := b.Build(1)
	for host, want := range map[string]*ClientAuth{"mtls.example": ca, "MTLS.example:443": ca, "open.example": nil, "a.wild.example": other, "x.mtls.example": nil} {
		if got := tab.Match(host, "/x").ClientAuth; got != want {
			t.Errorf("Match(%s).ClientAuth = %p, want %p", host, got, want)
		}
		if got := tab.ClientAuth(strings.Split(host, ":")[0]); got != want {
			t.Errorf("ClientAuth(%s) = %p, want %p", host, got, want)
		}
	}
	if dump := tab.Dump(); dump.Hosts[0].ClientAuth == nil && dump.Hosts[1].ClientAuth == nil {
		t.Error("the dump lacks the host's client authentication")
	}
}
