package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/reports"
)

// scaleBackends is how many Services the scale Ingresses point at.
const scaleBackends = 5

// scaleWriters is how many Ingress writes run at once.
const scaleWriters = 16

func runScale(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	for i := 0; i < scaleBackends; i++ {
		if _, err := e.backend(ctx, fmt.Sprintf("scale-%d", i), 1); err != nil {
			return nil, err
		}
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	if err := checkDial(ctx, e.guard, e.Ctrl.HTTPAddr); err != nil {
		return nil, err
	}
	res := &reports.ScaleResult{}
	created := 0
	for _, size := range e.Opts.ScaleSizes {
		start := time.Now()
		if err := e.createScaleIngresses(ctx, created, size); err != nil {
			return nil, err
		}
		e.Progressf("scale: %d Ingresses written in %.1f s", size, time.Since(start).Seconds())
		created = size
		if err := e.waitScaleSynced(ctx, p, size); err != nil {
			return nil, scaleFailure(err, size, "after the writes", res.Points)
		}
		// Routes are host x path pairs: each scale Ingress has one host with
		// one path, whatever the controller counts internally.
		pt := reports.ScalePoint{Ingresses: size, Routes: size, ApplyToSyncMillis: float64(time.Since(start)) / 1e6}
		// Restart: time to a full table from a cold start with the objects
		// present, and memory of a process holding just that state.
		if err := e.Ctrl.Stop(ctx); err != nil {
			return nil, fmt.Errorf("scale: stop controller: %w", err)
		}
		rs := time.Now()
		if err := e.Ctrl.Start(ctx); err != nil {
			return nil, fmt.Errorf("scale: restart controller with %d Ingresses: %w", size, err)
		}
		peak := startRSSPeak(e.Ctrl.PID(), rssEvery)
		if err := e.waitScaleSynced(ctx, p, size); err != nil {
			peak.Stop()
			return nil, scaleFailure(err, size, "after a restart", res.Points)
		}
		pt.RestartSyncMillis = float64(time.Since(rs)) / 1e6
		pt.StartPeakTreeRSSBytes, _ = peak.Mark()
		pt.SyncRSSBytes, _ = procRSS(e.Ctrl.PID())
		// Memory is read once the table has served: a controller that only
		// loaded its routes has not yet built per-route runtime state, nor
		// let its heap grow to its collector's goal.
		pt.ServedRequests, pt.ServeErrors, pt.ServeError = e.serveScale(ctx, size)
		pt.PeakTreeRSSBytes, pt.PeakSamples = peak.Stop()
		pt.RSSBytes, _ = procRSS(e.Ctrl.PID())
		snap := snapCPU(e.Ctrl.PID())
		pt.TreeRSSBytes, pt.Processes = snap.ctrlRSS, snap.ctrlProcs
		if v, err := metricValue(ctx, e.Ctrl.AdminURL+"/metrics", "go_memstats_heap_alloc_bytes"); err == nil {
			pt.HeapAllocBytes = uint64(v)
		}
		if pt.ServeError != "" {
			e.Progressf("scale: %d Ingresses: %d of %d requests failed after the sync, first: %s", size, pt.ServeErrors, pt.ServedRequests, pt.ServeError)
		}
		e.Progressf("scale: %d Ingresses: apply->sync %.0f ms, restart->sync %.0f ms, RSS %.1f MiB at sync, %.1f MiB after %d requests (%d failed) (tree of %d: %.1f MiB; peak %.1f MiB until the sync, %.1f MiB while serving), heap %.1f MiB",
			size, pt.ApplyToSyncMillis, pt.RestartSyncMillis, float64(pt.SyncRSSBytes)/(1<<20), float64(pt.RSSBytes)/(1<<20), pt.ServedRequests, pt.ServeErrors,
			pt.Processes, float64(pt.TreeRSSBytes)/(1<<20), float64(pt.StartPeakTreeRSSBytes)/(1<<20), float64(pt.PeakTreeRSSBytes)/(1<<20), float64(pt.HeapAllocBytes)/(1<<20))
		res.Points = append(res.Points, pt)
	}
	var xs, rss, heap, tree, peaks []float64
	for _, pt := range res.Points {
		xs = append(xs, float64(pt.Routes))
		rss = append(rss, float64(pt.RSSBytes))
		heap = append(heap, float64(pt.HeapAllocBytes))
		tree = append(tree, float64(pt.TreeRSSBytes))
		if pt.PeakSamples > 0 {
			peaks = append(peaks, float64(pt.PeakTreeRSSBytes))
		}
	}
	res.RSSBytesPerRoute, res.HeapBytesPerRoute = slope(xs, rss), slope(xs, heap)
	res.Fit = fitLine(xs, tree)
	if len(peaks) == len(xs) {
		res.PeakFit = fitLine(xs, peaks)
	}
	return &reports.BenchScenario{Scale: res}, nil
}

// scaleFailure is the error of a scale run that stopped at size: a failed
// scenario keeps only its error in the report, so the error carries the
// sizes measured before it.
func scaleFailure(err error, size int, when string, done []reports.ScalePoint) error {
	msg := fmt.Sprintf("%d Ingresses not served %s: %v", size, when, err)
	if len(done) > 0 {
		var parts []string
		for _, pt := range done {
			parts = append(parts, fmt.Sprintf("%d Ingresses synced %.1f s after the writes and %.1f s after a restart, process tree RSS %.0f MiB",
				pt.Ingresses, pt.ApplyToSyncMillis/1000, pt.RestartSyncMillis/1000, float64(pt.TreeRSSBytes)/(1<<20)))
		}
		msg += "; measured before: " + strings.Join(parts, "; ")
	}
	return errors.New(msg)
}

// fitLine is the least-squares line through (xs, ys) with its residual
// standard deviation and R²; the note says when it cannot be trusted.
func fitLine(xs, ys []float64) *reports.LinearFit {
	n := len(xs)
	if n < 2 || n != len(ys) {
		return nil
	}
	f := &reports.LinearFit{Points: n, Slope: slope(xs, ys)}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/float64(n), my/float64(n)
	f.Intercept = my - f.Slope*mx
	var ssRes, ssTot float64
	for i := range xs {
		r := ys[i] - (f.Intercept + f.Slope*xs[i])
		ssRes += r * r
		ssTot += (ys[i] - my) * (ys[i] - my)
	}
	if n > 2 {
		f.ResidualStd = math.Sqrt(ssRes / float64(n-2))
	}
	if ssTot > 0 {
		f.R2 = 1 - ssRes/ssTot
	}
	switch {
	case n < 3:
		f.Note = fmt.Sprintf("only %d sizes: a line through two points has no residual; run at least 3 sizes", n)
	case f.Slope <= 0:
		f.Note = "memory does not grow with routes here: the slope is noise (GC timing, shared pages), not a cost per route"
	case f.R2 < 0.9:
		f.Note = fmt.Sprintf("poor fit (R² %.2f): memory is not linear in routes over these sizes", f.R2)
	}
	return f
}

func scaleHost(i int) string { return fmt.Sprintf("s%d.scale.bench.test", i) }

func scaleService(i int) string { return fmt.Sprintf("scale-%d", i%scaleBackends) }

// Bounds of serveScale.
const (
	scaleServeMin   = 50000
	scaleServeConns = 8
	scaleServeTime  = 30 * time.Second
)

// serveScale sends GETs round-robin over the size scale hosts through
// scaleServeConns keep-alive connections: every route at least once and at
// least scaleServeMin requests in all, within scaleServeTime. It returns
// the requests sent, how many did not answer 200 and the first of those.
func (e *Env) serveScale(ctx context.Context, size int) (sent, failed int, first string) {
	t := &Traffic{Dial: e.Ctrl.HTTPAddr, KeepAlive: true, Targets: make([]vegeta.Target, size)}
	for i := range t.Targets {
		t.Targets[i] = vegeta.Target{Method: http.MethodGet, URL: "http://" + scaleHost(i) + "/"}
	}
	client := t.clientConns(5*time.Second, scaleServeConns)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, scaleServeTime)
	defer cancel()
	total := max(size, scaleServeMin)
	var next, bad atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	for range scaleServeConns {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				if msg := serveOne(ctx, client, t.Targets[i%size].URL); msg != "" {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, &msg)
				}
			}
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		first = *p
	}
	return int(min(next.Load(), int64(total))), int(bad.Load()), first
}

