package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
		g0, haveGen := e.Ctrl.Generation(ctx)
		start := time.Now()
		if err := e.createScaleIngresses(ctx, created, size); err != nil {
			return nil, err
		}
		e.Progressf("scale: %d Ingresses written in %.1f s", size, time.Since(start).Seconds())
		added := size - created
		created = size
		if err := e.waitScaleSynced(ctx, p, g0.Stats.Hosts+added, size, haveGen); err != nil {
			return nil, err
		}
		pt := reports.ScalePoint{Ingresses: size, ApplyToSyncMillis: float64(time.Since(start)) / 1e6}
		// Restart: time to a full table from a cold start with the objects
		// present, and memory of a process holding just that state.
		if err := e.Ctrl.Stop(ctx); err != nil {
			return nil, fmt.Errorf("scale: stop controller: %w", err)
		}
		rs := time.Now()
		if err := e.Ctrl.Start(ctx); err != nil {
			return nil, fmt.Errorf("scale: restart controller with %d Ingresses: %w", size, err)
		}
		if err := e.waitScaleSynced(ctx, p, 0, size, false); err != nil {
			return nil, err
		}
		pt.RestartSyncMillis = float64(time.Since(rs)) / 1e6
		if g, ok := e.Ctrl.Generation(ctx); ok {
			pt.Routes = g.Stats.Routes
		}
		pt.RSSBytes, _ = procRSS(e.Ctrl.PID())
		if v, err := metricValue(ctx, e.Ctrl.AdminURL+"/metrics", "go_memstats_heap_alloc_bytes"); err == nil {
			pt.HeapAllocBytes = uint64(v)
		}
		e.Progressf("scale: %d Ingresses: apply->sync %.0f ms, restart->sync %.0f ms, RSS %.1f MiB, heap %.1f MiB",
			size, pt.ApplyToSyncMillis, pt.RestartSyncMillis, float64(pt.RSSBytes)/(1<<20), float64(pt.HeapAllocBytes)/(1<<20))
		res.Points = append(res.Points, pt)
	}
	var xs, rss, heap []float64
	for _, pt := range res.Points {
		x := float64(pt.Routes)
		if x == 0 {
			x = float64(pt.Ingresses)
		}
		xs = append(xs, x)
		rss = append(rss, float64(pt.RSSBytes))
		heap = append(heap, float64(pt.HeapAllocBytes))
	}
	res.RSSBytesPerRoute, res.HeapBytesPerRoute = slope(xs, rss), slope(xs, heap)
	return &reports.BenchScenario{Scale: res}, nil
}

func scaleHost(i int) string { return fmt.Sprintf("s%d.scale.bench.test", i) }

func scaleService(i int) string { return fmt.Sprintf("scale-%d", i%scaleBackends) }

// createScaleIngresses creates Ingresses from..to-1 with a few concurrent
// writers (the client's rate limit is raised in Run).
func (e *Env) createScaleIngresses(ctx context.Context, from, to int) error {
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
				ing := e.ingress(fmt.Sprintf("scale-%d", i), []rule{{Host: scaleHost(i), Paths: []pathBackend{{"/", scaleService(i)}}}}, "")
				if err := e.apply(ctx, ing); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return fmt.Errorf("scale: %w", err)
	}
	return ctx.Err()
}

// waitScaleSynced waits until the controller serves every scale Ingress:
// with the reference controller's /generation stats, until the host count
// reaches minHosts (when useStats); then until the first and last scale
// hosts answer from their backends.
func (e *Env) waitScaleSynced(ctx context.Context, p *prober, minHosts, size int, useStats bool) error {
	deadline := time.Now().Add(5 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for useStats {
		if g, ok := e.Ctrl.Generation(ctx); !ok || g.Stats.Hosts >= minHosts {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scale: table did not reach %d hosts within 5m", minHosts)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	for _, i := range []int{size - 1, 0, size / 2} {
		if err := e.waitRoute(ctx, p, "http://"+scaleHost(i)+"/", scaleService(i), 1, time.Until(deadline)); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
	}
	return nil
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
