//go:build !linux

package dataplane

import "testing"

// blackhole needs Linux, whose listener drops SYNs once its accept queue
// is full (blackhole_linux_test.go); elsewhere the tests that need an
// unanswered connect are skipped, saying why.
func blackhole(t *testing.T) string {
	t.Helper()
	t.Skip("an address that never answers a connect is made with Linux's accept-queue behaviour only")
	return ""
}
