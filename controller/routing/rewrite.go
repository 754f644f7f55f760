package routing

import (
	"errors"
	"regexp"
	"strings"
)

// Rewrite replaces the path of a route's upstream requests (rewrite-target):
// Target expanded with the capture groups of Regex matched against the
// request path. It is per route (each path has its own expression).
type Rewrite struct {
	// Regex is the route path's expression, anchored at the start.
	Regex *regexp.Regexp `json:"regex"`
	// Target is the replacement ($0..$9 are capture groups).
	Target *Template `json:"target"`
}

// Apply returns the rewritten path for a request path; ok is false when the
// expression does not match.
func (rw *Rewrite) Apply(reqPath string) (string, bool) {
	if rw == nil || rw.Regex == nil || rw.Target == nil {
		return "", false
	}
	m := rw.Regex.FindStringSubmatchIndex(reqPath)
	if m == nil {
		return "", false
	}
	var buf [128]byte // most paths: the expansion is built on the stack
	return string(rw.Target.Expand(buf[:0], reqPath, m)), true
}

// Template is a precompiled rewrite target: literal text and capture group
// references ($0..$9).
type Template struct {
	raw   string
	parts []tmplPart
}

type tmplPart struct {
	lit   string
	group int // -1 for a literal
}

// NewTemplate compiles a rewrite target in which every '$' is followed by
// exactly one digit, the capture group it stands for.
func NewTemplate(s string) (*Template, error) {
	t := &Template{raw: s}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) || s[i+1] < '0' || s[i+1] > '9' || (i+2 < len(s) && s[i+2] >= '0' && s[i+2] <= '9') {
			return nil, errors.New(`"$" must be followed by a single capture group digit ($0..$9)`)
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
		t.parts = append(t.parts, tmplPart{group: int(s[i+1] - '0')})
		i++
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String(), group: -1})
	}
	return t, nil
}

// String is the template as written.
func (t *Template) String() string { return t.raw }

// MarshalText renders the template as written.
func (t *Template) MarshalText() ([]byte, error) { return []byte(t.raw), nil }

// Expand appends the template to dst, replacing $n with group n of match
// (indexes into src as returned by FindStringSubmatchIndex); missing groups
// expand to nothing.
func (t *Template) Expand(dst []byte, src string, match []int) []byte {
	for _, p := range t.parts {
		if p.group < 0 {
			dst = append(dst, p.lit...)
			continue
		}
		if 2*p.group+1 < len(match) && match[2*p.group] >= 0 {
			dst = append(dst, src[match[2*p.group]:match[2*p.group+1]]...)
		}
	}
	return dst
}
