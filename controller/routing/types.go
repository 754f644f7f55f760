package routing

import "regexp"

// PathType is the Ingress pathType of a route.
type PathType uint8

const (
	// PathExact matches the whole URL path, case-sensitively.
	PathExact PathType = iota
	// PathPrefix matches element-wise on '/'-separated path elements.
	PathPrefix
	// PathImplementationSpecific is treated exactly as PathPrefix by the
	// reference controller (see the package documentation).
	PathImplementationSpecific
)

// String returns the Kubernetes spelling of the path type.
func (p PathType) String() string {
	switch p {
	case PathExact:
		return "Exact"
	case PathPrefix:
		return "Prefix"
	case PathImplementationSpecific:
		return "ImplementationSpecific"
	}
	return "Unknown"
}

// ObjectRef names a namespaced Kubernetes object.
type ObjectRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String returns namespace/name ("" for the zero ObjectRef).
func (o ObjectRef) String() string {
	if o == (ObjectRef{}) {
		return ""
	}
	return o.Namespace + "/" + o.Name
}

// Endpoint is one upstream address a backend can send requests to.
type Endpoint struct {
	// Address is host:port, ready to dial ("198.18.0.2:8080", "[fd00::1]:80").
	Address string `json:"address"`
	// Terminating is true for a serving-but-terminating endpoint, used only
	// because the backend has no ready endpoint.
	Terminating bool `json:"terminating,omitempty"`
}

// Backend is a resolved Ingress backend: a Service port and its endpoints.
type Backend struct {
	// Key identifies the backend across tables ("namespace/service:port"). The
	// data plane keys per-backend runtime state (round-robin cursor, passive
	// health) by it, so that state survives table swaps.
	Key       string `json:"key"`
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	// Port is the Ingress's service port as written: a number or a name.
	Port string `json:"port"`
	// Endpoints are the usable addresses in a stable order.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	// Unavailable, when not empty, says why no endpoint can be used
	// ("service ns/x not found", "no ready endpoints"). The data plane answers
	// 503 with this text.
	Unavailable string `json:"unavailable,omitempty"`
	// Protocol is how the data plane talks to the endpoints: HTTP/1.1 (the
	// zero value) or HTTP/2 cleartext with prior knowledge (gRPC).
	Protocol Protocol `json:"protocol,omitempty"`
}

// Protocol is the application protocol of a backend's endpoints.
type Protocol uint8

const (
	// ProtocolHTTP1 is HTTP/1.1 over TCP (Upgrade, e.g. WebSocket, works).
	ProtocolHTTP1 Protocol = iota
	// ProtocolH2C is HTTP/2 over TCP without TLS, prior knowledge (RFC 9113
	// section 3.3): needed for gRPC, whose trailers and full-duplex streams
	// HTTP/1.1 cannot carry.
	ProtocolH2C
)

// String returns "http" or "h2c".
func (p Protocol) String() string {
	if p == ProtocolH2C {
		return "h2c"
	}
	return "http"
}

// MarshalText spells the protocol for JSON and YAML dumps.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Route is one path rule of one host, pointing at a backend.
type Route struct {
	// Ingress is the Ingress the rule came from; zero for the controller's
	// configured default backend, which no Ingress defines.
	Ingress ObjectRef `json:"ingress"`
	// Host as written in the rule: "" (any host), "foo.com" or "*.foo.com".
	Host     string   `json:"host,omitempty"`
	Path     string   `json:"path"`
	PathType PathType `json:"-"`
	Backend  *Backend `json:"backend"`
	// Regex, when set, makes the route a regular-expression path
	// (use-regex or rewrite-target, ingress-nginx's "~* ^path" location):
	// the compiled, case-insensitive expression anchored at the start of
	// the path, matched against the normalised request path. Path is then
	// the expression as written and PathType is Prefix or
	// ImplementationSpecific; an Exact route never has one. See the
	// package documentation for the precedence.
	Regex *regexp.Regexp `json:"-"`
	// Policy is the resolved policy of the route's Ingress, shared by all
	// of its routes and read-only; nil when the Ingress configures nothing
	// the data plane applies (the data plane's fast path). Matching
	// ignores it.
	Policy *Policy `json:"-"`
	// Rewrite is the route's rewrite-target (its path's expression and the
	// Ingress's target); nil without. The translation sets it only on
	// routes with a Policy: the data plane applies it on the policy path.
	Rewrite *Rewrite `json:"-"`
	// Upstream is backend-protocol with the upstream TLS options, resolved
	// by the translation (upstream.go); it replaces Backend.Protocol for
	// this route and its canary. nil without backend-protocol.
	Upstream *Upstream `json:"-"`
	// Canary is the canary Ingress's alternative backend for this route
	// (canary annotations); nil without.
	Canary *Canary `json:"-"`
}

// Canary is an alternative backend of a route, chosen per request by Rule
// (header, then cookie, then weight).
type Canary struct {
	Ingress ObjectRef   `json:"ingress"`
	Backend *Backend    `json:"-"`
	Rule    *CanaryRule `json:"rule"`
}

// Match is the result of a routing lookup.
type Match struct {
	// Route is the matched route, or nil when nothing matched and the
	// controller's own default backend must answer (404).
	Route *Route
	// HTTPSRedirect is true when the request's host is listed in an Ingress's
	// spec.tls, so a plain-HTTP request should be redirected to HTTPS.
	HTTPSRedirect bool
	// ClientAuth is the client certificate authentication of the
	// request's host (the exact host, else its wildcard, else the rules
	// without host: not inherited from a less specific host), or nil.
	ClientAuth *ClientAuth
}
