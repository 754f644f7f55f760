package routing

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrDuplicateRoute is returned by Builder.AddRoute for a second route with
// the same host, path type and path. The translator resolves conflicts before
// adding (oldest Ingress wins) and reports the loser as a warning.
var ErrDuplicateRoute = errors.New("duplicate route")

// errBuilt is returned when a Builder is used after Build.
var errBuilt = errors.New("routing: builder used after Build")

// DuplicateRouteError is the error AddRoute returns for a route whose host and
// matching key are taken; errors.Is(err, ErrDuplicateRoute) holds. Prefix and
// ImplementationSpecific share one key space, and a Prefix path's trailing
// '/' is not part of its key.
type DuplicateRouteError struct {
	// Route is the rejected route; Existing is the route that holds the key.
	Route, Existing *Route
}

// Error describes the conflict, naming both Ingresses.
func (e *DuplicateRouteError) Error() string {
	return fmt.Sprintf("%v: host %q %s path %q of ingress %s is already routed by ingress %s (%s %q)",
		ErrDuplicateRoute, e.Route.Host, e.Route.PathType, e.Route.Path, e.Route.Ingress,
		e.Existing.Ingress, e.Existing.PathType, e.Existing.Path)
}

// Unwrap returns ErrDuplicateRoute.
func (e *DuplicateRouteError) Unwrap() error { return ErrDuplicateRoute }

// Builder collects routes for one Table. It is not safe for concurrent use.
// The zero Builder is ready to use.
type Builder struct {
	hosts map[string]*vhost
	def   *Route
	built bool
	// smallLimit overrides smallPaths in tests (-1: always use maps).
	smallLimit int
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{} }

// Grow makes room for about hosts virtual hosts, so that a large table is
// built without growing its host map step by step.
func (b *Builder) Grow(hosts int) {
	if b.hosts == nil && hosts > 0 {
		b.hosts = make(map[string]*vhost, hosts)
	}
}

// vhost returns the virtual host for a rule host, creating it when create is
// set; nil for an invalid host or a used Builder.
func (b *Builder) vhost(host string, create bool) (*vhost, error) {
	if b.built {
		return nil, errBuilt
	}
	h, err := CanonicalHost(host)
	if err != nil {
		return nil, err
	}
	if v := b.hosts[h]; v != nil || !create {
		return v, nil
	}
	if b.hosts == nil {
		b.hosts = make(map[string]*vhost)
	}
	v := &vhost{name: h, maxPrefix: -1}
	b.hosts[h] = v
	return v, nil
}

// AddRoute adds a route; it returns ErrDuplicateRoute (wrapped, as a
// *DuplicateRouteError) when the host, path type and path are already taken,
// and an error for an invalid host or path. r.Host is canonicalised for the
// lookup, r itself is kept as given and must not be modified afterwards.
func (b *Builder) AddRoute(r *Route) error {
	if r == nil {
		return errors.New("routing: nil route")
	}
	if r.Backend == nil {
		return fmt.Errorf("routing: route host %q path %q of ingress %s: no backend", r.Host, r.Path, r.Ingress)
	}
	if !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("routing: route host %q of ingress %s: path %q must start with '/'", r.Host, r.Ingress, r.Path)
	}
	if r.PathType > PathImplementationSpecific {
		return fmt.Errorf("routing: route host %q path %q of ingress %s: unknown path type %d", r.Host, r.Path, r.Ingress, r.PathType)
	}
	// Validate the host before creating anything for it.
	v, err := b.vhost(r.Host, true)
	if err != nil {
		return fmt.Errorf("routing: route of ingress %s: %w", r.Ingress, err)
	}
	if r.Regex != nil && r.PathType == PathExact {
		return fmt.Errorf("routing: route host %q path %q of ingress %s: an Exact path cannot be a regular expression", r.Host, r.Path, r.Ingress)
	}
	if old := v.conflict(r); old != nil {
		return &DuplicateRouteError{Route: r, Existing: old}
	}
	switch {
	case r.Regex != nil:
		x := v.rareFields()
		if x.regexPaths == nil {
			x.regexPaths = make(map[string]*Route)
		}
		x.regexPaths[r.Path] = r
		x.regex = append(x.regex, r)
	case r.PathType == PathExact:
		v.addPath(entryExact, NormalizePath(r.Path), r, b.limit())
	default:
		key := prefixKey(NormalizePath(r.Path))
		v.addPath(entryPrefix, key, r, b.limit())
		v.maxPrefix = max(v.maxPrefix, int32(min(len(key), math.MaxInt32)))
	}
	v.routes = append(v.routes, r)
	return nil
}

