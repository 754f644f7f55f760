package dataplane

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// hostRedirect is the Location of from-to-www-redirect: the request's
// scheme and URI on host to, without a trailing slash (as ingress-nginx's
// ngx_srv_redirect.lua), with a port: with serverPort the one the request
// arrived on, always (as that script's $server_port), else the one the Host
// header named, if any.
func hostRedirect(r *http.Request, to string, serverPort bool) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	port := ""
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && serverPort {
		port = strconv.Itoa(a.Port)
	} else if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	if port != "" {
		to = net.JoinHostPort(to, port)
	}
	return scheme + "://" + to + strings.TrimSuffix(r.URL.RequestURI(), "/")
}

// rewriteResponse applies proxy-redirect (Location, Refresh) and
// proxy-cookie-path / proxy-cookie-domain (Set-Cookie) to an upstream
// response header.
func rewriteResponse(pol *routing.Policy, h http.Header) {
	if pr := pol.ProxyRedirect; pr != nil {
		if v := h["Location"]; len(v) == 1 {
			if out, ok := pr.Prefix(v[0]); ok {
				h["Location"] = []string{out}
			}
		}
		if v := h["Refresh"]; len(v) == 1 {
			// "5; url=http://..."
			if i := strings.Index(strings.ToLower(v[0]), "url="); i >= 0 {
				if out, ok := pr.Prefix(v[0][i+4:]); ok {
					h["Refresh"] = []string{v[0][:i+4] + out}
				}
			}
		}
	}
	if pol.CookiePath == nil && pol.CookieDomain == nil {
		return
	}
	cookies := h["Set-Cookie"]
	if len(cookies) == 0 {
		return
	}
	out := make([]string, len(cookies))
	for i, c := range cookies {
		out[i] = rewriteCookie(c, pol.CookiePath, pol.CookieDomain)
	}
	h["Set-Cookie"] = out
}

// rewriteCookie rewrites the Path attribute (a prefix) and the Domain
// attribute (the whole value, a leading dot ignored) of one Set-Cookie.
func rewriteCookie(c string, path, domain *routing.Rewrite2) string {
	parts := strings.Split(c, ";")
	changed := false
	for i := 1; i < len(parts); i++ {
		name, val, ok := strings.Cut(parts[i], "=")
		if !ok {
			continue
		}
		lead := name[:len(name)-len(strings.TrimLeft(name, " "))]
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "path":
			if path != nil {
				if v, ok := path.Prefix(strings.TrimSpace(val)); ok {
					parts[i], changed = lead+strings.TrimSpace(name)+"="+v, true
				}
			}
		case "domain":
			if domain != nil && strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(val), "."), strings.TrimPrefix(domain.From, ".")) {
				parts[i], changed = lead+strings.TrimSpace(name)+"="+domain.To, true
			}
		}
	}
	if !changed {
		return c
	}
	return strings.Join(parts, ";")
}
