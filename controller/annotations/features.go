package annotations

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Defaults applied when a feature is enabled (ingress-nginx's documented
// defaults).
const (
	DefaultBurstMultiplier   = 5
	DefaultLimitStatus       = http.StatusServiceUnavailable
	DefaultPermanentCode     = http.StatusMovedPermanently
	DefaultTemporalCode      = http.StatusFound
	DefaultCanaryWeightTotal = 100
	DefaultCookieName        = "INGRESSCOOKIE"
	DefaultAffinityMode      = "balanced"
	DefaultAuthRealm         = "Authentication Required"
	DefaultAuthSecretType    = "auth-file"
	DefaultAuthMethod        = http.MethodGet
	DefaultSignInParam       = "rd"
	DefaultCORSOrigin        = "*"
	DefaultCORSMethods       = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	DefaultCORSHeaders       = "DNT, Keep-Alive, User-Agent, X-Requested-With, If-Modified-Since, Cache-Control, Content-Type, Range, Authorization"
	DefaultCORSMaxAge        = 1728000
	DefaultVerifyDepth       = 1
	// NginxDefaultCORSHeaders is ingress-nginx's cors-allow-headers
	// default, written as it sends it (the nginx dialect's default).
	NginxDefaultCORSHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
)

func (p *parser) parseRewrite(pol *Policy) {
	names := []string{"rewrite-target", "use-regex"}
	useRegex, _ := get(p, "use-regex", parseBool)
	target, hasTarget := get(p, "rewrite-target", parseTemplate)
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		return
	}
	if !useRegex && !hasTarget {
		return
	}
	rw := &Rewrite{UseRegex: useRegex}
	if hasTarget {
		rw.Target = target
	}
	if len(p.in.Paths) > 0 {
		rw.Paths = make(map[string]*Regex, len(p.in.Paths))
		for _, path := range p.in.Paths {
			re, err := CompilePathRegex(path)
			if err != nil {
				culprit := "use-regex"
				if !useRegex {
					culprit = "rewrite-target"
				}
				p.invalid(culprit, fmt.Sprintf("path %s is not a valid expression: %v", quote(path), err))
				p.disable(culprit, names...)
				return
			}
			rw.Paths[path] = re
		}
	}
	pol.Rewrite = rw
}

func (p *parser) parseRedirects(pol *Policy) {
	names := []string{"permanent-redirect", "permanent-redirect-code", "temporal-redirect", "temporal-redirect-code"}
	if v, ok := get(p, "app-root", func(s string) (string, error) { return parsePath(s, true) }); ok {
		pol.AppRoot = v
	}
	if v, ok := get(p, "ssl-redirect", parseBool); ok {
		pol.SSLRedirect = tristate(v)
	}
	if v, ok := get(p, "force-ssl-redirect", parseBool); ok {
		pol.ForceSSLRedirect = v
	}
	perm, hasPerm := get(p, "permanent-redirect", parseRedirectURL)
	permCode, hasPermCode := get(p, "permanent-redirect-code", redirectCode)
	temp, hasTemp := get(p, "temporal-redirect", parseRedirectURL)
	tempCode, hasTempCode := get(p, "temporal-redirect-code", redirectCode)
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		return
	}
	if !hasPerm {
		p.unused("permanent-redirect", "permanent-redirect-code")
	}
	if !hasTemp {
		p.unused("temporal-redirect", "temporal-redirect-code")
	}
	switch {
	case hasTemp: // ingress-nginx checks the temporal redirect first
		temp.Code = DefaultTemporalCode
		if hasTempCode {
			temp.Code = tempCode
		}
		pol.Redirect = temp
	case hasPerm:
		perm.Code = DefaultPermanentCode
		if hasPermCode {
			perm.Code = permCode
		}
		pol.Redirect = perm
	}
}

func tristate(b bool) Tristate {
	if b {
		return True
	}
	return False
}

func redirectCode(s string) (int, error) {
	n, err := parseInt(s, 300, 308)
	if err != nil || n == 305 || n == 306 {
		return 0, errors.New("not a redirect status (300-304, 307, 308)")
	}
	return int(n), nil
}

