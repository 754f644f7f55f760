package dataplane

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestH2WorkersKeptAndTrimmed: the handler goroutines of a burst of 300
// streams in flight (more than one connection's 250, so two connections)
// are all kept idle and run the next burst without a new goroutine; the
// ones that stayed idle for a whole trim period end.
func TestH2WorkersKeptAndTrimmed(t *testing.T) {
	if netHTTPH2Tests {
		t.Skip("the native HTTP/2 server's handler goroutines; this pass of make test serves HTTP/2 with net/http's server, the first pass runs this test")
	}
	const inFlight = 300
	var round atomic.Pointer[barrier]
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		round.Load().wait()
		_, _ = io.WriteString(w, "ok")
	})
	table := buildTable(t, 1, nil, route("ns/w", "w.example", "/", routing.PathPrefix, backend("ns/w:80", up)))
	s := startServer(t, Options{}, table)
	c := h2Client(t, s.HTTPSAddr(), false)
	burst := func() {
		t.Helper()
		round.Store(newBarrier(inFlight))
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		for range inFlight {
			wg.Go(func() {
				resp, err := c.Get("https://w.example/x")
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && (string(b) != "ok" || resp.ProtoMajor != 2) {
					err = fmt.Errorf("%s %q", resp.Proto, b)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	h := s.h2
	idle := func() map[*h2worker]bool {
		h.workerMu.Lock()
		defer h.workerMu.Unlock()
		m := map[*h2worker]bool{}
		for _, wk := range h.idle {
			m[wk] = true
		}
		return m
	}
	burst()
	waitFor(t, "every worker of the burst to be idle", func() bool { return len(idle()) == inFlight })
	first := idle()
	burst()
	waitFor(t, "every worker of the second burst to be idle", func() bool { return len(idle()) == inFlight })
	for wk := range idle() {
		if !first[wk] {
			t.Fatal("the second burst started a new goroutine; the first burst's workers were idle")
		}
	}
	// The period that saw the second burst ends: every worker ran, none
	// ends. The next one, without a request, ends them all.
	h.trimWorkers()
	if n := len(idle()); n != inFlight {
		t.Fatalf("%d idle workers after a busy period, want %d", n, inFlight)
	}
	h.trimWorkers()
	if n := len(idle()); n != 0 {
		t.Fatalf("%d idle workers after an idle period, want 0", n)
	}
	h.workerMu.Lock()
	armed := h.trimArmed
	h.workerMu.Unlock()
	if armed {
		t.Error("the trim timer is armed with no idle worker")
	}
	// Requests still run (on new workers), and re-arm the trim.
	resp, err := c.Get("https://w.example/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the new worker to be idle, the trim armed", func() bool {
		h.workerMu.Lock()
		defer h.workerMu.Unlock()
		return len(h.idle) == 1 && h.trimArmed
	})
}

// barrier releases its waiters once n are waiting.
type barrier struct {
	n       atomic.Int32
	release chan struct{}
}

func newBarrier(n int) *barrier {
	b := &barrier{release: make(chan struct{})}
	b.n.Store(int32(n))
	return b
}

func (b *barrier) wait() {
	if b.n.Add(-1) == 0 {
		close(b.release)
	}
	<-b.release
}
