package suites

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// lifecycleIngress renders lifecycle/ingress.yaml values ("" secret: no TLS).
func lifecycleIngress(name, service, secret string, hosts ...string) map[string]any {
	h := make([]any, 0, len(hosts))
	for _, x := range hosts {
		h = append(h, x)
	}
	return map[string]any{"name": name, "service": service, "secret": secret, "hosts": h}
}

// recordConvergence adds a named convergence time (API write to the first
// of the consecutive correct answers) to the spec's report.
func recordConvergence(what string, took time.Duration) {
	AddReportEntry("convergence: "+what, took.Round(time.Millisecond).String(), ReportEntryVisibilityFailureOrVerbose)
}

// Lifecycle: every change is measured from its API write to convergence
// while a constant-rate prober sends to a stable route of the same
// controller (and, where it matters, to the route being changed). Error
// counts are recorded (they are controller quality, not correctness); only
// a misroute (a wrong backend answering) fails a spec.
var _ = describe("Lifecycle", Label("lifecycle"), Ordered, func() {
	var (
		s      *framework.Spec
		stable string
	)
	BeforeAll(func() {
		s = framework.NewSpec(env, "life")
		for _, name := range []string{"svc-stable", "svc-a", "svc-b"} {
			s.Backend(name, 1)
		}
		stable = s.Host("stable")
		s.Apply("lifecycle/ingress.yaml", lifecycleIngress("stable", "svc-stable", "", stable))
		s.Eventually(framework.Request{Host: stable}, framework.Expect{Backend: "svc-stable"})
	})

	// probing runs change while probers send to the stable route and to
	// the extra routes. The probers have answers before the change and keep
	// going for Timeouts.NoTrafficWindow after it converged (disruption
	// often follows the change: reloads, drained connections). It fails
	// when any prober saw a misroute.
	probing := func(change func(), extra ...framework.ProberOptions) {
		GinkgoHelper()
		probers := []*framework.Prober{s.StartProber(framework.ProberOptions{
			Name: "stable route", Request: framework.Request{Host: stable}, Backends: []string{"svc-stable"},
		})}
		for _, o := range extra {
			probers = append(probers, s.StartProber(o))
		}
		s.Poll("every prober has answers before the change", s.Env.Timeouts.MaxTimeToConsistency, func() error {
			for _, p := range probers {
				if c := p.Counts(); c.Sent == 0 {
					return fmt.Errorf("prober %q has no answer yet", c.Name)
				}
			}
			return nil
		})
		change()
		misroutes := func() error {
			var bad []string
			for _, p := range probers {
				if c := p.Counts(); c.Misrouted > 0 {
					bad = append(bad, c.String())
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("wrong backends answered while the configuration changed:\n%s", strings.Join(bad, "\n"))
			}
			return nil
		}
		s.Hold("probing after the change", framework.Request{Host: stable}, misroutes)
		for _, p := range probers {
			p.Stop()
		}
		if err := misroutes(); err != nil {
			Fail(err.Error())
		}
	}

	It("routes a new Ingress", Label("core"), func() {
		host := s.Host("added")
		probing(func() {
			s.Apply("lifecycle/ingress.yaml", lifecycleIngress("added", "svc-a", "", host))
			recordConvergence("add", s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"}))
		})
	})

	It("follows a change of an Ingress's backend Service", Label("core"), func() {
		host := s.Host("updated")
		s.Apply("lifecycle/ingress.yaml", lifecycleIngress("updated", "svc-a", "", host))
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"})
		probing(func() {
			s.Apply("lifecycle/ingress.yaml", lifecycleIngress("updated", "svc-b", "", host))
			recordConvergence("update", s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-b"}))
		}, framework.ProberOptions{Name: "updated route", Request: framework.Request{Host: host}, Backends: []string{"svc-a", "svc-b"}})
	})

	It("stops routing a deleted Ingress", Label("core"), func() {
		host := s.Host("deleted")
		s.Apply("lifecycle/ingress.yaml", lifecycleIngress("deleted", "svc-a", "", host))
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"})
		probing(func() {
			s.DeleteIngress("deleted")
			recordConvergence("delete", s.Eventually(framework.Request{Host: host}, notFrom("svc-a")))
		})
	})

	It("routes a host added to an existing Ingress without disturbing its other host", Label("core"), func() {
		first, added := s.Host("grown"), s.Host("grown-added")
		s.Apply("lifecycle/ingress.yaml", lifecycleIngress("grown", "svc-a", "", first))
		s.Eventually(framework.Request{Host: first}, framework.Expect{Backend: "svc-a"})
		probing(func() {
			s.Apply("lifecycle/ingress.yaml", lifecycleIngress("grown", "svc-a", "", first, added))
			recordConvergence("add host", s.Eventually(framework.Request{Host: added}, framework.Expect{Backend: "svc-a"}))
		}, framework.ProberOptions{Name: "existing host", Request: framework.Request{Host: first}, Backends: []string{"svc-a"}})
	})

	It("serves a rotated Secret's certificate", Label("extended"), func() {
		host := s.Host("rotated")
		old := s.TLSSecret("rotated", host)
		s.Apply("lifecycle/ingress.yaml", lifecycleIngress("rotated", "svc-a", "rotated", host))
		s.Eventually(framework.Request{HTTPS: true, Host: host}, framework.Expect{Backend: "svc-a", Check: framework.ServedBy(old)})
		probing(func() {
			fresh := s.TLSSecret("rotated", host)
			recordConvergence("rotate Secret", s.Eventually(framework.Request{HTTPS: true, Host: host},
				framework.Expect{Backend: "svc-a", Check: framework.ServedBy(fresh)}))
		}, framework.ProberOptions{Name: "rotated host (HTTPS)", Request: framework.Request{HTTPS: true, Host: host}, Backends: []string{"svc-a"}})
	})

	It("answers with an error while a Service has no endpoints, and routes again when it has", Label("implementation-specific"), func() {
		b := s.Backend("svc-scale", 1)
		host := s.Host("scaled")
		s.Apply("lifecycle/ingress.yaml", lifecycleIngress("scaled", "svc-scale", "", host))
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-scale"})
		scale := func(n int) {
			GinkgoHelper()
			if err := s.Env.Backends.ScaleBackend(s.Context(), b, n); err != nil {
				Fail(fmt.Sprintf("scale backend %s/%s to %d: %v", s.Namespace, b.Spec.Name, n, err))
			}
			s.MarkChange()
		}
		probing(func() {
			scale(0)
			req := framework.Request{Host: host}
			variants := []framework.Variant{
				{Name: "503", Expect: framework.Expect{Status: 503}},
				{Name: "502", Expect: framework.Expect{Status: 502}},
				{Name: "500", Expect: framework.Expect{Status: 500}},
				{Name: "404", Expect: framework.Expect{Status: 404}},
			}
			first, took := s.EventuallyOneOf(req, variants...)
			// A controller may answer 502 while it still dials the stopped
			// endpoint and something else once it sees the empty
			// EndpointSlice: watch for a window and record the settled answer.
			last := first
			s.Hold("answers while the Service has no endpoints", req, func() error {
				r := s.Do(req)
				for _, v := range variants {
					if v.Expect.Match(r) == nil {
						last = v.Name
						return nil
					}
				}
				return fmt.Errorf("%s: none of the accepted answers (503, 502, 500, 404)", r)
			})
			if last != first {
				framework.RecordVariant(last)
				AddReportEntry("no-endpoints answer", fmt.Sprintf("%s at first, then %s", first, last), ReportEntryVisibilityFailureOrVerbose)
			}
			recordConvergence("scale to zero", took)
			scale(1)
			recordConvergence("scale back to one", s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-scale"}))
		}, framework.ProberOptions{Name: "scaled route", Request: framework.Request{Host: host}, Backends: []string{"svc-scale"}})
	})
})
