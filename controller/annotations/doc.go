// Package annotations turns an Ingress's annotations into a typed, validated
// Policy, the input from which the translation (package translate) builds
// the neutral routing.Policy that the data plane reads; neither routing nor
// the data plane imports this package. It is pure: no I/O, no client-go
// calls, no global state.
//
// # Dialects
//
// Two prefixes are understood, one per IngressClass or controller flag
// (ParseDialect): ingresslab.dev/<name> and nginx.ingress.kubernetes.io/<name>.
// The names, value syntax, defaults and semantics are those of ingress-nginx's
// annotation documentation in both; equal inputs give equal Policies.
// Catalog lists every known name with its feature label and status
// (supported, refused, unsupported); Lookup classifies one key.
//
// # Validation
//
// Every value is bounded and validated before use: length (Options.
// MaxValueBytes), UTF-8, no control characters, then its own syntax -
// integers and durations within documented bounds, sizes in nginx syntax,
// CIDRs with net/netip, URLs with net/url restricted to absolute http(s)
// URLs without user info, host names as DNS-1123, header and cookie names as
// RFC 9110 tokens, regular expressions compiled with RE2 under a length and
// program-size limit (no backtracking). Values are data, never proxy
// configuration or code: the only substitutions are rewrite-target's $1..$9
// and a trailing $request_uri on redirect URLs, both precompiled.
//
// An invalid annotation yields a Warning and is ignored as a whole; features
// made of several annotations are applied all or nothing, and security
// features fail closed (Policy.Denied). Snippet annotations (server-snippet,
// configuration-snippet, stream-snippet, auth-snippet, modsecurity-snippet,
// any *-snippet) are refused: they let Ingress authors inject proxy
// configuration, the CVE-2021-25742 / CVE-2025-1974 ("IngressNightmare")
// class of attacks.
//
// # Scope
//
// One Policy per Ingress. Path-level features (rewrite, app-root,
// x-forwarded-prefix, upstream-vhost, ssl/force-ssl redirects, redirects,
// rate limits, timeouts, body size, retries, backend protocol, source ranges,
// auth, CORS, custom headers, default backend, custom HTTP errors) apply to
// every path of the annotated Ingress and to nothing else: another Ingress on
// the same host keeps its own Policy. Ingress-level features change how the
// Ingress as a whole is routed: canary (the Ingress becomes an alternative
// backend for the same host and paths of the main Ingress, and only its
// canary-* and affinity annotations count), affinity (its backends), upstream
// TLS. Host-level: server-alias adds host names that are served like the
// Ingress's own hosts. Unlike ingress-nginx, use-regex and rewrite-target
// switch only this Ingress's Prefix and ImplementationSpecific paths to
// regex matching (Exact paths stay exact), not every path of the host; see
// the routing package for the precedence of regex and other paths.
//
// A Policy is immutable after Parse and holds precompiled forms (Regex)
// with the methods that answer from them; the translation converts them
// into routing's own forms (translate.RoutePolicy), and the path
// expressions are shared. Where the neutral form is the same, the Policy
// holds routing's type directly (CORS built by routing.NewCORS, the rewrite
// target by routing.NewTemplate, StatusSet by routing.NewStatusSet,
// Redirect, RateLimit, Access, Prefixes, Timeouts, Denial) and the
// translation copies or shares it.
package annotations
