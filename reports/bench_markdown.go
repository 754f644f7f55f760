package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
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

// PlanCapacity derives a capacity plan from the report's measured
// controller CPU per request: for schema-2 reports, at the highest load
// fraction whose windows met the SLO (p99 within Settings.SLO), with one
// plan per measured controller series in Plans; nil when the report has no
// such measurement. A plan whose replicas would each carry more than the
// highest rate measured within the SLO says it extrapolates.
func PlanCapacity(r *BenchReport, o CapacityOptions) *CapacityPlan {
	o.defaults()
	var main *CapacityPlan
	var plans []CapacityPlan
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			pl := planSeries(r, s.Name, ser, o)
			if pl == nil {
				continue
			}
			if s.Name == o.Scenario && ser.Name == o.Series {
				main = pl
			}
			plans = append(plans, *pl)
		}
	}
	if main == nil {
		if len(plans) == 0 {
			return nil
		}
		// The preferred source met the SLO at no load fraction: plan from
		// the first traffic shape that did, and say so.
		p := plans[0]
		main = &p
		note := fmt.Sprintf("%s/%s met the SLO at no measured load, so this plan comes from %s", o.Scenario, o.Series, main.Source)
		if main.Warning != "" {
			note += "; " + main.Warning
		}
		main.Warning = note
	}
	for _, pl := range plans {
		if pl.Source != main.Source {
			main.Plans = append(main.Plans, pl)
		}
	}
	return main
}

