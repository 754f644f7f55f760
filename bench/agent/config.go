// Package agent is one load generator of a distributed bench run: the code
// behind `ingresslab bench-agent`, which runs in each Pod of the run's
// Indexed Job (see package bench/generators), and the wire format and merge
// that turn the Pods' results back into one window result.
//
// An agent gets its Config as JSON (from the Job's environment) and its
// index from the Job (JOB_COMPLETION_INDEX). It waits for the agreed
// wall-clock start instant, then runs every window of the Config back to
// back with vegeta (github.com/tsenart/vegeta/v12/lib), offering its share
// of the total: Rate/N open loop, or its share of the workers closed loop.
// Every request goes through a dialer that connects to the one checked
// address of the Config (the controller or a backend of the run), whatever
// the URL's host, so Host and SNI are the virtual host.
//
// Each window's result is one line on the agent's output ("ingresslab-agent/v1
// " followed by JSON): counts, status codes, and the latency and generator
// lag as HDR histograms (github.com/HdrHistogram/hdrhistogram-go, V2
// compressed, base64), a few kilobytes whatever the rate. Parse reads those
// lines back from a Pod log; Merge adds the counts and rates of N
// generators, merges their histograms, keeps each generator's lag and
// achieved rate, and applies the validity gates per generator and overall.
//
// Every loop is bounded: a window lasts its duration plus the request
// timeout, a Config has at most MaxWindows windows of at most MaxWindow
// each, and the agent refuses a start instant further away than MaxWait.
package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Limits every Config must respect (the agent refuses anything larger).
const (
	MaxWindows = 64
	MaxWindow  = 10 * time.Minute
	MaxWait    = 10 * time.Minute
	MaxRate    = 1_000_000
	MaxWorkers = 100_000
	MaxTargets = 100_000
)

// Config is what every generator of a run receives (the same JSON for all;
// each derives its own share from its index).
type Config struct {
	// Series names the traffic ("proxied", "direct", ...).
	Series string `json:"series"`
	// Dial is the one host:port every connection goes to.
	Dial string `json:"dial"`
	// TLS makes connections TLS (SNI from the URL's host).
	// InsecureSkipVerify accepts the controller's certificate without a
	// CA (the run's own self-signed certificate).
	TLS                bool `json:"tls,omitempty"`
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// KeepAlive reuses connections; false opens one per request.
	KeepAlive bool `json:"keepAlive"`
	// Targets are the requests, cycled in order.
	Targets []Target `json:"targets"`
	// Generators is N, the number of agents sharing the load.
	Generators int `json:"generators"`
	// Start is the agreed wall-clock instant the first window begins.
	Start time.Time `json:"start"`
	// Windows run back to back from Start.
	Windows []Window `json:"windows"`
	// TimeoutMillis bounds one request. Default 5000.
	TimeoutMillis int64 `json:"timeoutMillis,omitempty"`
}

// Target is one request and the Service that must answer it ("" accepts
// any 2xx).
type Target struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Expect string `json:"expect,omitempty"`
}

// Window is one measurement window of the whole run (all generators).
type Window struct {
	// Phase names the window ("warm-up", "fraction", "closed-loop").
	Phase string `json:"phase"`
	// RateRPS is the total open-loop rate (each agent offers RateRPS/N).
	RateRPS float64 `json:"rateRPS,omitempty"`
	// Workers > 0 makes the window closed loop: that many workers (and
	// connections) in total, split over the agents.
	Workers int `json:"workers,omitempty"`
	// Connections bounds an open-loop window's connections in total, split
	// over the agents like Workers (0: unbounded); a request that finds
	// them all busy waits for one.
	Connections int `json:"connections,omitempty"`
	// DurationMillis is the window's length.
	DurationMillis int64 `json:"durationMillis"`
}

// Duration of the window.
func (w Window) Duration() time.Duration { return time.Duration(w.DurationMillis) * time.Millisecond }

// Timeout of one request.
func (c Config) Timeout() time.Duration {
	if c.TimeoutMillis <= 0 {
		return 5 * time.Second
	}
	return time.Duration(c.TimeoutMillis) * time.Millisecond
}

// Gap is the pause between two windows: long enough for the slowest
// request of the previous one to end, so every agent starts the next window
// at the same instant.
func (c Config) Gap() time.Duration { return c.Timeout() + 500*time.Millisecond }

// WindowStart is the agreed start instant of window i.
func (c Config) WindowStart(i int) time.Time {
	t := c.Start
	for _, w := range c.Windows[:i] {
		t = t.Add(w.Duration() + c.Gap())
	}
	return t
}

// End is when the last window (and its last request) is over.
func (c Config) End() time.Time {
	n := len(c.Windows)
	return c.WindowStart(n - 1).Add(c.Windows[n-1].Duration() + c.Timeout())
}

// Share is generator i's part of total split over n: total/n, the first
// total%n generators one more.
func Share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

// RateShare is generator i's open-loop rate: the total over n.
func (c Config) RateShare(w Window) float64 { return w.RateRPS / float64(c.Generators) }

// Validate checks the Config against the limits; allowed, when not empty,
// are the host:port addresses Dial may name (the controller the run was
// given and the run's own backends).
func (c Config) Validate(allowed []string) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Generators < 1 {
		bad("generators %d must be at least 1", c.Generators)
	}
	if _, _, err := net.SplitHostPort(c.Dial); err != nil {
		bad("dial %q is not host:port: %v", c.Dial, err)
	} else if len(allowed) > 0 && !containsFold(allowed, c.Dial) {
		bad("dial %q is neither the controller address nor a backend of this run (allowed: %s)", c.Dial, strings.Join(allowed, ", "))
	}
	if len(c.Targets) == 0 || len(c.Targets) > MaxTargets {
		bad("targets: %d, want 1..%d", len(c.Targets), MaxTargets)
	}
	for i, t := range c.Targets {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("targets[%d].url %q is not an http(s) URL", i, t.URL)
		}
		if t.Method == "" {
			bad("targets[%d].method is empty", i)
		}
	}
	if c.Start.IsZero() {
		bad("start is not set")
	}
	if len(c.Windows) == 0 || len(c.Windows) > MaxWindows {
		bad("windows: %d, want 1..%d", len(c.Windows), MaxWindows)
	}
	for i, w := range c.Windows {
		if w.Duration() <= 0 || w.Duration() > MaxWindow {
			bad("windows[%d].durationMillis %d is not within (0, %s]", i, w.DurationMillis, MaxWindow)
		}
		switch {
		case w.Workers < 0 || w.Workers > MaxWorkers:
			bad("windows[%d].workers %d is not within 0..%d", i, w.Workers, MaxWorkers)
		case w.Workers > 0 && c.Generators > 0 && w.Workers < c.Generators:
			bad("windows[%d].workers %d is fewer than the %d generators", i, w.Workers, c.Generators)
		case w.Workers == 0 && (w.RateRPS <= 0 || w.RateRPS > MaxRate):
			bad("windows[%d].rateRPS %v is not within (0, %d] (or set workers for a closed-loop window)", i, w.RateRPS, MaxRate)
		}
	}
	if c.TimeoutMillis < 0 || time.Duration(c.TimeoutMillis)*time.Millisecond > time.Minute {
		bad("timeoutMillis %d is not within 0..60000", c.TimeoutMillis)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("agent config: %w", err)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ParseConfig decodes and validates a Config (no address list: the harness
// checked the addresses when it built the Job).
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("agent config: %w", err)
	}
	return c, c.Validate(nil)
}
