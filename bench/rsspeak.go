package bench

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// rssEvery is how often an rssPeak samples. A Go controller's RSS rises
// with its heap between collections and falls only when the scavenger
// returns pages, so a peak lasts far longer than this.
const rssEvery = 50 * time.Millisecond

// rssPeak samples the RSS of a controller's process tree (controllerTree)
// until Stop and keeps the highest value of each phase (Mark starts the
// next). One RSS read after serving lands anywhere between the live heap
// and the collector's goal; the peak of a phase that collects several times
// is where the heap goes back to every cycle, and what a memory limit has
// to cover.
type rssPeak struct {
	stop chan struct{}
	done chan struct{}
	read func() (uint64, bool)

	mu      sync.Mutex
	peak    uint64
	samples int
}

// startRSSPeak samples the tree of ctrlPID every `every`.
func startRSSPeak(ctrlPID int, every time.Duration) *rssPeak {
	return startRSSPeakWith(every, func() (uint64, bool) {
		procs, err := allProcs()
		if err != nil {
			return 0, false
		}
		t := controllerTree(procs, ctrlPID)
		return treeRSS(t), len(t) > 0
	})
}

// startRSSPeakWith samples read (false: no sample) every `every`.
func startRSSPeakWith(every time.Duration, read func() (uint64, bool)) *rssPeak {
	p := &rssPeak{stop: make(chan struct{}), done: make(chan struct{}), read: read}
	go func() {
		defer close(p.done)
		wait.Until(p.sample, every, p.stop)
	}()
	return p
}

func (p *rssPeak) sample() {
	v, ok := p.read()
	if !ok {
		return
	}
	p.mu.Lock()
	p.peak = max(p.peak, v)
	p.samples++
	p.mu.Unlock()
}

// Mark takes one more sample, returns the phase's peak and sample count,
// and starts the next phase.
func (p *rssPeak) Mark() (peak uint64, samples int) {
	p.sample()
	p.mu.Lock()
	defer p.mu.Unlock()
	peak, samples = p.peak, p.samples
	p.peak, p.samples = 0, 0
	return peak, samples
}

// Stop ends the sampling and returns the last phase's peak (Mark).
func (p *rssPeak) Stop() (peak uint64, samples int) {
	close(p.stop)
	<-p.done
	return p.Mark()
}