// limit is the most paths a host may have for the flat encoding (and the
// builder's entries).
func (b *Builder) limit() int {
	if b.smallLimit != 0 {
		return b.smallLimit
	}
	return smallPaths
}

// addPath records an Exact or Prefix path: in entries while the host has
// fewer than limit of them and no maps, else in the maps.
func (v *vhost) addPath(kind byte, key string, r *Route, limit int) {
	if v.exact == nil && v.prefix == nil && len(v.entries) < limit {
		v.entries = append(v.entries, pathEntry{kind, key, r})
		return
	}
	v.useMaps()
	v.setPath(pathEntry{kind, key, r})
}

// useMaps moves the entries into the exact and prefix maps.
func (v *vhost) useMaps() {
	for _, e := range v.entries {
		v.setPath(e)
	}
	v.entries = nil
}

// setPath puts e into its map (made when needed).
func (v *vhost) setPath(e pathEntry) {
	m := &v.prefix
	if e.kind == entryExact {
		m = &v.exact
	}
	if *m == nil {
		*m = make(map[string]*Route)
	}
	(*m)[e.key] = e.route
}

// path returns the route of the Exact or Prefix key, from the entries or
// the maps, or nil.
func (v *vhost) path(kind byte, key string) *Route {
	for i := range v.entries {
		if e := &v.entries[i]; e.kind == kind && e.key == key {
			return e.route
		}
	}
	if kind == entryExact {
		return v.exact[key]
	}
	return v.prefix[key]
}

// conflict returns the route of v that holds r's key, or nil. Exact paths
// compare normalised; Prefix and ImplementationSpecific paths share one key
// space without trailing '/'; a regular-expression path conflicts with a
// regular-expression path written identically, and with a Prefix or
// ImplementationSpecific path written identically (ingress-nginx renders one
// location per path string), and vice versa.
func (v *vhost) conflict(r *Route) *Route {
	switch {
	case r.Regex != nil:
		if old := v.regexPath(r.Path); old != nil {
			return old
		}
		if old := v.path(entryPrefix, prefixKey(NormalizePath(r.Path))); old != nil && old.Path == r.Path {
			return old
		}
		return nil
	case r.PathType == PathExact:
		return v.path(entryExact, NormalizePath(r.Path))
	}
	if old := v.path(entryPrefix, prefixKey(NormalizePath(r.Path))); old != nil {
		return old
	}
	return v.regexPath(r.Path)
}

// Lookup returns the route that holds host, path type and path (with the same
// key rules as AddRoute for a route without Regex), or nil. For Prefix and
// ImplementationSpecific a regular-expression route written exactly as path
// comes first.
func (b *Builder) Lookup(host string, pt PathType, path string) *Route {
	v, err := b.vhost(host, false)
	if err != nil || v == nil {
		return nil
	}
	if pt == PathExact {
		return v.path(entryExact, NormalizePath(path))
	}
	if r := v.regexPath(path); r != nil {
		return r
	}
	return v.path(entryPrefix, prefixKey(NormalizePath(path)))
}

// Conflict returns the route that would make AddRoute(r) fail with
// ErrDuplicateRoute, or nil. r is not added.
func (b *Builder) Conflict(r *Route) *Route {
	if r == nil {
		return nil
	}
	v, err := b.vhost(r.Host, false)
	if err != nil || v == nil {
		return nil
	}
	return v.conflict(r)
}

// SetHostDefault sets the backend for requests to host ("", "a.b", "*.b")
// that match none of its paths. The first call for a host wins; it reports
// whether this call took effect. An invalid host or a nil route never takes
// effect.
func (b *Builder) SetHostDefault(host string, r *Route) bool {
	if r == nil || r.Backend == nil {
		return false
	}
	v, err := b.vhost(host, true)
	if err != nil || v.def != nil {
		return false
	}
	v.def = r
	return true
}

