// Package gctune bounds the garbage collector's headroom to an absolute
// size instead of a share of the live heap.
//
// Go's collector lets the heap grow by GOGC percent (100: as much again)
// of the live heap before the next collection. For a controller whose
// live heap is mostly its routing state, that doubles the memory every
// route costs: 10,000 routes of 2 KiB live each hold 20 MiB more between
// collections. A Tuner instead sets GOGC after every collection so that
// the heap may grow by Options.Headroom, or by Options.MinPercent of the
// live heap when that is more:
//
//	GOGC = max(MinPercent, Headroom*100/live)
//
// A small table collects less often than with Go's default (8 MiB of
// headroom instead of Go's 4 MiB heap minimum), a large one holds live +
// max(Headroom, MinPercent %) instead of twice its live heap. Memory per
// route is then the live heap per route while that stays below
// Headroom*100/MinPercent, and (1 + MinPercent/100) times it above.
//
// GOMEMLIMIT keeps working: the collector honours whichever of the limit
// and GOGC asks for a collection first. When the GOGC environment variable
// is set, the operator chose a policy and New returns nil.
package gctune

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Defaults of Options.
const (
	// DefaultHeadroom is the heap growth allowed between collections.
	DefaultHeadroom = 8 << 20
	// DefaultMinPercent is the GOGC floor: above Headroom*100/MinPercent
	// of live heap (32 MiB with the defaults) the headroom grows with it,
	// so a very large table is not collected back to back.
	DefaultMinPercent = 25
	// maxPercent bounds GOGC for a nearly empty heap.
	maxPercent = 1000
)

// liveMetric is the heap the previous collection marked live.
const liveMetric = "/gc/heap/live:bytes"

// Options configure a Tuner.
type Options struct {
	// Headroom is the least heap growth, in bytes, allowed between two
	// collections. Default DefaultHeadroom (8 MiB).
	Headroom uint64
	// MinPercent is the least GOGC set. Default DefaultMinPercent (25).
	MinPercent int
	// Logger gets a debug line when the tuner starts, an info line when
	// GOGC is set. Default slog.Default().
	Logger *slog.Logger
}

// Tuner sets GOGC after every collection; see the package documentation.
type Tuner struct {
	headroom   uint64
	minPercent int
	stopped    atomic.Bool
	percent    atomic.Int64 // the GOGC last set
	sample     []metrics.Sample
}

// New starts a Tuner, or returns nil (and changes nothing) when the GOGC
// environment variable is set. Stop it with Stop.
func New(opts Options) *Tuner {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Info("GOGC is set: the garbage collector's headroom is left to it", slog.String("GOGC", v))
		return nil
	}
	t := &Tuner{headroom: opts.Headroom, minPercent: opts.MinPercent,
		sample: []metrics.Sample{{Name: liveMetric}}}
	if t.headroom == 0 {
		t.headroom = DefaultHeadroom
	}
	if t.minPercent <= 0 {
		t.minPercent = DefaultMinPercent
	}
	t.tune()
	log.Debug("garbage collector headroom bounded", slog.Uint64("headroomBytes", t.headroom),
		slog.Int("minPercent", t.minPercent), slog.Int64("gogc", t.percent.Load()))
	t.arm()
	return t
}

// Percent is the GOGC this tuner set last.
func (t *Tuner) Percent() int { return int(t.percent.Load()) }

// Stop ends the tuning and gives GOGC back its default (100); safe on a
// nil Tuner.
func (t *Tuner) Stop() {
	if t == nil || t.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(100)
}

// GOGCFor is the GOGC for a live heap of live bytes: max(minPercent,
// headroom*100/live). It is at most maxPercent, and at most what keeps the
// runtime's heap minimum (4 MiB x GOGC/100, the goal while the heap is
// small) within live + headroom: without that bound a small heap would
// grow to the minimum, not by the headroom.
func GOGCFor(live, headroom uint64, minPercent int) int {
	limit := min(maxPercent, (live+headroom)*100/heapMinimum)
	p := uint64(maxPercent)
	if live > 0 {
		p = headroom * 100 / live
	}
	return max(minPercent, int(min(p, limit)))
}

// heapMinimum is the runtime's heap goal floor at GOGC=100.
const heapMinimum = 4 << 20

// tune sets GOGC from the live heap of the last collection.
func (t *Tuner) tune() {
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	p := GOGCFor(live, t.headroom, t.minPercent)
	if int64(p) != t.percent.Load() {
		t.percent.Store(int64(p))
		debug.SetGCPercent(p)
	}
}

// sentinel is allocated unreachable; its cleanup runs after the
// collection that found it so. It holds a pointer so that it is not
// combined with other small objects (which would delay its cleanup).
type sentinel struct{ _ *byte }

// arm registers a cleanup for the next collection: it tunes and arms the
// next one, until Stop.
func (t *Tuner) arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(t *Tuner) {
		if t.stopped.Load() {
			return
		}
		t.tune()
		t.arm()
	}, t)
}
