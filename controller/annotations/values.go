package annotations

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Value bounds.
const (
	maxRegexLen     = 1024    // bytes of one expression
	maxRegexInsts   = 20000   // compiled RE2 program size
	maxListItems    = 1000    // CIDRs, codes, aliases, headers per annotation
	maxSeconds      = 86400   // timeouts
	maxCookieAge    = 1 << 30 // seconds (about 34 years)
	maxRate         = 1_000_000
	maxBodyBytes    = 1 << 40 // 1 TiB
	maxURLLen       = 2048
	maxTokenLen     = 256
	maxRealmLen     = 256
	minErrorCode    = 400
	maxErrorCode    = 599
	maxCanaryTotal  = 1_000_000
	maxCORSMaxAge   = 1 << 30
	maxVerifyDepth  = 16
	maxTries        = 100
	maxBurstMultipl = 1000
)

var errEmpty = errors.New("empty value")

// parseBool accepts strconv.ParseBool's forms ("true", "1", "False", ...).
func parseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errors.New("not a boolean (want \"true\" or \"false\")")
	}
	return b, nil
}

// parseOnOff accepts nginx's "on"/"off" and the boolean forms.
func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, errors.New(`want "on" or "off"`)
	}
	return b, nil
}

// parseInt parses a decimal integer in [lo, hi]; only ASCII digits (no sign
// other than a leading '-', no spaces, no base prefixes).
func parseInt(s string, lo, hi int64) (int64, error) {
	if s == "" {
		return 0, errEmpty
	}
	body := strings.TrimPrefix(s, "-")
	if body == "" || strings.TrimLeft(body, "0123456789") != "" {
		return 0, errors.New("not a decimal integer")
	}
	if len(body) > 19 {
		return 0, fmt.Errorf("out of range [%d, %d]", lo, hi)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("out of range [%d, %d]", lo, hi)
	}
	return n, nil
}

// parseSize parses an nginx size: digits with an optional k/K/m/M/g/G
// suffix. "0" returns NoLimit.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, errEmpty
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	n, err := parseInt(num, 0, maxBodyBytes)
	if err != nil || strings.HasPrefix(num, "-") {
		return 0, errors.New("not a size (digits with an optional k, m or g suffix)")
	}
	if n == 0 {
		return NoLimit, nil
	}
	if n > maxBodyBytes/mult {
		return 0, fmt.Errorf("larger than %d bytes", int64(maxBodyBytes))
	}
	return n * mult, nil
}

// splitList splits a comma-separated list, trimming items; empty items and
// more than maxListItems items are errors.
func splitList(s string) ([]string, error) {
	if s == "" {
		return nil, errEmpty
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxListItems {
		return nil, fmt.Errorf("more than %d items", maxListItems)
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("item %d is empty", i+1)
		}
		parts[i] = p
	}
	return parts, nil
}

// parsePrefixes parses a list of CIDRs or bare addresses with net/netip
// into masked, deduplicated and sorted prefixes (never empty).
func parsePrefixes(s string) (routing.Prefixes, error) {
	items, err := splitList(s)
	if err != nil {
		return nil, err
	}
	var set routing.Prefixes
	for _, it := range items {
		var p netip.Prefix
		if strings.Contains(it, "/") {
			p, err = netip.ParsePrefix(it)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(it); err == nil {
				if a.Zone() != "" {
					err = errors.New("zones are not allowed")
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a CIDR or IP address", quote(it))
		}
		p = p.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if !slices.Contains(set, p) {
			set = append(set, p)
		}
	}
	slices.SortFunc(set, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return set, nil
}

// isURIChar reports whether c may appear in a URI (RFC 3986 unreserved,
// reserved without the single quote, and '%'). Quotes, spaces, backslashes, braces, '<', '>', '|',
// '^' and '`' are excluded.
func isURIChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&()*+,;=%", c) >= 0
}

func checkURIChars(s string) error {
	for i := 0; i < len(s); i++ {
		if !isURIChar(s[i]) {
			return fmt.Errorf("character %q is not allowed", s[i])
		}
	}
	return nil
}

// parsePath validates an absolute path (no query unless allowQuery): starts
// with one '/', URI characters only, no '$', no dot segments.
func parsePath(s string, allowQuery bool) (string, error) {
	if s == "" {
		return "", errEmpty
	}
	if len(s) > maxURLLen {
		return "", fmt.Errorf("longer than %d bytes", maxURLLen)
	}
	if s[0] != '/' || strings.HasPrefix(s, "//") {
		return "", errors.New(`must start with a single "/"`)
	}
	if err := checkURIChars(s); err != nil {
		return "", err
	}
	if strings.ContainsAny(s, "$#") {
		return "", errors.New(`"$" and "#" are not allowed`)
	}
	p, _, hasQ := strings.Cut(s, "?")
	if hasQ && !allowQuery {
		return "", errors.New("a query string is not allowed")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return "", errors.New("dot segments are not allowed")
		}
	}
	return s, nil
}

// parseHTTPURL validates an absolute http or https URL without user info,
// fragment or '$'.
func parseHTTPURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errEmpty
	}
	if len(s) > maxURLLen {
		return nil, fmt.Errorf("longer than %d bytes", maxURLLen)
	}
	if err := checkURIChars(s); err != nil {
		return nil, err
	}
	if strings.Contains(s, "$") {
		return nil, errors.New(`"$" is not allowed (nginx variables are not supported)`)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("scheme must be http or https")
	}
	if u.Opaque != "" || u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(s, "#") {
		return nil, errors.New("must be an absolute URL with a host and no user info or fragment")
	}
	if _, err := parseHostPort(u.Host); err != nil {
		return nil, err
	}
	return u, nil
}

