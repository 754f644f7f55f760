package suites

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	. "github.com/onsi/gomega"    //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Reliability specs about faults in the backends: endpoints that hang,
// reset or answer garbage, and a lossy or slow network to them. The faults
// are the harness's own (cluster.FaultInjector, the local provider's backend
// network namespace), so the specs run against any controller the local
// provider can start, and skip with the reason elsewhere. Everything is
// measured over HTTP through the controller.

// faultsFeature is the feature label of these specs (one of
// ReliabilityFeatures).
const faultsFeature = "faults"

// faultTolerance is how much later than a configured timeout an answer may
// come: the controller, the harness and the backends share a busy machine.
// An answer earlier than the timeout by more than faultEarly fails.
const (
	faultTolerance = 1500 * time.Millisecond
	faultEarly     = 100 * time.Millisecond
)

// faultSpec is the state of one fault spec: its namespace and the
// provider's fault injector.
type faultSpec struct {
	s  *framework.Spec
	fi cluster.FaultInjector
}

// newFaultSpec creates the spec's namespace, or skips when the provider
// cannot inject faults.
func newFaultSpec(prefix string) *faultSpec {
	GinkgoHelper()
	fi, err := cluster.AsFaultInjector(env.Backends)
	if err != nil {
		Skip(err.Error())
	}
	return &faultSpec{s: framework.NewSpec(env, prefix), fi: fi}
}

// fault sets endpoint i's fault and removes it at cleanup; it skips when
// the provider cannot do this one (no nftables, loopback backends).
func (f *faultSpec) fault(b *cluster.Backend, i int, fault cluster.Fault) {
	GinkgoHelper()
	err := f.fi.SetEndpointFault(f.s.Context(), b, i, fault)
	if errors.Is(err, errors.ErrUnsupported) {
		Skip(err.Error())
	}
	faultExpect(err).NotTo(HaveOccurred(), "set fault %+v on endpoint %d of %s", fault, i, b.Spec.Name)
	DeferCleanup(func() { _ = f.fi.SetEndpointFault(f.s.Context(), b, i, cluster.Fault{}) })
}

// route publishes a backend with replicas endpoints, applies an Ingress to
// it with the feature's canonical annotations (mapped for the profile) and
// waits until it serves.
func (f *faultSpec) route(name string, replicas int, ann map[string]string) (*cluster.Backend, framework.Request) {
	GinkgoHelper()
	b := f.s.Backend(name, replicas)
	host := f.s.Host(name)
	applyAnnotated(f.s, annotated{Name: name, Host: host, Service: name, Annotations: ann})
	req := framework.Request{Host: host, Path: "/"}
	f.s.Eventually(req, framework.Expect{Backend: name})
	return b, req
}

// faultExpect is Gomega's Expect failing the spec through Ginkgo (the
// suites register no global fail handler).
func faultExpect(actual any, extra ...any) Assertion {
	return NewGomega(Fail).Expect(actual, extra...)
}

// timed sends req and returns the response and how long it took.
func (f *faultSpec) timed(req framework.Request) (framework.Response, time.Duration) {
	start := time.Now()
	r := f.s.Do(req)
	return r, time.Since(start)
}

// answeredAt checks that r has status want and came after about timeout.
func answeredAt(r framework.Response, took time.Duration, want int, timeout time.Duration) {
	GinkgoHelper()
	faultExpect(r.Err).NotTo(HaveOccurred(), "no answer from the controller: %s", r)
	faultExpect(r.StatusCode).To(Equal(want), "status of %s", r)
	faultExpect(took).To(BeNumerically(">=", timeout-faultEarly), "answered %s before the %s timeout", took, timeout)
	faultExpect(took).To(BeNumerically("<=", timeout+faultTolerance), "answered %s after the %s timeout (tolerance %s)", took, timeout, faultTolerance)
}

// probeID is a unique request target for request i of a spec.
func probeID(kind string, i int) string { return fmt.Sprintf("/%s?probe=%d", kind, i) }

