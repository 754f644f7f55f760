package translate

import (
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// RoutePolicy converts the parsed annotations of an Ingress into the
// neutral routing.Policy its routes carry, with every value the data plane
// would otherwise derive per request precomputed (canonical header names,
// the cookie defaults, the HTTPS redirect mode). nil for nil.
//
// It is pure and resolves nothing: the parts that need the snapshot
// (Policy.BasicAuth from the auth Secret, Policy.ResponseHeaders from the
// custom-headers ConfigMap, Policy.ErrorPages.Backend from the
// default-backend Service) and the per-route parts (Route.Rewrite,
// Route.Upstream, Route.Canary) are left to Translate. Annotations that
// only the translation reads (server-alias, default-backend, use-regex,
// backend-protocol, custom-headers, canary) have no Policy field.
func RoutePolicy(pol *annotations.Policy) *routing.Policy {
	if pol == nil {
		return nil
	}
	p := &routing.Policy{
		RootRedirect:    pol.AppRoot,
		MaxBodySize:     pol.MaxBodySize,
		UpstreamHost:    pol.UpstreamVhost,
		ForwardedPrefix: pol.XForwardedPrefix,
		MaxAttempts:     pol.NextUpstreamTries,
		Timeouts:        pol.Timeouts,
		// The parser produces these as routing values already (CORS
		// compiled by routing.NewCORS); they are immutable, so a shallow
		// copy may share what they point to.
		Denied:    clone(pol.Denied),
		Redirect:  clone(pol.Redirect),
		CORS:      clone(pol.CORS),
		RateLimit: clone(pol.RateLimit),
		Access:    clone(pol.SourceRange),
		// Immutable after parsing, shared like the above.
		ProxyRedirect: pol.ProxyRedirect,
		CookiePath:    pol.CookiePath,
		CookieDomain:  pol.CookieDomain,
		HashBy:        pol.HashBy,
	}
	switch {
	case pol.ForceSSLRedirect:
		p.HTTPSRedirect = routing.HTTPSRedirectAlways
	case !pol.SSLRedirect.Or(true):
		p.HTTPSRedirect = routing.HTTPSRedirectNever
	}
	if ea := pol.ExternalAuth; ea != nil {
		p.ExternalAuth = &routing.ExternalAuth{URL: ea.URL, Method: ea.Method, SignIn: ea.SignIn,
			SignInRedirectParam: ea.SignInRedirectParam, SignInEscapeURI: pol.Dialect == annotations.DialectNginx, Cache: ea.Cache}
		for _, h := range ea.ResponseHeaders {
			p.ExternalAuth.ResponseHeaders = append(p.ExternalAuth.ResponseHeaders, http.CanonicalHeaderKey(h))
		}
	}
	if a := pol.Affinity; a != nil {
		p.Affinity = affinity(a)
		// ingress-nginx's balanced mode hashes any cookie value onto an
		// endpoint (a consistent-hash ring); persistent mode does not.
		p.Affinity.HashUnknownCookie = pol.Dialect == annotations.DialectNginx && a.Mode != "persistent"
	}
	if s := pol.CustomHTTPErrors; s != nil {
		p.ErrorPages = &routing.ErrorPages{Codes: s}
	}
	return p
}

// clone returns a shallow copy of *v, nil for nil.
func clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// affinity converts cookie affinity; affinity-mode (balanced or
// persistent) and session-cookie-change-on-failure are accepted but behave
// alike in the data plane, so they are not carried, except for the nginx
// dialect's cookie values (RoutePolicy).
func affinity(a *annotations.Affinity) *routing.Affinity {
	out := &routing.Affinity{CookieName: a.CookieName, CookiePath: a.CookiePath, CookieDomain: a.CookieDomain,
		MaxAge: a.MaxAge, Expires: routing.Duration(time.Duration(a.Expires) * time.Second), Secure: a.Secure}
	if out.CookiePath == "" {
		out.CookiePath = "/"
	}
	switch strings.ToLower(a.SameSite) {
	case "strict":
		out.SameSite = routing.SameSite(http.SameSiteStrictMode)
	case "lax":
		out.SameSite = routing.SameSite(http.SameSiteLaxMode)
	case "none":
		out.SameSite = routing.SameSite(http.SameSiteNoneMode)
	}
	return out
}

// CanaryRule converts the canary annotations of a canary Ingress into the
// rule of the routing.Canary it adds to main routes (nil for nil).
func CanaryRule(c *annotations.Canary) *routing.CanaryRule {
	if c == nil {
		return nil
	}
	r := &routing.CanaryRule{Weight: c.Weight, WeightTotal: c.WeightTotal, HeaderValue: c.HeaderValue, Cookie: c.Cookie}
	if c.Header != "" {
		r.Header = textproto.CanonicalMIMEHeaderKey(c.Header)
	}
	if c.HeaderPattern != nil {
		r.HeaderPattern = c.HeaderPattern.Regexp()
	}
	return r
}

// rewriteTarget is the rewrite-target of pol (nil without), compiled by
// the parser with routing.NewTemplate and immutable, so shared.
func rewriteTarget(pol *annotations.Policy) *routing.Template {
	if pol.Rewrite == nil {
		return nil
	}
	return pol.Rewrite.Target
}
