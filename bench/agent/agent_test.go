package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/echoserver"
)

func startEcho(t *testing.T, service string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := echoserver.New(echoserver.Options{Listener: l, Identity: echoserver.Identity{Namespace: "ns", Service: service, Pod: service + "-0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func config(dial string, n int, start time.Time, windows ...Window) Config {
	return Config{Series: "proxied", Dial: dial, KeepAlive: true, Generators: n, Start: start, Windows: windows, TimeoutMillis: 2000,
		Targets: []Target{{Method: "GET", URL: "http://single.bench.test/bench", Expect: "echo"}}}
}

// runAgents runs n agents of c at once (as n Pods of the Job would) and
// returns their parsed output.
func runAgents(t *testing.T, c Config) []Result {
	t.Helper()
	outs := make([]bytes.Buffer, c.Generators)
	errs := make([]error, c.Generators)
	var wg sync.WaitGroup
	for i := range c.Generators {
		wg.Go(func() {
			errs[i] = Run(context.Background(), c, Options{Index: i, Pod: "gen-" + string(rune('0'+i)), Out: &outs[i]})
		})
	}
	wg.Wait()
	var all []Result
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("agent %d: %v\n%s", i, errs[i], outs[i].String())
		}
		// A Pod log: other lines around the results are ignored.
		log := "starting agent\n" + outs[i].String() + "done\n"
		rs, err := Parse(strings.NewReader(log))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	return all
}

// TestTwoAgentsMergeToOneAtTheSameTotalRate runs the agent code for real
// against a loopback echo server: two agents at half the rate each, merged,
// against one agent at the whole rate, both over the same windows
// (a warm-up, an open-loop window and a closed-loop one).
func TestTwoAgentsMergeToOneAtTheSameTotalRate(t *testing.T) {
	addr := startEcho(t, "echo")
	const rate = 400.0
	windows := []Window{{Phase: "warm-up", RateRPS: rate, DurationMillis: 300}, {Phase: "fraction", RateRPS: rate, DurationMillis: 1500},
		{Phase: "closed-loop", Workers: 4, DurationMillis: 500}}
	merged := map[int]map[int]*Merged{}
	for _, n := range []int{1, 2} {
		c := config(addr, n, time.Now().Add(300*time.Millisecond), windows...)
		rs := runAgents(t, c)
		if len(rs) != n*len(windows) {
			t.Fatalf("%d agents wrote %d result lines, want %d", n, len(rs), n*len(windows))
		}
		merged[n] = map[int]*Merged{}
		for w, part := range ByWindow(rs) {
			m, err := Merge(part, n, gates)
			if err != nil {
				t.Fatal(err)
			}
			merged[n][w] = m
			for _, r := range part {
				if skew := r.StartSkew(); skew < 0 || skew > 50*time.Millisecond {
					t.Errorf("n=%d window %d generator %d began %s after the agreed instant", n, w, r.Generator, skew)
				}
			}
		}
	}
	one, two := merged[1][1].Step, merged[2][1].Step
	t.Logf("open loop at %.0f rps: one agent %d requests (p50 %.0f µs, p99 %.0f µs, lag p99 %.0f µs); two agents %d requests (p50 %.0f µs, p99 %.0f µs, lag p99 %v µs)",
		rate, one.Requests, one.Latency.P50, one.Latency.P99, one.Lag.P99, two.Requests, two.Latency.P50, two.Latency.P99, []float64{two.Generators[0].LagP99Micros, two.Generators[1].LagP99Micros})
	want := int64(rate * 1.5)
	for _, st := range []struct {
		n  int
		st int64
	}{{1, one.Requests}, {2, two.Requests}} {
		if st.st < want-5 || st.st > want+5 {
			t.Errorf("%d agent(s) sent %d requests in 1.5 s at %v rps, want %d", st.n, st.st, rate, want)
		}
	}
	if one.OfferedRPS != rate || two.OfferedRPS != rate || two.Generators[0].OfferedRPS != rate/2 || two.Generators[1].OfferedRPS != rate/2 {
		t.Errorf("offered: one %v, two %v (%v + %v)", one.OfferedRPS, two.OfferedRPS, two.Generators[0].OfferedRPS, two.Generators[1].OfferedRPS)
	}
	if math.Abs(one.AchievedRPS-two.AchievedRPS) > rate*0.02 {
		t.Errorf("achieved: one agent %.1f rps, two agents %.1f rps", one.AchievedRPS, two.AchievedRPS)
	}
	for n, st := range map[int]struct {
		ok    float64
		p99   float64
		valid bool
	}{1: {one.SuccessRatio, one.Latency.P99, one.Valid}, 2: {two.SuccessRatio, two.Latency.P99, two.Valid}} {
		if st.ok != 1 || st.p99 <= 0 || st.p99 > 1e6 {
			t.Errorf("%d agent(s): success %v, p99 %v µs", n, st.ok, st.p99)
		}
	}
	if len(two.Generators) != 2 || two.Generators[0].Requests+two.Generators[1].Requests != two.Requests {
		t.Errorf("generator parts %+v do not add to %d requests", two.Generators, two.Requests)
	}
	cl := merged[2][2].Step
	if cl.Connections != 4 || cl.Generators[0].Workers != 2 || cl.Generators[1].Workers != 2 || cl.Requests == 0 || cl.SuccessRatio != 1 || cl.Lag.P99 != 0 {
		t.Errorf("closed-loop window: %d workers (%+v), %d requests, success %v", cl.Connections, cl.Generators, cl.Requests, cl.SuccessRatio)
	}
}

// TestAgentCountsMisroutesAndErrors sends to a backend that is not the
// expected one, then to a closed port: every answer is classified.
func TestAgentCountsMisroutesAndErrors(t *testing.T) {
	addr := startEcho(t, "other")
	c := config(addr, 1, time.Now(), Window{Phase: "fraction", RateRPS: 100, DurationMillis: 300})
	var out bytes.Buffer
	if err := Run(context.Background(), c, Options{Out: &out}); err != nil {
		t.Fatal(err)
	}
	rs, err := Parse(&out)
	if err != nil || len(rs) != 1 {
		t.Fatalf("%d results, %v", len(rs), err)
	}
	if r := rs[0]; r.Misroutes != r.Requests || r.Requests < 25 || len(r.ErrorSamples) == 0 || !strings.Contains(r.ErrorSamples[0], `answered by "other"`) {
		t.Fatalf("misroutes %d of %d, samples %v", r.Misroutes, r.Requests, r.ErrorSamples)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	c = config(closed, 1, time.Now(), Window{Phase: "fraction", RateRPS: 50, DurationMillis: 200})
	out.Reset()
	if err := Run(context.Background(), c, Options{Out: &out}); err != nil {
		t.Fatal(err)
	}
	rs, _ = Parse(&out)
	if r := rs[0]; r.Errors != r.Requests || r.Requests == 0 || r.OK != 0 {
		t.Fatalf("errors %d of %d to a closed port", r.Errors, r.Requests)
	}
}

func TestAgentRefusesBadConfigs(t *testing.T) {
	good := config("127.0.0.1:1", 2, time.Now(), Window{Phase: "fraction", RateRPS: 10, DurationMillis: 100})
	for name, tc := range map[string]struct {
		mut  func(*Config)
		opts Options
		want string
	}{
		"index":        {func(*Config) {}, Options{Index: 2, Out: &bytes.Buffer{}}, "index 2 is not within 0..1"},
		"far start":    {func(c *Config) { c.Start = time.Now().Add(time.Hour) }, Options{Out: &bytes.Buffer{}}, "more than 10m0s"},
		"no windows":   {func(c *Config) { c.Windows = nil }, Options{Out: &bytes.Buffer{}}, "windows: 0"},
		"long window":  {func(c *Config) { c.Windows[0].DurationMillis = int64(time.Hour / time.Millisecond) }, Options{Out: &bytes.Buffer{}}, "durationMillis"},
		"huge rate":    {func(c *Config) { c.Windows[0].RateRPS = 1e9 }, Options{Out: &bytes.Buffer{}}, "rateRPS"},
		"few workers":  {func(c *Config) { c.Windows[0].Workers = 1 }, Options{Out: &bytes.Buffer{}}, "fewer than the 2 generators"},
		"not http":     {func(c *Config) { c.Targets[0].URL = "file:///etc/passwd" }, Options{Out: &bytes.Buffer{}}, "not an http(s) URL"},
		"bad dial":     {func(c *Config) { c.Dial = "nowhere" }, Options{Out: &bytes.Buffer{}}, "not host:port"},
		"nil out":      {func(*Config) {}, Options{}, "Out is nil"},
		"no generator": {func(c *Config) { c.Generators = 0 }, Options{Out: &bytes.Buffer{}}, "generators 0"},
	} {
		c := good
		c.Windows = append([]Window(nil), good.Windows...)
		c.Targets = append([]Target(nil), good.Targets...)
		tc.mut(&c)
		if err := Run(context.Background(), c, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if err := good.Validate([]string{"echo.ns.svc:80"}); err == nil || !strings.Contains(err.Error(), `dial "127.0.0.1:1" is neither the controller address nor a backend of this run`) {
		t.Errorf("dial outside the allowed addresses: %v", err)
	}
	if err := good.Validate([]string{"127.0.0.1:1"}); err != nil {
		t.Errorf("allowed dial refused: %v", err)
	}
	b, _ := json.Marshal(good)
	if _, err := ParseConfig(b); err != nil {
		t.Errorf("round trip: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"dial":"x:1","surprise":1}`)); err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

// TestAgentStopsOnCancel: a cancelled context ends a long window at once.
func TestAgentStopsOnCancel(t *testing.T) {
	addr := startEcho(t, "echo")
	c := config(addr, 1, time.Now(), Window{Phase: "fraction", RateRPS: 50, DurationMillis: 60000})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- Run(ctx, c, Options{Out: &out}) }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled agent reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop within 10 s of its context's end")
	}
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestAgentSharesThePoolAcrossHosts: targets on many virtual hosts behind
// one address go over the window's pool (its share of the connections),
// not a pool per host.
func TestAgentSharesThePoolAcrossHosts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	srv, err := echoserver.New(echoserver.Options{Listener: cl, Identity: echoserver.Identity{Namespace: "ns", Service: "echo", Pod: "echo-0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := config(l.Addr().String(), 1, time.Now().Add(100*time.Millisecond),
		Window{Phase: "closed-loop", Workers: 2, DurationMillis: 300}, Window{Phase: "fraction", RateRPS: 300, Connections: 2, DurationMillis: 300})
	c.Targets = nil
	for h := range 30 {
		c.Targets = append(c.Targets, Target{Method: "GET", URL: fmt.Sprintf("http://h%d.many.bench.test/p", h), Expect: "echo"})
	}
	rs := runAgents(t, c)
	if len(rs) != 2 || rs[0].Requests < 60 || rs[1].Requests < 60 {
		t.Fatalf("results %+v", rs)
	}
	// Two windows, each with its own pool of two.
	if n := cl.n.Load(); n > 4 {
		t.Errorf("%d connections for two windows of 2 connections over 30 hosts: a pool per host", n)
	}
}

// TestPool: one shared pool only for plain HTTP to more than one host.
func TestPool(t *testing.T) {
	tr := &http.Transport{}
	urls := []string{"http://a.test/x", "http://a.test/y", "http://b.test:8080/x"}
	at := func(i int) string { return urls[i] }
	for _, tc := range []struct {
		tls    bool
		n      int
		shared bool
	}{{false, 3, true}, {false, 2, false}, {false, 1, false}, {false, 0, false}, {true, 3, false}} {
		_, shared := Pool(tr, tc.tls, tc.n, at).(sharedPool)
		if shared != tc.shared {
			t.Errorf("tls %v, %d URLs: shared pool %v, want %v", tc.tls, tc.n, shared, tc.shared)
		}
	}
}
