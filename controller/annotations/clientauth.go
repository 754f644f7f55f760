package annotations

import (
	"errors"
	"regexp"
	"strings"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// ClientAuth is auth-tls-secret with its options: the host's clients must
// present a certificate signed by the CA in the Secret's ca.crt.
type ClientAuth struct {
	Secret ObjectRef `json:"secret"`
	// Verify is auth-tls-verify-client (default on).
	Verify routing.ClientVerify `json:"verify"`
	// Depth is auth-tls-verify-depth (default 1).
	Depth           int    `json:"depth"`
	PassCertificate bool   `json:"passCertificate,omitempty"`
	ErrorPage       string `json:"errorPage,omitempty"`
	MatchCN         string `json:"matchCN,omitempty"`
}

// parseClientAuth parses the auth-tls-* annotations. As ingress-nginx,
// they do nothing without auth-tls-secret. An invalid value denies the
// Ingress (a security feature fails closed).
func (p *parser) parseClientAuth(pol *Policy) {
	names := []string{"auth-tls-secret", "auth-tls-verify-client", "auth-tls-verify-depth", "auth-tls-pass-certificate-to-upstream",
		"auth-tls-error-page", "auth-tls-match-cn"}
	secret, hasSecret := get(p, "auth-tls-secret", p.ref)
	verify, hasVerify := get(p, "auth-tls-verify-client", func(s string) (routing.ClientVerify, error) {
		switch v := routing.ClientVerify(strings.ToLower(s)); v {
		case routing.ClientVerifyOn, routing.ClientVerifyOff, routing.ClientVerifyOptional, routing.ClientVerifyOptionalNoCA:
			return v, nil
		}
		return "", errors.New(`want "on", "off", "optional" or "optional_no_ca"`)
	})
	depth, hasDepth := get(p, "auth-tls-verify-depth", func(s string) (int64, error) { return parseInt(s, 1, 64) })
	pass, _ := get(p, "auth-tls-pass-certificate-to-upstream", parseBool)
	page, hasPage := get(p, "auth-tls-error-page", parseHTTPURL)
	cn, hasCN := get(p, "auth-tls-match-cn", parseMatchCN)
	if !p.has("auth-tls-secret") {
		p.unused("auth-tls-secret", names[1:]...)
		return
	}
	if culprit, bad := p.anyBad(names...); bad {
		p.disable(culprit, names...)
		p.deny(pol, culprit, "invalid client certificate authentication")
		return
	}
	if !hasSecret {
		return // not reachable: an absent secret returned above
	}
	ca := &ClientAuth{Secret: secret, Verify: routing.ClientVerifyOn, Depth: 1, PassCertificate: pass}
	if hasVerify {
		ca.Verify = verify
	}
	if hasDepth {
		ca.Depth = int(depth)
	}
	if hasPage {
		ca.ErrorPage = page.String()
	}
	if hasCN {
		ca.MatchCN = cn
	}
	pol.ClientAuth = ca
}

// matchCNChars are the characters a match-cn expression may use: enough
// for names, alternatives and wildcards; no quotes, ';', '$', braces or
// '%', which only an injection needs.
var matchCNChars = regexp.MustCompile(`^CN=[A-Za-z0-9 =,.*_\-/|()^?+\[\]\\@]+$`)

// parseMatchCN accepts "CN=" and a regular expression (RE2) over the
// subject DN, as ingress-nginx's auth-tls-match-cn.
func parseMatchCN(s string) (string, error) {
	if !matchCNChars.MatchString(s) {
		return "", errors.New(`want "CN=" and a regular expression of letters, digits, spaces and = , . * _ - / | ( ) ^ ? + [ ] \\ @`)
	}
	if _, err := regexp.Compile(s); err != nil {
		return "", errors.New("not a regular expression (RE2)")
	}
	return s, nil
}
