package gctune

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

func TestGOGCFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 200},                      // heap minimum 8 MiB: live + headroom
		{1 * mib, 225},                // 800 %, bounded by the heap minimum (9 MiB)
		{4 * mib, 200},                // 8 MiB headroom
		{8 * mib, 100},                // Go's default at this size
		{16 * mib, 50},                // half of Go's headroom
		{32 * mib, DefaultMinPercent}, // the floor takes over
		{512 * mib, DefaultMinPercent},
	} {
		if got := GOGCFor(c.live, DefaultHeadroom, DefaultMinPercent); got != c.want {
			t.Errorf("GOGCFor(%d MiB) = %d, want %d", c.live/mib, got, c.want)
		}
	}
}

func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

var retained []byte

// TestTunerFollowsTheLiveHeap runs a real Tuner: GOGC shrinks while a large
// heap is live and grows back after it is freed, each time after the
// collection that saw the change, and Stop restores the default.
func TestTunerFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "") // restored after the test
	t.Cleanup(func() { debug.SetGCPercent(100) })
	unsetenv(t)
	const headroom = 8 << 20
	tu := New(Options{Headroom: headroom, MinPercent: 10})
	if tu == nil {
		t.Fatal("New returned nil without GOGC set")
	}
	defer tu.Stop()

	waitPercent := func(what string, ok func(int) bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 20*time.Second, true,
			func(context.Context) (bool, error) {
				runtime.GC()
				return ok(gogc(t)), nil
			})
		if err != nil {
			t.Fatalf("%s: GOGC %d (tuner %d)", what, gogc(t), tu.Percent())
		}
	}
	retained = make([]byte, 256<<20)
	for i := range retained {
		retained[i] = byte(i) // touch it, so it is really live
	}
	waitPercent("256 MiB live", func(p int) bool { return p == 10 && tu.Percent() == 10 })
	retained = nil
	waitPercent("freed", func(p int) bool { return p > 100 })

	tu.Stop()
	if p := gogc(t); p != 100 {
		t.Fatalf("GOGC after Stop = %d, want 100", p)
	}
}

func TestGOGCSetLeavesItAlone(t *testing.T) {
	t.Setenv("GOGC", "150")
	if tu := New(Options{}); tu != nil {
		tu.Stop()
		t.Fatal("New started a Tuner although GOGC is set")
	}
	var nilTuner *Tuner
	nilTuner.Stop() // safe
}

// unsetenv removes GOGC for the test; t.Setenv before it restores the
// value afterwards.
func unsetenv(t *testing.T) {
	t.Helper()
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
}