// HostDefault returns the default route set for host, or nil.
func (b *Builder) HostDefault(host string) *Route {
	if v, err := b.vhost(host, false); err == nil && v != nil {
		return v.def
	}
	return nil
}

// SetDefault sets the table-wide default route (spec.defaultBackend) used when
// no host or path matches. The first call wins; it reports whether this call
// took effect.
func (b *Builder) SetDefault(r *Route) bool {
	if b.built || r == nil || r.Backend == nil || b.def != nil {
		return false
	}
	b.def = r
	return true
}

// Default returns the table-wide default route set so far, or nil.
func (b *Builder) Default() *Route { return b.def }

// SetHTTPSRedirect marks host ("a.b" or "*.b") as TLS-enabled: plain-HTTP
// requests for it get Match.HTTPSRedirect. Marking "" redirects every host.
// An invalid host is ignored.
func (b *Builder) SetHTTPSRedirect(host string) {
	if v, err := b.vhost(host, true); err == nil {
		v.redirect = true
	}
}

// AddCertificate serves cert for host ("a.b" or "*.b"). The first call for a
// host wins; it reports whether this call took effect. A nil certificate, the
// host "" and an invalid host never take effect.
func (b *Builder) AddCertificate(host string, cert *tls.Certificate) bool {
	if cert == nil || host == "" {
		return false
	}
	v, err := b.vhost(host, true)
	if err != nil || v.cert() != nil {
		return false
	}
	v.rareFields().cert = cert
	return true
}

// SetClientAuth sets host's client certificate authentication ("a.b",
// "*.b" or "" for the rules without host). The first call for a host wins;
// it reports whether this call took effect (also when ca is the one
// already set).
func (b *Builder) SetClientAuth(host string, ca *ClientAuth) bool {
	if ca == nil {
		return false
	}
	v, err := b.vhost(host, true)
	if err != nil || v.clientAuth() != nil && v.clientAuth() != ca {
		return false
	}
	v.rareFields().clientAuth = ca
	return true
}

// Build returns the immutable table. The Builder must not be used afterwards:
// later calls fail (AddRoute returns an error, the setters take no effect).
func (b *Builder) Build(generation uint64) *Table {
	limit := b.limit()
	t := &Table{Generation: generation, def: b.def}
	var exact, wild []*vhost
	var anyHost *vhost
	for name, v := range b.hosts {
		slices.SortStableFunc(v.regexes(), func(a, b *Route) int { return cmp.Compare(len(b.Path), len(a.Path)) })
		switch {
		case name == "":
			anyHost = v
		case strings.HasPrefix(name, "*."):
			wild = append(wild, v)
		default:
			exact = append(exact, v)
		}
		t.vhosts = append(t.vhosts, v)
		t.routes += len(v.routes)
	}
	t.exact = newHostIndex(exact, func(v *vhost) string { return v.name }, limit)
	t.wildcard = newHostIndex(wild, func(v *vhost) string { return v.name[2:] }, limit)
	anyRedirect := false
	if anyHost != nil {
		s := newSlot(1, "", anyHost, limit)
		t.anyHost, anyHost.slot = &s, &s
		s.redirect, anyRedirect = anyHost.redirect, anyHost.redirect
	}
	for _, v := range wild {
		v.slot.redirect = v.redirect || anyRedirect
	}
	for _, v := range exact {
		if i, ok := wildcardSuffix([]byte(v.name)); ok {
			v.wildcard = t.wildcard.lookup([]byte(v.name[i:]))
		}
		v.slot.redirect = v.redirect || v.wildcard != nil && v.wildcard.v.redirect || anyRedirect
	}
	// slot served the build only. A vhost outlives its table when a later
	// table shares it (Table.Patch), and must not keep this table's index
	// arrays alive then.
	for _, v := range t.vhosts {
		v.slot = nil
	}
	b.hosts, b.def, b.built = nil, nil, true
	return t
}