// parseRedirectURL parses an http(s) URL, optionally ending in
// "$request_uri".
func parseRedirectURL(s string) (*routing.Redirect, error) {
	base, appendURI := strings.CutSuffix(s, "$request_uri")
	u, err := parseHTTPURL(base)
	if err != nil {
		return nil, err
	}
	if appendURI && (u.RawQuery != "" || strings.HasSuffix(base, "?")) {
		return nil, errors.New("$request_uri cannot follow a query string")
	}
	return &routing.Redirect{URL: base, AppendRequestURI: appendURI}, nil
}

func (p *parser) parseRateLimit(pol *Policy) {
	names := []string{"limit-rps", "limit-rpm", "limit-connections", "limit-burst-multiplier", "limit-whitelist", "limit-allowlist"}
	rate := func(s string) (int, error) { n, err := parseInt(s, 0, maxRate); return int(n), err }
	rps, _ := get(p, "limit-rps", rate)
	rpm, _ := get(p, "limit-rpm", rate)
	conns, _ := get(p, "limit-connections", rate)
	burst, hasBurst := get(p, "limit-burst-multiplier", func(s string) (int, error) {
		n, err := parseInt(s, 1, maxBurstMultipl)
		return int(n), err
	})
	allow, hasAllow := get(p, "limit-allowlist", parsePrefixes)
	white, hasWhite := get(p, "limit-whitelist", parsePrefixes)
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		return
	}
	if rps == 0 && rpm == 0 && conns == 0 {
		p.unused("limit-rps", "limit-burst-multiplier", "limit-whitelist", "limit-allowlist")
		return
	}
	rl := &routing.RateLimit{RPS: rps, RPM: rpm, Connections: conns, BurstMultiplier: DefaultBurstMultiplier, RejectStatus: DefaultLimitStatus,
		BurstExcess: p.d == DialectNginx}
	if hasBurst {
		rl.BurstMultiplier = burst
	}
	switch {
	case hasAllow:
		rl.Exempt = allow
		if hasWhite {
			p.warn("limit-whitelist", ReasonUnused, "ignored: "+p.d.Key("limit-allowlist")+" is set")
		}
	case hasWhite:
		rl.Exempt = white
	}
	pol.RateLimit = rl
}

func (p *parser) parseProxy(pol *Policy) {
	secs := func(s string) (routing.Duration, error) {
		n, err := parseInt(s, 1, maxSeconds)
		return routing.Duration(time.Duration(n) * time.Second), err
	}
	if v, ok := get(p, "proxy-connect-timeout", secs); ok {
		pol.Timeouts.Connect = v
	}
	if v, ok := get(p, "proxy-read-timeout", secs); ok {
		pol.Timeouts.Read = v
	}
	if v, ok := get(p, "proxy-send-timeout", secs); ok {
		pol.Timeouts.Send = v
	}
	if v, ok := get(p, "proxy-body-size", parseSize); ok {
		pol.MaxBodySize = v
	}
	if v, ok := get(p, "proxy-next-upstream-tries", func(s string) (int, error) {
		n, err := parseInt(s, 0, maxTries)
		if n == 0 {
			n = NoLimit
		}
		return int(n), err
	}); ok {
		pol.NextUpstreamTries = v
	}
	if v, ok := get(p, "x-forwarded-prefix", func(s string) (string, error) { return parsePath(s, false) }); ok {
		pol.XForwardedPrefix = v
	}
	if v, ok := get(p, "upstream-vhost", parseHostPort); ok {
		pol.UpstreamVhost = v
	}
}

