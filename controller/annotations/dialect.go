package annotations

import (
	"fmt"
	"strings"
)

// Dialect selects the annotation prefix the parser reads. Both dialects have
// the same names, value syntax and semantics; only the prefix differs.
type Dialect string

const (
	// DialectIngressLab reads ingresslab.dev/<name>. It is the default.
	DialectIngressLab Dialect = "ingresslab"
	// DialectNginx reads nginx.ingress.kubernetes.io/<name>, the prefix of
	// the retired ingress-nginx controller, for clusters that migrate.
	DialectNginx Dialect = "nginx"
)

// Prefixes of the dialects, without the trailing slash.
const (
	PrefixIngressLab = "ingresslab.dev"
	PrefixNginx      = "nginx.ingress.kubernetes.io"
)

// Dialects lists every dialect, default first.
func Dialects() []Dialect { return []Dialect{DialectIngressLab, DialectNginx} }

// Prefix is the annotation prefix of d without the trailing slash ("" for an
// unknown dialect).
func (d Dialect) Prefix() string {
	switch d {
	case DialectIngressLab:
		return PrefixIngressLab
	case DialectNginx:
		return PrefixNginx
	}
	return ""
}

// Key is the full annotation key of the short name in dialect d, e.g.
// DialectNginx.Key("rewrite-target") = "nginx.ingress.kubernetes.io/rewrite-target".
func (d Dialect) Key(name string) string { return d.Prefix() + "/" + name }

// ParseDialect accepts a dialect name ("ingresslab", "nginx") or its prefix
// ("ingresslab.dev", "nginx.ingress.kubernetes.io"), case-insensitively. The
// empty string is DialectIngressLab. It is meant for a controller flag and
// for the "annotationDialect" key of IngressClass parameters.
func ParseDialect(s string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(DialectIngressLab), PrefixIngressLab:
		return DialectIngressLab, nil
	case string(DialectNginx), PrefixNginx, "ingress-nginx":
		return DialectNginx, nil
	}
	return "", fmt.Errorf("annotation dialect %q: want %q or %q", s, DialectIngressLab, DialectNginx)
}

// SplitKey splits a full annotation key into its dialect and short name. ok
// is false when the key has neither dialect's prefix.
func SplitKey(key string) (d Dialect, name string, ok bool) {
	for _, d := range Dialects() {
		if n, found := strings.CutPrefix(key, d.Prefix()+"/"); found {
			return d, n, true
		}
	}
	return "", "", false
}