var _ = describe("Reliability: backend faults", Label(ReliabilityLabel, faultsFeature, "extended"), func() {
	It("answers 504 at proxy-read-timeout when an endpoint accepts and never answers", func() {
		f := newFaultSpec("rel-hang")
		const timeout = 2 * time.Second
		b, req := f.route("hang", 1, annotationsFor("timeouts", map[string]string{"proxy-read-timeout": "2"}))
		f.fault(b, 0, cluster.Fault{Mode: cluster.FaultHang})
		for i := range 2 {
			req.Path = probeID("hang", i)
			r, took := f.timed(req)
			answeredAt(r, took, http.StatusGatewayTimeout, timeout)
		}
		seen, err := f.fi.FaultedRequests(b, 0)
		faultExpect(err).NotTo(HaveOccurred())
		faultExpect(seen).To(ContainElement(probeID("hang", 1)), "the hanging endpoint never received the request")
	})

	It("answers 504 at proxy-connect-timeout when every packet to the endpoint is dropped", func() {
		f := newFaultSpec("rel-blackhole")
		const timeout = 1 * time.Second
		b, req := f.route("hole", 1, annotationsFor("timeouts", map[string]string{"proxy-connect-timeout": "1"}))
		// The endpoint closes its idle keep-alive connections before the
		// loss starts, so every request needs a new connection.
		f.fault(b, 0, cluster.Fault{LossPercent: 100})
		for range 2 {
			r, took := f.timed(req)
			answeredAt(r, took, http.StatusGatewayTimeout, timeout)
		}
	})

	It("answers 502 at once when an endpoint resets the connection", func() {
		f := newFaultSpec("rel-reset")
		b, req := f.route("reset", 1, nil)
		f.fault(b, 0, cluster.Fault{Mode: cluster.FaultReset})
		for i := range 3 {
			req.Path = probeID("reset", i)
			r, took := f.timed(req)
			faultExpect(r.Err).NotTo(HaveOccurred(), "no answer from the controller: %s", r)
			faultExpect(r.StatusCode).To(Equal(http.StatusBadGateway), "status of %s", r)
			faultExpect(took).To(BeNumerically("<", faultTolerance), "a reset took %s to become an answer", took)
		}
	})

	It("answers 502 when an endpoint sends a malformed response", func() {
		f := newFaultSpec("rel-malformed")
		b, req := f.route("garbage", 1, nil)
		f.fault(b, 0, cluster.Fault{Mode: cluster.FaultMalformed})
		for i := range 3 {
			req.Path = probeID("garbage", i)
			r, took := f.timed(req)
			faultExpect(r.Err).NotTo(HaveOccurred(), "no answer from the controller: %s", r)
			faultExpect(r.StatusCode).To(Equal(http.StatusBadGateway), "status of %s", r)
			faultExpect(string(r.Body)).NotTo(ContainSubstring("MALFORMED"), "the backend's garbage reached the client")
			faultExpect(took).To(BeNumerically("<", faultTolerance), "a malformed answer took %s to become a 502", took)
		}
	})

	It("serves every request through 10 % packet loss to the only endpoint", func() {
		f := newFaultSpec("rel-loss")
		b, req := f.route("lossy", 1, nil)
		f.fault(b, 0, cluster.Fault{LossPercent: 10})
		counts := map[int]int{}
		for i := range 40 {
			req.Path = probeID("lossy", i)
			r := f.s.Do(req)
			counts[r.StatusCode]++
			faultExpect(framework.Expect{Backend: "lossy"}.Match(r)).To(Succeed(), "request %d through 10 %% loss", i)
		}
		faultExpect(counts[http.StatusOK]).To(Equal(40), "statuses %v", counts)
	})

	// The name predates the NFQUEUE hold used where the kernel has no netem;
	// it stays, as reports are compared by spec name.
	It("adds the link delay to each answer (tc netem on the backend veth)", func() {
		f := newFaultSpec("rel-delay")
		_, req := f.route("slowlink", 1, nil)
		const delay = 300 * time.Millisecond
		err := f.fi.SetLinkDelay(f.s.Context(), delay)
		if errors.Is(err, errors.ErrUnsupported) {
			Skip(err.Error())
		}
		faultExpect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = f.fi.SetLinkDelay(f.s.Context(), 0) })
		for range 3 {
			r, took := f.timed(req)
			faultExpect(framework.Expect{Backend: "slowlink"}.Match(r)).To(Succeed())
			faultExpect(took).To(BeNumerically(">=", delay), "answered in %s through a %s delay", took, delay)
			// A new connection costs the delay twice (SYN, then the request).
			faultExpect(took).To(BeNumerically("<=", 2*delay+faultTolerance), "answered in %s through a %s delay", took, delay)
		}
	})
})

