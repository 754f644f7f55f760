package routing

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"time"
)

// Policy is what an Ingress configures for its routes besides matching and
// the backend: access checks, redirects, limits, upstream request changes,
// response headers and error pages. It is neutral and resolved: the
// translation builds it from the Ingress's annotations (in either dialect)
// and resolves every reference they make (the basic-auth Secret, the
// custom-headers ConfigMap, the default-backend Service), so the data plane
// applies it as is, without parsing, defaulting or looking anything up.
//
// A Policy is shared by every route of its Ingress and immutable; the
// precompiled forms it holds (Prefixes, StatusSet, Template, CORS origins,
// regular expressions) are safe for concurrent use. A route without a
// Policy (nil) takes the data plane's fast path; a zero Policy configures
// nothing but puts the route on the policy path (a route with a Canary
// needs one).
//
// Zero fields are "not configured"; configured features carry their
// effective values with defaults applied.
type Policy struct {
	// Denied, when set, answers every request of the route with 503: a
	// security-relevant setting (authentication, source ranges, upstream
	// TLS) could not be applied, and the route fails closed.
	Denied *Denial `json:"denied,omitempty"`

	// Redirect answers every request with a redirect.
	Redirect *Redirect `json:"redirect,omitempty"`
	// RootRedirect, when set, answers requests for "/" with 302 to this
	// path (app-root).
	RootRedirect string `json:"rootRedirect,omitempty"`
	// HTTPSRedirect says when a plain-HTTP request is redirected to HTTPS.
	HTTPSRedirect HTTPSRedirect `json:"httpsRedirect,omitempty"`
	// CORS answers preflight requests and sets the CORS response headers.
	CORS *CORS `json:"cors,omitempty"`

	// RateLimit limits requests per client address.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	// Access refuses clients by address (403).
	Access *Access `json:"access,omitempty"`
	// BasicAuth asks for credentials checked against its users (401). It
	// is dumped beside the Policy (RouteDump.BasicAuth).
	BasicAuth *BasicAuth `json:"-"`
	// ExternalAuth asks an authentication service first.
	ExternalAuth *ExternalAuth `json:"externalAuth,omitempty"`
	// MaxBodySize is the largest request body in bytes (413 above it); 0
	// or NoLimit: no check.
	MaxBodySize int64 `json:"maxBodySize,omitempty"`

	// UpstreamHost, when set, is the Host header sent upstream.
	UpstreamHost string `json:"upstreamHost,omitempty"`
	// ForwardedPrefix, when set, is sent upstream as X-Forwarded-Prefix.
	ForwardedPrefix string `json:"forwardedPrefix,omitempty"`
	// Timeouts bound the upstream exchange; zero fields use the data
	// plane's defaults.
	Timeouts Timeouts `json:"timeouts,omitzero"`
	// MaxAttempts is how many endpoints a request may try: 0 is the data
	// plane's default, NoLimit every endpoint.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// Affinity pins clients to an endpoint with a cookie.
	Affinity *Affinity `json:"affinity,omitempty"`

	// ResponseHeaders are set on every response of the route, replacing
	// the upstream's values of the same names. Keys are canonical; each
	// value slice has len == cap and must never be modified (append copies
	// it). nil without. Dumped beside the Policy (RouteDump).
	ResponseHeaders http.Header `json:"-"`
	// ErrorPages replaces upstream error responses.
	ErrorPages *ErrorPages `json:"errorPages,omitempty"`

	// HostRedirect, when set, answers every request with 308 to the same
	// URI on this host (from-to-www-redirect's added host).
	HostRedirect string `json:"hostRedirect,omitempty"`
	// HostRedirectServerPort puts the port the request arrived on in the
	// HostRedirect Location, always (ingress-nginx); without, only the
	// port the Host header named.
	HostRedirectServerPort bool `json:"hostRedirectServerPort,omitempty"`
	// ProxyRedirect rewrites upstream Location and Refresh headers.
	ProxyRedirect *Rewrite2 `json:"proxyRedirect,omitempty"`
	// CookiePath and CookieDomain rewrite upstream Set-Cookie attributes.
	CookiePath   *Rewrite2 `json:"cookiePath,omitempty"`
	CookieDomain *Rewrite2 `json:"cookieDomain,omitempty"`
	// HashBy picks the endpoint by a key of the request (rendezvous
	// hashing); nil is round-robin.
	HashBy *HashKey `json:"hashBy,omitempty"`
}

// NoLimit marks an explicitly unlimited size or count.
const NoLimit = -1

// Denial says why a route is denied.
type Denial struct {
	// Annotation is the short name of the setting that failed
	// ("auth-secret"), the same in every annotation dialect.
	Annotation string `json:"annotation"`
	Reason     string `json:"reason"`
}

// HTTPSRedirect is when a plain-HTTP request is redirected to HTTPS.
type HTTPSRedirect uint8

