package suites

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// notFrom accepts any answer that did not come from service svc: the
// documentation says "no match", and controllers differ in what they send
// instead (404, a redirect, another default).
func notFrom(svc string) framework.Expect {
	return framework.Expect{Status: framework.AnyStatus, Check: func(r framework.Response) error {
		if r.Err != nil {
			return r.Err
		}
		if r.Backend() == svc {
			return fmt.Errorf("answered by %s, which must not match", svc)
		}
		return nil
	}}
}

var _ = describe("Path rules", Label("path-rules"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "paths")
		for _, name := range []string{"svc-a", "svc-b", "svc-c"} {
			s.Backend(name, 1)
		}
		s.Apply("path-rules/doc-table.yaml", nil)
		// Every host must be routed before negative rows mean anything.
		for _, probe := range []struct{ host, path, svc string }{
			{"exact-foo", "/foo", "svc-a"}, {"exact-foo-slash", "/foo/", "svc-a"}, {"prefix-root", "/", "svc-a"},
			{"prefix-foo", "/foo", "svc-a"}, {"prefix-foo-slash", "/foo/", "svc-a"}, {"prefix-aaa-bb", "/aaa/bb", "svc-a"},
			{"prefix-aaa-bbb", "/aaa/bbb", "svc-a"}, {"prefix-aaa-bbb-slash", "/aaa/bbb/", "svc-a"}, {"multi", "/", "svc-a"},
			{"two", "/", "svc-a"}, {"only-aaa", "/aaa", "svc-a"}, {"mixed", "/foo/x", "svc-b"},
		} {
			s.Eventually(framework.Request{Host: s.Host(probe.host), Path: probe.path}, framework.Expect{Backend: probe.svc})
		}
	})

	row := func(host, path, svc string) {
		GinkgoHelper()
		s.Eventually(framework.Request{Host: s.Host(host), Path: path}, framework.Expect{Backend: svc, Path: path})
	}
	noMatch := func(host, path string) {
		GinkgoHelper()
		s.Eventually(framework.Request{Host: s.Host(host), Path: path}, notFrom("svc-a"))
	}

	It("Prefix / matches every path", Label("core"), func() {
		row("prefix-root", "/", "svc-a")
		row("prefix-root", "/anything/at/all", "svc-a")
	})
	It("Exact /foo matches /foo", Label("core"), func() { row("exact-foo", "/foo", "svc-a") })
	It("Exact /foo does not match /bar", Label("core"), func() { noMatch("exact-foo", "/bar") })
	It("Exact /foo does not match /foo/", Label("core"), func() { noMatch("exact-foo", "/foo/") })
	It("Exact /foo/ does not match /foo", Label("core"), func() { noMatch("exact-foo-slash", "/foo") })
	It("Prefix /foo matches /foo and /foo/", Label("core"), func() {
		row("prefix-foo", "/foo", "svc-a")
		row("prefix-foo", "/foo/", "svc-a")
	})
	It("Prefix /foo/ matches /foo and /foo/", Label("core"), func() {
		// nginx-based controllers answer /foo with a 301 to /foo/: recorded.
		_, _ = s.EventuallyOneOf(framework.Request{Host: s.Host("prefix-foo-slash"), Path: "/foo"},
			framework.Variant{Name: "match", Expect: framework.Expect{Backend: "svc-a"}},
			framework.Variant{Name: "301-to-trailing-slash", Expect: framework.Expect{Status: 301}},
		)
		row("prefix-foo-slash", "/foo/", "svc-a")
	})
	It("Prefix /aaa/bb does not match /aaa/bbb", Label("core"), func() { noMatch("prefix-aaa-bb", "/aaa/bbb") })
	It("Prefix /aaa/bbb matches /aaa/bbb", Label("core"), func() { row("prefix-aaa-bbb", "/aaa/bbb", "svc-a") })
	It("Prefix /aaa/bbb/ matches /aaa/bbb (the rule's trailing slash is ignored)", Label("core"), func() {
		_, _ = s.EventuallyOneOf(framework.Request{Host: s.Host("prefix-aaa-bbb-slash"), Path: "/aaa/bbb"},
			framework.Variant{Name: "match", Expect: framework.Expect{Backend: "svc-a"}},
			framework.Variant{Name: "301-to-trailing-slash", Expect: framework.Expect{Status: 301}},
		)
	})
	It("Prefix /aaa/bbb/ matches /aaa/bbb/", Label("core"), func() { row("prefix-aaa-bbb-slash", "/aaa/bbb/", "svc-a") })
	It("Prefix /aaa does not match /aaaccc (element-wise, not a string prefix)", Label("core"), func() { noMatch("only-aaa", "/aaaccc") })
	It("Prefix /aaa/bbb matches /aaa/bbb/ (the request's trailing slash is matched)", Label("core"), func() {
		row("prefix-aaa-bbb", "/aaa/bbb/", "svc-a")
	})
	It("Prefix /aaa/bbb matches the sub-path /aaa/bbb/ccc", Label("core"), func() { row("prefix-aaa-bbb", "/aaa/bbb/ccc", "svc-a") })
	It("Prefix /aaa/bbb does not match /aaa/bbbxyz (not a string prefix)", Label("core"), func() { noMatch("prefix-aaa-bbb", "/aaa/bbbxyz") })
	It("Prefix /, /aaa: /aaa/ccc goes to /aaa", Label("core"), func() { row("two", "/aaa/ccc", "svc-b") })
	It("Prefix /, /aaa, /aaa/bbb: /aaa/bbb goes to /aaa/bbb", Label("core"), func() { row("multi", "/aaa/bbb", "svc-c") })
	It("Prefix /, /aaa, /aaa/bbb: /ccc goes to /", Label("core"), func() { row("multi", "/ccc", "svc-a") })
	It("Prefix /aaa does not match /ccc", Label("core"), func() { noMatch("only-aaa", "/ccc") })
	It("Exact and Prefix /foo: /foo goes to the Exact rule", Label("core"), func() { row("mixed", "/foo", "svc-a") })
	It("Exact and Prefix /foo: /foo/bar goes to the Prefix rule", Label("core"), func() { row("mixed", "/foo/bar", "svc-b") })
	It("matching is case-sensitive: Exact /foo does not match /FOO", Label("core"), func() { noMatch("exact-foo", "/FOO") })
	It("matching is case-sensitive: Prefix /aaa does not match /AAA", Label("core"), func() { noMatch("only-aaa", "/AAA") })
	It("the query string is not part of the match", Label("core"), func() {
		s.Eventually(framework.Request{Host: s.Host("exact-foo"), Path: "/foo?x=1"}, framework.Expect{Backend: "svc-a", Path: "/foo?x=1"})
	})
})
