package suites

import (
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

var _ = describe("Host rules", Label("host-rules"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "hosts")
		for _, name := range []string{"exact", "wild", "any"} {
			s.Backend(name, 1)
		}
		s.Apply("host-rules/hosts.yaml", nil)
		s.Apply("host-rules/hostless.yaml", nil)
		// Wait for the exact host only: a controller without wildcard
		// support must still get results for the other rows.
		s.Eventually(framework.Request{Host: s.Host("foo")}, framework.Expect{Backend: "exact"})
	})

	It("routes an exact host", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("foo"), Path: "/x"}, framework.Expect{Backend: "exact"})
	})
	It("matches a wildcard host with exactly one extra label", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("bar.foo")}, framework.Expect{Backend: "wild"})
	})
	It("does not match a wildcard host with two extra labels", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("baz.bar.foo")}, notFrom("wild"))
	})
	It("does not match a wildcard host with no extra label", Label("core"), func() {
		// The parent domain has its own exact rule: it must answer, not the wildcard.
		s.Eventually(framework.Request{Host: s.Host("foo")}, framework.Expect{Backend: "exact"})
	})
	It("prefers an exact host over a matching wildcard", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("exact.foo")}, framework.Expect{Backend: "exact"})
	})
	It("applies a rule without host to any host", Label("core"), func() {
		s.Eventually(framework.Request{Host: "unknown-" + s.Namespace + ".example", Path: "/" + s.Namespace}, framework.Expect{Backend: "any"})
	})
	It("ignores a port in the Host header", Label("extended"), func() {
		s.Eventually(framework.Request{Host: s.Host("foo") + ":8080"}, framework.Expect{Backend: "exact"})
	})
	It("compares hosts case-insensitively", Label("extended"), func() {
		s.Eventually(framework.Request{Host: strings.ToUpper(s.Host("foo"))}, framework.Expect{Backend: "exact"})
	})
})
