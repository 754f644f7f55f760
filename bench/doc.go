// Package bench measures an Ingress controller under load and change with
// vegeta (github.com/tsenart/vegeta/v12/lib) used as a library.
//
// Scenarios are declared values (see Registry): each has a name, a
// description and a Run function. Every load target (direct, and each
// scenario's proxied traffic) is measured the same way: its maximum is
// closed-loop (vegeta with a zero pacer and a bounded worker = connection
// count, swept by FindSaturation), then latency and CPU are open-loop
// (constant rate, unbounded workers, through a pool of as many connections
// as reached the maximum) at fractions of that target's own maximum, each
// repeated and summarised by median and spread. A maximum
// the sweep's configured ceiling or the load generator limited is a lower
// bound ("≥ N (ceiling)") and is never turned into a ratio. The generator
// is calibrated against a null in-process target first. Every request goes
// through a dialer that connects to one fixed, checked address (the
// controller's listener, or an echo backend for the direct baseline) while
// the URL keeps the virtual host, so Host and SNI are what a real client
// would send. Every address is checked with the provider's CheckTarget
// before any traffic is sent.
//
// Honesty rules: each open-loop result's generator lag (its timestamp
// against Seq x interval) is measured; a window whose achieved/offered rate
// is below the gate or whose lag is too high is invalid. Direct and proxied
// runs are interleaved (A/B/A/B) with identical settings. CPU is sampled
// around every window: the controller's whole process tree (haproxy and
// nginx children included), the harness, and the machine (/proc/stat), so
// CPU used by processes outside the run is known; a noisy window is
// measured again within a run-wide budget. Propagation and churn observe
// changes over HTTP only, the same for every controller; propagation
// timeouts are censored, not values.
//
// Run starts the local cluster and the controller from a profile, runs the
// selected scenarios in registry order, and writes the report through
// package reports (bench.json, bench.md, bench.html).
package bench
