package annotations

import (
	"fmt"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"
)

// Header is one response header added by custom-headers.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// maxHeaders bounds the entries of a custom-headers ConfigMap.
const maxHeaders = 100

// framingHeaders may not be set through custom-headers: they would change
// message framing or connection handling.
var framingHeaders = []string{"Connection", "Content-Length", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// ParseHeaders validates the data of the ConfigMap that a custom-headers
// annotation names and returns the headers sorted by canonical name. As for
// annotations, it is all or nothing: any invalid entry (a name that is not a
// token, a framing header, a value with control characters or more than
// DefaultMaxValueBytes bytes, more than 100 entries) returns an error naming
// the ConfigMap and key, and no headers. Values are literal text ("$req_id"
// is sent as is).
func ParseHeaders(ref ObjectRef, data map[string]string) ([]Header, error) {
	if len(data) > maxHeaders {
		return nil, fmt.Errorf("ConfigMap %s: %d entries, more than %d", ref, len(data), maxHeaders)
	}
	out := make([]Header, 0, len(data))
	for k, v := range data {
		if !isToken(k) {
			return nil, fmt.Errorf("ConfigMap %s: key %s is not a header name", ref, quote(k))
		}
		name := textproto.CanonicalMIMEHeaderKey(k)
		if slices.Contains(framingHeaders, name) {
			return nil, fmt.Errorf("ConfigMap %s: key %s: header %s may not be set", ref, quote(k), name)
		}
		if len(v) > DefaultMaxValueBytes || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			return nil, fmt.Errorf("ConfigMap %s: key %s: value is not a valid header value", ref, quote(k))
		}
		out = append(out, Header{Name: name, Value: strings.TrimSpace(v)})
	}
	slices.SortFunc(out, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("ConfigMap %s: header %s is set twice", ref, out[i].Name)
		}
	}
	return out, nil
}