const (
	// HTTPSRedirectTLSHost redirects when the request's host has TLS
	// (Match.HTTPSRedirect); the default.
	HTTPSRedirectTLSHost HTTPSRedirect = iota
	// HTTPSRedirectNever never redirects (ssl-redirect "false").
	HTTPSRedirectNever
	// HTTPSRedirectAlways redirects even without TLS on the host
	// (force-ssl-redirect).
	HTTPSRedirectAlways
)

// Redirects reports whether a plain-HTTP request to a host with (tlsHost)
// or without TLS is redirected to HTTPS.
func (h HTTPSRedirect) Redirects(tlsHost bool) bool {
	switch h {
	case HTTPSRedirectNever:
		return false
	case HTTPSRedirectAlways:
		return true
	}
	return tlsHost
}

// MarshalText spells the mode for dumps: "" (the default), "never" or
// "always".
func (h HTTPSRedirect) MarshalText() ([]byte, error) {
	switch h {
	case HTTPSRedirectNever:
		return []byte("never"), nil
	case HTTPSRedirectAlways:
		return []byte("always"), nil
	}
	return []byte{}, nil
}

// Redirect answers every request of a route with a redirect.
type Redirect struct {
	// URL is the absolute http(s) URL.
	URL string `json:"url"`
	// AppendRequestURI appends the request's path and query to URL.
	AppendRequestURI bool `json:"appendRequestURI,omitempty"`
	Code             int  `json:"code"`
}

// Location returns the Location header value for a request URI.
func (r *Redirect) Location(requestURI string) string {
	if r.AppendRequestURI {
		return r.URL + requestURI
	}
	return r.URL
}

// RateLimit limits the requests of each client address, for all routes of
// an Ingress together. Refused requests get RejectStatus.
type RateLimit struct {
	// RPS and RPM are the sustained requests per second and per minute
	// (0: no such limit); Connections the concurrent requests.
	RPS         int `json:"rps,omitempty"`
	RPM         int `json:"rpm,omitempty"`
	Connections int `json:"connections,omitempty"`
	// BurstMultiplier multiplies RPS and RPM into burst sizes.
	BurstMultiplier int `json:"burstMultiplier"`
	// BurstExcess counts a burst as nginx's limit_req (nodelay) does: the
	// requests allowed in excess of the first, so one more passes at once
	// (ingress-nginx). Without, a burst is the whole bucket.
	BurstExcess bool `json:"burstExcess,omitempty"`
	// Exempt client ranges are not limited.
	Exempt Prefixes `json:"exempt,omitempty"`
	// RejectStatus is the status of refused requests.
	RejectStatus int `json:"rejectStatus"`
}

// Access refuses clients by address: a client is refused when Allow is
// not nil and does not contain it, or Deny contains it.
type Access struct {
	Allow Prefixes `json:"allow,omitempty"`
	Deny  Prefixes `json:"deny,omitempty"`
}

// Permits reports whether a client address passes both lists (a nil
// Access permits everyone).
func (a *Access) Permits(addr netip.Addr) bool {
	if a == nil {
		return true
	}
	if a.Allow != nil && !a.Allow.Contains(addr) {
		return false
	}
	return !a.Deny.Contains(addr)
}

// Prefixes is an immutable list of masked IP prefixes.
type Prefixes []netip.Prefix

// Contains reports whether a is in one of the prefixes. IPv4-mapped IPv6
// addresses are matched as IPv4.
func (ps Prefixes) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Timeouts bound the exchange with the upstream; zero fields are unset.
type Timeouts struct {
	// Connect bounds each connection attempt.
	Connect Duration `json:"connect,omitempty"`
	// Read bounds the wait for the response head.
	Read Duration `json:"read,omitempty"`
	// Send bounds each stall of the request body.
	Send Duration `json:"send,omitempty"`
}

// Duration is a time.Duration that dumps as "5s".
type Duration time.Duration

// MarshalText renders the duration in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ExternalAuth sends each request first to an authentication service: 2xx
// lets it through (copying ResponseHeaders upstream), 401 and 403 are
// returned (401 redirects to SignIn when set), anything else is a 500.
type ExternalAuth struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	// ResponseHeaders are canonical header names.
	ResponseHeaders []string `json:"responseHeaders,omitempty"`
	SignIn          string   `json:"signIn,omitempty"`
	// SignInRedirectParam is the query parameter carrying the original URL
	// on the SignIn redirect.
	SignInRedirectParam string `json:"signInRedirectParam,omitempty"`
	// SignInEscapeURI writes that parameter as ingress-nginx does:
	// scheme://Host as sent, then the request URI escaped as one URI
	// component ($pass_access_scheme://$http_host$escaped_request_uri).
	// Without, the whole original URL is query-escaped.
	SignInEscapeURI bool `json:"signInEscapeURI,omitempty"`
	// Cache, when set, reuses answers (auth-cache-key); nil: every
	// request asks the auth service.
	Cache *AuthCache `json:"cache,omitempty"`
}

