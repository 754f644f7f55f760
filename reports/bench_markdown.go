package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

// CapacityOptions are the inputs of PlanCapacity.
type CapacityOptions struct {
	// TargetRPS is the traffic to plan for. Default 10,000.
	TargetRPS float64
	// Headroom is the fraction of CPU kept free at the target (0.3 = plan
	// for 70 % utilisation). Default 0.3.
	Headroom float64
	// CoresPerReplica is the CPU limit of one controller replica. Default 2.
	CoresPerReplica float64
	// Scenario and Series name the measurement to plan from. Default
	// "single-route" / "proxied".
	Scenario, Series string
}

func (o *CapacityOptions) defaults() {
	if o.TargetRPS <= 0 {
		o.TargetRPS = 10000
	}
	if o.Headroom <= 0 || o.Headroom >= 1 {
		o.Headroom = 0.3
	}
	if o.CoresPerReplica <= 0 {
		o.CoresPerReplica = 2
	}
	if o.Scenario == "" {
		o.Scenario, o.Series = "single-route", "proxied"
	}
}

// PlanCapacity derives a capacity plan from the report's measured controller
// CPU per request; nil when the report has no such measurement.
func PlanCapacity(r *BenchReport, o CapacityOptions) *CapacityPlan {
	o.defaults()
	s := r.Scenario(o.Scenario)
	if s == nil || s.Load == nil {
		return nil
	}
	ser := s.Load.SeriesNamed(o.Series)
	if ser == nil || ser.CPUMicrosPerRequest <= 0 {
		return nil
	}
	perCore := 1e6 / ser.CPUMicrosPerRequest
	cores := o.TargetRPS / (perCore * (1 - o.Headroom))
	replicas := int(math.Ceil(cores/o.CoresPerReplica)) + 1
	return &CapacityPlan{
		TargetRPS:       o.TargetRPS,
		Source:          o.Scenario + "/" + o.Series,
		PerCoreRPS:      perCore,
		MachineRPS:      ser.MaxSustainableRPS.Median,
		Headroom:        o.Headroom,
		CoresNeeded:     cores,
		CoresPerReplica: o.CoresPerReplica,
		Replicas:        replicas,
		Assumptions: []string{
			fmt.Sprintf("the controller's CPU per request (%.1f µs, measured at the highest rate that met the SLO) stays constant as load spreads over replicas and cores (linear scaling)", ser.CPUMicrosPerRequest),
			"the traffic looks like the measured scenario: small requests and responses, HTTP/1.1 keep-alive, one route; TLS, many routes or new connections per request cost more (see those scenarios)",
			fmt.Sprintf("%.0f %% of each core is kept free for bursts, GC and failover slack", o.Headroom*100),
			fmt.Sprintf("replicas of %.0f cores each, plus one spare so one replica can fail or roll (N+1)", o.CoresPerReplica),
			"the controller is CPU-bound: network, backends and the load balancer in front are not the bottleneck",
			"measured on a shared machine where the load generator and echo backends used the same cores, so the whole-machine rate is a lower bound",
		},
	}
}

