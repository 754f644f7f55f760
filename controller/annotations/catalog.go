package annotations

import (
	"slices"
	"strings"
)

// Status says what the reference controller does with an annotation.
type Status string

const (
	// StatusSupported annotations are parsed into the Policy.
	StatusSupported Status = "supported"
	// StatusRefused annotations carry raw proxy configuration (snippets);
	// they are never applied and always produce a warning.
	StatusRefused Status = "refused"
	// StatusUnsupported annotations are known ingress-nginx annotations
	// that the reference controller does not implement; they produce a
	// warning and are ignored.
	StatusUnsupported Status = "unsupported"
)

// Scope says how far an annotation's effect reaches.
type Scope string

const (
	// ScopePath: applies to every path of the annotated Ingress, each on
	// its own (rewrites, redirects, limits, auth, headers, ...).
	ScopePath Scope = "path"
	// ScopeIngress: changes how the Ingress as a whole takes part in
	// routing (canary, session affinity of its backends, upstream TLS).
	ScopeIngress Scope = "ingress"
	// ScopeHost: adds to or changes the virtual hosts of the Ingress's rules
	// (server-alias).
	ScopeHost Scope = "host"
)

// Entry describes one annotation in one dialect.
type Entry struct {
	// Key is the full annotation key, e.g. "ingresslab.dev/rewrite-target".
	Key string `json:"key"`
	// Name is the short name shared by both dialects, e.g. "rewrite-target".
	Name    string  `json:"name"`
	Dialect Dialect `json:"dialect"`
	// Feature is the feature label used by suites, profiles and reports,
	// e.g. "rewrite", "rate-limit", "cors", "canary", "snippet".
	Feature string `json:"feature"`
	Status  Status `json:"status"`
	Scope   Scope  `json:"scope,omitempty"`
	// Differences, when set, says how the reference controller's behaviour
	// differs from ingress-nginx's documentation for this annotation (the
	// scan reports such annotations as "variant" in the nginx dialect).
	Differences string `json:"differences,omitempty"`
}

// spec is a dialect-free catalogue row.
type spec struct {
	name, feature string
	status        Status
	scope         Scope
	differences   string
}

// Feature labels.
const (
	FeatureRewrite          = "rewrite"
	FeatureAppRoot          = "app-root"
	FeatureXForwardedPrefix = "x-forwarded-prefix"
	FeatureUpstreamVhost    = "upstream-vhost"
	FeatureSSLRedirect      = "ssl-redirect"
	FeatureRedirect         = "redirect"
	FeatureRateLimit        = "rate-limit"
	FeatureTimeouts         = "timeouts"
	FeatureBodySize         = "body-size"
	FeatureRetries          = "retries"
	FeatureBackendProtocol  = "backend-protocol"
	FeatureUpstreamTLS      = "upstream-tls"
	FeatureSourceRange      = "source-range"
	FeatureBasicAuth        = "basic-auth"
	FeatureExternalAuth     = "external-auth"
	FeatureClientCertAuth   = "client-cert-auth"
	FeatureCORS             = "cors"
	FeatureCanary           = "canary"
	FeatureAffinity         = "affinity"
	FeatureCustomHeaders    = "custom-headers"
	FeatureServerAlias      = "server-alias"
	FeatureDefaultBackend   = "default-backend"
	FeatureCustomHTTPErrors = "custom-http-errors"
	FeatureSnippet          = "snippet"
)

const (
	diffRE2      = "regular expressions are RE2 (no lookaround or backreferences; PCRE in ingress-nginx)"
	diffNoVars   = "nginx variables are not expanded; values are literal"
	diffSameNS   = "a namespace other than the Ingress's is refused unless the controller allows cross-namespace references"
	snippetNote  = "raw proxy configuration (CVE-2025-1974 / CVE-2021-25742 class): refused"
	diffRedirect = "only the $request_uri variable is expanded, and only at the end of the URL (ingress-nginx controller-v1.15.1 refuses a \"$\" in the URL and drops the whole Ingress)"
	diffStreams  = "checked, then without effect: the data plane streams request and response bodies (as with ingress-nginx's proxy-buffering off and proxy-request-buffering off)"
)

