// Package routing holds the immutable routing table that the translator builds
// and the data plane reads. A Table is never modified after Build: the
// controller publishes a new one with a higher Generation through one atomic
// pointer swap, and every request loads the current table exactly once.
//
// Lookups (Table.Match, Table.Certificate) are lock-free and allocation-free.
//
// # Hosts
//
// Rule hosts are canonicalised by CanonicalHost: lower-cased, "" (the
// host-less virtual host that applies to every request), a DNS-1123 subdomain
// ("foo.com") or a one-label wildcard ("*.foo.com"). IP addresses, ports, a
// lone "*" and trailing dots are rejected, as the API server does.
//
// The request's Host is compared case-insensitively, without its ":port"
// (IPv6 literals such as "[::1]:80" are understood) and without one trailing
// dot. "*.foo.com" matches exactly one extra leading label: "bar.foo.com", but
// neither "foo.com" nor "baz.bar.foo.com".
//
// # Paths
//
// Within one host:
//   - Exact matches the whole URL path, case-sensitively ("/foo" matches only
//     "/foo", not "/foo/" nor "/FOO").
//   - Prefix matches element-wise on '/': a trailing '/' in the rule is
//     ignored ("/foo/" and "/foo" are the same rule, and a second one is a
//     duplicate), and "/foo" matches "/foo", "/foo/" and "/foo/bar" but not
//     "/foobar". "/" matches every path.
//   - ImplementationSpecific is exactly Prefix: same matching, and the same
//     key space, so Prefix "/foo" and ImplementationSpecific "/foo" are
//     duplicates of each other.
//
// Precedence is the longest matching path first (a Prefix rule's length is
// taken without its trailing '/'); at equal length Exact beats Prefix. The
// query string is not part of the path: callers pass URL.Path.
//
// # Regular-expression paths
//
// A Route with Regex (use-regex or rewrite-target on its Ingress) matches
// when its case-insensitive expression, anchored at the start ("(?i)^" +
// path, ingress-nginx's "~* ^path"), matches the normalised request path;
// it is not element-wise ("/img" matches "/images"). On a host with such
// routes: Exact paths first; then the regex and Prefix paths together,
// longest path as written first, a regex before a Prefix path of the same
// length (ingress-nginx sorts its regex locations by path length, longest
// first; when any Ingress of a host uses regex it turns every path of the
// host into one, so its longest path wins too). A regex path written exactly
// like a Prefix or ImplementationSpecific path of the same host is a
// duplicate of it (one nginx location per path). Hosts without regex routes
// keep the allocation-free matcher unchanged; a host with regex routes is
// matched through its maps (one Exact lookup, the Prefix candidates, then
// the expressions, which do not allocate either).
//
// # Path normalisation
//
// Match compares the NormalizePath form of the request path with rule paths
// normalised the same way: "//" is merged into "/", "." segments are
// dropped and ".." segments remove the segment before them (never above
// "/"). Callers pass the decoded URL.Path, so "%2F" and "%2E" count as '/'
// and '.'. Without this, "/public/../admin" would match a Prefix "/public"
// rule while the upstream resolves it to "/admin" (ingress-nginx normalises
// for the same reason). Normalisation only decides the route: the data plane
// forwards the request target unchanged, as the client sent it. Exact and
// Prefix rule paths cannot contain such sequences (the API server rejects
// them); an ImplementationSpecific "/a//b" is the rule "/a/b". Paths that
// need no normalisation cost one scan and no allocation.
//
// # Layout
//
// Lookups are dominated by cache misses on large tables, so hosts live in an
// open-addressing hash index of 64-byte slots; a slot's host name and the
// encoded keys of up to 16 paths share one string, scanned Exact first, then
// Prefix longest first. A host with more paths uses maps instead: one lookup
// for Exact, then one per candidate prefix of the request path, longest first
// (the whole path, then each prefix ending just before a '/'). Both give the
// same answers (FuzzMatch checks them against a naive matcher).
//
// # Fallback order
//
// Table.Match tries the exact host, then the wildcard host, then the host-less
// rules, and returns the route of the first of them that has a matching path.
// If none matches, the default backend of the most specific of those hosts
// that has one applies, then the table-wide default; otherwise Match.Route is
// nil and the data plane answers with its own 404.
//
// Match.HTTPSRedirect is true when the exact or the wildcard host matching the
// request (or the host-less virtual host) was marked with
// Builder.SetHTTPSRedirect, whether or not a path matched.
//
// Certificates are looked up by TLS server name: exact host first, then the
// one-label wildcard; there is no certificate for the host-less virtual host.
package routing
