// Package framework is what the conformance specs stand on: the run's
// environment (cluster, controller address, profile), one struct of
// timeouts, requests that dial the controller while keeping Host and SNI,
// convergence checks (N consecutive correct responses within a deadline, no
// sleeps), per-spec namespaces with templated fixtures, and the diagnostics
// printed when a check fails.
//
// Specs never import controller internals: they test any controller from
// the outside, over real HTTP.
package framework

import (
	"fmt"
	"time"
)

// Timeouts are every time limit the suites use. The report records them.
type Timeouts struct {
	// Create bounds creating fixture objects. Default 60s.
	Create time.Duration `json:"create"`
	// Delete bounds deleting a spec's namespace. Default 30s.
	Delete time.Duration `json:"delete"`
	// Request bounds one HTTP request. Default 10s.
	Request time.Duration `json:"request"`
	// Poll is the wait after a failed check before the next. Default 100ms.
	Poll time.Duration `json:"poll"`
	// MaxTimeToConsistency bounds a convergence check. Default 30s.
	MaxTimeToConsistency time.Duration `json:"maxTimeToConsistency"`
	// NoTrafficWindow is how long a negative check (no route, no status)
	// must hold. Default 3s.
	NoTrafficWindow time.Duration `json:"noTrafficWindow"`
	// ControllerStart bounds the controller's start-up. Default 60s.
	ControllerStart time.Duration `json:"controllerStart"`
	// ConsecutiveSuccesses is how many correct responses in a row make a
	// check pass. Default 3.
	ConsecutiveSuccesses int `json:"consecutiveSuccesses"`
	// SlowHeaders bounds how long a connection that sends its request head
	// too slowly (slowloris) may stay open before the controller closes
	// it. Default 70s: nginx's client_header_timeout (60s) and a margin; a
	// profile's timeouts.slowHeaders sets it per controller.
	SlowHeaders time.Duration `json:"slowHeaders"`
	// SlowBody bounds how long a connection whose request body stalls may
	// stay open. Default 70s: nginx's client_body_timeout (60s) and a
	// margin; a profile's timeouts.slowBody sets it per controller.
	SlowBody time.Duration `json:"slowBody"`
}

// DefaultTimeouts returns the defaults (those of Gateway API conformance
// where they exist).
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Create:               60 * time.Second,
		Delete:               30 * time.Second,
		Request:              10 * time.Second,
		Poll:                 100 * time.Millisecond,
		MaxTimeToConsistency: 30 * time.Second,
		NoTrafficWindow:      3 * time.Second,
		ControllerStart:      60 * time.Second,
		ConsecutiveSuccesses: 3,
		SlowHeaders:          70 * time.Second,
		SlowBody:             70 * time.Second,
	}
}

// Map renders the timeouts for a report.
func (t Timeouts) Map() map[string]string {
	return map[string]string{
		"create":               t.Create.String(),
		"delete":               t.Delete.String(),
		"request":              t.Request.String(),
		"poll":                 t.Poll.String(),
		"maxTimeToConsistency": t.MaxTimeToConsistency.String(),
		"noTrafficWindow":      t.NoTrafficWindow.String(),
		"controllerStart":      t.ControllerStart.String(),
		"consecutiveSuccesses": fmt.Sprint(t.ConsecutiveSuccesses),
		"slowHeaders":          t.SlowHeaders.String(),
		"slowBody":             t.SlowBody.String(),
	}
}