var _ = describe("Reliability: retries and passive health", Label(ReliabilityLabel, faultsFeature, "extended"), func() {
	// Two endpoints; the second black-holed; connect timeout 1 s and up to
	// three tries.
	retryRoute := func(f *faultSpec, name string) (*cluster.Backend, framework.Request) {
		GinkgoHelper()
		ann := merge(annotationsFor("timeouts", map[string]string{"proxy-connect-timeout": "1"}),
			annotationsFor("retries", map[string]string{"proxy-next-upstream-tries": "3"}))
		b, req := f.route(name, 2, ann)
		f.fault(b, 1, cluster.Fault{LossPercent: 100})
		return b, req
	}

	It("retries an idempotent request on the next endpoint after a connect timeout", func() {
		f := newFaultSpec("rel-retry")
		_, req := retryRoute(f, "retry")
		for i := range 10 {
			req.Path = probeID("retry", i)
			r := f.s.Do(req)
			faultExpect(framework.Expect{Backend: "retry"}.Match(r)).To(Succeed(), "request %d with one endpoint black-holed", i)
			faultExpect(r.Echo.Pod).To(Equal("retry-0"))
		}
	})

	It("never retries a POST that an endpoint has read, and records what it does with a GET", func() {
		f := newFaultSpec("rel-post")
		ann := annotationsFor("retries", map[string]string{"proxy-next-upstream-tries": "3"})
		b, req := f.route("post", 2, ann)
		f.fault(b, 1, cluster.Fault{Mode: cluster.FaultReset})
		post := req
		post.Method = http.MethodPost
		post.Body = []byte("not idempotent")
		statuses := map[string]int{}
		hit := 0
		for i := 0; i < 20 && hit < 3; i++ {
			post.Path = probeID("post", i)
			r := f.s.Do(post)
			seen, err := f.fi.FaultedRequests(b, 1)
			faultExpect(err).NotTo(HaveOccurred())
			if !slices.Contains(seen, post.Path) {
				continue
			}
			hit++
			statuses[fmt.Sprint(r.StatusCode)]++
			faultExpect(r.Echo).To(BeNil(), "POST %s was read by the resetting endpoint and then answered by %s: it was sent twice", post.Path, r.Backend())
			faultExpect(r.StatusCode).To(Equal(http.StatusBadGateway), "POST %s read by the resetting endpoint: %s", post.Path, r)
		}
		faultExpect(hit).To(BeNumerically(">", 0), "no POST reached the resetting endpoint in 20 tries; statuses %v", statuses)

		// GET after a reset: nginx retries ("error" in proxy_next_upstream);
		// others answer 502. Record which.
		retried, failed := 0, 0
		for i := 0; i < 20 && retried+failed < 3; i++ {
			req.Path = probeID("get", i)
			r := f.s.Do(req)
			seen, err := f.fi.FaultedRequests(b, 1)
			faultExpect(err).NotTo(HaveOccurred())
			if !slices.Contains(seen, req.Path) {
				continue
			}
			if r.Echo != nil {
				retried++
			} else {
				failed++
			}
		}
		switch {
		case retried > 0 && failed == 0:
			framework.RecordVariant("GET retried after a reset")
		case failed > 0 && retried == 0:
			framework.RecordVariant("GET not retried after a reset")
		case retried+failed > 0:
			framework.RecordVariant("GET sometimes retried after a reset")
		}
	})

	It("ejects an endpoint that times out and takes it back once it recovers", func() {
		f := newFaultSpec("rel-eject")
		b, req := retryRoute(f, "eject")
		// The first requests find the black hole and wait for the connect
		// timeout; once the endpoint is ejected, requests are prompt.
		f.s.Poll("ten prompt answers in a row (the black-holed endpoint ejected)", env.Timeouts.MaxTimeToConsistency, func() error {
			for i := range 10 {
				r, took := f.timed(req)
				if err := (framework.Expect{Backend: "eject"}).Match(r); err != nil {
					return err
				}
				if took >= time.Second {
					return fmt.Errorf("request %d of 10 took %s: the black-holed endpoint was tried", i+1, took)
				}
			}
			return nil
		})
		faultExpect(f.fi.SetEndpointFault(f.s.Context(), b, 1, cluster.Fault{})).To(Succeed())
		f.s.MarkChange()
		f.s.Poll("the recovered endpoint answers again", env.Timeouts.MaxTimeToConsistency, func() error {
			pods := map[string]int{}
			for range 6 {
				r := f.s.Do(req)
				if r.Echo == nil {
					return fmt.Errorf("no echo answer: %s", r)
				}
				pods[r.Echo.Pod]++
			}
			if pods["eject-1"] == 0 {
				return fmt.Errorf("6 answers came from %v, none from the recovered endpoint eject-1", pods)
			}
			return nil
		})
	})
})
