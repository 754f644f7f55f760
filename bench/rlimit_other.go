//go:build !unix

package bench

// fdLimit is unknown outside Unix: no cap from it.
func fdLimit() int { return 0 }
