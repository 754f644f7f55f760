package routing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"reflect"
	"testing"
	"time"
)

// testCert returns a self-signed certificate for dnsNames with Leaf unset.
func testCert(t testing.TB, serial int64, dnsNames ...string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestCertificates(t *testing.T) {
	exact := testCert(t, 1, "a.foo.com")
	wild := testCert(t, 2, "*.foo.com")
	other := testCert(t, 3, "x.com")
	b := NewBuilder()
	if !b.AddCertificate("A.foo.com", exact) || !b.AddCertificate("*.foo.com", wild) {
		t.Fatal("first certificate must take effect")
	}
	if b.AddCertificate("a.foo.com", other) || b.AddCertificate("", other) ||
		b.AddCertificate("bad host", other) || b.AddCertificate("y.com", nil) {
		t.Fatal("second, host-less, invalid or nil certificate took effect")
	}
	// A host with routes but no certificate falls back to the wildcard.
	if err := b.AddRoute(&Route{Host: "b.foo.com", Path: "/", PathType: PathPrefix, Backend: &Backend{Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	tbl := b.Build(1)
	cases := []struct {
		name string
		want *tls.Certificate
	}{
		{"a.foo.com", exact}, {"A.FOO.COM", exact}, {"a.foo.com.", exact},
		{"b.foo.com", wild}, {"zzz.foo.com", wild},
		{"foo.com", nil}, {"x.a.foo.com", nil}, {"x.com", nil}, {"", nil},
	}
	for _, c := range cases {
		if got := tbl.Certificate(c.name); got != c.want {
			t.Errorf("Certificate(%q) = %p, want %p", c.name, got, c.want)
		}
	}
}

func TestDumpAndStats(t *testing.T) {
	b := NewBuilder()
	shared := &Backend{Key: "ns/svc:80", Endpoints: []Endpoint{{Address: "10.0.0.1:8080"}, {Address: "10.0.0.2:8080", Terminating: true}}}
	down := &Backend{Key: "ns/gone:http", Unavailable: "service ns/gone not found"}
	ing := ObjectRef{"ns", "ing"}
	for _, r := range []*Route{
		{Host: "b.com", Path: "/z", PathType: PathPrefix, Backend: shared, Ingress: ing},
		{Host: "b.com", Path: "/a", PathType: PathPrefix, Backend: down, Ingress: ing},
		{Host: "b.com", Path: "/a", PathType: PathExact, Backend: shared, Ingress: ing},
		{Host: "", Path: "/", PathType: PathImplementationSpecific, Backend: shared, Ingress: ing},
		{Host: "*.a.com", Path: "/", PathType: PathPrefix, Backend: shared, Ingress: ing},
	} {
		if err := b.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	def := &Route{Ingress: ing, Backend: down}
	b.SetDefault(def)
	b.SetHostDefault("b.com", def)
	b.SetHTTPSRedirect("tls.com")
	cert := testCert(t, 0xabc, "tls.com")
	b.AddCertificate("tls.com", cert)
	tbl := b.Build(42)

	d := tbl.Dump()
	var hosts []string
	for _, h := range d.Hosts {
		hosts = append(hosts, h.Host)
	}
	if want := []string{"", "*.a.com", "b.com", "tls.com"}; !reflect.DeepEqual(hosts, want) {
		t.Fatalf("hosts %q, want %q", hosts, want)
	}
	var paths []string
	for _, r := range d.Hosts[2].Routes {
		paths = append(paths, r.PathType+" "+r.Path)
	}
	if want := []string{"Exact /a", "Prefix /a", "Prefix /z"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("b.com routes %q, want %q", paths, want)
	}
	if d.Generation != 42 || d.Default == nil || d.Default.Backend.Unavailable != down.Unavailable ||
		d.Hosts[2].Default == nil || d.Hosts[2].Default.Path != "" {
		t.Errorf("defaults wrong: %+v", d)
	}
	tlsHost := d.Hosts[3]
	c := tlsHost.Certificate
	if !tlsHost.HTTPSRedirect || c == nil || c.Serial != "abc" || c.Subject != "CN=tls.com" ||
		!reflect.DeepEqual(c.DNSNames, []string{"tls.com"}) || len(c.SHA256) != 64 || c.NotAfter != "2100-01-01T00:00:00Z" {
		t.Errorf("tls host dump %+v", tlsHost)
	}
	if got := d.Hosts[0].Routes[0]; got.PathType != "ImplementationSpecific" || len(got.Backend.Endpoints) != 2 ||
		!got.Backend.Endpoints[1].Terminating {
		t.Errorf("host-less route dump %+v", got)
	}
	// Deterministic: two dumps serialise identically.
	j1, _ := json.Marshal(d)
	j2, _ := json.Marshal(tbl.Dump())
	if string(j1) != string(j2) {
		t.Error("dump not deterministic")
	}
	if got, want := tbl.Stats(), (Stats{Hosts: 4, Routes: 5, Backends: 2, Certificates: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	var nilTable *Table
	if nilTable.Stats() != (Stats{}) || nilTable.Dump().Hosts != nil {
		t.Error("nil table not empty")
	}
	if DumpCertificate(&tls.Certificate{Certificate: [][]byte{[]byte("junk")}}).Error == "" {
		t.Error("unparseable certificate has no error")
	}
}