var specs = []spec{
	// Rewrite and upstream request shaping.
	{"rewrite-target", FeatureRewrite, StatusSupported, ScopePath, "capture groups $1..$9 only; " + diffRE2},
	{"use-regex", FeatureRewrite, StatusSupported, ScopePath, diffRE2 + "; applies to this Ingress's Prefix and ImplementationSpecific paths only, not to every path of the host (other Ingresses' paths keep their own matching and are ordered with the regex paths, longest first); Exact paths stay exact"},
	{"app-root", FeatureAppRoot, StatusSupported, ScopePath, ""},
	{"x-forwarded-prefix", FeatureXForwardedPrefix, StatusSupported, ScopePath, ""},
	{"upstream-vhost", FeatureUpstreamVhost, StatusSupported, ScopePath, "a host name (optionally :port) only; " + diffNoVars},
	// Redirects.
	{"ssl-redirect", FeatureSSLRedirect, StatusSupported, ScopePath, ""},
	{"force-ssl-redirect", FeatureSSLRedirect, StatusSupported, ScopePath, ""},
	{"preserve-trailing-slash", FeatureSSLRedirect, StatusUnsupported, ScopePath, ""},
	{"permanent-redirect", FeatureRedirect, StatusSupported, ScopePath, diffRedirect},
	{"permanent-redirect-code", FeatureRedirect, StatusSupported, ScopePath, ""},
	{"temporal-redirect", FeatureRedirect, StatusSupported, ScopePath, diffRedirect},
	{"temporal-redirect-code", FeatureRedirect, StatusSupported, ScopePath, ""},
	{"from-to-www-redirect", FeatureFromToWWW, StatusSupported, ScopeHost, "the redirect host is added only when no Ingress has it as a rule host"},
	{"use-port-in-redirects", FeatureRedirect, StatusUnsupported, ScopePath, ""},
	// Rate limiting.
	{"limit-rps", FeatureRateLimit, StatusSupported, ScopePath, ""},
	{"limit-rpm", FeatureRateLimit, StatusSupported, ScopePath, ""},
	{"limit-connections", FeatureRateLimit, StatusSupported, ScopePath, ""},
	{"limit-burst-multiplier", FeatureRateLimit, StatusSupported, ScopePath, ""},
	{"limit-whitelist", FeatureRateLimit, StatusSupported, ScopePath, ""},
	{"limit-allowlist", FeatureRateLimit, StatusSupported, ScopePath, ""},
	{"limit-rate", FeatureRateLimit, StatusUnsupported, ScopePath, ""},
	{"limit-rate-after", FeatureRateLimit, StatusUnsupported, ScopePath, ""},
	{"global-rate-limit", FeatureRateLimit, StatusUnsupported, ScopePath, ""},
	{"global-rate-limit-window", FeatureRateLimit, StatusUnsupported, ScopePath, ""},
	{"global-rate-limit-key", FeatureRateLimit, StatusUnsupported, ScopePath, ""},
	{"global-rate-limit-ignored-cidrs", FeatureRateLimit, StatusUnsupported, ScopePath, ""},
	// Timeouts, body size, retries.
	{"proxy-connect-timeout", FeatureTimeouts, StatusSupported, ScopePath, ""},
	{"proxy-read-timeout", FeatureTimeouts, StatusSupported, ScopePath, ""},
	{"proxy-send-timeout", FeatureTimeouts, StatusSupported, ScopePath, ""},
	{"proxy-body-size", FeatureBodySize, StatusSupported, ScopePath, ""},
	{"proxy-next-upstream-tries", FeatureRetries, StatusSupported, ScopePath, ""},
	{"proxy-next-upstream", FeatureRetries, StatusUnsupported, ScopePath, ""},
	{"proxy-next-upstream-timeout", FeatureRetries, StatusUnsupported, ScopePath, ""},
	// Backend protocol and upstream TLS.
	{"backend-protocol", FeatureBackendProtocol, StatusSupported, ScopePath, "HTTP, HTTPS, GRPC, GRPCS and H2C; AJP, FCGI and AUTO_HTTP are not supported"},
	{"proxy-ssl-verify", FeatureUpstreamTLS, StatusSupported, ScopeIngress, ""},
	{"proxy-ssl-secret", FeatureUpstreamTLS, StatusSupported, ScopeIngress, diffSameNS},
	{"proxy-ssl-name", FeatureUpstreamTLS, StatusSupported, ScopeIngress, ""},
	{"proxy-ssl-server-name", FeatureUpstreamTLS, StatusSupported, ScopeIngress, ""},
	{"proxy-ssl-verify-depth", FeatureUpstreamTLS, StatusSupported, ScopeIngress, ""},
	{"proxy-ssl-ciphers", FeatureUpstreamTLS, StatusUnsupported, ScopeIngress, ""},
	{"proxy-ssl-protocols", FeatureUpstreamTLS, StatusUnsupported, ScopeIngress, ""},
	// Source ranges.
	{"whitelist-source-range", FeatureSourceRange, StatusSupported, ScopePath, ""},
	{"allowlist-source-range", FeatureSourceRange, StatusSupported, ScopePath, ""},
	{"denylist-source-range", FeatureSourceRange, StatusSupported, ScopePath, ""},
	// Basic auth.
	{"auth-type", FeatureBasicAuth, StatusSupported, ScopePath, "basic only (digest is not supported)"},
	{"auth-secret", FeatureBasicAuth, StatusSupported, ScopePath, diffSameNS},
	{"auth-secret-type", FeatureBasicAuth, StatusSupported, ScopePath, ""},
	{"auth-realm", FeatureBasicAuth, StatusSupported, ScopePath, ""},
	{"satisfy", FeatureBasicAuth, StatusUnsupported, ScopePath, ""},
	// External auth.
	{"auth-url", FeatureExternalAuth, StatusSupported, ScopePath, diffNoVars},
	{"auth-method", FeatureExternalAuth, StatusSupported, ScopePath, ""},
	{"auth-response-headers", FeatureExternalAuth, StatusSupported, ScopePath, ""},
	{"auth-signin", FeatureExternalAuth, StatusSupported, ScopePath, diffNoVars},
	{"auth-signin-redirect-param", FeatureExternalAuth, StatusSupported, ScopePath, ""},
	{"auth-request-redirect", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"auth-proxy-set-headers", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"auth-cache-key", FeatureExternalAuth, StatusSupported, ScopePath, "variables $request_uri, $uri, $host, $scheme, $remote_addr, $args, $http_NAME, $cookie_NAME and $arg_NAME; entries are per host and path rule, at most 10,000 in the controller"},
	{"auth-cache-duration", FeatureExternalAuth, StatusSupported, ScopePath, ""},
	{"auth-keepalive", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"auth-keepalive-requests", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"auth-keepalive-timeout", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"auth-keepalive-share-vars", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"auth-always-set-cookie", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	{"enable-global-auth", FeatureExternalAuth, StatusUnsupported, ScopePath, ""},
	// Client certificates.
	{"auth-tls-secret", FeatureClientCertAuth, StatusSupported, ScopeHost, diffSameNS + "; the CA is the Secret's ca.crt; the first Ingress (oldest) of a host with the annotation sets it for the whole host"},
	{"auth-tls-verify-depth", FeatureClientCertAuth, StatusSupported, ScopeHost, ""},
	{"auth-tls-verify-client", FeatureClientCertAuth, StatusSupported, ScopeHost, ""},
	{"auth-tls-error-page", FeatureClientCertAuth, StatusSupported, ScopeHost, "an absolute http(s) URL; refused clients are redirected there with 302"},
	{"auth-tls-pass-certificate-to-upstream", FeatureClientCertAuth, StatusSupported, ScopeHost, ""},
	{"auth-tls-match-cn", FeatureClientCertAuth, StatusSupported, ScopeHost, diffRE2 + "; matched against the subject DN (RFC 2253)"},
	// CORS.
	{"enable-cors", FeatureCORS, StatusSupported, ScopePath, ""},
	{"cors-allow-origin", FeatureCORS, StatusSupported, ScopePath, ""},
	{"cors-allow-methods", FeatureCORS, StatusSupported, ScopePath, ""},
	{"cors-allow-headers", FeatureCORS, StatusSupported, ScopePath, ""},
	{"cors-expose-headers", FeatureCORS, StatusSupported, ScopePath, ""},
	{"cors-allow-credentials", FeatureCORS, StatusSupported, ScopePath, ""},
	{"cors-max-age", FeatureCORS, StatusSupported, ScopePath, ""},
	// Canary.
	{"canary", FeatureCanary, StatusSupported, ScopeIngress, ""},
	{"canary-weight", FeatureCanary, StatusSupported, ScopeIngress, ""},
	{"canary-weight-total", FeatureCanary, StatusSupported, ScopeIngress, "in the nginx dialect a total below 100 is read as 100, as ingress-nginx does"},
	{"canary-by-header", FeatureCanary, StatusSupported, ScopeIngress, ""},
	{"canary-by-header-value", FeatureCanary, StatusSupported, ScopeIngress, ""},
	{"canary-by-header-pattern", FeatureCanary, StatusSupported, ScopeIngress, diffRE2},
	{"canary-by-cookie", FeatureCanary, StatusSupported, ScopeIngress, ""},
	// Session affinity.
	{"affinity", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"affinity-mode", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-name", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-path", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-max-age", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-expires", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-samesite", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-secure", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-domain", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-change-on-failure", FeatureAffinity, StatusSupported, ScopeIngress, ""},
	{"session-cookie-conditional-samesite-none", FeatureAffinity, StatusUnsupported, ScopeIngress, ""},
	{"session-cookie-partitioned", FeatureAffinity, StatusUnsupported, ScopeIngress, ""},
	{"affinity-canary-behavior", FeatureAffinity, StatusUnsupported, ScopeIngress, ""},
	// Headers, aliases, default backend, errors.
	{"custom-headers", FeatureCustomHeaders, StatusSupported, ScopePath, "response headers from a ConfigMap in the Ingress's namespace; " + diffNoVars + "; one invalid entry (not a token name, control characters, a framing header such as Content-Length) makes the whole ConfigMap ignored"},
	{"connection-proxy-header", FeatureCustomHeaders, StatusUnsupported, ScopePath, ""},
	{"server-alias", FeatureServerAlias, StatusSupported, ScopeHost, "an alias serves the paths of every rule with a host of the Ingress, and its defaultBackend; an alias that another Ingress has as a rule host is not used (warning); the alias gets a certificate only when spec.tls lists it"},
	{"default-backend", FeatureDefaultBackend, StatusSupported, ScopePath, "the Service's first TCP port; it replaces the backend of paths whose Service has no ready endpoints (or does not exist) and answers custom-http-errors"},
	{"custom-http-errors", FeatureCustomHTTPErrors, StatusSupported, ScopePath, "the default-backend annotation's Service is asked GET / with X-Code, X-Format, X-Original-URI, X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port and X-Request-ID, and the client gets the upstream's status with its body; without that annotation (or when it cannot answer) the data plane's own short error page, not the controller's default backend"},
	{"disable-proxy-intercept-errors", FeatureCustomHTTPErrors, StatusUnsupported, ScopePath, ""},
	// Raw configuration: refused.
	{"server-snippet", FeatureSnippet, StatusRefused, ScopeHost, snippetNote},
	{"configuration-snippet", FeatureSnippet, StatusRefused, ScopePath, snippetNote},
	{"stream-snippet", FeatureSnippet, StatusRefused, ScopeIngress, snippetNote},
	{"auth-snippet", FeatureSnippet, StatusRefused, ScopePath, snippetNote},
	{"modsecurity-snippet", FeatureSnippet, StatusRefused, ScopeIngress, snippetNote},
	// Other known ingress-nginx annotations, not implemented.
	{"client-body-buffer-size", FeatureBuffering, StatusSupported, ScopePath, diffStreams},
	{"proxy-buffering", FeatureBuffering, StatusSupported, ScopePath, diffStreams},
	{"proxy-buffers-number", FeatureBuffering, StatusSupported, ScopePath, diffStreams},
	{"proxy-buffer-size", FeatureBuffering, StatusSupported, ScopePath, diffStreams},
	{"proxy-max-temp-file-size", FeatureBuffering, StatusSupported, ScopePath, diffStreams},
	{"proxy-request-buffering", FeatureBuffering, StatusSupported, ScopePath, diffStreams},
	{"proxy-cookie-domain", FeatureCookieRewrite, StatusSupported, ScopePath, "one FROM TO pair, FROM matched case-insensitively against the whole Domain attribute (a leading dot ignored); no regular expressions"},
	{"proxy-cookie-path", FeatureCookieRewrite, StatusSupported, ScopePath, "one FROM TO pair, FROM a case-insensitive prefix of the Path attribute; no regular expressions"},
	{"proxy-redirect-from", FeatureProxyRedirect, StatusSupported, ScopePath, "a literal prefix of Location and Refresh; \"default\" is treated as off"},
	{"proxy-redirect-to", FeatureProxyRedirect, StatusSupported, ScopePath, ""},
	{"proxy-http-version", FeatureProxyHTTPVersion, StatusSupported, ScopePath, "1.1 only (the default); 1.0 is refused as invalid"},
	{"http2-push-preload", "http2", StatusUnsupported, ScopePath, ""},
	{"load-balance", FeatureLoadBalance, StatusSupported, ScopePath, "round_robin and ewma; ewma is served as round_robin"},
	{"upstream-hash-by", FeatureUpstreamHashBy, StatusSupported, ScopePath, "rendezvous hashing over the ready endpoints (ingress-nginx: a consistent-hash ring); variables $request_uri, $uri, $host, $scheme, $remote_addr, $http_NAME, $cookie_NAME, $arg_NAME and literal text"},
	{"upstream-hash-by-subset", FeatureUpstreamHashBy, StatusUnsupported, ScopePath, ""},
	{"upstream-hash-by-subset-size", FeatureUpstreamHashBy, StatusUnsupported, ScopePath, ""},
	{"service-upstream", "load-balancing", StatusUnsupported, ScopeIngress, ""},
	{"ssl-passthrough", "tls", StatusUnsupported, ScopeHost, ""},
	{"ssl-ciphers", "tls", StatusUnsupported, ScopeHost, ""},
	{"ssl-prefer-server-ciphers", "tls", StatusUnsupported, ScopeHost, ""},
	{"enable-access-log", "logging", StatusUnsupported, ScopePath, ""},
	{"enable-rewrite-log", "logging", StatusUnsupported, ScopePath, ""},
	{"enable-opentracing", "tracing", StatusUnsupported, ScopePath, ""},
	{"opentracing-trust-incoming-span", "tracing", StatusUnsupported, ScopePath, ""},
	{"enable-opentelemetry", "tracing", StatusUnsupported, ScopePath, ""},
	{"opentelemetry-trust-incoming-span", "tracing", StatusUnsupported, ScopePath, ""},
	{"opentelemetry-operation-name", "tracing", StatusUnsupported, ScopePath, ""},
	{"enable-influxdb", "metrics", StatusUnsupported, ScopePath, ""},
	{"influxdb-measurement", "metrics", StatusUnsupported, ScopePath, ""},
	{"influxdb-port", "metrics", StatusUnsupported, ScopePath, ""},
	{"influxdb-host", "metrics", StatusUnsupported, ScopePath, ""},
	{"influxdb-server-name", "metrics", StatusUnsupported, ScopePath, ""},
	{"enable-modsecurity", "waf", StatusUnsupported, ScopeIngress, ""},
	{"enable-owasp-core-rules", "waf", StatusUnsupported, ScopeIngress, ""},
	{"modsecurity-transaction-id", "waf", StatusUnsupported, ScopeIngress, ""},
	{"mirror-target", "mirror", StatusUnsupported, ScopeIngress, ""},
	{"mirror-host", "mirror", StatusUnsupported, ScopeIngress, ""},
	{"mirror-request-body", "mirror", StatusUnsupported, ScopeIngress, ""},
	{"fastcgi-index", FeatureBackendProtocol, StatusUnsupported, ScopePath, ""},
	{"fastcgi-params-configmap", FeatureBackendProtocol, StatusUnsupported, ScopePath, ""},
}

// byName indexes specs by short name.
var byName = func() map[string]spec {
	m := make(map[string]spec, len(specs))
	for _, s := range specs {
		if _, dup := m[s.name]; dup {
			panic("annotations: duplicate catalogue entry " + s.name)
		}
		m[s.name] = s
	}
	return m
}()

// Catalog lists every annotation the reference controller knows, in both
// dialects (ingresslab.dev first), sorted by feature then name. It returns a
// fresh slice on every call.
func Catalog() []Entry {
	out := make([]Entry, 0, 2*len(specs))
	for _, d := range Dialects() {
		for _, s := range specs {
			out = append(out, s.entry(d))
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if c := dialectIndex(a.Dialect) - dialectIndex(b.Dialect); c != 0 {
			return c
		}
		if c := strings.Compare(a.Feature, b.Feature); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Lookup finds the catalogue entry of a full annotation key. Any key of a
// dialect whose name ends in "-snippet" is reported as refused even when it
// is not listed.
func Lookup(key string) (Entry, bool) {
	d, name, ok := SplitKey(key)
	if !ok {
		return Entry{}, false
	}
	if s, ok := byName[name]; ok {
		return s.entry(d), true
	}
	if strings.HasSuffix(name, "-snippet") {
		return spec{name, FeatureSnippet, StatusRefused, ScopePath, snippetNote}.entry(d), true
	}
	return Entry{}, false
}

func (s spec) entry(d Dialect) Entry {
	e := Entry{Key: d.Key(s.name), Name: s.name, Dialect: d, Feature: s.feature, Status: s.status, Scope: s.scope}
	if d == DialectNginx || s.status != StatusSupported {
		e.Differences = s.differences
	}
	return e
}

func dialectIndex(d Dialect) int { return slices.Index(Dialects(), d) }