// parseHostPort validates host[:port] where host is a DNS name or an IP
// address (IPv6 in brackets).
func parseHostPort(s string) (string, error) {
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
		if _, err := parseInt(port, 1, 65535); err != nil {
			return "", fmt.Errorf("port %s: %w", quote(port), err)
		}
	}
	if h, ok := strings.CutPrefix(host, "["); ok {
		h, ok = strings.CutSuffix(h, "]")
		if a, err := netip.ParseAddr(h); !ok || err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("%s: not an IPv6 address", quote(host))
		}
		return strings.ToLower(s), nil
	}
	if _, err := netip.ParseAddr(host); err == nil && strings.Count(host, ".") == 3 {
		return s, nil
	}
	if _, err := parseHostname(host, false); err != nil {
		return "", err
	}
	return strings.ToLower(s), nil
}

// parseHostname validates a DNS-1123 subdomain (lower-cased), optionally
// with a leading "*." wildcard.
func parseHostname(s string, wildcard bool) (string, error) {
	h := strings.ToLower(s)
	name := h
	if wildcard {
		name = strings.TrimPrefix(h, "*.")
	}
	if name == "" || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return "", fmt.Errorf("%s: not a DNS name", quote(s))
	}
	return h, nil
}

// isToken reports whether s is a header or cookie name: a conservative
// subset of RFC 9110 tokens (letters, digits, '-', '_', '.'), so that no name
// can carry quoting or shell/config metacharacters.
func isToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

func parseToken(s string) (string, error) {
	if !isToken(s) {
		return "", errors.New("not a header/cookie name (letters, digits, '-', '_', '.')")
	}
	return s, nil
}

// parseRef parses "name" or "namespace/name" for a Secret or ConfigMap.
func parseRef(s, namespace string, allowCross bool) (ObjectRef, error) {
	ns, name, found := strings.Cut(s, "/")
	if !found {
		ns, name = namespace, s
	}
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return ObjectRef{}, fmt.Errorf("namespace %s is not a DNS label", quote(ns))
	}
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return ObjectRef{}, fmt.Errorf("name %s is not a DNS subdomain", quote(name))
	}
	if ns != namespace && !allowCross {
		return ObjectRef{}, fmt.Errorf("namespace %s differs from the Ingress's (cross-namespace references are disabled)", quote(ns))
	}
	return ObjectRef{Namespace: ns, Name: name}, nil
}

// compileRegex compiles prefix+pat with RE2 after bounding its length and
// compiled program size.
func compileRegex(pat, prefix string) (*Regex, error) {
	if pat == "" {
		return nil, errEmpty
	}
	if len(pat) > maxRegexLen {
		return nil, fmt.Errorf("expression longer than %d bytes", maxRegexLen)
	}
	full := prefix + pat
	tree, err := syntax.Parse(full, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid RE2 expression: %v", syntaxCode(err))
	}
	prog, err := syntax.Compile(tree.Simplify())
	if err != nil {
		return nil, fmt.Errorf("invalid RE2 expression: %v", syntaxCode(err))
	}
	if len(prog.Inst) > maxRegexInsts {
		return nil, fmt.Errorf("expression too complex (%d > %d instructions)", len(prog.Inst), maxRegexInsts)
	}
	re, err := regexp.Compile(full)
	if err != nil {
		return nil, fmt.Errorf("invalid RE2 expression: %v", syntaxCode(err))
	}
	return &Regex{pattern: full, re: re}, nil
}

