package annotations

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Feature labels of the annotations parsed here.
const (
	FeatureFromToWWW        = "from-to-www-redirect"
	FeatureProxyRedirect    = "proxy-redirect"
	FeatureCookieRewrite    = "cookie-rewrite"
	FeatureLoadBalance      = "load-balance"
	FeatureUpstreamHashBy   = "upstream-hash-by"
	FeatureBuffering        = "buffering"
	FeatureProxyHTTPVersion = "proxy-http-version"
)

// Load-balancing algorithms of the load-balance annotation.
const (
	LoadBalanceRoundRobin = "round_robin"
	LoadBalanceEWMA       = "ewma"
)

// parseMore parses from-to-www-redirect, proxy-redirect-from/-to,
// proxy-cookie-path/-domain, load-balance, upstream-hash-by and the
// buffering annotations (checked, then without effect: the data plane
// streams both ways).
func (p *parser) parseMore(pol *Policy) {
	if v, ok := get(p, "from-to-www-redirect", parseBool); ok {
		pol.FromToWWWRedirect = v
	}
	from, hasFrom := get(p, "proxy-redirect-from", parseRedirectPrefix)
	to, hasTo := get(p, "proxy-redirect-to", parseRedirectPrefix)
	switch {
	case p.bad["proxy-redirect-from"] || p.bad["proxy-redirect-to"]:
	case hasFrom && hasTo && from != "off" && from != "default" && to != "off":
		pol.ProxyRedirect = &routing.Rewrite2{From: from, To: to}
	case hasFrom && !hasTo:
		p.unused("proxy-redirect-to", "proxy-redirect-from")
	case hasTo && !hasFrom:
		p.unused("proxy-redirect-from", "proxy-redirect-to")
	}
	if v, ok := get(p, "proxy-cookie-path", parseCookieRewrite); ok {
		pol.CookiePath = v
	}
	if v, ok := get(p, "proxy-cookie-domain", parseCookieRewrite); ok {
		pol.CookieDomain = v
	}
	if v, ok := get(p, "load-balance", func(s string) (string, error) {
		switch s = strings.ToLower(s); s {
		case LoadBalanceRoundRobin, LoadBalanceEWMA:
			return s, nil
		}
		return "", errors.New(`not a load-balancing algorithm ("round_robin" or "ewma")`)
	}); ok {
		pol.LoadBalance = v
	}
	if v, ok := get(p, "upstream-hash-by", routing.ParseHashKey); ok {
		pol.HashBy = v
	}
	for _, name := range []string{"proxy-buffering", "proxy-request-buffering"} {
		get(p, name, parseOnOff)
	}
	for _, name := range []string{"client-body-buffer-size", "proxy-buffer-size", "proxy-max-temp-file-size"} {
		get(p, name, parseSize)
	}
	get(p, "proxy-http-version", func(s string) (string, error) {
		if s != "1.1" {
			return "", errors.New(`only "1.1" is supported (the data plane speaks HTTP/1.1 to HTTP backends)`)
		}
		return s, nil
	})
	get(p, "proxy-buffers-number", func(s string) (int64, error) { return parseInt(s, 1, 1024) })
}

// parseRedirectPrefix reads a proxy_redirect argument: "off", "default",
// or a URL or path prefix without spaces or quotes.
func parseRedirectPrefix(s string) (string, error) {
	if s == "off" || s == "default" {
		return s, nil
	}
	if s == "" || len(s) > maxURLLen || strings.ContainsAny(s, " \t\r\n\"'`;$\\{}") {
		return "", errors.New("not a URL or path prefix")
	}
	if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "", errors.New("not a path or http(s) URL prefix")
	}
	return s, nil
}

// parseCookieRewrite reads proxy_cookie_path/proxy_cookie_domain's "FROM
// TO" (or "off").
func parseCookieRewrite(s string) (*routing.Rewrite2, error) {
	if s == "off" {
		return nil, nil
	}
	f := strings.Fields(s)
	if len(f) != 2 {
		return nil, fmt.Errorf("%s: want \"FROM TO\"", quote(s))
	}
	for _, x := range f {
		if len(x) > maxURLLen || strings.ContainsAny(x, "\"'`;$\\{},=") {
			return nil, fmt.Errorf("%s: not a cookie path or domain", quote(x))
		}
	}
	return &routing.Rewrite2{From: f[0], To: f[1]}, nil
}
