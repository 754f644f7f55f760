// Package procs matches GOMAXPROCS to the CPU the process uses.
//
// Go's scheduler runs goroutines on GOMAXPROCS Ps. Whenever a goroutine is
// made runnable (a channel hand-off, a network wake-up) while a P is idle,
// the scheduler wakes a thread for it, which spins looking for work and,
// mostly finding none because the waker runs the goroutine itself, goes
// back to sleep: a futex wake, a spin and a futex wait per hand-off. A
// proxy at moderate load on few cores pays that on most requests. Measured
// with `ingresslab bench --scenario tls --baselines haproxy` on 2 cores in
// two runs minutes apart, at half of each target's maximum, GOMAXPROCS=1
// cut the controller's CPU per request by 12 % (HTTP/1.1 over TLS) and
// 13 % (h2) against the default 2, while HAProxy's own moved by 2-7 %, and
// the controller's maxima did not fall: the other core was busy with the
// load generator and the backend.
//
// Nor does a second P buy a shorter tail. Three interleaved pairs of
// `bench --scenario tls --baselines haproxy --repetitions 1 --fractions 0.5
// --same-rate-pairs 5`, the controller as shipped against GOMAXPROCS=2 in
// its environment (15 same-rate windows against HAProxy each): over
// HTTP/1.1 the p99 was at most HAProxy's in 11 of 15 windows as shipped
// and 9 of 15 with two Ps, for 16 % more CPU per request (the three
// runs' mean; 61-63 against 71-74 µs); over h2 in 6 of 15 and 9 of 14,
// for 28 % more (67-74 against 84-93 µs, up to 1.33 times HAProxy's).
// The HTTP/1.1 tail did not move,
// and the h2 tail's gain (within the spread of single runs) costs more
// CPU than the 1.2 times HAProxy's the data plane is held to.
//
// A Governor samples the process's CPU time (getrusage: every thread,
// user and system) every Options.Interval. It raises GOMAXPROCS, doubling
// it up to the ceiling, as soon as Options.RaiseAfter intervals in a row
// used at least Options.RaiseAt of the current Ps, and lowers it to the fewest Ps that
// the CPU used over the last Options.LowerAfter keeps at most
// Options.LowerAt busy. Lowering is slow and raising fast, so a burst
// finds more Ps within about RaiseAfter intervals, and the gap between the two
// thresholds keeps it from flapping.
//
// The CPU time counts the process's threads as the kernel ran them, so on
// a machine whose CPUs are all busy a process held to one P may not reach
// RaiseAt although it has work queued; Go's default, more Ps, gets more
// threads into the kernel's share. On the bench's 2 cores that did not
// lower the controller's closed-loop maxima: at them it used about 0.6 of
// a core, the load generator and the backend the rest.
//
// The ceiling is Go's default (the CPU count, affinity mask and cgroup
// quota), read at start and again every Options.Refresh, so that a
// resized Pod is followed. When the GOMAXPROCS environment variable is
// set, the operator chose and New returns nil.
package procs

import (
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
)

// Defaults of Options.
const (
	// DefaultInterval is how often the CPU time is sampled.
	DefaultInterval = 20 * time.Millisecond
	// DefaultRaiseAt raises GOMAXPROCS when DefaultRaiseAfter intervals
	// in a row kept 90 % of the Ps busy.
	DefaultRaiseAt = 0.9
	// DefaultRaiseAfter is two intervals: a single busy one is more often
	// a burst (a collection, a load generator catching up) than load.
	DefaultRaiseAfter = 2
	// DefaultLowerAfter is the window whose average CPU lowers GOMAXPROCS.
	DefaultLowerAfter = time.Second
	// DefaultLowerAt is the share of each remaining P the window's CPU may
	// fill when GOMAXPROCS is lowered.
	DefaultLowerAt = 0.7
	// DefaultRefresh is how often the ceiling is read again.
	DefaultRefresh = time.Minute
)

// Options configure a Governor. The zero value of a field is its default.
type Options struct {
	// Interval between samples of the process's CPU time. Default
	// DefaultInterval (20ms).
	Interval time.Duration
	// RaiseAt is the share of the current Ps that RaiseAfter intervals in
	// a row must keep busy to double them. Default DefaultRaiseAt (0.9).
	RaiseAt float64
	// RaiseAfter is that number of intervals. Default DefaultRaiseAfter
	// (2).
	RaiseAfter int
	// LowerAfter is the window over which the CPU used lowers the Ps.
	// Default DefaultLowerAfter (1s).
	LowerAfter time.Duration
	// LowerAt is the share of each P the window's CPU may fill after
	// lowering; it must be below RaiseAt. Default DefaultLowerAt (0.7).
	LowerAt float64
	// Refresh is how often Go's default (the ceiling) is read again; a
	// read stops the world twice. Default DefaultRefresh (1m).
	Refresh time.Duration
	// Logger gets a debug line at start and per change, an info line when
	// the ceiling changes.
	// Default slog.Default().
	Logger *slog.Logger
}

// Governor sets GOMAXPROCS from the process's CPU use; see the package
// documentation.
type Governor struct {
	opts Options
	log  *slog.Logger
	cpu  func() (time.Duration, bool) // the process's CPU time so far
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu    sync.Mutex // guards p (read by Procs while run changes it)
	p     policy
	state state
}

