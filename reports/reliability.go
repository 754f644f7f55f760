package reports

import (
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