func planSeries(r *BenchReport, scenario string, ser LoadSeries, o CapacityOptions) *CapacityPlan {
	cpu := ser.CPUMicrosPerRequest
	var at *LoadPoint
	for i := range ser.AtLoad {
		pt := &ser.AtLoad[i]
		if pt.PassSLO && pt.ControllerCPUMicrosPerRequest.N > 0 && (at == nil || pt.Fraction > at.Fraction) {
			at = pt
		}
	}
	if at != nil {
		cpu = at.ControllerCPUMicrosPerRequest.Median
	} else if len(ser.AtLoad) > 0 {
		return nil // measured, but no fraction met the SLO: no rate to plan from
	}
	if cpu <= 0 {
		return nil
	}
	perCore := 1e6 / cpu
	cores := o.TargetRPS / (perCore * (1 - o.Headroom))
	replicas := int(math.Ceil(cores/o.CoresPerReplica)) + 1
	mx := ser.Max()
	pl := &CapacityPlan{
		TargetRPS:       o.TargetRPS,
		Source:          scenario + "/" + ser.Name,
		PerCoreRPS:      perCore,
		MachineRPS:      mx.RPS,
		Headroom:        o.Headroom,
		CoresNeeded:     cores,
		CoresPerReplica: o.CoresPerReplica,
		Replicas:        replicas,
		SLOP99Micros:    r.Settings.SLO.MaxP99Micros,
	}
	measured := "at the highest rate that met the SLO"
	if at != nil {
		pl.MeasuredAtRPS, pl.MeasuredFraction = at.RateRPS, at.Fraction
		measured = fmt.Sprintf("at %.0f rps, %.0f %% of this target's maximum, the highest load fraction whose p99 met the SLO (%.0f µs)", at.RateRPS, at.Fraction*100, r.Settings.SLO.MaxP99Micros)
		// N+1: one replica may be down, the others carry everything.
		perReplica := o.TargetRPS / float64(max(replicas-1, 1))
		if perReplica > at.RateRPS {
			pl.Warning = fmt.Sprintf("extrapolating: each replica would carry %.0f rps, above the %.0f rps measured within the SLO here; latency at that load per replica is not measured (CPU per request is assumed constant)", perReplica, at.RateRPS)
		}
	} else {
		pl.Warning = "legacy report: CPU per request of the controller process only (not its children), at the open-loop search's highest passing rate"
	}
	if mx.Capped() && pl.Warning == "" {
		pl.Warning = fmt.Sprintf("the target's maximum here is only a lower bound (%s)", mx)
	}
	pl.Assumptions = []string{
		fmt.Sprintf("the controller's CPU per request (%.1f µs, its whole process tree, measured %s) stays constant as load spreads over replicas and cores (linear scaling)", cpu, measured),
		"the traffic looks like the measured scenario: small requests and responses; TLS, many routes or new connections per request cost more (see those scenarios' plans)",
		fmt.Sprintf("%.0f %% of each core is kept free for bursts, GC and failover slack", o.Headroom*100),
		fmt.Sprintf("replicas of %.0f cores each, plus one spare so one replica can fail or roll (N+1)", o.CoresPerReplica),
		"the controller is CPU-bound: network, backends and the load balancer in front are not the bottleneck",
		"measured on a shared machine where the load generator and echo backends used the same cores",
	}
	return pl
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
	if r.Settings.BackendProcesses {
		p(", echo backends as processes of their own")
	}
	p(".\n\n")
	if r.Interrupted != "" {
		p("**Interrupted: %s.** The results below are those of the scenarios that finished before it.\n\n", r.Interrupted)
	}
	m := r.Machine
	p("## Machine\n\n| CPU | cores | GOMAXPROCS | Go | platform | kernel | pinning | load avg (1 min) at start |\n|---|---|---|---|---|---|---|---|\n")
	p("| %s | %d | %d | %s | %s | %s | %s | %.2f |\n\n", benchCell(m.CPUModel), m.Cores, m.GOMAXPROCS, m.GoVersion, m.Platform, benchCell(m.Kernel), benchCell(m.CPUPinning), m.LoadAverage1)
	if m.IngresslabCommit != "" {
		p("ingresslab commit `%s`.\n\n", m.IngresslabCommit)
	}
	if len(m.Binaries) > 0 {
		p("| binary | path | sha256 |\n|---|---|---|\n")
		for _, bd := range m.Binaries {
			sum := bd.SHA256
			if bd.Error != "" {
				sum = "unreadable: " + bd.Error
			}
			p("| %s | %s | %s |\n", benchCell(bd.Role), benchCell(bd.Path), benchCell(sum))
		}
		p("\n")
	}
	if g := m.Generator; g != nil {
		p("Load generator alone (closed loop against a null in-process target): **%.0f rps** with %d connections, %.1f harness CPU-µs per request; targets within %.0f %% of it are generator-bound.", g.MaxRPS, g.Connections, g.MicrosPerRequest, g.BoundMargin*100)
		if ol := g.OpenLoop; ol != nil {
			valid := "valid"
			if !ol.Valid {
				valid = "**invalid: " + ol.InvalidReason + "** (open-loop windows near this rate measure the generator)"
			}
			p(" Open loop at %.0f rps: achieved %.0f rps, lag p99 %.0f µs, %s.", ol.OfferedRPS, ol.AchievedRPS, ol.Lag.P99, valid)
		}
		p("\n\n")
	}
	if n := m.Noise; n != nil {
		p("Machine noise: %d windows, %d noisy (CPU of processes outside the run above %.2f cores), %d repeated; external CPU mean %.2f, max %.2f cores; load average max %.2f.\n\n",
			n.Windows, n.NoisyWindows, r.Settings.NoiseMaxExternalCores, n.Repeated, n.MeanExternal, n.MaxExternal, n.MaxLoad1)
	}
	if len(r.Controller.Flags) > 0 {
		p("Controller flags: `%s`\n\n", strings.Join(r.Controller.Flags, " "))
	}
	st := r.Settings
	p("SLO: success >= %.1f %%, misroutes <= %d, p99 <= %.0f µs. Validity gates: achieved/offered >= %.2f, generator lag p99 <= %.0f µs (invalid runs are not plotted and do not count).",
		st.SLO.MinSuccessRatio*100, st.SLO.MaxMisroutes, st.SLO.MaxP99Micros, st.Gates.MinAchievedRatio, st.Gates.MaxLagP99Micros)
	if len(st.Connections) > 0 {
		pairs := ""
		if st.SameRatePairs > 0 {
			pairs = fmt.Sprintf(", %d same-rate pair(s) each", st.SameRatePairs)
		}
		p(" Closed-loop sweep over %v connections, %d ms windows; open-loop windows of %d ms at %v of each target's own maximum (%v for secondary targets); %d repetitions%s; noisy above %.2f external cores (at most %d repeats); propagation timeout %d ms.\n\n",
			st.Connections, st.ClosedLoopMillis, st.WindowMillis, st.Fractions, st.SecondaryFractions, st.Repetitions, pairs, st.NoiseMaxExternalCores, st.NoiseRetries, st.PropagationTimeoutMillis)
	} else {
		p(" Legacy open-loop search: steps of %d ms, start %.0f rps x%.2f up to %.0f rps, %d bisections, %d repetitions.\n\n", st.StepMillis, st.StartRPS, st.StepFactor, st.MaxRPS, st.Bisections, st.Repetitions)
	}
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
			p("## Maximum rate\n\nClosed loop (a bounded number of connections, each sending as soon as the previous answer came), swept over connection counts; \"≥ N (ceiling)\" is a lower bound (the sweep's configured maximum or the generator limited it) and is never turned into a ratio.\n\n")
			p("| scenario | series | via | max rps (median) | min..max | spread | reps | controller CPU µs/req |\n|---|---|---|---|---|---|---|---|\n")
			loadTable = true
		}
		for _, ser := range s.Load.Series {
			mx := ser.Max()
			ms := mx.Stat
			p("| %s | %s | %s | %s | %.0f..%.0f | %.1f %% | %d | %s |\n", s.Name, ser.Name, ser.Via, benchCell(mx.String()), ms.Min, ms.Max, ms.SpreadPct, ms.N, cpuCell(ser))
		}
	}
	if loadTable {
		p("\n")
	}
	atLoad := false
	for _, s := range r.Scenarios {
		if s.Load == nil {
			continue
		}
		for _, ser := range s.Load.Series {
			type row struct {
				load string
				pt   LoadPoint
			}
			var rows []row
			for _, pt := range ser.AtLoad {
				rows = append(rows, row{fmt.Sprintf("%.0f %%", pt.Fraction*100), pt})
			}
			if pr := ser.AtPeerRate; pr != nil {
				rows = append(rows, row{fmt.Sprintf("%s's %.0f %%", pr.Peer, pr.Point.Fraction*100), pr.Point})
			}
			for _, rw := range rows {
				pt := rw.pt
				if !atLoad {
					p("## Latency and CPU at fractions of each target's own maximum\n\nOpen loop (constant rate, unbounded workers) through a pool of at most the connections shown (those that reached the target's maximum; a request finding every one busy waits, and the wait counts in its latency; \"unbounded\" in reports before the pool); medians over repetitions (min..max). Controller CPU is its whole process tree; backend CPU is %s. A load \"<series>'s 50 %%\" is a raw engine at that series' 50 %% rate through that series' pool (the same absolute rate and connections).\n\n", backendCPUText(r.Settings))
					p("| scenario | series | load | rate rps | connections | p50 µs | p99 µs | p99.9 µs | ctrl CPU µs/req | rps per ctrl core | backend CPU µs/req | SLO | windows (noisy) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
					atLoad = true
				}
				noisy := 0
				for _, w := range pt.Windows {
					if w.Noisy {
						noisy++
					}
				}
				p("| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %d (%d) |\n", s.Name, ser.Name, rw.load, pt.RateRPS, poolCell(pt),
					statCell(pt.P50Micros), statCell(pt.P99Micros), statCell(pt.P999Micros), statCell1(pt.ControllerCPUMicrosPerRequest),
					statCell(pt.RPSPerCore), statCell1(pt.BackendCPUMicrosPerRequest), passFail(pt.PassSLO), len(pt.Windows), noisy)
			}
		}
	}
	if atLoad {
		p("\n")
	}
	for _, s := range r.Scenarios {
		if s.Load == nil || len(s.Load.Comparisons) == 0 {
			continue
		}
		p("### %s: A/B against the interleaved baseline\n\n| series vs baseline | throughput ratio (median, min..max) | fixed rate (rps) | added p50 µs | added p99 µs | added p99.9 µs |\n|---|---|---|---|---|---|\n", s.Name)
		for _, c := range s.Load.Comparisons {
			c = c.Checked(s.Load)
			fixed := "–"
			if c.FixedRPS > 0 {
				fixed = fmt.Sprintf("%.0f", c.FixedRPS)
			}
			p("| %s vs %s | %s | %s | %s | %s | %s |\n", c.Series, c.Baseline, benchCell(c.RatioCell()),
				fixed, statCell(c.AddedP50Micros), statCell(c.AddedP99Micros), statCell(c.AddedP999Micros))
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
			if sat := ser.Saturation; sat != nil {
				for _, sw := range sat.Sweeps {
					for _, step := range sw.Points {
						stepRow(p, ser.Name, sw.Repetition, step)
					}
				}
			}
			for _, pt := range ser.AtLoad {
				for i, step := range pt.Windows {
					stepRow(p, ser.Name, i+1, step)
				}
			}
			if pr := ser.AtPeerRate; pr != nil {
				for i, step := range pr.Point.Windows {
					stepRow(p, ser.Name, i+1, step)
				}
			}
		}
		p("\n")
		generatorRows(p, s)
	}
	for _, s := range r.Scenarios {
		if pr := s.Propagation; pr != nil {
			p("## %s\n\n%d events (%s), probe every %.1f ms; times from the API write to the first correct response and to the last stale one.", s.Name, pr.Events, pr.CensoredText(pr.TimedOut, pr.Events), pr.ProbeIntervalMillis)
			if pr.BackgroundIngresses > 0 {
				p(" %d other Ingresses (one route each) were present.", pr.BackgroundIngresses)
				if bs := pr.BackgroundStatus; bs != nil && bs.TimedOut {
					p(" %d of their statuses were still unwritten when timing began.", bs.Pending)
				} else if bs != nil {
					p(" Timing began after the controller had written all their statuses (%.1f s after the first write).", bs.SettledMillis/1000)
				}
			}
			if pr.Convergence != "" {
				p(" Convergence: %s.", pr.Convergence)
			}
			if pr.StoppedEarly != "" {
				p(" **Stopped early: %s.**", pr.StoppedEarly)
			}
			if !pr.Censored && pr.TimedOut > 0 {
				p(" **Legacy report: timed-out events are counted at the timeout value in these percentiles.**")
			}
			p("\n\n| change | events | timed out | first correct p50 ms | p99 ms | max ms | last stale p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|\n")
			p("| all | %d | %d | %s | %s | %s | %.1f | %.1f | %.1f |\n", pr.Events, pr.TimedOut, pr.Cell(pr.FirstCorrectMillis, pr.BeyondTimeout, "p50"), pr.Cell(pr.FirstCorrectMillis, pr.BeyondTimeout, "p99"),
				pr.Cell(pr.FirstCorrectMillis, pr.BeyondTimeout, "max"), pr.LastStaleMillis.P50, pr.LastStaleMillis.P99, pr.LastStaleMillis.Max)
			for _, k := range pr.ByKind {
				p("| %s | %d | %d | %s | %s | %s | %.1f | %.1f | %.1f |\n", k.Kind, k.Events, k.TimedOut, pr.Cell(k.FirstCorrectMillis, k.BeyondTimeout, "p50"), pr.Cell(k.FirstCorrectMillis, k.BeyondTimeout, "p99"),
					pr.Cell(k.FirstCorrectMillis, k.BeyondTimeout, "max"), k.LastStaleMillis.P50, k.LastStaleMillis.P99, k.LastStaleMillis.Max)
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
			if len(c.Phases) > 0 {
				p("\n%d of %d changes seen applied in traffic (termination: %s); %d failed requests excluded as allowed to fail.\n\n", c.ChangesApplied, len(c.Phases), benchCell(c.Termination), c.Excluded)
				p("| phase start s | change | applied | applied after ms | requests | failed |\n|---|---|---|---|---|---|\n")
				for _, ph := range c.Phases {
					p("| %.1f | %s %s | %s | %.0f | %d | %d |\n", ph.StartSeconds, ph.Kind, benchCell(ph.Detail), benchYesNo(ph.Applied), ph.AppliedMillis, ph.Requests, ph.Failed)
				}
			}
			for _, e := range c.ErrorSamples {
				p("\n- error sample: `%s`", benchCell(e))
			}
			p("\n\n")
		}
		if r := s.Reliability; r != nil {
			p("%s", reliabilityMarkdown(s.Name, r))
		}
		if sc := s.Scale; sc != nil {
			p("## %s\n\nMemory is read after a restart with the Ingresses present, once the table has served the requests of the \"served\" column (every route at least once), \"at sync\" right after the restart's sync.\n\n", s.Name)
			p("| Ingresses | routes | apply to sync ms | restart to sync ms | RSS MiB at sync | served (not 200) | RSS MiB | process tree RSS MiB (processes) | tree peak MiB: restart to sync / serving (samples) | heap MiB |\n|---|---|---|---|---|---|---|---|---|---|\n")
			for _, pt := range sc.Points {
				atSync, served, peak := "-", "-", "-"
				if pt.SyncRSSBytes > 0 {
					atSync = fmt.Sprintf("%.1f", float64(pt.SyncRSSBytes)/(1<<20))
					served = fmt.Sprintf("%d (%d)", pt.ServedRequests, pt.ServeErrors)
				}
				if pt.PeakSamples > 0 {
					peak = fmt.Sprintf("%.1f / %.1f (%d)", float64(pt.StartPeakTreeRSSBytes)/(1<<20), float64(pt.PeakTreeRSSBytes)/(1<<20), pt.PeakSamples)
				}
				p("| %d | %d | %.0f | %.0f | %s | %s | %.1f | %.1f (%d) | %s | %.1f |\n", pt.Ingresses, pt.Routes, pt.ApplyToSyncMillis, pt.RestartSyncMillis, atSync, served,
					float64(pt.RSSBytes)/(1<<20), float64(pt.TreeRSSBytes)/(1<<20), pt.Processes, peak, float64(pt.HeapAllocBytes)/(1<<20))
			}
			for _, pt := range sc.Points {
				if pt.ServeError != "" {
					p("\n- %d Ingresses: %d of %d requests after the sync failed; the first: `%s`\n", pt.Ingresses, pt.ServeErrors, pt.ServedRequests, benchCell(pt.ServeError))
				}
			}
			p("\nMemory per route (least-squares slope): RSS %.0f bytes, heap %.0f bytes.", sc.RSSBytesPerRoute, sc.HeapBytesPerRoute)
			if f := sc.Fit; f != nil {
				p(" Process-tree RSS fit over %d sizes: %.0f bytes per route (host x path) + %.1f MiB, residual %.1f MiB, R² %.3f.", f.Points, f.Slope, f.Intercept/(1<<20), f.ResidualStd/(1<<20), f.R2)
				if f.Note != "" {
					p(" **%s**", f.Note)
				}
			}
			if f := sc.PeakFit; f != nil {
				p(" The same fit over the peaks while serving (sampled every 50 ms; what a memory limit has to cover, and what the memory goal judges): %.0f bytes per route + %.1f MiB, residual %.1f MiB, R² %.3f.", f.Slope, f.Intercept/(1<<20), f.ResidualStd/(1<<20), f.R2)
				if f.Note != "" {
					p(" **%s**", f.Note)
				}
			}
			p("\n\n")
		}
	}
	if c := r.Capacity; c != nil {
		p("## Capacity planning\n\nTo serve **%.0f rps** within the SLO above (from %s):\n\n", c.TargetRPS, c.Source)
		p("- measured controller rate per core: %.0f rps (1e6 / CPU-µs per request)\n", c.PerCoreRPS)
		p("- cores needed at %.0f %% headroom: **%.1f**\n", c.Headroom*100, c.CoresNeeded)
		p("- replicas of %.0f cores (N+1): **%d**\n", c.CoresPerReplica, c.Replicas)
		p("- maximum rate of this target measured here: %s rps\n", Maximum{RPS: c.MachineRPS, Stat: Stat{N: 1}}.String())
		if c.Warning != "" {
			p("\n**Warning:** %s\n", c.Warning)
		}
		p("\nAssumptions:\n\n")
		for _, a := range c.Assumptions {
			p("- %s\n", a)
		}
		if len(c.Plans) > 0 {
			p("\nOther traffic shapes (same target rate, SLO and headroom):\n\n| source | CPU µs/req | measured at | rps per core | cores | replicas (N+1) | warning |\n|---|---|---|---|---|---|---|\n")
			for _, pl := range c.Plans {
				p("| %s | %.1f | %.0f rps (%.0f %%) | %.0f | %.1f | %d | %s |\n", pl.Source, 1e6/pl.PerCoreRPS, pl.MeasuredAtRPS, pl.MeasuredFraction*100, pl.PerCoreRPS, pl.CoresNeeded, pl.Replicas, benchCell(pl.Warning))
			}
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
	if s.Noisy && s.CPU != nil {
		valid += fmt.Sprintf(" (noisy: %.2f external cores, attempt %d)", s.CPU.ExternalCores, s.Attempt)
	}
	phase := s.Phase
	if s.Connections > 0 {
		phase = fmt.Sprintf("%s, %d conns", phase, s.Connections)
	}
	if s.Fraction > 0 {
		phase = fmt.Sprintf("%s %.0f %%", phase, s.Fraction*100)
	}
	slo := "pass"
	if !s.PassSLO {
		slo = "fail"
		if s.FailReason != "" {
			slo += ": " + s.FailReason
		}
	}
	p("| %s | %d | %s | %.0f | %.0f | %.0f | %.2f %% | %d | %.0f | %.0f | %.0f | %.0f | %.1f | %s | %s |\n", series, rep, benchCell(phase), s.OfferedRPS, s.AchievedRPS, s.ThroughputRPS,
		s.SuccessRatio*100, s.Misroutes, s.Latency.P50, s.Latency.P99, s.Latency.P999, s.Lag.P99, s.ControllerCPUMicrosPerRequest, benchCell(valid), benchCell(slo))
}

func statCell1(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f (%.1f..%.1f)", s.Median, s.Min, s.Max)
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// cpuCell is the controller's CPU per request at the maximum: schema 2
// takes the window each closed-loop sweep chose as its maximum
// (ClosedLoopSweep.Connections; median and range over the sweeps);
// schema 1 its one figure.
func cpuCell(s LoadSeries) string {
	if s.Saturation != nil {
		var at []float64
		for _, sw := range s.Saturation.Sweeps {
			for _, pt := range sw.Points {
				if pt.Connections == sw.Connections && pt.ControllerCPUMicrosPerRequest > 0 {
					at = append(at, pt.ControllerCPUMicrosPerRequest)
				}
			}
		}
		if st := NewStat(at); st.N > 0 {
			return statCell1(st)
		}
	}
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

// poolCell is the connection pool of a load point's windows ("unbounded"
// for windows measured without one).
func poolCell(pt LoadPoint) string {
	for _, w := range pt.Windows {
		if w.PoolConnections > 0 {
			return strconv.Itoa(w.PoolConnections)
		}
	}
	return "unbounded"
}

// backendCPUText says how the report's backend CPU was obtained.
func backendCPUText(s BenchSettings) string {
	if s.BackendProcesses {
		return "the echo backends' own processes, measured"
	}
	return "the harness process minus the generator's calibrated share (the echo backends run in the harness process; keep-alive series only, since the calibration has no connects or handshakes)"
}