// RenderBenchMarkdown writes r as Markdown tables.
func RenderBenchMarkdown(w io.Writer, r *BenchReport) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# Benchmark: %s %s\n\n", r.Controller.Name, r.Controller.Version)
	mode := "full"
	if r.Quick {
		mode = "quick (indicative only: short steps, one repetition)"
	}
	p("Started %s, took %.0f s, mode %s, provider %s", r.Started.UTC().Format("2006-01-02 15:04:05 UTC"), r.DurationSeconds, mode, r.Provider)
	if r.Network != "" {
		p(" (backend network %s)", r.Network)
	}
	p(".\n\n")
	m := r.Machine
	p("## Machine\n\n| CPU | cores | GOMAXPROCS | Go | platform | kernel | pinning | load avg (1 min) at start |\n|---|---|---|---|---|---|---|---|\n")
	p("| %s | %d | %d | %s | %s | %s | %s | %.2f |\n\n", benchCell(m.CPUModel), m.Cores, m.GOMAXPROCS, m.GoVersion, m.Platform, benchCell(m.Kernel), benchCell(m.CPUPinning), m.LoadAverage1)
	if len(r.Controller.Flags) > 0 {
		p("Controller flags: `%s`\n\n", strings.Join(r.Controller.Flags, " "))
	}
	st := r.Settings
	p("SLO: success >= %.1f %%, misroutes <= %d, p99 <= %.0f µs. Validity gates: achieved/offered >= %.2f, generator lag p99 <= %.0f µs (invalid runs are not plotted and do not count). Steps of %d ms, start %.0f rps x%.2f, %d bisections, %d repetitions.\n\n",
		st.SLO.MinSuccessRatio*100, st.SLO.MaxMisroutes, st.SLO.MaxP99Micros, st.Gates.MinAchievedRatio, st.Gates.MaxLagP99Micros,
		st.StepMillis, st.StartRPS, st.StepFactor, st.Bisections, st.Repetitions)
	for _, n := range r.Notes {
		p("- %s\n", n)
	}
	if len(r.Notes) > 0 {
		p("\n")
	}
	if len(r.Goals) > 0 {
		p("## Goals\n\n| goal | target | measured | met |\n|---|---|---|---|\n")
		for _, g := range r.Goals {
			p("| %s | %s | %s | %s |\n", benchCell(g.Name), benchCell(g.Target), benchCell(g.Measured), benchYesNo(g.Met))
		}
		p("\n")
	}
	p("## Scenarios\n\n| scenario | kind | status | time (s) | description |\n|---|---|---|---|---|\n")
	for _, s := range r.Scenarios {
		status := s.Status
		if s.Error != "" {
			status += ": " + benchFirstLine(s.Error)
		}
		p("| %s | %s | %s | %.1f | %s |\n", s.Name, s.Kind, benchCell(status), s.DurationSeconds, benchCell(s.Description))
	}
	p("\n")
	loadTable := false
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		if !loadTable {
			p("## Maximum sustainable rate\n\n| scenario | series | via | max rps (median) | min..max | spread | reps | controller CPU µs/req |\n|---|---|---|---|---|---|---|---|\n")
			loadTable = true
		}
		for _, ser := range s.Load.Series {
			ms := ser.MaxSustainableRPS
			p("| %s | %s | %s | %.0f | %.0f..%.0f | %.1f %% | %d | %s |\n", s.Name, ser.Name, ser.Via, ms.Median, ms.Min, ms.Max, ms.SpreadPct, ms.N, cpuCell(ser))
		}
	}
	if loadTable {
		p("\n")
	}
	for _, s := range r.Scenarios {
		if s.Load == nil || len(s.Load.Comparisons) == 0 {
			continue
		}
		p("### %s: A/B against the interleaved baseline\n\n| series vs baseline | throughput ratio (median, min..max) | fixed rate (rps) | added p50 µs | added p99 µs | added p99.9 µs |\n|---|---|---|---|---|---|\n", s.Name)
		for _, c := range s.Load.Comparisons {
			p("| %s vs %s | %.2f (%.2f..%.2f) | %.0f | %s | %s | %s |\n", c.Series, c.Baseline, c.ThroughputRatio.Median, c.ThroughputRatio.Min, c.ThroughputRatio.Max,
				c.FixedRPS, statCell(c.AddedP50Micros), statCell(c.AddedP99Micros), statCell(c.AddedP999Micros))
		}
		p("\n")
	}
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		p("### %s: steps\n\n| series | rep | phase | offered rps | achieved rps | throughput rps | success | misroutes | p50 µs | p99 µs | p99.9 µs | lag p99 µs | ctrl CPU µs/req | valid | SLO |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n", s.Name)
		for _, ser := range s.Load.Series {
			for _, se := range ser.Searches {
				for _, step := range se.Steps {
					stepRow(p, ser.Name, se.Repetition, step)
				}
			}
			for i, step := range ser.Fixed {
				stepRow(p, ser.Name, i+1, step)
			}
		}
		p("\n")
	}
	for _, s := range r.Scenarios {
		if pr := s.Propagation; pr != nil {
			p("## %s\n\n%d events (%d timed out), probe every %.1f ms; times from the API write to the first correct response and to the last stale one.\n\n", s.Name, pr.Events, pr.TimedOut, pr.ProbeIntervalMillis)
			p("| change | events | first correct p50 ms | p99 ms | max ms | last stale p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|\n")
			p("| all | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", pr.Events, pr.FirstCorrectMillis.P50, pr.FirstCorrectMillis.P99, pr.FirstCorrectMillis.Max, pr.LastStaleMillis.P50, pr.LastStaleMillis.P99, pr.LastStaleMillis.Max)
			for _, k := range pr.ByKind {
				p("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", k.Kind, k.Events, k.FirstCorrectMillis.P50, k.FirstCorrectMillis.P99, k.FirstCorrectMillis.Max, k.LastStaleMillis.P50, k.LastStaleMillis.P99, k.LastStaleMillis.Max)
			}
			p("\n")
		}
		if c := s.Churn; c != nil {
			valid := "valid"
			if !c.Valid {
				valid = "INVALID: " + c.InvalidReason
			}
			p("## %s\n\n%.0f rps for %.0f s (%s): %d requests, %d transport errors, %d non-2xx, %d misroutes; latency p50 %.0f µs, p99 %.0f µs, max %.0f µs; %d events.\n\n",
				s.Name, c.RateRPS, c.DurationSeconds, valid, c.Requests, c.Errors, c.Non2xx, c.Misroutes, c.Latency.P50, c.Latency.P99, c.Latency.Max, len(c.Events))
			p("| second | requests | errors | non-2xx | misroutes | p50 µs | p99 µs | max µs | events |\n|---|---|---|---|---|---|---|---|---|\n")
			for _, win := range c.Windows {
				var evs []string
				for _, e := range c.Events {
					if e.AtSeconds >= win.StartSeconds && e.AtSeconds < win.StartSeconds+1 {
						evs = append(evs, e.Kind)
					}
				}
				p("| %.0f | %d | %d | %d | %d | %.0f | %.0f | %.0f | %s |\n", win.StartSeconds, win.Requests, win.Errors, win.Non2xx, win.Misroutes, win.Latency.P50, win.Latency.P99, win.Latency.Max, strings.Join(evs, ", "))
			}
			for _, e := range c.ErrorSamples {
				p("\n- error sample: `%s`", benchCell(e))
			}
			p("\n\n")
		}
		if sc := s.Scale; sc != nil {
			p("## %s\n\n| Ingresses | routes | apply to sync ms | restart to sync ms | RSS MiB | heap MiB |\n|---|---|---|---|---|---|\n", s.Name)
			for _, pt := range sc.Points {
				p("| %d | %d | %.0f | %.0f | %.1f | %.1f |\n", pt.Ingresses, pt.Routes, pt.ApplyToSyncMillis, pt.RestartSyncMillis, float64(pt.RSSBytes)/(1<<20), float64(pt.HeapAllocBytes)/(1<<20))
			}
			p("\nMemory per route (least-squares slope): RSS %.0f bytes, heap %.0f bytes.\n\n", sc.RSSBytesPerRoute, sc.HeapBytesPerRoute)
		}
	}
	if c := r.Capacity; c != nil {
		p("## Capacity planning\n\nTo serve **%.0f rps** within the SLO above (from %s):\n\n", c.TargetRPS, c.Source)
		p("- measured controller rate per core: %.0f rps (1e6 / CPU-µs per request)\n", c.PerCoreRPS)
		p("- cores needed at %.0f %% headroom: **%.1f**\n", c.Headroom*100, c.CoresNeeded)
		p("- replicas of %.0f cores (N+1): **%d**\n", c.CoresPerReplica, c.Replicas)
		p("- whole-machine max sustainable rate measured here: %.0f rps\n\nAssumptions:\n\n", c.MachineRPS)
		for _, a := range c.Assumptions {
			p("- %s\n", a)
		}
		p("\n")
	}
	return b.Flush()
}

func stepRow(p func(string, ...any), series string, rep int, s StepResult) {
	valid := "yes"
	if !s.Valid {
		valid = "no: " + s.InvalidReason
	}
	slo := "pass"
	if !s.PassSLO {
		slo = "fail"
		if s.FailReason != "" {
			slo += ": " + s.FailReason
		}
	}
	p("| %s | %d | %s | %.0f | %.0f | %.0f | %.2f %% | %d | %.0f | %.0f | %.0f | %.0f | %.1f | %s | %s |\n", series, rep, s.Phase, s.OfferedRPS, s.AchievedRPS, s.ThroughputRPS,
		s.SuccessRatio*100, s.Misroutes, s.Latency.P50, s.Latency.P99, s.Latency.P999, s.Lag.P99, s.ControllerCPUMicrosPerRequest, benchCell(valid), benchCell(slo))
}

func cpuCell(s LoadSeries) string {
	if s.CPUMicrosPerRequest <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", s.CPUMicrosPerRequest)
}

func statCell(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f (%.0f..%.0f)", s.Median, s.Min, s.Max)
}

func benchYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func benchFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 160 {
		line = line[:160] + "…"
	}
	return line
}

// benchCell escapes characters that would break a Markdown table cell.
func benchCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
