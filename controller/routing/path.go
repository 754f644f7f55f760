package routing

import (
	"bytes"
	"strings"
)

// NormalizePath returns the form of a request path that routes are matched
// against: consecutive slashes merged and the dot segments "." and ".."
// removed as RFC 3986 section 5.2.4 does ("/a//b" -> "/a/b",
// "/a/./b" -> "/a/b", "/public/../admin" -> "/admin", "/a/.." -> "/",
// "/.." -> "/"). A trailing '/' is kept ("/a/b/" stays, "/a/." -> "/a/").
//
// The path is the decoded URL.Path, so percent-encoded slashes and dots
// ("%2F", "%2e") already are '/' and '.' here and count as separators and
// dot segments, as nginx treats them.
//
// A path without "//", "/./", "/../" or a trailing "/." or "/..", and a path
// not starting with '/' ("*", ""), is returned as is without allocating.
func NormalizePath(p string) string {
	if !needsNormalize(p) {
		return p
	}
	return normalize(p)
}

// normalize is NormalizePath for an absolute path, always building a copy.
func normalize(p string) string {
	buf := make([]byte, 1, len(p))
	buf[0] = '/'
	for i := 1; i <= len(p); {
		end := len(p)
		if j := strings.IndexByte(p[i:], '/'); j >= 0 {
			end = i + j
		}
		switch seg := p[i:end]; seg {
		case "", ".":
			// buf already ends with '/'.
		case "..":
			if len(buf) > 1 {
				buf = buf[:len(buf)-1]
				buf = buf[:bytes.LastIndexByte(buf, '/')+1]
			}
		default:
			buf = append(buf, seg...)
			if end < len(p) {
				buf = append(buf, '/')
			}
		}
		i = end + 1
	}
	return string(buf)
}

// needsNormalize reports whether an absolute path has an empty segment
// (other than a trailing '/'), a "." or a ".." segment. It looks for "//"
// and then at each '.', both with vectorised searches, since most paths have
// many '/' and few '.'.
func needsNormalize(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	if strings.Contains(p, "//") {
		return true
	}
	for i := strings.IndexByte(p, '.'); i >= 0; {
		if p[i-1] == '/' { // i > 0: p[0] is '/'
			rest := p[i+1:]
			if rest == "" || rest[0] == '/' || rest[0] == '.' && (len(rest) == 1 || rest[1] == '/') {
				return true
			}
		}
		j := strings.IndexByte(p[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}
