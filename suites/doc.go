// Package suites holds ingresslab's Ginkgo v2 conformance specs for the
// networking.k8s.io/v1 Ingress API and Run, which stands up a cluster,
// starts the controller under test from its profile, runs the specs
// in-process and returns a versioned report.
//
// Every spec carries two kinds of labels: its feature (path-rules,
// host-rules, precedence, default-backend, backends, load-balancing, tls,
// ingress-class, status, lifecycle) and its level (core: required by the API
// documentation; extended; implementation-specific: the API leaves it open
// and the spec records the variant the controller chose). Specs of features
// the profile does not list are skipped.
package suites

// Features are the feature labels, in report order.
var Features = []string{
	"path-rules", "host-rules", "precedence", "default-backend", "backends",
	"load-balancing", "tls", "ingress-class", "status", "lifecycle",
}

// ReliabilityLabel marks every reliability spec: hostile clients, hostile
// API data, faults, drain and churn. They run against any controller (the
// profile does not list them), at level extended, and each also carries one
// of ReliabilityFeatures, by which reports group them.
const ReliabilityLabel = "reliability"

// ReliabilityFeatures are the reliability specs' feature labels, in report
// order.
var ReliabilityFeatures = []string{
	"smuggling", "limits", "timeouts", "host-header", "path-normalisation", "forwarded-headers",
	"tls-hardening", "api-data", "faults", "drain", "churn",
}

// Levels are the level labels.
var Levels = []string{"core", "extended", "implementation-specific"}
