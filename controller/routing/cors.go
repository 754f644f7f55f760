package routing

import (
	"strings"
)

// CORS answers preflight requests and sets the CORS response headers of a
// route. Build it with NewCORS, which compiles AllowOrigins.
type CORS struct {
	// AllowOrigins are "*" or lower-case "http(s)://host[:port]" origins,
	// host optionally "*.suffix" (exactly one more label).
	AllowOrigins     []string `json:"allowOrigins"`
	AllowMethods     string   `json:"allowMethods"`
	AllowHeaders     string   `json:"allowHeaders"`
	ExposeHeaders    string   `json:"exposeHeaders,omitempty"`
	AllowCredentials bool     `json:"allowCredentials"`
	MaxAge           int      `json:"maxAge"`
	// Everywhere is ingress-nginx's CORS: every answer to an allowed
	// origin carries all the CORS headers (methods, headers and max age
	// too, not only preflights), "*" is answered literally even with
	// credentials (and without Vary), and every OPTIONS request from an
	// allowed origin is a preflight; an OPTIONS request from another
	// origin is proxied. Without it: the CORS specification's behaviour.
	Everywhere bool `json:"everywhere,omitempty"`
	origins    originMatcher
}

// NewCORS returns c with its origins compiled. AllowOrigins must be
// validated and lower-cased already (the translation's input is).
func NewCORS(c CORS) *CORS {
	c.origins = originMatcher{exact: map[string]struct{}{}}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			c.origins.any = true
			continue
		}
		scheme, rest, ok := strings.Cut(o, "://")
		if !ok {
			continue
		}
		host, port := rest, ""
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i+1:]
		}
		if sfx, wild := strings.CutPrefix(host, "*."); wild {
			c.origins.wildcards = append(c.origins.wildcards, wildcardOrigin{scheme: scheme, suffix: "." + sfx, port: port})
		} else {
			c.origins.exact[o] = struct{}{}
		}
	}
	return &c
}

// AllowsOrigin reports whether an Origin request header value is allowed.
func (c *CORS) AllowsOrigin(origin string) bool { return c.origins.match(origin) }

// AnyOrigin reports whether every origin is allowed ("*").
func (c *CORS) AnyOrigin() bool { return c.origins.any }

// originMatcher matches CORS Origin values.
type originMatcher struct {
	any       bool
	exact     map[string]struct{}
	wildcards []wildcardOrigin
}

type wildcardOrigin struct{ scheme, suffix, port string }

func (m originMatcher) match(origin string) bool {
	if m.any {
		return true
	}
	o := strings.ToLower(origin)
	if _, ok := m.exact[o]; ok {
		return true
	}
	for _, w := range m.wildcards {
		rest, ok := strings.CutPrefix(o, w.scheme+"://")
		if !ok {
			continue
		}
		host, port := rest, ""
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i+1:]
		}
		// One label exactly before the suffix.
		if port == w.port && strings.HasSuffix(host, w.suffix) {
			if label := strings.TrimSuffix(host, w.suffix); isDNSLabel(label) {
				return true
			}
		}
	}
	return false
}

// isDNSLabel reports whether s is a lower-case DNS-1123 label: 1 to 63
// characters of [a-z0-9-], starting and ending with a letter or digit (the
// same answer as validation.IsDNS1123Label, without the dependency).
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}