func (p *parser) parseBackend(pol *Policy) {
	names := []string{"proxy-ssl-verify", "proxy-ssl-secret", "proxy-ssl-name", "proxy-ssl-server-name", "proxy-ssl-verify-depth"}
	proto, hasProto := get(p, "backend-protocol", func(s string) (string, error) {
		switch u := strings.ToUpper(s); u {
		case ProtocolHTTP, ProtocolHTTPS, ProtocolGRPC, ProtocolGRPCS, ProtocolH2C:
			return u, nil
		case "AJP", "FCGI", "AUTO_HTTP":
			return "", fmt.Errorf("protocol %s is not supported", u)
		}
		return "", errors.New("want HTTP, HTTPS, GRPC, GRPCS or H2C")
	})
	verify, hasVerify := get(p, "proxy-ssl-verify", parseOnOff)
	secret, hasSecret := get(p, "proxy-ssl-secret", p.ref)
	name, hasName := get(p, "proxy-ssl-name", func(s string) (string, error) { return parseHostname(s, false) })
	sni, hasSNI := get(p, "proxy-ssl-server-name", parseOnOff)
	depth, hasDepth := get(p, "proxy-ssl-verify-depth", func(s string) (int, error) {
		n, err := parseInt(s, 1, maxVerifyDepth)
		return int(n), err
	})
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		p.deny(pol, culprit, "invalid upstream TLS configuration")
	} else if hasVerify || hasSecret || hasName || hasSNI || hasDepth {
		t := &UpstreamTLS{Verify: verify, ServerName: name, SNI: sni, VerifyDepth: DefaultVerifyDepth}
		if hasSecret {
			t.Secret = &secret
		}
		if hasDepth {
			t.VerifyDepth = depth
		}
		if t.Verify && t.Secret == nil {
			p.invalid("proxy-ssl-verify", "verification needs "+p.d.Key("proxy-ssl-secret")+" (its ca.crt)")
			p.deny(pol, "proxy-ssl-verify", "upstream TLS verification without a CA secret")
		} else {
			pol.Backend = &Backend{Protocol: ProtocolHTTP, TLS: t}
		}
	}
	if hasProto {
		if pol.Backend == nil {
			pol.Backend = &Backend{}
		}
		pol.Backend.Protocol = proto
	}
	if pol.Backend != nil && pol.Backend.TLS != nil && pol.Backend.Protocol != ProtocolHTTPS && pol.Backend.Protocol != ProtocolGRPCS {
		p.unused("backend-protocol", names...)
		pol.Backend.TLS = nil
		if !hasProto {
			pol.Backend = nil
		}
	}
}

func (p *parser) ref(s string) (ObjectRef, error) {
	return parseRef(s, p.in.Namespace, p.opts.AllowCrossNamespace)
}

func (p *parser) parseSourceRange(pol *Policy) {
	allow, hasAllow := get(p, "allowlist-source-range", parsePrefixes)
	white, hasWhite := get(p, "whitelist-source-range", parsePrefixes)
	deny, hasDeny := get(p, "denylist-source-range", parsePrefixes)
	if culprit, bad := p.anyBad("allowlist-source-range", "whitelist-source-range", "denylist-source-range"); bad {
		p.disable(culprit, "allowlist-source-range", "whitelist-source-range", "denylist-source-range")
		p.deny(pol, culprit, "invalid source range")
		return
	}
	sr := &routing.Access{}
	switch {
	case hasAllow:
		sr.Allow = allow
		if hasWhite {
			p.warn("whitelist-source-range", ReasonUnused, "ignored: "+p.d.Key("allowlist-source-range")+" is set")
		}
	case hasWhite:
		sr.Allow = white
	}
	if hasDeny {
		sr.Deny = deny
	}
	if sr.Allow != nil || sr.Deny != nil {
		pol.SourceRange = sr
	}
}

