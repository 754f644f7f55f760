package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// BenchDelta is one compared quantity of two bench reports.
type BenchDelta struct {
	Scenario, Series, Metric string
	A, B                     float64
	// DeltaPct is (B-A)/A in percent.
	DeltaPct float64
	// NoisePct is the noise band: the larger repetition spread of A and B
	// (at least MinNoisePct).
	NoisePct float64
	// Regression is true when B is worse than A by more than NoisePct.
	Regression  bool
	Improvement bool
	// Note says why a quantity is not judged (a capped maximum: "≥ N" on
	// either side is a lower bound, not a value).
	Note string
}

// MinNoisePct is the smallest noise band CompareBench assumes, even when
// repetitions agree closely.
const MinNoisePct = 5.0

// BenchDeltas matches a's and b's scenarios and series by name: max
// sustainable rate (higher is better), fixed-rate p99 latency, propagation
// p99 and churn errors (lower is better).
func BenchDeltas(a, b *BenchReport) []BenchDelta {
	var out []BenchDelta
	add := func(d BenchDelta, higherBetter bool) {
		if d.Note != "" {
			out = append(out, d)
			return
		}
		if d.A != 0 {
			d.DeltaPct = (d.B - d.A) / math.Abs(d.A) * 100
		} else if d.B != 0 {
			d.DeltaPct = math.Inf(1)
		}
		d.NoisePct = math.Max(d.NoisePct, MinNoisePct)
		worse := d.DeltaPct
		if higherBetter {
			worse = -d.DeltaPct
		}
		d.Regression = worse > d.NoisePct
		d.Improvement = -worse > d.NoisePct
		out = append(out, d)
	}
	for _, sa := range a.Scenarios {
		sb := b.Scenario(sa.Name)
		if sb == nil {
			continue
		}
		if sa.Load != nil && sb.Load != nil {
			for _, xa := range sa.Load.Series {
				xb := sb.Load.SeriesNamed(xa.Name)
				if xb == nil {
					continue
				}
				if ma, mb := xa.Max(), xb.Max(); ma.Stat.N > 0 && mb.Stat.N > 0 {
					d := BenchDelta{Scenario: sa.Name, Series: xa.Name, Metric: "max sustainable rps", A: ma.RPS, B: mb.RPS, NoisePct: math.Max(ma.Stat.SpreadPct, mb.Stat.SpreadPct)}
					if ma.Capped() || mb.Capped() {
						d.Note = fmt.Sprintf("not compared: A %s, B %s", ma, mb)
					}
					add(d, true)
				}
				for _, pa := range xa.AtLoad {
					pb := xb.PointAt(pa.Fraction)
					if pb == nil || pb.Fraction != pa.Fraction {
						continue
					}
					if pa.P99Micros.N > 0 && pb.P99Micros.N > 0 {
						add(BenchDelta{Scenario: sa.Name, Series: xa.Name, Metric: fmt.Sprintf("p99 µs at %.0f %% of max", pa.Fraction*100), A: pa.P99Micros.Median, B: pb.P99Micros.Median,
							NoisePct: math.Max(pa.P99Micros.SpreadPct, pb.P99Micros.SpreadPct)}, false)
					}
					if pa.ControllerCPUMicrosPerRequest.N > 0 && pb.ControllerCPUMicrosPerRequest.N > 0 {
						add(BenchDelta{Scenario: sa.Name, Series: xa.Name, Metric: fmt.Sprintf("ctrl CPU µs/req at %.0f %%", pa.Fraction*100), A: pa.ControllerCPUMicrosPerRequest.Median,
							B: pb.ControllerCPUMicrosPerRequest.Median, NoisePct: math.Max(pa.ControllerCPUMicrosPerRequest.SpreadPct, pb.ControllerCPUMicrosPerRequest.SpreadPct)}, false)
					}
				}
				pa, pb := fixedP99(xa), fixedP99(*xb)
				if pa.N > 0 && pb.N > 0 {
					add(BenchDelta{Scenario: sa.Name, Series: xa.Name, Metric: "fixed-rate p99 µs", A: pa.Median, B: pb.Median, NoisePct: math.Max(pa.SpreadPct, pb.SpreadPct)}, false)
				}
			}
		}
		if pa, pb := sa.Propagation, sb.Propagation; pa != nil && pb != nil {
			d := BenchDelta{Scenario: sa.Name, Metric: "propagation p99 ms", A: pa.FirstCorrectMillis.P99, B: pb.FirstCorrectMillis.P99, NoisePct: 20}
			if slices.Contains(pa.BeyondTimeout, "p99") || slices.Contains(pb.BeyondTimeout, "p99") || (!pa.Censored && pa.TimedOut > 0) || (!pb.Censored && pb.TimedOut > 0) {
				d.Note = fmt.Sprintf("not compared: censored (A %s, B %s)", pa.CensoredText(pa.TimedOut, pa.Events), pb.CensoredText(pb.TimedOut, pb.Events))
			}
			add(d, false)
		}
		if sa.Churn != nil && sb.Churn != nil {
			ea := float64(sa.Churn.Errors + sa.Churn.Non2xx + sa.Churn.Misroutes)
			eb := float64(sb.Churn.Errors + sb.Churn.Non2xx + sb.Churn.Misroutes)
			d := BenchDelta{Scenario: sa.Name, Metric: "churn failed requests", A: ea, B: eb}
			add(d, false)
			// Any new failure is a regression, whatever the percentage.
			if last := &out[len(out)-1]; ea == 0 && eb > 0 {
				last.Regression = true
			}
		}
	}
	return out
}

