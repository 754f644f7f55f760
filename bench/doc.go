// Package bench measures an Ingress controller under load and change with
// vegeta (github.com/tsenart/vegeta/v12/lib) used as a library.
//
// Scenarios are declared values (see Registry): each has a name, a
// description and a Run function. Load scenarios use an open-loop constant
// rate (vegeta.ConstantPacer) with unbounded workers, stepped then bisected
// (SearchMaxRate) to find the highest rate that meets an SLO, repeated and
// summarised by median and spread. Every request goes through a dialer that
// connects to one fixed, checked address (the controller's listener, or an
// echo backend for the direct baseline) while the URL keeps the virtual
// host, so Host and SNI are what a real client would send. Every address is
// checked with the provider's CheckTarget before any traffic is sent.
//
// Honesty rules: each result's generator lag (its timestamp against
// Seq x interval) is measured; a step whose achieved/offered rate is below
// the gate or whose lag is too high is invalid, does not count as
// sustainable and is not plotted. Direct and proxied runs are interleaved
// (A/B/A/B) with identical settings. The controller's CPU time per request
// comes from /proc/PID/stat, its memory from /proc/PID/status and its
// /metrics.
//
// Run starts the local cluster and the controller from a profile, runs the
// selected scenarios in registry order, and writes the report through
// package reports (bench.json, bench.md, bench.html).
package bench