func (p *parser) parseBasicAuth(pol *Policy) {
	names := []string{"auth-type", "auth-secret", "auth-secret-type", "auth-realm"}
	_, _ = get(p, "auth-type", func(s string) (string, error) {
		switch strings.ToLower(s) {
		case "basic":
			return "basic", nil
		case "digest":
			return "", errors.New("digest authentication is not supported")
		}
		return "", errors.New(`want "basic"`)
	})
	secret, hasSecret := get(p, "auth-secret", p.ref)
	stype, hasSType := get(p, "auth-secret-type", func(s string) (string, error) {
		if s != "auth-file" && s != "auth-map" {
			return "", errors.New(`want "auth-file" or "auth-map"`)
		}
		return s, nil
	})
	realm, hasRealm := get(p, "auth-realm", parseRealm)
	if !p.has("auth-type") {
		p.unused("auth-type", names[1:]...)
		return
	}
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		p.deny(pol, culprit, "invalid basic authentication")
		return
	}
	if !hasSecret {
		p.invalid("auth-type", "needs "+p.d.Key("auth-secret"))
		p.deny(pol, "auth-type", "basic authentication without a secret")
		return
	}
	ba := &BasicAuth{Secret: secret, SecretType: DefaultAuthSecretType, Realm: DefaultAuthRealm}
	if p.d == DialectNginx {
		ba.Realm = "" // ingress-nginx's auth_basic "" without auth-realm
	}
	if hasSType {
		ba.SecretType = stype
	}
	if hasRealm {
		ba.Realm = realm
	}
	pol.BasicAuth = ba
}

// parseRealm accepts printable text without quotes or backslashes (it goes
// into a WWW-Authenticate quoted-string).
func parseRealm(s string) (string, error) {
	if len(s) > maxRealmLen {
		return "", fmt.Errorf("longer than %d bytes", maxRealmLen)
	}
	if strings.ContainsAny(s, "\"\\") {
		return "", errors.New(`quotes and backslashes are not allowed`)
	}
	return s, nil
}

func (p *parser) parseExternalAuth(pol *Policy) {
	names := []string{"auth-url", "auth-method", "auth-response-headers", "auth-signin", "auth-signin-redirect-param", "auth-cache-key", "auth-cache-duration"}
	cacheKey, hasCacheKey := get(p, "auth-cache-key", routing.ParseCacheKey)
	cacheValid, hasCacheValid := get(p, "auth-cache-duration", parseCacheDurations)
	u, _ := get(p, "auth-url", parseHTTPURL)
	method, hasMethod := get(p, "auth-method", func(s string) (string, error) {
		switch m := strings.ToUpper(s); m {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE":
			return m, nil
		}
		return "", errors.New("not an HTTP method")
	})
	headers, hasHeaders := get(p, "auth-response-headers", func(s string) ([]string, error) {
		items, err := splitList(s)
		if err != nil {
			return nil, err
		}
		for _, h := range items {
			if !isToken(h) {
				return nil, fmt.Errorf("%s is not a header name", quote(h))
			}
		}
		return items, nil
	})
	signin, hasSignin := get(p, "auth-signin", parseHTTPURL)
	param, hasParam := get(p, "auth-signin-redirect-param", func(s string) (string, error) {
		if len(s) > 64 || strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return "", errors.New("want letters, digits, '_' or '-'")
		}
		return s, nil
	})
	if !p.has("auth-url") {
		p.unused("auth-url", names[1:]...)
		return
	}
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		p.deny(pol, culprit, "invalid external authentication")
		return
	}
	ea := &ExternalAuth{URL: u.String(), Method: DefaultAuthMethod}
	if hasMethod {
		ea.Method = method
	}
	if hasHeaders {
		ea.ResponseHeaders = headers
	}
	if hasSignin {
		ea.SignIn = signin.String()
		ea.SignInRedirectParam = DefaultSignInParam
	}
	if hasParam {
		if !hasSignin {
			p.unused("auth-signin", "auth-signin-redirect-param")
		} else {
			ea.SignInRedirectParam = param
		}
	}
	switch {
	case hasCacheKey:
		ea.Cache = &routing.AuthCache{Key: cacheKey, Valid: DefaultAuthCacheDuration}
		if hasCacheValid {
			ea.Cache.Valid = cacheValid
		}
	case hasCacheValid:
		p.unused("auth-cache-key", "auth-cache-duration")
	}
	pol.ExternalAuth = ea
}