func fixedP99(s LoadSeries) Stat {
	var xs []float64
	for _, f := range s.Fixed {
		if f.Valid {
			xs = append(xs, f.Latency.P99)
		}
	}
	return NewStat(xs)
}

// CompareBench writes a Markdown comparison of two bench reports: per
// scenario and series, the delta of throughput and latency, with changes
// beyond the noise band (the repetitions' spread) flagged.
func CompareBench(w io.Writer, a, b *BenchReport) error {
	if a == nil || b == nil {
		return errors.New("compare bench reports: a report is nil")
	}
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("# Bench comparison: A = %s %s, B = %s %s\n\n", a.Controller.Name, a.Controller.Version, b.Controller.Name, b.Controller.Version)
	p("A: %s on %s (%d cores), quick=%t. B: %s on %s (%d cores), quick=%t.\n\n",
		a.Started.UTC().Format("2006-01-02 15:04"), a.Machine.CPUModel, a.Machine.Cores, a.Quick,
		b.Started.UTC().Format("2006-01-02 15:04"), b.Machine.CPUModel, b.Machine.Cores, b.Quick)
	if a.Machine.CPUModel != b.Machine.CPUModel || a.Machine.Cores != b.Machine.Cores {
		p("**Warning:** the machines differ; deltas mix controller and hardware changes.\n\n")
	}
	deltas := BenchDeltas(a, b)
	regressions := 0
	for _, d := range deltas {
		if d.Regression {
			regressions++
		}
	}
	p("%d compared quantities, %d regression(s) beyond noise (noise band: the larger repetition spread, at least %.0f %%).\n\n", len(deltas), regressions, MinNoisePct)
	p("| scenario | series | metric | A | B | delta | noise | verdict |\n|---|---|---|---|---|---|---|---|\n")
	for _, d := range deltas {
		verdict := "within noise"
		switch {
		case d.Note != "":
			verdict = d.Note
		case d.Regression:
			verdict = "**REGRESSION**"
		case d.Improvement:
			verdict = "improved"
		}
		p("| %s | %s | %s | %.1f | %.1f | %+.1f %% | ±%.1f %% | %s |\n", d.Scenario, d.Series, d.Metric, d.A, d.B, d.DeltaPct, d.NoisePct, verdict)
	}
	for _, s := range a.Scenarios {
		if b.Scenario(s.Name) == nil {
			p("\nOnly in A: %s", s.Name)
		}
	}
	for _, s := range b.Scenarios {
		if a.Scenario(s.Name) == nil {
			p("\nOnly in B: %s", s.Name)
		}
	}
	p("\n")
	return bw.Flush()
}
