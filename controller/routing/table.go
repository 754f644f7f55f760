package routing

import (
	"crypto/tls"
	"iter"
)

// Table is an immutable routing table. Build one with a Builder. The zero
// Table (and a nil *Table) matches nothing.
type Table struct {
	// Generation increases with every published table.
	Generation uint64

	// exact indexes virtual hosts by lower-case host name.
	exact hostIndex
	// wildcard indexes "*.foo.com" by its suffix "foo.com".
	wildcard hostIndex
	// anyHost holds the rules without host; nil when there are none.
	anyHost *hostSlot
	// def is the table-wide default route (spec.defaultBackend).
	def *Route
	// vhosts lists every virtual host, in no particular order (Routes);
	// allHosts sorts a copy by name (Dump, Stats).
	vhosts []*vhost
	// routes counts the path routes of all hosts (Size).
	routes int
}

// Size returns the number of virtual hosts and of path routes (defaults
// excluded) without walking the table; Stats gives more, at a walk.
func (t *Table) Size() (hosts, routes int) {
	if t == nil {
		return 0, 0
	}
	return len(t.vhosts), t.routes
}

// vhost is one virtual host as the Builder collects it. Build adds the flat
// hostSlot that Match reads first; the maps here serve hosts with many paths.
type vhost struct {
	// name is the canonical rule host: "", "foo.com" or "*.foo.com".
	name string
	// exact maps a whole request path to its Exact route.
	exact map[string]*Route
	// prefix maps a Prefix (or ImplementationSpecific) rule path without
	// trailing '/' to its route ("/" is the key "").
	prefix map[string]*Route
	// maxPrefix is the length of the longest prefix key; candidates longer
	// than it are not looked up. redirect marks a TLS host.
	maxPrefix int32
	redirect  bool
	// entries hold the Exact and Prefix paths while the Builder adds them,
	// as long as there are few (smallPaths): most hosts have one or two
	// paths, and a linear scan of those is cheaper than two maps built on
	// every table for every host only to be encoded into the host's slot
	// (index.go). The maps take over from the first path beyond that, and
	// for a host with regular-expression routes at Build.
	entries []pathEntry
	// routes lists the path routes in insertion order.
	routes []*Route
	// def is the host's default route.
	def *Route
	// rare holds what few hosts have; nil without any of it.
	rare *vhostRare
	// slot is this host's entry in the table's index while Build runs
	// (nil afterwards: a vhost a later table shares must not keep this
	// table's index alive).
	slot *hostSlot
	// wildcard is, for an exact host, the wildcard host that also matches
	// it (set by Build), so Match needs one host lookup.
	wildcard *hostSlot
}

// vhostRare is the part of a vhost that most hosts do without: kept apart,
// so that a vhost is 128 bytes rather than 176 (one per host of a table).
type vhostRare struct {
	// regex lists the regular-expression routes, longest path (as written)
	// first, then in insertion order (sorted by Build); regexPaths indexes
	// them by path. A host with regex routes is always matched through
	// match (never the flat encoding of its slot).
	regex      []*Route
	regexPaths map[string]*Route
	// cert is the host's certificate; nil without.
	cert *tls.Certificate
	// clientAuth is the host's client certificate authentication; nil
	// without.
	clientAuth *ClientAuth
}

// rareFields returns v.rare, made when nil (the Builder only).
func (v *vhost) rareFields() *vhostRare {
	if v.rare == nil {
		v.rare = &vhostRare{}
	}
	return v.rare
}

// regexes returns the host's regular-expression routes.
func (v *vhost) regexes() []*Route {
	if v.rare == nil {
		return nil
	}
	return v.rare.regex
}

// regexPath returns the regular-expression route written as path, or nil.
func (v *vhost) regexPath(path string) *Route {
	if v.rare == nil {
		return nil
	}
	return v.rare.regexPaths[path]
}

// cert returns the host's certificate, or nil.
func (v *vhost) cert() *tls.Certificate {
	if v.rare == nil {
		return nil
	}
	return v.rare.cert
}

// clientAuth returns the host's client certificate authentication, or nil.
func (v *vhost) clientAuth() *ClientAuth {
	if v.rare == nil {
		return nil
	}
	return v.rare.clientAuth
}

// pathEntry is an Exact or Prefix path of a host being built: its kind
// (entryExact, entryPrefix), its map key (the exact or prefix key) and
// route.
type pathEntry struct {
	kind  byte
	key   string
	route *Route
}

// match returns the route of the longest matching path, Exact first at equal
// length, or nil. With regular-expression routes: Exact first, then the
// regex and Prefix routes longest path first (see matchRegex).
func (v *vhost) match(path string) *Route {
	if r := v.exact[path]; r != nil {
		return r
	}
	if len(v.regexes()) > 0 {
		return v.matchRegex(path)
	}
	return v.matchPrefix(path)
}