func (p *parser) parseCORS(pol *Policy) {
	names := []string{"enable-cors", "cors-allow-origin", "cors-allow-methods", "cors-allow-headers", "cors-expose-headers", "cors-allow-credentials", "cors-max-age"}
	enabled, _ := get(p, "enable-cors", parseBool)
	orig, hasOrig := get(p, "cors-allow-origin", parseOrigins)
	methods, hasMethods := get(p, "cors-allow-methods", func(s string) (string, error) { return parseWordList(s, true, isLetter) })
	headers, hasHeaders := get(p, "cors-allow-headers", func(s string) (string, error) { return parseWordList(s, false, isHeaderWordChar) })
	expose, hasExpose := get(p, "cors-expose-headers", func(s string) (string, error) {
		return parseWordList(s, false, func(c byte) bool { return isHeaderWordChar(c) || c == '*' })
	})
	creds, hasCreds := get(p, "cors-allow-credentials", parseBool)
	maxAge, hasMaxAge := get(p, "cors-max-age", func(s string) (int, error) { n, err := parseInt(s, 0, maxCORSMaxAge); return int(n), err })
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		return
	}
	if !enabled {
		p.unused("enable-cors", names[1:]...)
		return
	}
	c := routing.CORS{AllowOrigins: []string{DefaultCORSOrigin}, AllowMethods: DefaultCORSMethods, AllowHeaders: DefaultCORSHeaders,
		AllowCredentials: true, MaxAge: DefaultCORSMaxAge, Everywhere: p.d == DialectNginx}
	if p.d == DialectNginx {
		c.AllowHeaders = NginxDefaultCORSHeaders
		// ingress-nginx sends the checked lists as written.
		asWritten := func(name string, v *string) {
			if raw, ok := p.vals[name]; ok {
				*v = strings.TrimSpace(raw)
			}
		}
		if hasMethods {
			asWritten("cors-allow-methods", &methods)
		}
		if hasHeaders {
			asWritten("cors-allow-headers", &headers)
		}
		if hasExpose {
			asWritten("cors-expose-headers", &expose)
		}
	}
	if hasOrig {
		c.AllowOrigins = orig
	}
	if hasMethods {
		c.AllowMethods = methods
	}
	if hasHeaders {
		c.AllowHeaders = headers
	}
	if hasExpose {
		c.ExposeHeaders = expose
	}
	if hasCreds {
		c.AllowCredentials = creds
	}
	if hasMaxAge {
		c.MaxAge = maxAge
	}
	pol.CORS = routing.NewCORS(c)
}

func (p *parser) parseCanary(pol *Policy) {
	names := []string{"canary", "canary-weight", "canary-weight-total", "canary-by-header", "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie"}
	on, _ := get(p, "canary", parseBool)
	weight, hasWeight := get(p, "canary-weight", func(s string) (int, error) { n, err := parseInt(s, 0, maxCanaryTotal); return int(n), err })
	total, hasTotal := get(p, "canary-weight-total", func(s string) (int, error) { n, err := parseInt(s, 1, maxCanaryTotal); return int(n), err })
	header, hasHeader := get(p, "canary-by-header", parseToken)
	value, hasValue := get(p, "canary-by-header-value", func(s string) (string, error) {
		if len(s) > maxTokenLen {
			return "", fmt.Errorf("longer than %d bytes", maxTokenLen)
		}
		return s, nil
	})
	pattern, hasPattern := get(p, "canary-by-header-pattern", func(s string) (*Regex, error) { return compileRegex(s, "") })
	cookie, hasCookie := get(p, "canary-by-cookie", parseToken)
	if !on && !p.bad["canary"] {
		p.unused("canary", names[1:]...)
		return
	}
	c := &Canary{WeightTotal: DefaultCanaryWeightTotal}
	pol.Canary = c
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		return // an inert canary: no traffic
	}
	if hasTotal {
		c.WeightTotal = total
		if p.d == DialectNginx && total < DefaultCanaryWeightTotal {
			// ingress-nginx's balancer draws from max(total, 100).
			c.WeightTotal = DefaultCanaryWeightTotal
			p.warn("canary-weight-total", ReasonNginxCompat, fmt.Sprintf("%d is below %d: read as %d, as ingress-nginx does", total, DefaultCanaryWeightTotal, DefaultCanaryWeightTotal))
		}
	}
	if hasWeight {
		if weight > c.WeightTotal {
			p.invalid("canary-weight", fmt.Sprintf("%d is more than the weight total %d", weight, c.WeightTotal))
			p.disable("canary-weight", names...)
			c.WeightTotal = DefaultCanaryWeightTotal
			return
		}
		c.Weight = weight
	}
	if hasHeader {
		c.Header = header
		switch {
		case hasValue:
			c.HeaderValue = value
			if hasPattern {
				p.warn("canary-by-header-pattern", ReasonUnused, "ignored: "+p.d.Key("canary-by-header-value")+" is set")
			}
		case hasPattern:
			c.HeaderPattern = pattern
		}
	} else {
		p.unused("canary-by-header", "canary-by-header-value", "canary-by-header-pattern")
	}
	if hasCookie {
		c.Cookie = cookie
	}
}

