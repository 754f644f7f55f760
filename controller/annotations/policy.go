package annotations

import (
	"regexp"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Policy is the validated, typed form of one Ingress's annotations. Parse
// returns a fresh value that shares no memory with its input; callers must
// treat it (and everything it points to) as read-only, which makes it safe to
// read from many goroutines without locks. Precompiled forms (regexes,
// prefix sets, status sets, templates) are built by Parse.
//
// A nil pointer field or zero value means "feature not configured"; enabled
// features carry their effective values with defaults applied, so neither
// the translation nor the data plane has to default anything itself.
//
// Scope: every field applies to all paths of the annotated Ingress (ingress-
// nginx's "location" and "ingress" scopes both map to that), except
// ServerAliases, which adds host names to the Ingress's virtual hosts, and
// Canary, which turns the whole Ingress into an alternative backend for the
// same host and paths of a non-canary Ingress. On a canary Ingress only the
// Canary and Affinity fields are kept (as in ingress-nginx).
type Policy struct {
	// Dialect the annotations were read in.
	Dialect Dialect `json:"dialect"`
	// Denied is set when a security-relevant annotation (basic or external
	// auth, source ranges, upstream TLS) was present but invalid: the data
	// plane must answer every path of the Ingress with 503 rather than
	// serve it without the intended protection (ingress-nginx's "location
	// denied"). Its Annotation is the short name (Policy.Dialect.Key
	// gives the full key), so that equal inputs give equal policies in
	// both dialects.
	Denied *routing.Denial `json:"denied,omitempty"`

	Rewrite          *Rewrite `json:"rewrite,omitempty"`
	AppRoot          string   `json:"appRoot,omitempty"`          // app-root: 302 from "/" to this path
	XForwardedPrefix string   `json:"xForwardedPrefix,omitempty"` // x-forwarded-prefix header value
	UpstreamVhost    string   `json:"upstreamVhost,omitempty"`    // Host header sent upstream
	SSLRedirect      Tristate `json:"sslRedirect,omitempty"`      // Unset: redirect when the host has TLS
	ForceSSLRedirect bool     `json:"forceSSLRedirect,omitempty"` // redirect even without TLS
	// Redirect is permanent-redirect or temporal-redirect with its code;
	// URL is without the trailing "$request_uri" that sets
	// AppendRequestURI.
	Redirect *routing.Redirect `json:"redirect,omitempty"`

	// RateLimit is limit-rps, limit-rpm, limit-connections and friends,
	// per client address: BurstMultiplier defaults to 5, Exempt is
	// limit-allowlist (limit-whitelist), RejectStatus is 503
	// (ingress-nginx's limit-req-status-code and limit-conn-status-code
	// defaults).
	RateLimit *routing.RateLimit `json:"rateLimit,omitempty"`
	// Timeouts are the proxy-*-timeout annotations; zero fields are unset.
	Timeouts routing.Timeouts `json:"timeouts,omitzero"`
	// MaxBodySize is proxy-body-size in bytes: 0 is the controller default,
	// NoLimit disables the check. Larger request bodies get 413.
	MaxBodySize int64 `json:"maxBodySize,omitempty"`
	// NextUpstreamTries is proxy-next-upstream-tries: 0 is the controller
	// default, NoLimit tries every endpoint.
	NextUpstreamTries int `json:"nextUpstreamTries,omitempty"`

	Backend *Backend `json:"backend,omitempty"`
	// SourceRange is allowlist/whitelist-source-range (Allow) and
	// denylist-source-range (Deny): a client is refused with 403 when
	// Allow is set and does not contain it, or Deny contains it.
	SourceRange *routing.Access `json:"sourceRange,omitempty"`

	BasicAuth    *BasicAuth    `json:"basicAuth,omitempty"`
	ExternalAuth *ExternalAuth `json:"externalAuth,omitempty"`
	// ClientAuth is auth-tls-*: client certificates for the Ingress's
	// hosts (host scope: the translation moves it to the hosts).
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
	// CORS is enable-cors with its cors-* options (defaults as
	// ingress-nginx's), compiled by routing.NewCORS.
	CORS     *routing.CORS `json:"cors,omitempty"`
	Canary   *Canary       `json:"canary,omitempty"`
	Affinity *Affinity     `json:"affinity,omitempty"`

	// CustomHeaders names the ConfigMap whose entries are added to every
	// response (custom-headers); see ParseHeaders.
	CustomHeaders *ObjectRef `json:"customHeaders,omitempty"`
	// ServerAliases are extra host names served like the Ingress's hosts.
	ServerAliases []string `json:"serverAliases,omitempty"`
	// DefaultBackend is a Service in the Ingress's namespace used when a
	// path's backend has no endpoints and for CustomHTTPErrors.
	DefaultBackend string `json:"defaultBackend,omitempty"`
	// CustomHTTPErrors are upstream status codes replaced by the
	// DefaultBackend's (or the controller's) error response.
	CustomHTTPErrors *routing.StatusSet `json:"customHTTPErrors,omitempty"`

	// FromToWWWRedirect adds, for each rule host, a host with or without
	// "www." that redirects to it (from-to-www-redirect).
	FromToWWWRedirect bool `json:"fromToWWWRedirect,omitempty"`
	// ProxyRedirect rewrites the prefix From of an upstream Location or
	// Refresh header into To (proxy-redirect-from, proxy-redirect-to).
	ProxyRedirect *routing.Rewrite2 `json:"proxyRedirect,omitempty"`
	// CookiePath and CookieDomain rewrite the Path and Domain attributes
	// of upstream Set-Cookie headers (proxy-cookie-path, -domain).
	CookiePath   *routing.Rewrite2 `json:"cookiePath,omitempty"`
	CookieDomain *routing.Rewrite2 `json:"cookieDomain,omitempty"`
	// LoadBalance is round_robin or ewma (served as round_robin); "" is
	// the default (round_robin).
	LoadBalance string `json:"loadBalance,omitempty"`
	// HashBy picks the endpoint from a key of the request
	// (upstream-hash-by).
	HashBy *routing.HashKey `json:"hashBy,omitempty"`
}

// NoLimit marks an explicitly unlimited size or count (routing's value, so
// that it passes through the translation unchanged).
const NoLimit = routing.NoLimit

// Tristate is an optional boolean; the zero value is Unset.
type Tristate int8

const (
	Unset Tristate = iota
	False
	True
)

// Or returns the value, or def when unset.
func (t Tristate) Or(def bool) bool {
	if t == Unset {
		return def
	}
	return t == True
}

// MarshalText renders "", "false" or "true".
func (t Tristate) MarshalText() ([]byte, error) {
	switch t {
	case True:
		return []byte("true"), nil
	case False:
		return []byte("false"), nil
	}
	return []byte{}, nil
}

// ObjectRef names a namespaced object (a Secret or ConfigMap).
type ObjectRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r ObjectRef) String() string { return r.Namespace + "/" + r.Name }