// New starts a Governor, or returns nil (and changes nothing) when the
// GOMAXPROCS environment variable is set, when the ceiling is 1, or where
// the process's CPU time cannot be read. Stop it with Stop.
func New(opts Options) *Governor {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		log.Info("GOMAXPROCS is set: it is left as set", slog.String("GOMAXPROCS", v))
		return nil
	}
	if _, ok := processCPU(); !ok {
		return nil
	}
	g := start(opts, log, processCPU)
	if g != nil {
		_, ceiling := g.Procs()
		log.Debug("GOMAXPROCS follows the CPU in use", slog.Int("ceiling", ceiling))
	}
	return g
}

// start starts a Governor with the CPU clock cpu, whatever the
// environment says (tests); nil when the ceiling is 1.
func start(opts Options, log *slog.Logger, cpu func() (time.Duration, bool)) *Governor {
	opts = withDefaults(opts)
	ceiling := runtime.GOMAXPROCS(0)
	if ceiling <= 1 {
		return nil
	}
	now := time.Now()
	used, _ := cpu()
	g := &Governor{opts: opts, log: log, cpu: cpu, stop: make(chan struct{}), done: make(chan struct{}),
		p:     policy{raiseAt: opts.RaiseAt, raiseAfter: opts.RaiseAfter, lowerAt: opts.LowerAt, lowerAfter: opts.LowerAfter, max: ceiling},
		state: state{procs: ceiling, lastAt: now, lastCPU: used, winStart: now}}
	go g.run()
	return g
}

func withDefaults(o Options) Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.RaiseAt <= 0 {
		o.RaiseAt = DefaultRaiseAt
	}
	if o.RaiseAfter <= 0 {
		o.RaiseAfter = DefaultRaiseAfter
	}
	if o.LowerAfter <= 0 {
		o.LowerAfter = DefaultLowerAfter
	}
	if o.LowerAt <= 0 {
		o.LowerAt = DefaultLowerAt
	}
	if o.LowerAt >= o.RaiseAt {
		o.LowerAt = o.RaiseAt * 0.75 // a gap, or every raise would be undone
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	return o
}

// Procs is the GOMAXPROCS this governor set last, and its ceiling.
func (g *Governor) Procs() (procs, ceiling int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.procs, g.p.max
}

// Stop ends the governing and gives GOMAXPROCS back Go's default; safe on
// a nil Governor and more than once.
func (g *Governor) Stop() {
	if g == nil {
		return
	}
	g.once.Do(func() {
		close(g.stop)
		<-g.done
		runtime.SetDefaultGOMAXPROCS()
	})
}

func (g *Governor) run() {
	defer close(g.done)
	tick := time.NewTicker(g.opts.Interval)
	defer tick.Stop()
	refresh := time.NewTicker(g.opts.Refresh)
	defer refresh.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-refresh.C:
			g.refresh()
		case now := <-tick.C:
			used, ok := g.cpu()
			if !ok {
				continue
			}
			g.mu.Lock()
			before := g.state.procs
			after := g.p.next(&g.state, now, used)
			g.mu.Unlock()
			if after != before {
				runtime.GOMAXPROCS(after)
				g.log.Debug("GOMAXPROCS changed", slog.Int("from", before), slog.Int("to", after))
			}
		}
	}
}

// refresh reads Go's default again (it follows the CPU count, affinity
// mask and cgroup quota) as the ceiling, and keeps the current setting
// within it.
func (g *Governor) refresh() {
	runtime.SetDefaultGOMAXPROCS()
	ceiling := runtime.GOMAXPROCS(0)
	g.mu.Lock()
	if ceiling != g.p.max {
		g.log.Info("GOMAXPROCS ceiling changed", slog.Int("from", g.p.max), slog.Int("to", ceiling))
	}
	g.p.max = max(1, ceiling)
	g.state.procs = min(g.state.procs, g.p.max)
	procs := g.state.procs
	g.mu.Unlock()
	runtime.GOMAXPROCS(procs)
}

// policy decides GOMAXPROCS from CPU samples (pure but for state).
type policy struct {
	raiseAt, lowerAt float64
	raiseAfter       int // intervals in a row
	lowerAfter       time.Duration
	max              int
}

// state is what next remembers between samples.
type state struct {
	procs    int
	lastAt   time.Time
	lastCPU  time.Duration
	winStart time.Time     // the lowering window's start
	winCPU   time.Duration // CPU used in it
	busy     int           // intervals in a row that kept raiseAt of the Ps busy
}

// next takes the process's CPU time used so far at now and returns the
// GOMAXPROCS to run with: doubled (up to max) when raiseAfter intervals
// in a row, this one the last, kept raiseAt of the Ps busy; at the end of each
// lowerAfter window, the fewest Ps that the window's average CPU keeps at
// most lowerAt busy, when that is fewer; else unchanged. A raise starts a
// new window.
func (p policy) next(s *state, now time.Time, used time.Duration) int {
	d, spent := now.Sub(s.lastAt), used-s.lastCPU
	s.lastAt, s.lastCPU = now, used
	if d <= 0 || spent < 0 {
		return s.procs
	}
	if float64(spent) < p.raiseAt*float64(s.procs)*float64(d) {
		s.busy = 0
	} else if s.busy++; s.procs < p.max && s.busy >= max(1, p.raiseAfter) {
		s.procs = min(p.max, 2*s.procs)
		s.winStart, s.winCPU, s.busy = now, 0, 0
		return s.procs
	}
	s.winCPU += spent
	if w := now.Sub(s.winStart); w >= p.lowerAfter {
		cores := float64(s.winCPU) / float64(w)
		want := max(1, int(math.Ceil(cores/p.lowerAt)))
		if want < s.procs {
			s.procs = want
		}
		s.winStart, s.winCPU = now, 0
	}
	return s.procs
}
