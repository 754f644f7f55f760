package annotations

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// DefaultAuthCacheDuration is ingress-nginx's auth-cache-duration default:
// "200 202 401 5m".
var DefaultAuthCacheDuration = []routing.AuthCacheRule{{Codes: []int{200, 202, 401}, TTL: routing.Duration(5 * time.Minute)}}

// parseCacheDurations parses auth-cache-duration: comma-separated nginx
// proxy_cache_valid entries, each optional status codes (or "any") and a
// time ("5m", "1h", "30s", "30" seconds). Without codes, an entry is for
// 200, 301 and 302, as in nginx.
func parseCacheDurations(s string) ([]routing.AuthCacheRule, error) {
	var out []routing.AuthCacheRule
	for _, entry := range strings.Split(s, ",") {
		f := strings.Fields(entry)
		if len(f) == 0 {
			return nil, errors.New("empty entry")
		}
		ttl, err := parseNginxTime(f[len(f)-1])
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", quote(strings.TrimSpace(entry)), err)
		}
		r := routing.AuthCacheRule{TTL: routing.Duration(ttl)}
		switch codes := f[:len(f)-1]; {
		case len(codes) == 0:
			r.Codes = []int{200, 301, 302}
		case len(codes) == 1 && strings.EqualFold(codes[0], "any"):
		default:
			for _, c := range codes {
				n, err := strconv.Atoi(c)
				if err != nil || n < 100 || n > 599 {
					return nil, fmt.Errorf("entry %s: %s is not a status code", quote(strings.TrimSpace(entry)), quote(c))
				}
				r.Codes = append(r.Codes, n)
			}
		}
		out = append(out, r)
	}
	if len(out) > 16 {
		return nil, errors.New("more than 16 entries")
	}
	return out, nil
}

// parseNginxTime parses an nginx time: digits with an optional unit s, m,
// h or d (seconds without one), up to 30 days.
func parseNginxTime(s string) (time.Duration, error) {
	unit := time.Second
	num := s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 's':
			num = s[:n-1]
		case 'm':
			unit, num = time.Minute, s[:n-1]
		case 'h':
			unit, num = time.Hour, s[:n-1]
		case 'd':
			unit, num = 24*time.Hour, s[:n-1]
		}
	}
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%s is not a time (digits and s, m, h or d)", quote(s))
	}
	d := time.Duration(v) * unit
	if d > 30*24*time.Hour || d/unit != time.Duration(v) {
		return 0, fmt.Errorf("%s is longer than 30 days", quote(s))
	}
	return d, nil
}
