package dataplane

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestExternalAuthCache checks auth-cache-key over HTTP: an answer whose
// status auth-cache-duration lists is reused for the same key (the
// backend sees the first user), another key asks again, an unlisted
// status is never cached, and a second route with the same auth URL and
// key has its own entries.
func TestExternalAuthCache(t *testing.T) {
	up := newEcho(t, "up")
	auth := newAuthServer(t, false)
	be := backend("ns/up:80", up.addr())
	pol := policy(t, "auth-url", auth.URL+"/check", "auth-response-headers", "X-Auth-User",
		"auth-cache-key", "$http_x_key", "auth-cache-duration", "200 1h")
	table := buildTable(t, 1, nil,
		policyRoute("ns/cached", "cached.example", "/", be, pol),
		policyRoute("ns/other", "other.example", "/", be, pol),
		policyRoute("ns/plain", "plain.example", "/", be, policy(t, "auth-url", auth.URL+"/check", "auth-response-headers", "X-Auth-User")),
	)
	s := startServer(t, Options{}, table)
	c := clientTo(t, s.HTTPAddr(), nil)
	ask := func(host, key, mode string) (int, string) {
		t.Helper()
		resp, raw := do(t, c, http.MethodGet, "http://"+host+"/p", nil, http.Header{"X-Key": {key}, "X-Test-Auth": {mode}})
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, ""
		}
		return resp.StatusCode, decodeEcho(t, raw).Header.Get("X-Auth-User")
	}
	if code, user := ask("cached.example", "a", "ok"); code != 200 || user != "alice" || auth.count() != 1 {
		t.Fatalf("first request: %d user %q, %d subrequests", code, user, auth.count())
	}
	// Same key: the cached 200 (with its X-Auth-User) answers, although the
	// auth service would now refuse.
	if code, user := ask("cached.example", "a", "403"); code != 200 || user != "alice" || auth.count() != 1 {
		t.Errorf("same key: %d user %q, %d subrequests; want the cached answer and no subrequest", code, user, auth.count())
	}
	// Another key, another host (same auth URL and key) and a route without
	// the cache all ask the service.
	if code, _ := ask("cached.example", "b", "403"); code != 403 || auth.count() != 2 {
		t.Errorf("another key: %d, %d subrequests", code, auth.count())
	}
	if code, _ := ask("other.example", "a", "403"); code != 403 || auth.count() != 3 {
		t.Errorf("another host: %d, %d subrequests", code, auth.count())
	}
	// 403 is not in "200 1h": asked again.
	if code, _ := ask("cached.example", "b", "403"); code != 403 || auth.count() != 4 {
		t.Errorf("uncached status: %d, %d subrequests", code, auth.count())
	}
	ask("plain.example", "a", "ok")
	ask("plain.example", "a", "ok")
	if auth.count() != 6 {
		t.Errorf("without auth-cache-key: %d subrequests, want 6", auth.count())
	}
}

// TestAuthCacheExpiryAndBound checks the store itself: an entry expires,
// and a full cache keeps no new answer until expired ones are swept.
func TestAuthCacheExpiryAndBound(t *testing.T) {
	var c authCache
	now := time.Now()
	ans := authAnswer{StatusCode: 200, Header: http.Header{"X-Auth-User": {"alice"}}}
	c.put("k", ans, now.Add(time.Minute))
	if got, ok := c.get("k", now.Add(59*time.Second)); !ok || got.Header.Get("X-Auth-User") != "alice" {
		t.Fatal("entry not found before it expires")
	}
	if _, ok := c.get("k", now.Add(time.Minute)); ok {
		t.Fatal("entry found after it expired")
	}
	if c.n.Load() != 0 {
		t.Fatalf("count %d after the expired entry went", c.n.Load())
	}
	if _, ok := c.get("", now); ok {
		t.Fatal(`the empty key matched`)
	}
	for i := range maxAuthCacheEntries {
		c.put(strconv.Itoa(i), ans, now.Add(time.Hour))
	}
	c.put("late", ans, now.Add(time.Hour))
	if _, ok := c.get("late", now); ok || c.n.Load() != maxAuthCacheEntries {
		t.Fatalf("a full cache took a new entry (count %d)", c.n.Load())
	}
}
