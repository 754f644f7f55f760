package reports

import (
	"fmt"
	"strings"
)

// BenchKindReliability is the kind of the reliability scenarios (churn at
// scale, drain, failover): BenchScenario.Reliability holds the result.
const BenchKindReliability = "reliability"

// ReliabilityResult is the result of one reliability scenario; exactly one
// field is set.
type ReliabilityResult struct {
	ChurnScale *ChurnScaleResult `json:"churnScale,omitempty"`
	Drain      *DrainResult      `json:"drain,omitempty"`
	Failover   *FailoverResult   `json:"failover,omitempty"`
}

// StableTraffic is the constant-rate load on routes that stay correct
// throughout a reliability scenario: every failure is a request that
// should have succeeded.
type StableTraffic struct {
	RateRPS float64 `json:"rateRPS"`
	// RateBasis says where the rate comes from ("50 % of the single-route
	// maximum measured in this run", or the configured rate).
	RateBasis       string      `json:"rateBasis"`
	DurationSeconds float64     `json:"durationSeconds"`
	Requests        int64       `json:"requests"`
	Errors          int64       `json:"errors"`
	Non2xx          int64       `json:"non2xx"`
	Misroutes       int64       `json:"misroutes"`
	Latency         Percentiles `json:"latencyMicros"`
	// Valid is false when the generator could not keep the rate (see
	// InvalidReason, from the load windows' gates).
	Valid         bool     `json:"valid"`
	InvalidReason string   `json:"invalidReason,omitempty"`
	ErrorSamples  []string `json:"errorSamples,omitempty"`
}

// Failed is errors + non-2xx + misroutes.
func (t StableTraffic) Failed() int64 { return t.Errors + t.Non2xx + t.Misroutes }

// ChangeStat summarises the time to ready of one kind of change (all
// kinds: Kind "all"). Changes that were not ready within TimeoutSeconds are
// censored: counted in TimedOut and left out of the percentiles.
type ChangeStat struct {
	Kind        string      `json:"kind"`
	Changes     int         `json:"changes"`
	TimedOut    int         `json:"timedOut"`
	ReadyMillis Percentiles `json:"readyMillis"`
}

// ChurnScaleResult is churn at scale: many Ingress, Service, EndpointSlice
// and Secret changes, one after another, each observed ready over HTTP,
// while stable routes carry a constant load.
type ChurnScaleResult struct {
	Traffic StableTraffic `json:"traffic"`
	// Changes is how many changes were made; ByKind and All their time from
	// the API write to the first correct answer.
	Changes int `json:"changes"`
	// Planned is how many changes were asked for; Stopped says why fewer
	// were made (the time budget), empty when all were.
	Planned        int          `json:"planned,omitempty"`
	Stopped        string       `json:"stopped,omitempty"`
	TimeoutSeconds float64      `json:"timeoutSeconds"`
	All            ChangeStat   `json:"all"`
	ByKind         []ChangeStat `json:"byKind"`
	// Ready describes what counts as ready for each kind.
	Ready string `json:"ready"`
}

// DrainRun is one SIGTERM of the controller under constant load.
type DrainRun struct {
	// InFlight are the requests sent before the signal and not yet
	// answered at it; InFlightFailed those of them that failed.
	InFlight       int `json:"inFlight"`
	InFlightFailed int `json:"inFlightFailed"`
	// RefusedAtConnect are requests the generator time-stamped before the
	// signal but connected only after the controller had closed its
	// listener: refused at connect, they never reached the controller and
	// are counted apart from InFlight.
	RefusedAtConnect int `json:"refusedAtConnect,omitempty"`
	// After are the requests sent after the signal (a real load balancer
	// would stop sending); AfterServed those that were answered 2xx.
	After       int `json:"after"`
	AfterServed int `json:"afterServed"`
	// ExitMillis is the time from SIGTERM to the process's exit; Killed is
	// true when it had to be killed.
	ExitMillis float64 `json:"exitMillis"`
	Killed     bool    `json:"killed"`
	// RestartReadyMillis is the time from starting it again to its
	// readiness, RestartServingMillis to the first correct answer.
	RestartReadyMillis   float64 `json:"restartReadyMillis"`
	RestartServingMillis float64 `json:"restartServingMillis"`
	// SignalAt is the time of SIGTERM (UTC, for the samples);
	// FailedSamples describe up to 3 failed in-flight requests.
	SignalAt      string   `json:"signalAt,omitempty"`
	FailedSamples []string `json:"failedSamples,omitempty"`
}

// DrainResult is graceful shutdown under load, repeated.
type DrainResult struct {
	RateRPS float64 `json:"rateRPS"`
	// RequestMillis is how long the backend holds each request, so that
	// requests are in flight at the signal.
	RequestMillis float64 `json:"requestMillis"`
	// ShutdownTimeout is the controller's --shutdown-timeout when its
	// command line sets one ("" otherwise: its default).
	ShutdownTimeout string     `json:"shutdownTimeout,omitempty"`
	Runs            []DrainRun `json:"runs"`
	// InFlight, InFlightFailed and ExitMillis summarise the runs.
	InFlight       Stat `json:"inFlight"`
	InFlightFailed int  `json:"inFlightFailedTotal"`
	ExitMillis     Stat `json:"exitMillis"`
}