// matchRegex is match after Exact for a host with regular-expression
// routes: regex and Prefix routes are tried longest path (as written) first,
// a regex before a Prefix path of the same length; ingress-nginx orders its
// regex locations the same way. The Prefix candidate is the longest
// matching one, so a regex route shorter than it is never tried.
func (v *vhost) matchRegex(path string) *Route {
	p := v.matchPrefix(path)
	for _, r := range v.regexes() {
		if p != nil && len(r.Path) < len(p.Path) {
			return p
		}
		if r.Regex.MatchString(path) {
			return r
		}
	}
	return p
}

// matchPrefix returns the route of the longest matching Prefix path, or nil.
func (v *vhost) matchPrefix(path string) *Route {
	if len(v.prefix) == 0 {
		return nil
	}
	if len(path) <= int(v.maxPrefix) {
		if r := v.prefix[path]; r != nil {
			return r
		}
	}
	for i := min(len(path)-1, int(v.maxPrefix)); i >= 0; i-- {
		if path[i] == '/' {
			if r := v.prefix[path[:i]]; r != nil {
				return r
			}
		}
	}
	if len(path) == 0 || path[0] != '/' {
		// Not a normal path ("*" of OPTIONS *): only Prefix "/" matches it.
		return v.prefix[""]
	}
	return nil
}

// hosts returns the slot of the exact host, or else the slot of the
// wildcard host, for a request host. It does not read the exact host's
// wildcard: Match needs it only when no path of the exact host matches.
func (t *Table) hosts(host string) (exact, wildcard *hostSlot) {
	var buf [maxHostLen]byte
	n, ok := requestHost(host, &buf)
	if !ok {
		return nil, nil
	}
	h := buf[:n]
	if exact = t.exact.lookup(h); exact != nil {
		return exact, nil
	}
	if len(t.wildcard.slots) > 0 {
		if i, ok := wildcardSuffix(h); ok {
			wildcard = t.wildcard.lookup(h[i:])
		}
	}
	return nil, wildcard
}

// Match finds the route for a request's Host header (any case, with or
// without :port) and URL path (the decoded URL.Path), which it matches in
// its NormalizePath form. It allocates only for a path that needs
// normalising.
//
// Order: the exact host, then the one-label wildcard host, then rules without
// host; within a host Exact beats Prefix, longer beats shorter. If no path
// matches, the default backend of the most specific matching host applies,
// then the table's default backend; otherwise Match.Route is nil.
func (t *Table) Match(host, path string) Match {
	if t == nil {
		return Match{}
	}
	path = NormalizePath(path)
	ex, wc := t.hosts(host)
	ah := t.anyHost
	var m Match
	switch {
	case ex != nil:
		m.HTTPSRedirect = ex.redirect
		if ex.auth {
			m.ClientAuth = ex.v.clientAuth()
		}
		if m.Route = ex.match(path); m.Route != nil {
			return m
		}
		wc = ex.v.wildcard
	case wc != nil:
		m.HTTPSRedirect = wc.redirect
		if wc.auth {
			m.ClientAuth = wc.v.clientAuth()
		}
	case ah != nil:
		m.HTTPSRedirect = ah.redirect
		if ah.auth {
			m.ClientAuth = ah.v.clientAuth()
		}
	}
	if wc != nil {
		if m.Route = wc.match(path); m.Route != nil {
			return m
		}
	}
	if ah != nil {
		if m.Route = ah.match(path); m.Route != nil {
			return m
		}
	}
	switch {
	case ex != nil && ex.v.def != nil:
		m.Route = ex.v.def
	case wc != nil && wc.v.def != nil:
		m.Route = wc.v.def
	case ah != nil && ah.v.def != nil:
		m.Route = ah.v.def
	default:
		m.Route = t.def
	}
	return m
}

// Certificate returns the certificate for a TLS server name (exact, then
// one-label wildcard), or nil when the caller should use its default.
func (t *Table) Certificate(serverName string) *tls.Certificate {
	if t == nil {
		return nil
	}
	ex, wc := t.hosts(serverName)
	if ex != nil {
		if c := ex.v.cert(); c != nil {
			return c
		}
		wc = ex.v.wildcard
	}
	if wc != nil {
		return wc.v.cert()
	}
	return nil
}

// ClientAuth returns the client certificate authentication of the host a
// TLS server name selects (the exact host, else its one-label wildcard),
// or nil.
func (t *Table) ClientAuth(serverName string) *ClientAuth {
	if t == nil {
		return nil
	}
	ex, wc := t.hosts(serverName)
	switch {
	case ex != nil:
		return ex.v.clientAuth()
	case wc != nil:
		return wc.v.clientAuth()
	}
	return nil
}

// Routes yields every route of the table: each host's path routes and
// default, then the table-wide default. A route that is the default of
// several hosts is yielded once per host. It does not allocate per route.
func (t *Table) Routes() iter.Seq[*Route] {
	return func(yield func(*Route) bool) {
		if t == nil {
			return
		}
		for _, v := range t.vhosts {
			for _, r := range v.routes {
				if !yield(r) {
					return
				}
			}
			if v.def != nil && !yield(v.def) {
				return
			}
		}
		if t.def != nil {
			yield(t.def)
		}
	}
}
