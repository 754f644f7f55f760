package suites

import "testing"

// TestBackendViews: the path-normalisation specs flag a request that
// reached the Prefix / backend when any common backend normalisation
// resolves it under /admin.
func TestBackendViews(t *testing.T) {
	under := func(p string) bool {
		for _, v := range backendViews(p) {
			if underAdmin(v) {
				return true
			}
		}
		return false
	}
	for p, want := range map[string]bool{
		"/admin":                 true,
		"/admin/x?q=1":           true,
		"/public/../admin/x":     true,
		"/public/%2e%2e/admin":   true,
		"/public%2F..%2Fadmin":   true,
		"/%61dmin/x":             true,
		"//admin/x":              true,
		"/public//../admin":      true,
		"/admin/../public":       false,
		"/administrator":         false,
		"/ADMIN/x":               false,
		"/public/x":              false,
		"/public/..%2fadmin%2fx": true,
		"/..":                    false,
	} {
		if got := under(p); got != want {
			t.Errorf("%s: under /admin = %v (views %q), want %v", p, got, backendViews(p), want)
		}
	}
	if got := removeDots("/a/b/../../.."); got != "/" {
		t.Errorf("removeDots = %q, want /", got)
	}
}
