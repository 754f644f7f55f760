package framework

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
)

// EntryProbe is the report entry name of a prober's counts.
const EntryProbe = "probe"

// ProberOptions configure a constant-rate prober.
type ProberOptions struct {
	// Name labels the report entry ("stable route"). Default: the request.
	Name string
	// Request is sent over and over; it should hit a route that stays
	// correct throughout.
	Request Request
	// Backends are the Services allowed to answer. An echo answer from any
	// other Service is a misroute. Empty: misroutes are not counted.
	Backends []string
	// Rate is requests per second. Default 20.
	Rate int
	// MaxInFlight bounds concurrent requests; a tick that finds the bound
	// reached is counted as Skipped, not queued. Default 2×Rate.
	MaxInFlight int
}

// ProbeCounts are what a prober saw.
type ProbeCounts struct {
	Name string `json:"name"`
	// Sent requests; OK are 2xx from an allowed backend.
	Sent, OK int
	// Errors are transport failures (refused, reset, timeout).
	Errors int
	// Non2xx are answers with a status outside 200-299 (any origin).
	Non2xx int
	// Misrouted are echo answers from a backend not in Backends, and 2xx
	// answers that are not from an echo backend at all. A misrouted non-2xx
	// answer is counted in Non2xx too.
	Misrouted int
	// Skipped are ticks dropped because MaxInFlight requests were pending.
	Skipped int
	// Statuses counts answers per status code.
	Statuses map[int]int
	// FirstMisroute and FirstError describe the first of each, if any.
	FirstMisroute, FirstError string
	Duration                  time.Duration
}

// String is a one-line summary for reports and failure messages.
func (c ProbeCounts) String() string {
	codes := make([]int, 0, len(c.Statuses))
	for k := range c.Statuses {
		codes = append(codes, k)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes))
	for _, k := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", c.Statuses[k], k))
	}
	s := fmt.Sprintf("%s: %d sent in %s, %d ok, %d non-2xx, %d transport errors, %d misrouted, %d skipped (statuses: %s)",
		c.Name, c.Sent, c.Duration.Round(time.Millisecond), c.OK, c.Non2xx, c.Errors, c.Misrouted, c.Skipped, strings.Join(parts, " "))
	if c.FirstMisroute != "" {
		s += "; first misroute: " + c.FirstMisroute
	}
	if c.FirstError != "" {
		s += "; first error: " + c.FirstError
	}
	return s
}

// Prober sends one request at a constant rate (open loop: a slow answer
// does not delay the next send) to the spec's controller and counts the
// answers, for specs that change the configuration while traffic flows.
type Prober struct {
	opts    ProberOptions
	client  *Client
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time

	mu     sync.Mutex
	counts ProbeCounts
	once   sync.Once
	result ProbeCounts
}

// StartProber starts a prober against s.Controller. It is stopped by Stop,
// or at the latest when the spec ends.
func (s *Spec) StartProber(o ProberOptions) *Prober {
	p := startProber(s.ctx, s.Controller.HTTP, o)
	DeferCleanup(func() { p.Stop() })
	return p
}

// startProber starts a prober with client (no Ginkgo calls: testable).
func startProber(ctx context.Context, client *Client, o ProberOptions) *Prober {
	if o.Rate <= 0 {
		o.Rate = 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 2 * o.Rate
	}
	if o.Name == "" {
		o.Name = o.Request.String()
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Prober{opts: o, client: client, cancel: cancel, done: make(chan struct{}), started: time.Now()}
	p.counts = ProbeCounts{Name: o.Name, Statuses: map[int]int{}}
	go p.run(ctx)
	return p
}

func (p *Prober) run(ctx context.Context) {
	defer close(p.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, p.opts.MaxInFlight)
	tick := time.NewTicker(time.Second / time.Duration(p.opts.Rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			p.mu.Lock()
			p.counts.Skipped++
			p.mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// Requests in flight at Stop finish with the spec's context, not
			// the prober's, so that stopping is not counted as an error.
			r := p.client.Do(context.WithoutCancel(ctx), p.opts.Request)
			p.record(r)
		}()
	}
}

func (p *Prober) record(r Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.counts
	c.Sent++
	if r.Err != nil {
		c.Errors++
		if c.FirstError == "" {
			c.FirstError = r.At.Format("15:04:05.000") + " " + r.Err.Error()
		}
		return
	}
	c.Statuses[r.StatusCode]++
	ok := r.StatusCode/100 == 2
	if !ok {
		c.Non2xx++
	}
	if len(p.opts.Backends) > 0 {
		wrong := ""
		switch {
		case r.Echo != nil && !contains(p.opts.Backends, r.Echo.Service):
			wrong = "answered by " + r.Echo.Namespace + "/" + r.Echo.Service
		case r.Echo == nil && ok:
			wrong = fmt.Sprintf("a %d answer that is not from an echo backend", r.StatusCode)
		}
		if wrong != "" {
			c.Misrouted++
			ok = false
			if c.FirstMisroute == "" {
				c.FirstMisroute = fmt.Sprintf("%s %s (want %s)", r.At.Format("15:04:05.000"), wrong, strings.Join(p.opts.Backends, " or "))
			}
		}
	}
	if ok {
		c.OK++
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Counts returns the counts so far.
func (p *Prober) Counts() ProbeCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.Statuses = make(map[int]int, len(p.counts.Statuses))
	for k, v := range p.counts.Statuses {
		c.Statuses[k] = v
	}
	c.Duration = time.Since(p.started)
	return c
}

// Stop stops sending, waits for requests in flight and returns the final
// counts. It also adds them to the spec's report (entry EntryProbe, shown
// in verbose output). Calling it again returns the same counts.
func (p *Prober) Stop() ProbeCounts {
	c, first := p.stop()
	if first {
		AddReportEntry(EntryProbe, c.String(), ReportEntryVisibilityFailureOrVerbose)
	}
	return c
}

// stop is Stop without the report entry; first is true on the first call.
func (p *Prober) stop() (c ProbeCounts, first bool) {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.result = p.Counts()
		first = true
	})
	return p.result, first
}
