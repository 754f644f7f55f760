package suites

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

var _ = describe("Precedence across Ingresses", Label("precedence"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "precedence")
		for _, name := range []string{"short", "long", "exact", "first", "second"} {
			s.Backend(name, 1)
		}
		s.Apply("precedence/merge.yaml", nil)
	})

	It("merges the rules of one host from several Ingresses; the longest path wins", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("merge"), Path: "/app/v2/x"}, framework.Expect{Backend: "long"})
		s.Eventually(framework.Request{Host: s.Host("merge"), Path: "/app/x"}, framework.Expect{Backend: "short"})
	})
	It("prefers Exact over Prefix of equal length across Ingresses", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("merge"), Path: "/app"}, framework.Expect{Backend: "exact"})
	})
	It("resolves an identical host and path in two Ingresses deterministically", Label("implementation-specific"), func() {
		// Names sort in creation order, so "oldest first" and "first by
		// name" (the tie-break within one second) agree.
		s.Apply("precedence/conflict-first.yaml", map[string]any{"name": "conflict-a", "service": "first"})
		s.Eventually(framework.Request{Host: s.Host("conflict"), Path: "/same"}, framework.Expect{Backend: "first"})
		s.Apply("precedence/conflict-first.yaml", map[string]any{"name": "conflict-b", "service": "second"})
		s.Eventually(framework.Request{Host: s.Host("conflict"), Path: "/probe-conflict-b"}, framework.Expect{Backend: "second"})
		req := framework.Request{Host: s.Host("conflict"), Path: "/same"}
		variant, _ := s.EventuallyOneOf(req,
			framework.Variant{Name: "oldest-wins", Expect: framework.Expect{Backend: "first"}},
			framework.Variant{Name: "newest-wins", Expect: framework.Expect{Backend: "second"}},
		)
		// Whatever the choice, it must hold: no flapping between the two.
		want := "first"
		if variant == "newest-wins" {
			want = "second"
		}
		s.Consistently(req, framework.Expect{Backend: want})
	})
})