// Regex is a compiled RE2 expression with its source.
type Regex struct {
	pattern string
	re      *regexp.Regexp
}

// Pattern is the expression as compiled (including any added prefix).
func (r *Regex) Pattern() string { return r.pattern }

// Regexp returns the compiled expression (safe for concurrent use).
func (r *Regex) Regexp() *regexp.Regexp { return r.re }

// MatchString reports whether s contains a match.
func (r *Regex) MatchString(s string) bool { return r.re.MatchString(s) }

// MarshalText renders the pattern.
func (r *Regex) MarshalText() ([]byte, error) { return []byte(r.pattern), nil }

// Rewrite is rewrite-target and use-regex. In regex mode (UseRegex or a
// Target) every path of the Ingress is a case-insensitive RE2 expression
// anchored at the start of the request path, as ingress-nginx's "~* ^path"
// locations; Paths holds the compiled forms, keyed by the path as written.
type Rewrite struct {
	UseRegex bool `json:"useRegex,omitempty"`
	// Target is the rewrite-target template ($1..$9 are capture groups of
	// the matched path's expression).
	Target *routing.Template `json:"target,omitempty"`
	// Paths maps each path of the Ingress to its compiled expression (only
	// filled by ParseIngress, or by Parse when Input.Paths is set).
	Paths map[string]*Regex `json:"paths,omitempty"`
}

// CompilePathRegex compiles an Ingress path as regex mode does (use-regex,
// rewrite-target): "(?i)^" + path, case-insensitive and anchored at the
// start like ingress-nginx's "~* ^path" locations, RE2 with the parser's
// length and program-size bounds.
func CompilePathRegex(path string) (*Regex, error) { return compileRegex(path, "(?i)^") }