func (p *parser) parseAffinity(pol *Policy) {
	names := []string{"affinity", "affinity-mode", "session-cookie-name", "session-cookie-path", "session-cookie-domain", "session-cookie-max-age",
		"session-cookie-expires", "session-cookie-samesite", "session-cookie-secure", "session-cookie-change-on-failure"}
	seconds := func(s string) (int, error) { n, err := parseInt(s, 0, maxCookieAge); return int(n), err }
	_, _ = get(p, "affinity", func(s string) (string, error) {
		if s != "cookie" {
			return "", errors.New(`want "cookie"`)
		}
		return s, nil
	})
	mode, hasMode := get(p, "affinity-mode", func(s string) (string, error) {
		if s != "balanced" && s != "persistent" {
			return "", errors.New(`want "balanced" or "persistent"`)
		}
		return s, nil
	})
	name, hasName := get(p, "session-cookie-name", parseToken)
	path, hasPath := get(p, "session-cookie-path", func(s string) (string, error) { return parsePath(s, false) })
	domain, hasDomain := get(p, "session-cookie-domain", func(s string) (string, error) {
		return parseHostname(strings.TrimPrefix(s, "."), false)
	})
	maxAge, hasMaxAge := get(p, "session-cookie-max-age", seconds)
	expires, hasExpires := get(p, "session-cookie-expires", seconds)
	sameSite, hasSameSite := get(p, "session-cookie-samesite", func(s string) (string, error) {
		for _, v := range []string{"None", "Lax", "Strict"} {
			if strings.EqualFold(s, v) {
				return v, nil
			}
		}
		return "", errors.New(`want "None", "Lax" or "Strict"`)
	})
	secure, _ := get(p, "session-cookie-secure", parseBool)
	change, _ := get(p, "session-cookie-change-on-failure", parseBool)
	if !p.has("affinity") {
		p.unused("affinity", names[1:]...)
		return
	}
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		return
	}
	a := &Affinity{Mode: DefaultAffinityMode, CookieName: DefaultCookieName, Secure: secure, ChangeOnFailure: change}
	if hasMode {
		a.Mode = mode
	}
	if hasName {
		a.CookieName = name
	}
	if hasPath {
		a.CookiePath = path
	}
	if hasDomain {
		a.CookieDomain = domain
	}
	if hasMaxAge {
		a.MaxAge = maxAge
	}
	if hasExpires {
		a.Expires = expires
	}
	if hasSameSite {
		a.SameSite = sameSite
	}
	pol.Affinity = a
}

func (p *parser) parseMisc(pol *Policy) {
	if v, ok := get(p, "custom-headers", p.ref); ok {
		pol.CustomHeaders = &v
	}
	if v, ok := get(p, "server-alias", func(s string) ([]string, error) {
		items, err := splitList(s)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, it := range items {
			h, err := parseHostname(it, true)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
		return out, nil
	}); ok {
		pol.ServerAliases = v
	}
	if v, ok := get(p, "default-backend", func(s string) (string, error) {
		if len(validation.IsDNS1035Label(s)) > 0 {
			return "", errors.New("not a Service name")
		}
		return s, nil
	}); ok {
		pol.DefaultBackend = v
	}
	if v, ok := get(p, "custom-http-errors", parseStatusSet); ok {
		pol.CustomHTTPErrors = v
	}
}
