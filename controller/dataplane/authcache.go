package dataplane

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// maxAuthCacheEntries bounds the external auth cache: beyond it, expired
// entries are swept, and while it is still full new answers are not kept.
const maxAuthCacheEntries = 10000

// authAnswer is what the auth service answered (the body is never used).
type authAnswer struct {
	StatusCode int
	Status     string
	Header     http.Header // read-only once cached
}

// authCache holds external auth answers for routes with auth-cache-key.
// It lives on the Server, outside the routing table, so a new table keeps
// it; entries are keyed by auth URL, host, path rule and the rendered key.
type authCache struct {
	m sync.Map // string -> *authEntry
	n atomic.Int64
}

type authEntry struct {
	ans     authAnswer
	expires time.Time
}

// authCacheKey is the cache key of r for ea (ea.Cache set): ingress-nginx
// keys by server name, auth location and auth-cache-key.
func authCacheKey(r *http.Request, rs *reqState, ea *routing.ExternalAuth) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := ""
	if rs.ri != nil && rs.ri.route != nil {
		path = rs.ri.route.Path
	}
	return ea.URL + "\x00" + strings.ToLower(host) + "\x00" + path + "\x00" + ea.Cache.Key.Key(r, r.TLS != nil)
}

// get returns an unexpired answer for key ("" never matches).
func (c *authCache) get(key string, now time.Time) (authAnswer, bool) {
	if key == "" {
		return authAnswer{}, false
	}
	v, ok := c.m.Load(key)
	if !ok {
		return authAnswer{}, false
	}
	e := v.(*authEntry)
	if !now.Before(e.expires) {
		if c.m.CompareAndDelete(key, v) {
			c.n.Add(-1)
		}
		return authAnswer{}, false
	}
	return e.ans, true
}

// put keeps ans for key until expires.
func (c *authCache) put(key string, ans authAnswer, expires time.Time) {
	if c.n.Load() >= maxAuthCacheEntries {
		c.sweep(time.Now())
		if c.n.Load() >= maxAuthCacheEntries {
			return
		}
	}
	ans.Header = ans.Header.Clone()
	if _, loaded := c.m.Swap(key, &authEntry{ans: ans, expires: expires}); !loaded {
		c.n.Add(1)
	}
}

// sweep drops expired entries.
func (c *authCache) sweep(now time.Time) {
	c.m.Range(func(k, v any) bool {
		if !now.Before(v.(*authEntry).expires) && c.m.CompareAndDelete(k, v) {
			c.n.Add(-1)
		}
		return true
	})
}
