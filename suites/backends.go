package suites

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// servicePort checks the echo's reported Service port.
func servicePort(port string) func(framework.Response) error {
	return func(r framework.Response) error {
		if r.Echo == nil || r.Echo.ServicePort != port {
			got := "<none>"
			if r.Echo != nil {
				got = r.Echo.ServicePort
			}
			return fmt.Errorf("answered through service port %s, want %s", got, port)
		}
		return nil
	}
}

var _ = describe("Backends", Label("backends"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "backends")
		s.Backend("multi", 1,
			cluster.ServicePort{Name: "http", Port: 80, TargetPort: 8080},
			cluster.ServicePort{Name: "admin", Port: 8081, TargetPort: 9090})
		s.Backend("other", 1)
		s.Backend("empty", 0)
		s.Apply("backends/ports.yaml", nil)
		s.Eventually(framework.Request{Host: s.Host("ports"), Path: "/other"}, framework.Expect{Backend: "other"})
	})

	It("resolves a Service port by number", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("ports"), Path: "/by-number"}, framework.Expect{Backend: "multi", Check: servicePort("8081")})
	})
	It("resolves a Service port by name to its target port", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("ports"), Path: "/by-name"}, framework.Expect{Backend: "multi", Check: servicePort("8081")})
	})
	It("routes paths of one host to two different Services", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("ports"), Path: "/other/x"}, framework.Expect{Backend: "other"})
		s.Eventually(framework.Request{Host: s.Host("ports"), Path: "/by-number/x"}, framework.Expect{Backend: "multi"})
	})
	It("answers for a missing Service without reaching a backend (status recorded)", Label("implementation-specific"), func() {
		s.EventuallyOneOf(framework.Request{Host: s.Host("ports"), Path: "/missing"}, statusVariants(503, 404, 500, 502)...)
	})
	It("answers for a Service without ready endpoints (status recorded)", Label("implementation-specific"), func() {
		s.EventuallyOneOf(framework.Request{Host: s.Host("ports"), Path: "/empty"}, statusVariants(503, 502, 404, 500)...)
	})
})

var _ = describe("Endpoints", Label("load-balancing"), Ordered, func() {
	var s *framework.Spec
	var many *cluster.Backend
	BeforeAll(func() {
		s = framework.NewSpec(env, "endpoints")
		many = s.Backend("many", 10)
		s.Apply("backends/spread.yaml", nil)
		s.Eventually(framework.Request{Host: s.Host("spread")}, framework.Expect{Backend: "many"})
	})

	It("spreads requests over all 10 endpoints (each within 40%..200% of a fair share of 500)", Label("core"), func() {
		// Wait until every endpoint is known, then count a fresh sample.
		seen := map[string]int{}
		s.Poll("all 10 endpoints answer", env.Timeouts.MaxTimeToConsistency, func() error {
			r := s.Do(framework.Request{Host: s.Host("spread")})
			if r.Echo != nil {
				seen[r.Echo.Pod]++
			}
			if len(seen) < 10 {
				return fmt.Errorf("seen %d of 10 endpoints: %v", len(seen), seen)
			}
			return nil
		})
		counts := map[string]int{}
		for range 500 {
			r := s.Do(framework.Request{Host: s.Host("spread")})
			if r.Err != nil || r.Echo == nil || r.Echo.Service != "many" {
				Fail(fmt.Sprintf("bad response while counting: %s", r))
			}
			counts[r.Echo.Pod]++
		}
		for i := range 10 {
			pod := fmt.Sprintf("many-%d", i)
			if c := counts[pod]; c < 20 || c > 100 {
				Fail(fmt.Sprintf("endpoint %s got %d of 500 requests (fair share 50); counts %v", pod, c, counts))
			}
		}
	})

	It("stops sending to an endpoint that is no longer ready", Label("core"), func() {
		ctx := context.Background()
		exp := framework.Expect{Backend: "many", Check: notPod("many-9")}
		if err := env.Backends.SetEndpointConditions(ctx, many, 9, cluster.EndpointConditions{Ready: false, Serving: false}); err != nil {
			Fail(err.Error())
		}
		s.MarkChange()
		// Converged when 30 answers in a row avoid the endpoint (improbable
		// while it is still in a rotation of 10); then it must stay out.
		s.Poll("endpoint many-9 out of rotation", env.Timeouts.MaxTimeToConsistency, batch(s, framework.Request{Host: s.Host("spread")}, exp, 30))
		s.Consistently(framework.Request{Host: s.Host("spread")}, exp)
	})

	It("sends no more traffic to a removed endpoint", Label("core"), func() {
		ctx := context.Background()
		if err := env.Backends.ScaleBackend(ctx, many, 8); err != nil {
			Fail(err.Error())
		}
		s.MarkChange()
		exp := framework.Expect{Backend: "many", Check: notPod("many-8", "many-9")}
		s.Poll("endpoint many-8 removed", env.Timeouts.MaxTimeToConsistency, batch(s, framework.Request{Host: s.Host("spread")}, exp, 30))
		s.Consistently(framework.Request{Host: s.Host("spread")}, exp)
	})
})

func notPod(pods ...string) func(framework.Response) error {
	return func(r framework.Response) error {
		for _, p := range pods {
			if r.Echo != nil && r.Echo.Pod == p {
				return fmt.Errorf("answered by %s, which should get no traffic", p)
			}
		}
		return nil
	}
}

// batch returns a condition that holds when n responses in a row match exp.
func batch(s *framework.Spec, req framework.Request, exp framework.Expect, n int) func() error {
	return func() error {
		for i := range n {
			if err := exp.Match(s.Do(req)); err != nil {
				return fmt.Errorf("response %d of %d: %w", i+1, n, err)
			}
		}
		return nil
	}
}
