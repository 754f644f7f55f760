package suites

import (
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// hasStatusAddress checks that Ingress name's status.loadBalancer lists the
// controller's address: the profile's StatusAddress when it has one, else
// any address.
func hasStatusAddress(s *framework.Spec, name string) error {
	addrs, err := s.LoadBalancerAddresses(name)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return fmt.Errorf("status.loadBalancer.ingress of Ingress %s/%s is empty", s.Namespace, name)
	}
	if want := s.Controller.Profile.StatusAddress; want != "" && !slices.Contains(addrs, want) {
		return fmt.Errorf("status.loadBalancer.ingress of Ingress %s/%s is %v, want %s (profile statusAddress)", s.Namespace, name, addrs, want)
	}
	return nil
}

// statusIngress renders status/ingress.yaml values ("" class: the
// controller's).
func statusIngress(name, host, class string) map[string]any {
	return map[string]any{"name": name, "host": host, "service": "svc-a", "class": class}
}

var _ = describe("Status", Label("status"), Ordered, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "status")
		s.Backend("svc-a", 1)
	})

	// publishes applies an Ingress of ours and waits for its route and its
	// status; it returns the time from the write to the status.
	publishes := func(name string) time.Duration {
		GinkgoHelper()
		host := s.Host(name)
		s.Apply("status/ingress.yaml", statusIngress(name, host, ""))
		began := time.Now()
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"})
		s.Poll("status.loadBalancer of Ingress "+name, s.Env.Timeouts.MaxTimeToConsistency, func() error {
			return hasStatusAddress(s, name)
		})
		return time.Since(began)
	}

	It("publishes the controller's address in status.loadBalancer of an Ingress it serves", Label("core"), func() {
		took := publishes("served")
		AddReportEntry("status written after", took.String(), ReportEntryVisibilityFailureOrVerbose)
	})

	It("writes no status into an Ingress of a class it does not serve", Label("core"), func() {
		foreign := applyForeignClass(s, "status/foreign-class.yaml")
		s.Apply("status/ingress.yaml", statusIngress("foreign", s.Host("foreign"), foreign))
		// Our sibling's status shows the controller has caught up.
		publishes("sibling")
		s.Hold("status of Ingress foreign (class "+foreign+")", framework.Request{Host: s.Host("foreign")}, func() error {
			return noStatus(s, "foreign")
		})
	})

	It("clears the status of an Ingress moved to a class it does not serve", Label("implementation-specific"), func() {
		foreign := applyForeignClass(s, "status/foreign-class.yaml")
		publishes("moved")
		host := s.Host("moved")
		s.Apply("status/ingress.yaml", statusIngress("moved", host, foreign))
		// The route is gone: the controller has seen the change.
		s.Eventually(framework.Request{Host: host}, notFrom("svc-a"))
		err := s.Within(s.Env.Timeouts.MaxTimeToConsistency, func() error { return noStatus(s, "moved") })
		if err == nil {
			framework.RecordVariant("status-cleared")
			return
		}
		framework.RecordVariant("status-left")
		AddReportEntry("status left behind", err.Error(), ReportEntryVisibilityFailureOrVerbose)
	})
})
