package routing

import (
	"cmp"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Dump is a plain, deterministic view of a whole Table: hosts sorted by name,
// routes by path then path type. It serialises to JSON (and YAML through
// sigs.k8s.io/yaml) for golden tests and the /debug/table admin endpoint.
type Dump struct {
	Generation uint64     `json:"generation"`
	Hosts      []HostDump `json:"hosts,omitempty"`
	// Default is the table-wide default route.
	Default *RouteDump `json:"default,omitempty"`
}

// HostDump is one virtual host: "" (rules without host), "foo.com" or
// "*.foo.com".
type HostDump struct {
	Host          string           `json:"host"`
	Routes        []RouteDump      `json:"routes,omitempty"`
	Default       *RouteDump       `json:"default,omitempty"`
	HTTPSRedirect bool             `json:"httpsRedirect,omitempty"`
	Certificate   *CertificateDump `json:"certificate,omitempty"`
	// ClientAuth is the host's client certificate authentication.
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
}

// RouteDump is one route. Path and PathType are empty for default routes;
// Ingress is empty for the controller's configured default backend.
type RouteDump struct {
	Path     string `json:"path,omitempty"`
	PathType string `json:"pathType,omitempty"`
	// Regex marks a regular-expression path (Route.Regex).
	Regex   bool        `json:"regex,omitempty"`
	Ingress string      `json:"ingress"`
	Backend BackendDump `json:"backend"`
	// ErrorBackend answers the error pages (Policy.ErrorPages.Backend).
	ErrorBackend *BackendDump `json:"errorBackend,omitempty"`
	// ResponseHeaders are added to responses (Policy.ResponseHeaders).
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`
	// Policy is the route's policy, when it has one.
	Policy *Policy `json:"policy,omitempty"`
	// Rewrite is the route's path rewrite (Route.Rewrite).
	Rewrite *Rewrite `json:"rewrite,omitempty"`
	// Upstream is the route's upstream protocol and TLS (Route.Upstream).
	Upstream *Upstream `json:"upstream,omitempty"`
	// BasicAuth is the realm and user names (Policy.BasicAuth, no hashes).
	BasicAuth *BasicAuth `json:"basicAuth,omitempty"`
	// Canary is the route's canary backend and rule.
	Canary *CanaryDump `json:"canary,omitempty"`
}

// CanaryDump is a route's canary.
type CanaryDump struct {
	Ingress string      `json:"ingress"`
	Backend BackendDump `json:"backend"`
	Rule    *CanaryRule `json:"rule"`
}

// BackendDump is a route's backend.
type BackendDump struct {
	Key         string     `json:"key"`
	Endpoints   []Endpoint `json:"endpoints,omitempty"`
	Unavailable string     `json:"unavailable,omitempty"`
	Protocol    Protocol   `json:"protocol,omitempty"`
}

// CertificateDump describes a certificate without its bytes.
type CertificateDump struct {
	// Subject is the leaf's subject in RFC 2253 form.
	Subject  string   `json:"subject,omitempty"`
	DNSNames []string `json:"dnsNames,omitempty"`
	// Serial is the leaf's serial number in hex.
	Serial string `json:"serial,omitempty"`
	// NotAfter is the end of validity, RFC 3339 UTC.
	NotAfter string `json:"notAfter,omitempty"`
	// SHA256 is the fingerprint of the leaf's DER bytes, hex.
	SHA256 string `json:"sha256,omitempty"`
	// Error is set when the leaf cannot be parsed.
	Error string `json:"error,omitempty"`
}

// Stats counts a table's contents.
type Stats struct {
	// Hosts counts virtual hosts, including "" when present.
	Hosts int `json:"hosts"`
	// Routes counts path routes (defaults excluded).
	Routes int `json:"routes"`
	// Backends counts distinct backend keys of routes and defaults.
	Backends int `json:"backends"`
	// Certificates counts hosts with a certificate.
	Certificates int `json:"certificates"`
}

// allHosts returns every virtual host sorted by name (a copy: Build does
// not sort, so that a table with many hosts is published sooner).
func (t *Table) allHosts() []*vhost {
	if t == nil {
		return nil
	}
	vs := slices.Clone(t.vhosts)
	slices.SortFunc(vs, func(a, b *vhost) int { return cmp.Compare(a.name, b.name) })
	return vs
}

// Stats counts hosts, routes, backends and certificates.
func (t *Table) Stats() Stats {
	var s Stats
	keys := make(map[string]struct{})
	addBackend := func(r *Route) {
		if r != nil && r.Backend != nil {
			keys[r.Backend.Key] = struct{}{}
		}
	}
	if t == nil {
		return s
	}
	for _, v := range t.vhosts {
		s.Hosts++
		s.Routes += len(v.routes)
		for _, r := range v.routes {
			addBackend(r)
		}
		addBackend(v.def)
		if v.cert() != nil {
			s.Certificates++
		}
	}
	addBackend(t.def)
	s.Backends = len(keys)
	return s
}

// Dump returns the deterministic view of the table.
func (t *Table) Dump() Dump {
	var d Dump
	if t == nil {
		return d
	}
	d.Generation = t.Generation
	d.Default = dumpDefault(t.def)
	for _, v := range t.allHosts() {
		h := HostDump{
			Host:          v.name,
			Default:       dumpDefault(v.def),
			HTTPSRedirect: v.redirect,
			Certificate:   DumpCertificate(v.cert()),
			ClientAuth:    v.clientAuth(),
		}
		routes := slices.Clone(v.routes)
		slices.SortFunc(routes, func(a, b *Route) int {
			return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.PathType, b.PathType))
		})
		for _, r := range routes {
			rd := dumpRoute(r)
			rd.Path, rd.PathType = r.Path, r.PathType.String()
			h.Routes = append(h.Routes, rd)
		}
		d.Hosts = append(d.Hosts, h)
	}
	return d
}

func dumpDefault(r *Route) *RouteDump {
	if r == nil {
		return nil
	}
	rd := dumpRoute(r)
	return &rd
}

func dumpRoute(r *Route) RouteDump {
	rd := RouteDump{Ingress: r.Ingress.String(), Policy: r.Policy, Rewrite: r.Rewrite, Upstream: r.Upstream,
		Regex: r.Regex != nil}
	if b := r.Backend; b != nil {
		rd.Backend = dumpBackend(b)
	}
	if p := r.Policy; p != nil {
		rd.BasicAuth = p.BasicAuth
		if p.ErrorPages != nil && p.ErrorPages.Backend != nil {
			eb := dumpBackend(p.ErrorPages.Backend)
			rd.ErrorBackend = &eb
		}
		if len(p.ResponseHeaders) > 0 {
			rd.ResponseHeaders = make(map[string]string, len(p.ResponseHeaders))
			for k, vv := range p.ResponseHeaders {
				rd.ResponseHeaders[k] = strings.Join(vv, ", ")
			}
		}
	}
	if c := r.Canary; c != nil {
		rd.Canary = &CanaryDump{Ingress: c.Ingress.String(), Rule: c.Rule}
		if c.Backend != nil {
			rd.Canary.Backend = dumpBackend(c.Backend)
		}
	}
	return rd
}

// DumpCertificate describes cert's leaf (cert.Leaf, or the first DER
// certificate parsed); nil for a nil or empty certificate.
func DumpCertificate(cert *tls.Certificate) *CertificateDump {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil
	}
	sum := sha256.Sum256(cert.Certificate[0])
	cd := &CertificateDump{SHA256: hex.EncodeToString(sum[:])}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			cd.Error = err.Error()
			return cd
		}
	}
	cd.Subject = leaf.Subject.String()
	cd.DNSNames = slices.Clone(leaf.DNSNames)
	if leaf.SerialNumber != nil {
		cd.Serial = leaf.SerialNumber.Text(16)
	}
	cd.NotAfter = leaf.NotAfter.UTC().Format(time.RFC3339)
	return cd
}

func dumpBackend(b *Backend) BackendDump {
	return BackendDump{Key: b.Key, Endpoints: slices.Clone(b.Endpoints), Unavailable: b.Unavailable, Protocol: b.Protocol}
}
