package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/reports"
)

func TestReliabilityRate(t *testing.T) {
	e := &Env{}
	if r, basis := e.reliabilityRate(); r != defaultReliabilityRPS || !strings.Contains(basis, "configured") {
		t.Errorf("without a measured maximum: %v (%s), want the configured default %d", r, basis, defaultReliabilityRPS)
	}
	e.proxiedMaxRPS = 3000
	if r, basis := e.reliabilityRate(); r != 1500 || !strings.Contains(basis, "50 %") {
		t.Errorf("maximum 3000: %v (%s), want half", r, basis)
	}
	e.proxiedMaxRPS = 11000
	if r, basis := e.reliabilityRate(); r != defaultReliabilityMaxRPS || !strings.Contains(basis, "bounded") {
		t.Errorf("maximum 11000: %v (%s), want the bound %d", r, basis, defaultReliabilityMaxRPS)
	}
	e.Opts.ReliabilityMaxRPS = 100
	e.proxiedMaxRPS = 0
	if r, _ := e.reliabilityRate(); r != 100 {
		t.Errorf("a configured rate above the bound: %v, want 100", r)
	}
}

func TestTally(t *testing.T) {
	tl := newTally()
	seen := 0
	tl.each = func(*vegeta.Result, outcome) { seen++ }
	for i, class := range []outcome{outcomeOK, outcomeOK, outcomeError, outcomeNon2xx, outcomeMisroute} {
		tl.observe(&vegeta.Result{Latency: time.Duration(i+1) * time.Millisecond}, 0, class)
	}
	tl.window(reports.StepResult{Valid: true}, time.Second)
	tl.window(reports.StepResult{Valid: false, InvalidReason: "lag", ErrorSamples: []string{"x"}}, time.Second)
	tl.window(reports.StepResult{Valid: false, InvalidReason: "lag"}, time.Second)
	st := tl.result(500, "configured")
	if st.Requests != 5 || st.Errors != 1 || st.Non2xx != 1 || st.Misroutes != 1 || st.Failed() != 3 || seen != 5 {
		t.Errorf("counts: %+v (each saw %d)", st, seen)
	}
	if st.Valid || st.InvalidReason != "lag" || st.DurationSeconds != 3 || len(st.ErrorSamples) != 1 || st.Latency.Max != 5000 {
		t.Errorf("windows: %+v", st)
	}
}

func TestFlagValue(t *testing.T) {
	flags := []string{"--a=1", "--shutdown-timeout=7s", "--b", "2"}
	if v := flagValue(flags, "--shutdown-timeout"); v != "7s" {
		t.Errorf("--shutdown-timeout = %q", v)
	}
	if v := flagValue(flags, "--b"); v != "2" {
		t.Errorf("--b = %q", v)
	}
	if v := flagValue(flags, "--c"); v != "" {
		t.Errorf("--c = %q", v)
	}
}

func TestFailoverSkipsInQuick(t *testing.T) {
	_, err := runFailover(context.Background(), &Env{Opts: Options{Quick: true}})
	var skip *skipError
	if !errors.As(err, &skip) || !strings.Contains(skip.reason, "lease") {
		t.Fatalf("failover in --quick: %v, want a skip naming the lease", err)
	}
}

// TestClassifyDrain: a request refused at connect after the signal never
// reached the controller, even when the generator time-stamped it before
// the signal (the drain runs' "lost" requests on a loaded machine); a
// request accepted and then dropped is a loss.
func TestClassifyDrain(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed listener: the dial is refused, as after SIGTERM
	atk := vegeta.NewAttacker(vegeta.Timeout(2 * time.Second))
	var refused *vegeta.Result
	for r := range atk.Attack(vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: "http://" + addr + "/"}), vegeta.ConstantPacer{Freq: 1, Per: time.Second}, time.Millisecond, "refused") {
		refused = r
	}
	if refused == nil || !refusedAtConnect(refused) {
		t.Fatalf("a refused dial is not recognised: %+v", refused)
	}
	if refusedAtConnect(&vegeta.Result{Error: "Get \"http://x/\": EOF"}) || refusedAtConnect(&vegeta.Result{Code: 200}) {
		t.Fatal("an EOF or an answer counted as refused at connect")
	}

	sig := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	ms := func(d int) time.Time { return sig.Add(time.Duration(d) * time.Millisecond) }
	var run reports.DrainRun
	classifyDrain(&run, []drainSample{
		{start: ms(-300), end: ms(-200), ok: true},                     // done before: not counted
		{start: ms(-50), end: ms(50), ok: true},                        // in flight, served
		{start: ms(-50), end: ms(20), desc: "reset"},                   // in flight, lost
		{start: ms(-70), end: ms(230), refused: true, desc: "refused"}, // queued in the generator
		{start: ms(10), end: ms(11), refused: true},                    // sent after
		{start: ms(20), end: ms(120), ok: true},                        // sent after, served
	}, sig)
	want := reports.DrainRun{InFlight: 2, InFlightFailed: 1, RefusedAtConnect: 1, After: 2, AfterServed: 1, FailedSamples: []string{"reset"}}
	if !reflect.DeepEqual(run, want) {
		t.Fatalf("classified %+v, want %+v", run, want)
	}
}