// serveOne sends one GET; it returns "" when it answered 200, else what
// happened.
func serveOne(ctx context.Context, c *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := c.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("GET %s: %s", url, resp.Status)
	}
	return ""
}

// createScaleIngresses creates Ingresses from..to-1 with a few concurrent
// writers (the client's rate limit is raised in Run).
func (e *Env) createScaleIngresses(ctx context.Context, from, to int) error {
	err := e.createIngresses(ctx, from, to, func(i int) *networkingv1.Ingress {
		return e.ingress(fmt.Sprintf("scale-%d", i), []rule{{Host: scaleHost(i), Paths: []pathBackend{{"/", scaleService(i)}}}}, "")
	})
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	return nil
}

// createIngresses applies make(i) for i in from..to-1 with scaleWriters
// concurrent writers.
func (e *Env) createIngresses(ctx context.Context, from, to int, build func(i int) *networkingv1.Ingress) error {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	errs := make(chan error, scaleWriters)
	for w := 0; w < scaleWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				if err := e.apply(ctx, build(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return ctx.Err()
}

// scaleProbes is how many hosts (spread over the table, first and last
// included) must answer before a size counts as synced.
const scaleProbes = 16

// waitScaleSynced waits until the controller serves the scale Ingresses,
// observed over HTTP only (the same for every controller): the last, the
// first and evenly spread hosts in between each answer from their backend.
func (e *Env) waitScaleSynced(ctx context.Context, p *prober, size int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for _, i := range scaleSample(size, scaleProbes) {
		if err := e.waitRoute(ctx, p, "http://"+scaleHost(i)+"/", scaleService(i), 1, time.Until(deadline)); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
	}
	return nil
}

// scaleSample returns up to n host indexes of 0..size-1: the last first,
// then the first and evenly spaced ones.
func scaleSample(size, n int) []int {
	if size <= 0 {
		return nil
	}
	out := []int{size - 1}
	for k := 0; k < n-1; k++ {
		i := k * size / max(n-1, 1)
		if i < size-1 && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// slope is the least-squares slope of ys against xs (0 when undefined).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}