// Affinity pins a client to an endpoint with a cookie.
type Affinity struct {
	CookieName   string `json:"cookieName"`
	CookiePath   string `json:"cookiePath"`
	CookieDomain string `json:"cookieDomain,omitempty"`
	// MaxAge is the cookie's Max-Age in seconds (0: none).
	MaxAge int `json:"maxAge,omitempty"`
	// Expires is the cookie's lifetime from issue (0: none).
	Expires  Duration `json:"expires,omitempty"`
	SameSite SameSite `json:"sameSite,omitempty"`
	Secure   bool     `json:"secure,omitempty"`
	// HashUnknownCookie makes every cookie value a key: a value that names
	// no endpoint is hashed onto one (Pick), and the client keeps its
	// cookie (ingress-nginx's affinity-mode balanced). Without it, such a
	// request is balanced and gets a new cookie.
	HashUnknownCookie bool `json:"hashUnknownCookie,omitempty"`
}

// SameSite is a cookie's SameSite attribute; the zero value sets none.
type SameSite http.SameSite

// MarshalText spells the attribute: "", "default", "lax", "strict" or "none".
func (s SameSite) MarshalText() ([]byte, error) {
	switch http.SameSite(s) {
	case http.SameSiteDefaultMode:
		return []byte("default"), nil
	case http.SameSiteLaxMode:
		return []byte("lax"), nil
	case http.SameSiteStrictMode:
		return []byte("strict"), nil
	case http.SameSiteNoneMode:
		return []byte("none"), nil
	}
	return []byte{}, nil
}

// ErrorPages replaces upstream responses whose status is in Codes: with
// Backend's answer when set and able to answer, else with the data plane's
// own error page.
type ErrorPages struct {
	Codes *StatusSet `json:"codes"`
	// Backend answers the error pages; nil without. Dumped beside the
	// Policy (RouteDump.ErrorBackend).
	Backend *Backend `json:"-"`
}

// Intercepts reports whether an upstream status is replaced (false for a
// nil ErrorPages).
func (e *ErrorPages) Intercepts(code int) bool { return e != nil && e.Codes.Contains(code) }

// maxStatus bounds the codes of a StatusSet.
const maxStatus = 640

// StatusSet is an immutable set of HTTP status codes (100-599).
type StatusSet struct {
	codes []int
	bits  [maxStatus / 64]uint64
}

// NewStatusSet returns the set of codes; codes outside 100-599 are
// ignored.
func NewStatusSet(codes ...int) *StatusSet {
	s := &StatusSet{}
	for _, c := range codes {
		if c < 100 || c > 599 || s.Contains(c) {
			continue
		}
		s.bits[c/64] |= 1 << (c % 64)
		s.codes = append(s.codes, c)
	}
	return s
}

// Contains reports whether code is in the set (false for a nil set).
func (s *StatusSet) Contains(code int) bool {
	if s == nil || code < 0 || code >= maxStatus {
		return false
	}
	return s.bits[code/64]&(1<<(code%64)) != 0
}

// Codes returns the codes in the order given to NewStatusSet.
func (s *StatusSet) Codes() []int { return append([]int(nil), s.codes...) }

// MarshalJSON renders the codes.
func (s *StatusSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.codes) }

// CanaryRule chooses between a route's backend and its canary per request:
// by header, then by cookie, then by weight.
type CanaryRule struct {
	// Weight out of WeightTotal requests go to the canary.
	Weight      int `json:"weight"`
	WeightTotal int `json:"weightTotal"`
	// Header (a canonical header name) routes to the canary when its value
	// is "always" (or equals HeaderValue, or matches HeaderPattern when
	// either is set), never when "never".
	Header        string         `json:"header,omitempty"`
	HeaderValue   string         `json:"headerValue,omitempty"`
	HeaderPattern *regexp.Regexp `json:"headerPattern,omitempty"`
	// Cookie routes to the canary when its value is "always", never when
	// "never".
	Cookie string `json:"cookie,omitempty"`
}

// AuthCache caches external auth answers (auth-cache-key,
// auth-cache-duration): an answer whose status one of Valid lists is reused
// for requests with the same key, on the same host and route, until it
// expires.
type AuthCache struct {
	Key   *HashKey        `json:"key"`
	Valid []AuthCacheRule `json:"valid"`
}

// AuthCacheRule is one proxy_cache_valid entry: Codes (nil: any status)
// are kept for TTL.
type AuthCacheRule struct {
	Codes []int    `json:"codes,omitempty"`
	TTL   Duration `json:"ttl"`
}

// TTL is how long an answer with status code is kept (0: not cached). The
// first rule naming the code wins, then an "any" rule.
func (c *AuthCache) TTL(code int) time.Duration {
	var anyTTL time.Duration
	for _, r := range c.Valid {
		if r.Codes == nil {
			if anyTTL == 0 {
				anyTTL = time.Duration(r.TTL)
			}
			continue
		}
		if slices.Contains(r.Codes, code) {
			return time.Duration(r.TTL)
		}
	}
	return anyTTL
}
