package routing

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/http"
	"slices"
	"strings"
)

// HashKey is an upstream-hash-by key: literal text and request variables
// in nginx's syntax ("$request_uri", "$http_x_user$arg_id"). Build it with
// ParseHashKey.
type HashKey struct {
	// Source is the expression as written.
	Source string `json:"source"`
	parts  []hashPart
}

type hashPart struct {
	kind string // "" literal, or the variable ("request_uri", "http", "cookie", "arg", ...)
	arg  string // literal text, or the header, cookie or argument name
}

// hashVars are the variables without an argument.
var hashVars = []string{"request_uri", "uri", "host", "scheme", "remote_addr", "binary_remote_addr", "args", "query_string"}

// ParseHashKey parses an upstream-hash-by expression.
func ParseHashKey(s string) (*HashKey, error) {
	return parseKey(s, "every request would get the same endpoint")
}

// ParseCacheKey parses an auth-cache-key expression: the same syntax.
func ParseCacheKey(s string) (*HashKey, error) {
	return parseKey(s, "every request would share one cached auth answer")
}

// parseKey parses a key with at least one variable (noVar says why one is
// needed).
func parseKey(s, noVar string) (*HashKey, error) {
	if s == "" || len(s) > 256 {
		return nil, errors.New("want 1 to 256 characters")
	}
	k := &HashKey{Source: s}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '$')
		if i != 0 {
			lit := rest
			if i > 0 {
				lit = rest[:i]
			}
			if strings.ContainsAny(lit, " \t\r\n\"'`;{}\\") {
				return nil, fmt.Errorf("literal %q: spaces, quotes and braces are not allowed", lit)
			}
			k.parts = append(k.parts, hashPart{arg: lit})
			rest = rest[len(lit):]
			continue
		}
		j := 1
		for j < len(rest) && (rest[j] == '_' || 'a' <= rest[j] && rest[j] <= 'z' || 'A' <= rest[j] && rest[j] <= 'Z' || '0' <= rest[j] && rest[j] <= '9') {
			j++
		}
		name := strings.ToLower(rest[1:j])
		rest = rest[j:]
		switch {
		case contains(hashVars, name):
			k.parts = append(k.parts, hashPart{kind: name})
		case strings.HasPrefix(name, "http_") && len(name) > 5:
			k.parts = append(k.parts, hashPart{kind: "http", arg: http.CanonicalHeaderKey(strings.ReplaceAll(name[5:], "_", "-"))})
		case strings.HasPrefix(name, "cookie_") && len(name) > 7:
			k.parts = append(k.parts, hashPart{kind: "cookie", arg: name[7:]})
		case strings.HasPrefix(name, "arg_") && len(name) > 4:
			k.parts = append(k.parts, hashPart{kind: "arg", arg: name[4:]})
		default:
			return nil, fmt.Errorf("variable $%s is not supported (want $request_uri, $uri, $host, $scheme, $remote_addr, $args, $http_NAME, $cookie_NAME or $arg_NAME)", name)
		}
	}
	if !slices.ContainsFunc(k.parts, func(p hashPart) bool { return p.kind != "" }) {
		return nil, errors.New("no variable: " + noVar)
	}
	return k, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Key renders the key of a request (tls: the request came over TLS).
func (k *HashKey) Key(r *http.Request, tls bool) string {
	var b strings.Builder
	for _, p := range k.parts {
		switch p.kind {
		case "":
			b.WriteString(p.arg)
		case "request_uri":
			if strings.HasPrefix(r.RequestURI, "/") {
				b.WriteString(r.RequestURI)
			} else {
				b.WriteString(r.URL.RequestURI())
			}
		case "uri":
			b.WriteString(r.URL.Path)
		case "host":
			h := r.Host
			if hh, _, err := net.SplitHostPort(h); err == nil {
				h = hh
			}
			b.WriteString(strings.ToLower(h))
		case "scheme":
			if tls {
				b.WriteString("https")
			} else {
				b.WriteString("http")
			}
		case "remote_addr", "binary_remote_addr":
			h, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				h = r.RemoteAddr
			}
			b.WriteString(h)
		case "args", "query_string":
			b.WriteString(r.URL.RawQuery)
		case "http":
			b.WriteString(strings.Join(r.Header[p.arg], ","))
		case "cookie":
			if c, err := r.Cookie(p.arg); err == nil {
				b.WriteString(c.Value)
			}
		case "arg":
			b.WriteString(r.URL.Query().Get(p.arg))
		}
	}
	return b.String()
}

// hashSeed is fixed for the process: the same key picks the same endpoint
// in every table.
var hashSeed = maphash.MakeSeed()

// Pick returns the index of the endpoint of addrs that key goes to:
// rendezvous (highest random weight) hashing, so that adding or removing an
// endpoint moves only the keys of that endpoint.
func Pick(key string, addrs []Endpoint) int {
	best, bestW := -1, uint64(0)
	for i, e := range addrs {
		var h maphash.Hash
		h.SetSeed(hashSeed)
		h.WriteString(key)
		h.WriteByte(0)
		h.WriteString(e.Address)
		if w := h.Sum64(); best < 0 || w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

// Rewrite2 replaces From with To (proxy-redirect, proxy-cookie-path,
// proxy-cookie-domain).
type Rewrite2 struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Prefix rewrites v when it starts with From (case-insensitively for ASCII).
func (r *Rewrite2) Prefix(v string) (string, bool) {
	if len(v) >= len(r.From) && strings.EqualFold(v[:len(r.From)], r.From) {
		return r.To + v[len(r.From):], true
	}
	return v, false
}
