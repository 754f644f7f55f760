package suites

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// statusVariants accepts any of the listed codes and records which one.
func statusVariants(codes ...int) []framework.Variant {
	vs := make([]framework.Variant, 0, len(codes))
	for _, c := range codes {
		vs = append(vs, framework.Variant{Name: fmt.Sprint(c), Expect: framework.Expect{Status: c}})
	}
	return vs
}

var _ = describe("Default backend", Label("default-backend"), func() {
	It("sends requests that match no rule to an Ingress that has only a defaultBackend", Label("core"), func() {
		s := framework.NewSpec(env, "defaultonly")
		s.Backend("only", 1)
		s.ApplyYAML("default-backend/inline-only", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: only-default
spec:
  ingressClassName: {{.Class}}
  defaultBackend:
    service: {name: only, port: {number: 80}}
`, nil)
		s.Eventually(framework.Request{Host: "nothing-matches-" + s.Namespace + ".example", Path: "/some/path"}, framework.Expect{Backend: "only"})
	})

	It("uses the Ingress's defaultBackend for an unmatched path on a matched host", Label("implementation-specific"), func() {
		s := framework.NewSpec(env, "defaultpath")
		s.Backend("app", 1)
		s.Backend("fallback", 1)
		s.Apply("default-backend/default-only.yaml", nil)
		s.Eventually(framework.Request{Host: s.Host("site"), Path: "/app"}, framework.Expect{Backend: "app"})
		s.EventuallyOneOf(framework.Request{Host: s.Host("site"), Path: "/elsewhere"},
			append([]framework.Variant{{Name: "ingress-default-backend", Expect: framework.Expect{Backend: "fallback"}}}, statusVariants(404)...)...)
	})

	It("answers an unmatched host when no defaultBackend exists (status recorded)", Label("implementation-specific"), func() {
		s := framework.NewSpec(env, "nodefault")
		s.Backend("app", 1)
		s.Apply("ingress-single.yaml", map[string]any{"name": "one", "host": s.Host("one"), "path": "/", "pathType": "Prefix", "service": "app", "port": 80, "portName": ""})
		s.Eventually(framework.Request{Host: s.Host("one")}, framework.Expect{Backend: "app"})
		s.EventuallyOneOf(framework.Request{Host: "unknown-" + s.Namespace + ".example"}, statusVariants(404, 503, 502, 500, 421)...)
	})
})