// syntaxCode reduces a regexp/syntax error to its code, so that messages
// do not echo (possibly huge) expressions.
func syntaxCode(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return "invalid expression"
}

// parseTemplate validates a rewrite target: an absolute path of URI
// characters where '$' must be followed by one digit.
func parseTemplate(s string) (*routing.Template, error) {
	if s == "" {
		return nil, errEmpty
	}
	if len(s) > maxURLLen {
		return nil, fmt.Errorf("longer than %d bytes", maxURLLen)
	}
	if s[0] != '/' || strings.HasPrefix(s, "//") {
		return nil, errors.New(`must be a path starting with a single "/"`)
	}
	if err := checkURIChars(s); err != nil {
		return nil, err
	}
	if strings.ContainsAny(s, "?#") {
		return nil, errors.New("a query string or fragment is not allowed")
	}
	t, err := routing.NewTemplate(s)
	if err != nil {
		// NewTemplate's one refusal; the parser has always named the
		// groups $1..$9 (ingress-nginx's), though $0 is accepted too.
		return nil, errors.New(`"$" must be followed by a single capture group digit ($1..$9)`)
	}
	return t, nil
}

// parseOrigins parses cors-allow-origin: "*" or http(s)://host[:port]
// entries, host optionally starting with "*." (one label). It returns them
// validated and lower-cased, as routing.NewCORS expects.
func parseOrigins(s string) ([]string, error) {
	items, err := splitList(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		if it == "*" {
			out = append(out, it)
			continue
		}
		lo := strings.ToLower(it)
		scheme, rest, ok := strings.Cut(lo, "://")
		if !ok || (scheme != "http" && scheme != "https") {
			return nil, fmt.Errorf("%s: want http(s)://host[:port]", quote(it))
		}
		host, port := rest, ""
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i+1:]
			if _, err := parseInt(port, 1, 65535); err != nil {
				return nil, fmt.Errorf("%s: bad port", quote(it))
			}
		}
		if sfx, wild := strings.CutPrefix(host, "*."); wild {
			if _, err := parseHostname(sfx, false); err != nil {
				return nil, fmt.Errorf("%s: want http(s)://host[:port]", quote(it))
			}
		} else if _, err := parseHostPort(rest); err != nil {
			return nil, fmt.Errorf("%s: want http(s)://host[:port]", quote(it))
		}
		out = append(out, lo)
	}
	return out, nil
}

// parseWordList validates a comma-separated list whose items consist of
// bytes accepted by ok, and joins it canonically with ", ".
func parseWordList(s string, upper bool, ok func(byte) bool) (string, error) {
	items, err := splitList(s)
	if err != nil {
		return "", err
	}
	for i, it := range items {
		if len(it) > maxTokenLen {
			return "", fmt.Errorf("item %d is too long", i+1)
		}
		for j := 0; j < len(it); j++ {
			if !ok(it[j]) {
				return "", fmt.Errorf("item %s: character %q is not allowed", quote(it), it[j])
			}
		}
		if upper {
			items[i] = strings.ToUpper(it)
		}
	}
	return strings.Join(items, ", "), nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isHeaderWordChar(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// parseStatusSet parses custom-http-errors: codes 400-599, kept in
// ascending order.
func parseStatusSet(s string) (*routing.StatusSet, error) {
	items, err := splitList(s)
	if err != nil {
		return nil, err
	}
	codes := make([]int, 0, len(items))
	for _, it := range items {
		n, err := parseInt(it, minErrorCode, maxErrorCode)
		if err != nil {
			return nil, fmt.Errorf("code %s: %w", quote(it), err)
		}
		codes = append(codes, int(n))
	}
	slices.Sort(codes)
	return routing.NewStatusSet(slices.Compact(codes)...), nil
}

// quote renders a value for a message: Go-quoted (control characters
// escaped) and cut to 64 bytes.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
