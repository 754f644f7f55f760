// Package testtools is the one place that decides what a test does when
// the programs it needs are missing (the control-plane binaries `make
// tools` builds): it skips, except under INGRESSLAB_REQUIRE_TOOLS=1 (set by
// `make test` and CI), where it fails, so that a run that must exercise
// the real cluster can never pass by skipping it.
//
// It does not look the programs up itself (cluster/local's tests use it,
// and importing cluster/local here would be an import cycle): callers pass
// the lookup's error, typically from local.FindBinaries.
package testtools

import (
	"fmt"
	"os"
)

// EnvRequire names the environment variable that turns missing tools from
// a skip into a failure.
const EnvRequire = "INGRESSLAB_REQUIRE_TOOLS"

// TB is what Require needs of a *testing.T or *testing.B.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Required reports whether INGRESSLAB_REQUIRE_TOOLS is set (to anything but
// "" or "0").
func Required() bool {
	v := os.Getenv(EnvRequire)
	return v != "" && v != "0"
}

// Require ends t when missing is not nil (the tools were not found): it
// fails t when Required, and skips it otherwise, saying how to get them.
func Require(t TB, missing error) {
	t.Helper()
	if missing == nil {
		return
	}
	if Required() {
		t.Fatalf("%s is set but the tools are missing: %v", EnvRequire, missing)
		return
	}
	t.Skipf("tools missing (run `make tools`, or set %s=1 to fail instead): %v", EnvRequire, missing)
}

// MainSkip is Require for a TestMain, which has no t: with the tools found
// it returns "", nil; without them it returns the reason every test should
// skip with, or, when Required, an error the TestMain must exit non-zero
// with.
func MainSkip(missing error) (skipReason string, err error) {
	if missing == nil {
		return "", nil
	}
	if Required() {
		return "", fmt.Errorf("%s is set but the tools are missing: %w", EnvRequire, missing)
	}
	return fmt.Sprintf("tools missing (run `make tools`, or set %s=1 to fail instead): %v", EnvRequire, missing), nil
}
