package routing

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxHostLen is the longest DNS name (RFC 1035). A request host longer than
// this cannot equal any rule host, so Match skips the host index for it.
const maxHostLen = 253

// CanonicalHost validates a rule host and returns it lower-cased. Valid hosts
// are "" (any host), a DNS-1123 subdomain ("foo.com") and "*." followed by a
// DNS-1123 subdomain ("*.foo.com"). IP addresses, ports, a lone "*", a '*'
// anywhere else, empty labels and trailing dots are rejected.
func CanonicalHost(host string) (string, error) {
	if host == "" {
		return "", nil
	}
	if plainDNSName(host) {
		return host, nil // the common case, already canonical, in one pass
	}
	return canonicalHost(host)
}

// canonicalHost is CanonicalHost without the fast path.
func canonicalHost(host string) (string, error) {
	h := strings.ToLower(host)
	name := h
	if strings.HasPrefix(h, "*.") {
		name = h[2:]
	}
	if len(h) > maxHostLen {
		return "", fmt.Errorf("host %q: longer than %d characters", host, maxHostLen)
	}
	if mayBeIP(name) {
		if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
			return "", fmt.Errorf("host %q: must be a DNS name, not an IP address", host)
		}
	}
	if strings.Contains(name, "*") {
		return "", fmt.Errorf("host %q: '*' is only allowed as the whole first label of a wildcard host such as \"*.example.com\"", host)
	}
	if strings.Contains(name, ":") {
		return "", fmt.Errorf("host %q: must not contain a port", host)
	}
	if err := checkDNSSubdomain(name); err != nil {
		return "", fmt.Errorf("host %q: %w", host, err)
	}
	return h, nil
}

// plainDNSName reports whether host is already a canonical, valid,
// non-wildcard rule host that cannot be an IP address: lower-case
// DNS-1123 labels of 1-63 characters, at most maxHostLen in all, with at
// least one letter or '-'. CanonicalHost returns such a host as is; every
// other host (upper case, wildcards, IP-like, invalid) takes the full
// checks, which also word the errors.
func plainDNSName(host string) bool {
	if len(host) > maxHostLen {
		return false
	}
	label, letter := 0, false
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'a' <= c && c <= 'z':
			letter = true
			label++
		case '0' <= c && c <= '9':
			label++
		case c == '-':
			if label == 0 || i+1 == len(host) || host[i+1] == '.' {
				return false
			}
			letter = true
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		default:
			return false
		}
		if label > 63 {
			return false
		}
	}
	return label > 0 && letter
}

// mayBeIP reports whether name could parse as an IP address: only digits
// and dots (IPv4), or a ':', '[' or ']' (IPv6, bracketed or not). Every other name skips
// netip.ParseAddr, whose failure allocates an error (CanonicalHost runs
// several times per route on every build).
func mayBeIP(name string) bool {
	if strings.ContainsAny(name, ":[]") {
		return true
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkDNSSubdomain checks a lower-case DNS-1123 subdomain: dot-separated
// labels of 1-63 characters [a-z0-9-], not starting or ending with '-'.
func checkDNSSubdomain(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return fmt.Errorf("empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q must start and end with a letter or digit", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return fmt.Errorf("label %q: invalid character %q", label, c)
			}
		}
	}
	return nil
}

// requestHost writes the lookup form of a request's Host header (or TLS
// server name) into buf and returns its length: ASCII lower-cased, without
// ":port", without the brackets of an IPv6 literal and without one trailing
// dot. ok is false for an empty result or one longer than maxHostLen, which
// cannot equal any rule host.
func requestHost(host string, buf *[maxHostLen]byte) (n int, ok bool) {
	h := host
	if len(h) > 0 && h[0] == '[' {
		// IPv6 literal, with or without port: "[::1]" or "[::1]:80".
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[1:i]
		} else {
			h = h[1:]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		// Exactly one colon: host:port. Several colons without brackets is a
		// bare IPv6 address, kept whole.
		h = h[:i]
	}
	if l := len(h); l > 0 && h[l-1] == '.' {
		h = h[:l-1]
	}
	if len(h) == 0 || len(h) > maxHostLen {
		return 0, false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return len(h), true
}

// wildcardSuffix returns the wildcard index key of a lower-case host: the part
// after the first label ("bar.foo.com" -> "foo.com"). ok is false when the
// host has no non-empty first label or no suffix.
func wildcardSuffix(h []byte) (start int, ok bool) {
	for i, c := range h {
		if c == '.' {
			return i + 1, i > 0 && i < len(h)-1
		}
	}
	return 0, false
}

// prefixKey is the Prefix matcher key of a rule path: without trailing '/'
// ("/foo/" -> "/foo", "/" -> "").
func prefixKey(path string) string { return strings.TrimRight(path, "/") }