// PathRegex returns the compiled expression of an Ingress path (nil when
// not in regex mode or unknown).
func (r *Rewrite) PathRegex(path string) *Regex {
	if r == nil {
		return nil
	}
	return r.Paths[path]
}

// Apply rewrites reqPath matched by the Ingress path ingressPath. ok is
// false when there is no target or the expression does not match.
func (r *Rewrite) Apply(ingressPath, reqPath string) (string, bool) {
	if r == nil || r.Target == nil {
		return "", false
	}
	re := r.Paths[ingressPath]
	if re == nil {
		return "", false
	}
	m := re.re.FindStringSubmatchIndex(reqPath)
	if m == nil {
		return "", false
	}
	return string(r.Target.Expand(nil, reqPath, m)), true
}

// Backend protocols.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolGRPC  = "GRPC"
	ProtocolGRPCS = "GRPCS"
	ProtocolH2C   = "H2C"
)

// Backend is backend-protocol with the upstream TLS options.
type Backend struct {
	// Protocol is one of the Protocol* constants (default HTTP).
	Protocol string       `json:"protocol"`
	TLS      *UpstreamTLS `json:"tls,omitempty"`
}

// UpstreamTLS is proxy-ssl-*: how to verify HTTPS and GRPCS backends.
type UpstreamTLS struct {
	// Verify the backend certificate against Secret's ca.crt (default false).
	Verify bool `json:"verify,omitempty"`
	// Secret holds ca.crt and optionally tls.crt/tls.key (client cert).
	Secret *ObjectRef `json:"secret,omitempty"`
	// ServerName overrides the name verified (and sent as SNI when SNI).
	ServerName  string `json:"serverName,omitempty"`
	SNI         bool   `json:"sni,omitempty"`
	VerifyDepth int    `json:"verifyDepth"`
}

// BasicAuth is auth-type basic with its secret.
type BasicAuth struct {
	Secret ObjectRef `json:"secret"`
	// SecretType is "auth-file" (an htpasswd file under key "auth", the
	// default) or "auth-map" (user name -> hashed password).
	SecretType string `json:"secretType"`
	Realm      string `json:"realm"`
}

// ExternalAuth is auth-url and friends: each request is first sent to URL;
// 2xx lets it through (copying ResponseHeaders upstream), 401/403 are
// returned (401 redirects to SignIn when set), anything else is a 500.
type ExternalAuth struct {
	URL             string   `json:"url"`
	Method          string   `json:"method"`
	ResponseHeaders []string `json:"responseHeaders,omitempty"`
	SignIn          string   `json:"signIn,omitempty"`
	// SignInRedirectParam is the query parameter carrying the original URL
	// on the SignIn redirect (default "rd").
	SignInRedirectParam string `json:"signInRedirectParam,omitempty"`
	// Cache is auth-cache-key with auth-cache-duration (default
	// DefaultAuthCacheDuration); nil without a key.
	Cache *routing.AuthCache `json:"cache,omitempty"`
}

// Canary makes the Ingress an alternative backend for the same host and
// paths of a non-canary Ingress. Precedence: header, then cookie, then
// weight.
type Canary struct {
	// Weight out of WeightTotal requests go to the canary.
	Weight      int `json:"weight"`
	WeightTotal int `json:"weightTotal"`
	// Header routes to the canary when its value is "always" (or equals
	// HeaderValue, or matches HeaderPattern), never when "never".
	Header        string `json:"header,omitempty"`
	HeaderValue   string `json:"headerValue,omitempty"`
	HeaderPattern *Regex `json:"headerPattern,omitempty"`
	// Cookie routes to the canary when its value is "always", never when
	// "never".
	Cookie string `json:"cookie,omitempty"`
}

// Affinity is cookie session affinity.
type Affinity struct {
	// Mode is "balanced" (default) or "persistent".
	Mode            string `json:"mode"`
	CookieName      string `json:"cookieName"`
	CookiePath      string `json:"cookiePath,omitempty"`
	CookieDomain    string `json:"cookieDomain,omitempty"`
	MaxAge          int    `json:"maxAge,omitempty"`  // seconds
	Expires         int    `json:"expires,omitempty"` // seconds from issue
	SameSite        string `json:"sameSite,omitempty"`
	Secure          bool   `json:"secure,omitempty"`
	ChangeOnFailure bool   `json:"changeOnFailure,omitempty"`
}
