package reports

import (
	"fmt"
	"slices"
	"strings"
)

// ReliabilityLabel is the label of every reliability spec (hostile
// clients, hostile API data, faults, drain, churn): the suites run them
// against any controller.
const ReliabilityLabel = "reliability"

// ReliabilityFeatures are the reliability specs' feature labels, in report
// order. Reports give them their own section ("Reliability") instead of
// listing them with the Ingress API features.
var ReliabilityFeatures = []string{
	"smuggling", "limits", "timeouts", "host-header", "path-normalisation", "forwarded-headers",
	"tls-hardening", "api-data", "faults", "drain", "churn",
}

// IsReliabilityFeature reports whether f is one of ReliabilityFeatures.
func IsReliabilityFeature(f string) bool { return slices.Contains(ReliabilityFeatures, f) }

// reliabilityRow is one reliability feature of a report: its counts and
// the variants its tests recorded.
type reliabilityRow struct {
	Feature  string
	Summary  Summary
	Variants []string
}

// reliabilityRows summarises r's reliability tests per feature, in
// ReliabilityFeatures order; features without tests are left out.
func reliabilityRows(tests []TestResult) []reliabilityRow {
	var out []reliabilityRow
	for _, f := range ReliabilityFeatures {
		row := reliabilityRow{Feature: f}
		for _, t := range tests {
			if t.Feature() != f {
				continue
			}
			switch t.Result {
			case Passed:
				row.Summary.Passed++
			case Failed:
				row.Summary.Failed++
			default:
				row.Summary.Skipped++
			}
			if t.Variant != "" {
				row.Variants = append(row.Variants, t.Variant)
			}
		}
		if row.Summary != (Summary{}) {
			out = append(out, row)
		}
	}
	return out
}

// reliabilityNote introduces the Reliability sections.
const reliabilityNote = "Specs labelled `reliability` (level extended) run against every controller: request smuggling, " +
	"request limits, slow-client timeouts, Host and path tricks, forwarding headers, TLS versions, hostile API data, " +
	"and (where run) backend faults, drain and churn. Where the RFCs leave a choice, the variant each controller chose is recorded."

func joinVariants(vs []string) string { return strings.Join(vs, "; ") }

// reliabilityBenchRow is one bench reliability scenario across the
// matrix's columns.
type reliabilityBenchRow struct {
	Name  string
	Cells []reliabilityBenchCell
}

// reliabilityBenchCell is one column's figure; OK is false when requests
// failed (or status was never written), Ran false when the bench did not
// run the scenario for that column.
type reliabilityBenchCell struct {
	Text    string
	OK, Ran bool
}

// Symbol is the cell with its pass/fail mark.
func (c reliabilityBenchCell) Symbol() string {
	switch {
	case !c.Ran:
		return "–"
	case c.OK:
		return "✅ " + c.Text
	default:
		return "❌ " + c.Text
	}
}

// class is the HTML class of the cell.
func (c reliabilityBenchCell) class() string {
	switch {
	case !c.Ran:
		return "none"
	case c.OK:
		return "pass"
	default:
		return "fail"
	}
}

// reliabilityBenchRows are the Reliability section's bench rows (drain,
// churn at scale, failover), from each column's bench report; a scenario
// no column ran is left out.
func (m *Matrix) reliabilityBenchRows() []reliabilityBenchRow {
	perfs := make([]Perf, len(m.Columns))
	for i := range m.Columns {
		perfs[i], _ = m.Perf(i)
	}
	var out []reliabilityBenchRow
	add := func(name string, cell func(Perf) reliabilityBenchCell) {
		row := reliabilityBenchRow{Name: name}
		ran := false
		for _, p := range perfs {
			c := cell(p)
			ran = ran || c.Ran
			row.Cells = append(row.Cells, c)
		}
		if ran {
			out = append(out, row)
		}
	}
	add("drain (bench: SIGTERM under load)", func(p Perf) reliabilityBenchCell {
		d := p.Drain
		if d == nil {
			return reliabilityBenchCell{}
		}
		inFlight := 0
		for _, r := range d.Runs {
			inFlight += r.InFlight
		}
		return reliabilityBenchCell{Ran: true, OK: d.InFlightFailed == 0,
			Text: fmt.Sprintf("%d of %d in flight failed (%d runs); exit %s ms", d.InFlightFailed, inFlight, len(d.Runs), fmtFloat(d.ExitMillis.Median, 0))}
	})
	add("churn at scale (bench)", func(p Perf) reliabilityBenchCell {
		c := p.ChurnScale
		if c == nil {
			return reliabilityBenchCell{}
		}
		text := fmt.Sprintf("%d of %d requests failed; %d changes, ready p99 %s ms, %d timed out",
			c.Traffic.Failed(), c.Traffic.Requests, c.Changes, fmtFloat(c.All.ReadyMillis.P99, 0), c.All.TimedOut)
		if !c.Traffic.Valid {
			text += " (load below its rate: " + c.Traffic.InvalidReason + ")"
		}
		return reliabilityBenchCell{Ran: true, OK: c.Traffic.Failed() == 0 && c.All.TimedOut == 0, Text: text}
	})
	add("leader failover (bench)", func(p Perf) reliabilityBenchCell {
		f := p.Failover
		if f == nil {
			return reliabilityBenchCell{}
		}
		status := fmt.Sprintf("status not written within %s s", fmtFloat(f.TimeoutSeconds, 0))
		if f.StatusWritten {
			status = fmt.Sprintf("status %s s after the kill", fmtFloat(f.StatusMillis/1000, 1))
		}
		return reliabilityBenchCell{Ran: true, OK: f.StatusWritten && f.Traffic.Failed() == 0,
			Text: fmt.Sprintf("%s; %d of %d requests failed", status, f.Traffic.Failed(), f.Traffic.Requests)}
	})
	return out
}