// FailoverResult is leader failover under load: two replicas with leader
// election, the leader killed (SIGKILL), load on the survivor.
type FailoverResult struct {
	Replicas int `json:"replicas"`
	// Traffic is the load on the surviving replica, from before the kill
	// until the new leader wrote status.
	Traffic StableTraffic `json:"traffic"`
	// LeaderBefore and LeaderAfter are the Lease holders.
	LeaderBefore string `json:"leaderBefore"`
	LeaderAfter  string `json:"leaderAfter"`
	// StatusWritten is whether an Ingress created after the kill got its
	// status; StatusMillis is the time from the kill to it (censored at
	// TimeoutSeconds).
	StatusWritten  bool    `json:"statusWritten"`
	StatusMillis   float64 `json:"statusMillis"`
	TimeoutSeconds float64 `json:"timeoutSeconds"`
	// Note states the lease settings the times depend on.
	Note string `json:"note,omitempty"`
}

// checkReliability validates a reliability result.
func checkReliability(where string, r *ReliabilityResult) []error {
	set := 0
	for _, p := range []bool{r.ChurnScale != nil, r.Drain != nil, r.Failover != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return []error{fmt.Errorf("%s: reliability needs exactly one of churnScale, drain, failover (has %d)", where, set)}
	}
	return nil
}

// reliabilityMarkdown renders one reliability scenario's section.
func reliabilityMarkdown(name string, r *ReliabilityResult) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	traffic := func(t StableTraffic) {
		valid := "valid"
		if !t.Valid {
			valid = "INVALID: " + t.InvalidReason
		}
		p("Stable routes: %.0f rps (%s) for %.0f s (%s): %d requests, %d transport errors, %d non-2xx, %d misroutes; latency p50 %.0f µs, p99 %.0f µs, max %.0f µs.\n\n",
			t.RateRPS, t.RateBasis, t.DurationSeconds, valid, t.Requests, t.Errors, t.Non2xx, t.Misroutes, t.Latency.P50, t.Latency.P99, t.Latency.Max)
		for _, s := range t.ErrorSamples {
			p("- error sample: `%s`\n", benchCell(s))
		}
		if len(t.ErrorSamples) > 0 {
			p("\n")
		}
	}
	p("## %s\n\n", name)
	switch {
	case r.ChurnScale != nil:
		c := r.ChurnScale
		traffic(c.Traffic)
		p("%d changes, one after another, each timed from its API write to the first correct answer over HTTP (%s; censored after %.0f s).\n\n", c.Changes, benchCell(c.Ready), c.TimeoutSeconds)
		if c.Stopped != "" {
			p("Fewer changes than planned: %s.\n\n", benchCell(c.Stopped))
		}
		p("| change | count | timed out | ready p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n")
		for _, k := range append([]ChangeStat{c.All}, c.ByKind...) {
			p("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f |\n", k.Kind, k.Changes, k.TimedOut, k.ReadyMillis.P50, k.ReadyMillis.P90, k.ReadyMillis.P99, k.ReadyMillis.Max)
		}
	case r.Drain != nil:
		d := r.Drain
		to := d.ShutdownTimeout
		if to == "" {
			to = "the controller's default"
		}
		p("SIGTERM while %.0f rps flow, each request held %.0f ms by the backend; shutdown timeout %s. In flight at the signal: %s; failed of those: %d in total; time to exit: %s ms.\n\n",
			d.RateRPS, d.RequestMillis, to, statText(d.InFlight, 0), d.InFlightFailed, statText(d.ExitMillis, 0))
		p("| run | in flight at SIGTERM | failed | queued before, refused at connect | sent after | served after | exit ms | killed | restart to ready ms | restart to serving ms |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for i, run := range d.Runs {
			p("| %d | %d | %d | %d | %d | %d | %.0f | %s | %.0f | %.0f |\n", i+1, run.InFlight, run.InFlightFailed, run.RefusedAtConnect, run.After, run.AfterServed, run.ExitMillis, benchYesNo(run.Killed), run.RestartReadyMillis, run.RestartServingMillis)
		}
		for i, run := range d.Runs {
			for _, f := range run.FailedSamples {
				p("\n- run %d, SIGTERM at %s: `%s`", i+1, run.SignalAt, benchCell(f))
			}
		}
		p("\n")
	case r.Failover != nil:
		f := r.Failover
		traffic(f.Traffic)
		status := fmt.Sprintf("not written within %.0f s", f.TimeoutSeconds)
		if f.StatusWritten {
			status = fmt.Sprintf("written %.0f ms after the kill", f.StatusMillis)
		}
		p("%d replicas with leader election; the leader (%s) killed with SIGKILL; new leader %s; status of an Ingress created after the kill: %s.", f.Replicas, benchCell(f.LeaderBefore), benchCell(f.LeaderAfter), status)
		if f.Note != "" {
			p(" %s", f.Note)
		}
		p("\n")
	}
	p("\n")
	return b.String()
}

// statText renders a Stat as "median (min..max)".
func statText(s Stat, decimals int) string {
	return fmt.Sprintf("%.*f (%.*f..%.*f)", decimals, s.Median, decimals, s.Min, decimals, s.Max)
}
