package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Options are the agent's own facts (not shared with the other agents).
type Options struct {
	// Index is this agent's index in 0..Config.Generators-1.
	Index int
	// Pod and Node are reported with every result (from the downward API).
	Pod, Node string
	// Out receives the result lines. Required.
	Out io.Writer
}

// Run waits for each window's agreed start and measures it, writing one
// result line per window. It returns when the last window is over or ctx
// ends; a window that cannot run is reported as a Failure line and the
// error is returned.
func Run(ctx context.Context, c Config, o Options) error {
	if err := c.Validate(nil); err != nil {
		return err
	}
	if o.Index < 0 || o.Index >= c.Generators {
		return fmt.Errorf("agent: index %d is not within 0..%d", o.Index, c.Generators-1)
	}
	if o.Out == nil {
		return fmt.Errorf("agent: Options.Out is nil")
	}
	if wait := time.Until(c.Start); wait > MaxWait {
		return fmt.Errorf("agent: start %s is %s away (more than %s)", c.Start.Format(time.RFC3339Nano), wait.Round(time.Second), MaxWait)
	}
	client := newClient(c)
	defer client.CloseIdleConnections()
	for i, w := range c.Windows {
		if err := sleepUntil(ctx, c.WindowStart(i)); err != nil {
			return err
		}
		res, err := runWindow(ctx, c, o, client, i, w)
		if err != nil {
			res.Failure = err.Error()
		}
		if werr := WriteResult(o.Out, res); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// newClient is the HTTP/1.1 client of every window: whatever the URL says,
// connections go to c.Dial.
func newClient(c Config) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := c.Dial
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, dial)
		},
		MaxIdleConnsPerHost: 10000,
		IdleConnTimeout:     30 * time.Second,
		DisableKeepAlives:   !c.KeepAlive,
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	if c.TLS {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} // the run's own self-signed certificate, opted into by the harness
	}
	return &http.Client{Transport: tr, Timeout: c.Timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// sharedPool sends every request of a plain-HTTP traffic over one
// connection pool whatever its URL's host, the host going in the Host
// header: http.Transport pools connections per URL host, so traffic to
// many virtual hosts behind one address (many-routes: 1,000 hosts) would
// keep a pool per host (a thousand connections, each bounded by
// MaxConnsPerHost) instead of the window's bounded pool the report
// states. TLS traffic is left alone: its SNI comes from the URL's host.
type sharedPool struct{ tr *http.Transport }

// sharedPoolHost is the one URL host, hence pool key, of a sharedPool.
const sharedPoolHost = "pool.bench.invalid"

// RoundTrip sends a copy of req with the shared URL host and req's host
// as Host; the response's Request is req.
func (p sharedPool) RoundTrip(req *http.Request) (*http.Response, error) {
	r, u := *req, *req.URL // copies: a RoundTripper must not change req
	if r.Host == "" {
		r.Host = u.Host
	}
	u.Host = sharedPoolHost
	r.URL = &u
	resp, err := p.tr.RoundTrip(&r)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

// CloseIdleConnections closes the pool's idle connections.
func (p sharedPool) CloseIdleConnections() { p.tr.CloseIdleConnections() }

// Pool is tr as the round tripper of traffic to the n URLs url(0..n-1):
// one shared pool (sharedPool) for plain HTTP to more than one host, else
// tr itself.
func Pool(tr *http.Transport, tls bool, n int, url func(i int) string) http.RoundTripper {
	if tls || n < 2 {
		return tr
	}
	first := urlHost(url(0))
	for i := 1; i < n; i++ {
		if urlHost(url(i)) != first {
			return sharedPool{tr}
		}
	}
	return tr
}

// urlHost is the authority of an absolute URL ("http://h:80/p" -> "h:80").
func urlHost(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// poolFor is Pool for c's targets.
func poolFor(tr *http.Transport, c Config) http.RoundTripper {
	return Pool(tr, c.TLS, len(c.Targets), func(i int) string { return c.Targets[i].URL })
}

// targeter cycles through the targets (safe for concurrent use).
func targeter(ts []Target) vegeta.Targeter {
	var n atomic.Uint64
	return func(tgt *vegeta.Target) error {
		if tgt == nil {
			return vegeta.ErrNilTarget
		}
		t := ts[(n.Add(1)-1)%uint64(len(ts))]
		*tgt = vegeta.Target{Method: t.Method, URL: t.URL}
		return nil
	}
}

// runWindow measures window i with this agent's share of the load.
func runWindow(ctx context.Context, c Config, o Options, client *http.Client, i int, w Window) (Result, error) {
	res := Result{Generator: o.Index, Pod: o.Pod, Node: o.Node, Window: i, Phase: w.Phase, Start: c.WindowStart(i), DurationMillis: w.DurationMillis}
	expect := map[string]string{}
	for _, t := range c.Targets {
		expect[t.Method+" "+t.URL] = t.Expect
	}
	var (
		atk      *vegeta.Attacker
		pacer    vegeta.Pacer
		interval time.Duration
	)
	if w.Workers > 0 {
		n := uint64(Share(w.Workers, c.Generators, o.Index))
		res.Workers = int(n)
		cl := *client
		tr := client.Transport.(*http.Transport).Clone()
		tr.MaxConnsPerHost = int(n)
		cl.Transport = poolFor(tr, c)
		defer tr.CloseIdleConnections()
		atk = vegeta.NewAttacker(vegeta.Client(&cl), vegeta.Workers(n), vegeta.MaxWorkers(n), vegeta.MaxBody(8192))
		pacer = vegeta.ConstantPacer{} // zero: as fast as the workers answer
	} else {
		rate := c.RateShare(w)
		res.OfferedRPS = rate
		cp := vegeta.ConstantPacer{Freq: max(1, int(math.Round(rate*10))), Per: 10 * time.Second}
		interval = cp.Per / time.Duration(cp.Freq)
		pacer = cp
		// Bounded: enough workers for every request in flight over one
		// timeout, never more than MaxWorkers.
		maxW := uint64(min(float64(MaxWorkers), math.Ceil(rate*c.Timeout().Seconds())+16))
		tr := client.Transport.(*http.Transport)
		if w.Connections > 0 {
			// This agent's share of the window's connection pool.
			tr = tr.Clone()
			tr.MaxConnsPerHost = max(1, Share(w.Connections, c.Generators, o.Index))
			defer tr.CloseIdleConnections()
		}
		cl := &http.Client{Transport: poolFor(tr, c), Timeout: client.Timeout, CheckRedirect: client.CheckRedirect}
		atk = vegeta.NewAttacker(vegeta.Client(cl), vegeta.Workers(min(16, maxW)), vegeta.MaxWorkers(maxW), vegeta.MaxBody(8192))
	}
	lat, lag := NewHistogram(), NewHistogram()
	codes := map[string]int64{}
	res.Began = time.Now()
	results := atk.Attack(targeter(c.Targets), pacer, w.Duration(), c.Series)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var metrics vegeta.Metrics
	for r := range results {
		metrics.Add(r)
		res.Requests++
		Record(lat, r.Latency)
		if w.Workers == 0 {
			Record(lag, max(0, r.Timestamp.Sub(res.Began)-time.Duration(r.Seq)*interval))
		}
		if r.Code != 0 {
			codes[strconv.Itoa(int(r.Code))]++
		}
		switch {
		case r.Code == 0:
			res.Errors++
			res.ErrorSamples = sample(res.ErrorSamples, "error: "+r.Error)
		case r.Code < 200 || r.Code > 299:
			res.Non2xx++
			res.ErrorSamples = sample(res.ErrorSamples, fmt.Sprintf("%d from %s", r.Code, r.URL))
		default:
			if want := expect[r.Method+" "+r.URL]; want != "" && ServiceOf(r.Body) != want {
				res.Misroutes++
				res.ErrorSamples = sample(res.ErrorSamples, fmt.Sprintf("misroute: %s answered by %q", r.URL, ServiceOf(r.Body)))
			} else {
				res.OK++
			}
		}
	}
	metrics.Close()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.ElapsedNanos = int64(metrics.Duration + metrics.Wait)
	res.StatusCodes = codes
	var err error
	if res.Latency, err = EncodeHistogram(lat); err != nil {
		return res, err
	}
	if w.Workers == 0 {
		if res.Lag, err = EncodeHistogram(lag); err != nil {
			return res, err
		}
	}
	return res, nil
}

func sample(s []string, x string) []string {
	if len(s) >= 5 || slices.Contains(s, x) {
		return s
	}
	return append(s, x)
}

var serviceKey = []byte(`"service":"`)

// ServiceOf is the echo response's service field ("" when not an echo
// response). It looks for the compact key first (cheap at high rates) and
// falls back to decoding. The in-process bench uses it too.
func ServiceOf(body []byte) string {
	if i := bytes.Index(body, serviceKey); i >= 0 {
		rest := body[i+len(serviceKey):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			return string(rest[:j])
		}
	}
	var v struct {
		Service string `json:"service"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Service
}
