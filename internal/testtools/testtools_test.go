package testtools

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how Require ended a test; like testing.T, Skipf and Fatalf
// end the calling goroutine.
type fakeTB struct{ skipped, failed string }

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = format
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = format
	runtime.Goexit()
}

// require runs Require in its own goroutine, as the testing package runs a
// test, and reports whether it returned normally.
func require(tb *fakeTB, missing error) (returned bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Require(tb, missing)
		returned = true
	}()
	<-done
	return returned
}

func TestRequire(t *testing.T) {
	missing := errors.New("kube-apiserver not found")
	for _, tc := range []struct {
		env                   string
		missing               error
		returns, skips, fails bool
	}{
		{env: "1", missing: nil, returns: true},
		{env: "", missing: nil, returns: true},
		{env: "", missing: missing, skips: true},
		{env: "0", missing: missing, skips: true},
		{env: "1", missing: missing, fails: true},
		{env: "true", missing: missing, fails: true},
	} {
		t.Setenv(EnvRequire, tc.env)
		tb := &fakeTB{}
		returned := require(tb, tc.missing)
		if returned != tc.returns || (tb.skipped != "") != tc.skips || (tb.failed != "") != tc.fails {
			t.Errorf("%s=%q, missing %v: returned %v, skipped %q, failed %q; want returned %v, skip %v, fail %v",
				EnvRequire, tc.env, tc.missing, returned, tb.skipped, tb.failed, tc.returns, tc.skips, tc.fails)
		}
	}
}

func TestMainSkip(t *testing.T) {
	missing := errors.New("etcd not found")
	t.Setenv(EnvRequire, "")
	if reason, err := MainSkip(nil); reason != "" || err != nil {
		t.Errorf("tools found: %q, %v", reason, err)
	}
	if reason, err := MainSkip(missing); err != nil || !strings.Contains(reason, "etcd not found") {
		t.Errorf("missing, not required: %q, %v; want a skip reason", reason, err)
	}
	t.Setenv(EnvRequire, "1")
	if reason, err := MainSkip(missing); reason != "" || !errors.Is(err, missing) {
		t.Errorf("missing, required: %q, %v; want an error", reason, err)
	}
}
