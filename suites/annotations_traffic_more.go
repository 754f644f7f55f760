package suites

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Breadth for the traffic annotations, with rate limits and timeouts
// checked by behaviour over time: how many requests of a burst pass for the
// configured rate and burst, when a refused client is served again, and
// when a slow backend's request ends.

// timingSlack is how much later than configured a timeout may end: the
// controller's own scheduling and a loaded 2-core machine.
const timingSlack = 1500 * time.Millisecond

// limitWindow sends n requests one after another and returns how many were
// served by the backend, the statuses of the others, and how long it took.
func limitWindow(s *framework.Spec, req framework.Request, n int) (served int, refused map[int]int, took time.Duration) {
	refused = map[int]int{}
	began := time.Now()
	for range n {
		r := s.Do(req)
		switch {
		case r.Err != nil:
			refused[0]++
		case r.StatusCode == 200 && r.Echo != nil:
			served++
		default:
			refused[r.StatusCode]++
		}
	}
	return served, refused, time.Since(began)
}

// expectLimited checks that a burst of n requests right after one served
// request lets through the burst nginx's limit_req allows (burst, plus the
// request that found the bucket empty, plus what the rate refilled while the
// burst ran) and refuses the rest with one status of rejectStatuses: two
// checks (the count, the status).
func expectLimited(s *framework.Spec, req framework.Request, n int, rate float64, burst int) {
	GinkgoHelper()
	countChecks(2)
	// One served request shows the route is there (and uses one token).
	s.Poll("the route answers", env.Timeouts.MaxTimeToConsistency, func() error {
		return framework.Expect{Backend: "echo"}.Match(s.Do(req))
	})
	// One window only: a second one would start with the bucket empty.
	served, refused, took := limitWindow(s, req, n)
	// Lowest: the burst less the request already served. Highest: burst
	// + 1, refilled for the time taken, + 1 for rounding.
	lo, hi := burst-1, burst+2+int(math.Ceil(rate*took.Seconds()))
	if served < lo || served > hi {
		Fail(fmt.Sprintf("%d requests in %v: %d served (refused: %v), want %d to %d for rate %g/s burst %d", n, took.Round(time.Millisecond), served, refused, lo, hi, rate, burst))
	}
	for _, code := range rejectStatuses {
		if refused[code] == n-served {
			framework.RecordVariant(fmt.Sprint(code))
			return
		}
	}
	Fail(fmt.Sprintf("refused requests got statuses %v, want all one of %v", refused, rejectStatuses))
}

var _ = describe("Annotations: rate-limit (over time)", Label("annotations", AnnotationLabel("rate-limit"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	hosts := map[string]string{}
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-limit2")
		s.Backend("echo", 1)
		for name, ann := range map[string]map[string]string{
			"rps":   {"limit-rps": "5", "limit-burst-multiplier": "1"},
			"mult":  {"limit-rps": "2", "limit-burst-multiplier": "5"},
			"rpm":   {"limit-rpm": "10", "limit-burst-multiplier": "1"},
			"free":  nil,
			"other": {"limit-rps": "1", "limit-burst-multiplier": "1"},
		} {
			hosts[name] = s.Host(name)
			var a map[string]string
			if ann != nil {
				a = annotationsFor("rate-limit", ann)
			}
			applyAnnotated(s, annotated{Name: name, Host: hosts[name], Service: "echo", Annotations: a})
		}
	})

	It("lets a burst of limit-rps through and refuses the rest", func() {
		expectLimited(s, framework.Request{Host: hosts["rps"]}, 25, 5, 5)
	})
	It("serves a refused client again once the rate has refilled", func() {
		req := framework.Request{Host: hosts["rps"], Path: "/again"}
		countChecks(1)
		s.Poll("the client is refused", env.Timeouts.MaxTimeToConsistency, func() error {
			if _, refused, _ := limitWindow(s, req, 12); len(refused) == 0 {
				return fmt.Errorf("12 quick requests were all served")
			}
			return nil
		})
		began := time.Now()
		s.Poll("served again", 5*time.Second, func() error { return framework.Expect{Backend: "echo"}.Match(s.Do(req)) })
		// 5 r/s: a slot every 200ms.
		if err := within("served again", time.Since(began), 0, 200*time.Millisecond+timingSlack); err != nil {
			Fail(err.Error())
		}
	})
	It("multiplies the burst by limit-burst-multiplier", func() {
		expectLimited(s, framework.Request{Host: hosts["mult"]}, 25, 2, 10)
	})
	It("lets a burst of limit-rpm through and refuses the rest", func() {
		expectLimited(s, framework.Request{Host: hosts["rpm"]}, 25, 10.0/60, 10)
	})
	It("keeps the limits per Ingress: an Ingress without one serves every request", func() {
		req := framework.Request{Host: hosts["free"]}
		see(s, req, framework.Expect{Backend: "echo"})
		countChecks(1)
		if served, refused, _ := limitWindow(s, req, 25); served != 25 {
			Fail(fmt.Sprintf("25 requests to an Ingress without limits: %d served, refused %v", served, refused))
		}
	})
	It("counts each Ingress's limit on its own", func() {
		req := framework.Request{Host: hosts["other"]}
		// One served request (a convergence check's three in a row would
		// exceed limit-rps 1).
		s.Poll("the route answers", env.Timeouts.MaxTimeToConsistency, func() error {
			return framework.Expect{Backend: "echo"}.Match(s.Do(req))
		})
		countChecks(2)
		if _, refused, _ := limitWindow(s, req, 6); len(refused) == 0 {
			Fail("6 quick requests to an Ingress with limit-rps 1 were all served")
		}
		if r := s.Do(framework.Request{Host: hosts["free"]}); r.Backend() != "echo" {
			Fail(fmt.Sprintf("an Ingress without limits refused a client another Ingress limits: %s", r))
		}
	})
})

var _ = describe("Annotations: timeouts (over time)", Label("annotations", AnnotationLabel("timeouts"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var short, long, refused string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-timeout2")
		s.Backend("echo", 1)
		s.PublishBackend(cluster.BackendSpec{Name: "closed", Replicas: 1, Refusing: 1})
		short, long, refused = s.Host("short"), s.Host("long"), s.Host("refused")
		applyAnnotated(s, annotated{Name: "short", Host: short, Service: "echo", Annotations: annotationsFor("timeouts", map[string]string{"proxy-read-timeout": "1"})})
		applyAnnotated(s, annotated{Name: "long", Host: long, Service: "echo", Annotations: annotationsFor("timeouts", map[string]string{"proxy-read-timeout": "4", "proxy-connect-timeout": "5", "proxy-send-timeout": "5"})})
		applyAnnotated(s, annotated{Name: "refused", Host: refused, Service: "closed", Annotations: annotationsFor("timeouts", map[string]string{"proxy-connect-timeout": "5"})})
	})

	// timedOutcome polls until one request matches status and ends within
	// [lo, hi]: two checks.
	timedOutcome := func(what string, req framework.Request, status int, lo, hi time.Duration) {
		GinkgoHelper()
		countChecks(2)
		s.Poll(what, env.Timeouts.MaxTimeToConsistency, func() error {
			r, took := timed(s, req)
			if r.Err != nil {
				return r.Err
			}
			if r.StatusCode != status {
				return fmt.Errorf("status %d after %v, want %d", r.StatusCode, took.Round(time.Millisecond), status)
			}
			return within(fmt.Sprintf("status %d", status), took, lo, hi)
		})
	}

	// One read timeout ends the request, or (ingress-nginx: proxy-next-upstream
	// "error timeout" with proxy-next-upstream-tries 3, on the same endpoint
	// when it is the only one) three do: 504 after 1 s or after 3 s, never
	// before 1 s, nor in between, nor much later.
	It("answers 504 when proxy-read-timeout (1s) passes, not before and not much later", func() {
		see(s, framework.Request{Host: short, Path: "/fast"}, framework.Expect{Backend: "echo"})
		countChecks(2)
		slow := framework.Request{Host: short, Path: "/slow?delay=4s"}
		s.Poll("504 after one or three 1s read timeouts", env.Timeouts.MaxTimeToConsistency, func() error {
			r, took := timed(s, slow)
			if r.Err != nil {
				return r.Err
			}
			if r.StatusCode != 504 {
				return fmt.Errorf("status %d after %v, want 504", r.StatusCode, took.Round(time.Millisecond))
			}
			// The windows do not overlap: slack 1.5 s < 3 s - 1 s.
			if within("504", took, 900*time.Millisecond, time.Second+timingSlack) == nil {
				framework.RecordVariant("one timeout")
				return nil
			}
			if within("504", took, 2900*time.Millisecond, 3*time.Second+timingSlack) == nil {
				framework.RecordVariant("retried: three timeouts")
				return nil
			}
			return fmt.Errorf("504 after %v, want between 0.9 and %v (one timeout) or between 2.9 and %v (three)", took.Round(time.Millisecond), time.Second+timingSlack, 3*time.Second+timingSlack)
		})
	})
	It("serves a backend slower than the default but within proxy-read-timeout", func() {
		timedOutcome("200 after the backend's 1.5s", framework.Request{Host: long, Path: "/slow?delay=1500ms"}, 200, 1500*time.Millisecond, 1500*time.Millisecond+timingSlack)
	})
	It("serves a backend just under proxy-read-timeout (1s)", func() {
		see(s, framework.Request{Host: short, Path: "/quick?delay=300ms"}, framework.Expect{Backend: "echo", Path: "/quick?delay=300ms"})
	})
	It("answers 502 at once for a refused connection, without waiting for proxy-connect-timeout", func() {
		timedOutcome("502 for a refused connection", framework.Request{Host: refused, Path: "/"}, 502, 0, timingSlack)
	})
	It("sends a request body to a backend with proxy-send-timeout set", func() {
		see(s, framework.Request{Host: long, Path: "/up", Method: http.MethodPut, Body: bytes.Repeat([]byte("y"), 64<<10)}, framework.Expect{Backend: "echo", Check: bodyLength(64 << 10)})
	})
})

// proxy-send-timeout over time: an endpoint that reads the request head
// and then takes nothing (the stall fault) stalls the upload of a body
// larger than every socket buffer on the way; the controller gives up after
// proxy-send-timeout and answers 504. ingress-nginx buffers the body first,
// then retries the timed-out send (proxy-next-upstream "error timeout", 3
// tries), so 504 after one or three timeouts.
var _ = describe("Annotations: timeouts (send)", Label("annotations", AnnotationLabel("timeouts"), "extended"), func() {
	It("answers 504 when the backend takes no request body for proxy-send-timeout (1s)", func() {
		f := newFaultSpec("ann-sendtimeout")
		// proxy-body-size: ingress-nginx's default limit is 1m.
		b, req := f.route("stall", 1, merge(annotationsFor("timeouts", map[string]string{"proxy-send-timeout": "1", "proxy-read-timeout": "30"}),
			annotationsFor("body-size", map[string]string{"proxy-body-size": "64m"})))
		f.fault(b, 0, cluster.Fault{Mode: cluster.FaultStall})
		req.Method, req.Path, req.Body = http.MethodPost, "/upload", bytes.Repeat([]byte("s"), 32<<20)
		countChecks(2)
		// A client still uploading may not get to read the 504: the
		// controller may close the connection under it at the timeout
		// (the reference cuts the stalled body's connection). Either
		// ends the request; the time it ends is what is checked.
		r, took := f.timed(req)
		ended := "504"
		switch {
		case r.Err != nil && r.StatusCode == 0:
			ended = "connection closed"
		case r.StatusCode != http.StatusGatewayTimeout:
			Fail(fmt.Sprintf("status %d after %v, want 504 (or the connection closed)", r.StatusCode, took))
		}
		switch {
		case within(ended, took, time.Second-faultEarly, time.Second+faultTolerance) == nil:
			framework.RecordVariant(ended + " after one timeout")
		case within(ended, took, 3*time.Second-faultEarly, 3*time.Second+faultTolerance) == nil:
			framework.RecordVariant(ended + " after three timeouts (retried)")
		default:
			Fail(fmt.Sprintf("%s after %v (%v), want after one 1s send timeout or three (tolerance %v)", ended, took, r.Err, faultTolerance))
		}
	})
})

var _ = describe("Annotations: body-size (more)", Label("annotations", AnnotationLabel("body-size"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var k1, m1, unlimited string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-body2")
		s.Backend("echo", 1)
		k1, m1, unlimited = s.Host("k1"), s.Host("m1"), s.Host("unlimited")
		applyAnnotated(s, annotated{Name: "k1", Host: k1, Service: "echo", Annotations: annotationsFor("body-size", map[string]string{"proxy-body-size": "1k"})})
		applyAnnotated(s, annotated{Name: "m1", Host: m1, Service: "echo", Annotations: annotationsFor("body-size", map[string]string{"proxy-body-size": "1m"})})
		applyAnnotated(s, annotated{Name: "unlimited", Host: unlimited, Service: "echo", Annotations: annotationsFor("body-size", map[string]string{"proxy-body-size": "0"})})
	})
	post := func(host string, n int) framework.Request {
		return framework.Request{Host: host, Path: "/up", Method: http.MethodPost, Body: bytes.Repeat([]byte("z"), n)}
	}

	It("accepts a body of exactly the limit and refuses one byte more", func() {
		see(s, post(k1, 1024), framework.Expect{Backend: "echo", Check: bodyLength(1024)})
		see(s, post(k1, 1025), framework.Expect{Status: 413})
	})
	It("does not limit requests without a body", func() {
		see(s, framework.Request{Host: k1, Path: "/get"}, framework.Expect{Backend: "echo", Path: "/get"})
	})
	It("reads m as mebibytes", func() {
		see(s, post(m1, 1<<20), framework.Expect{Backend: "echo", Check: bodyLength(1 << 20)})
		see(s, post(m1, 1<<20+1), framework.Expect{Status: 413})
	})
	It("lifts the limit with 0", func() {
		see(s, post(unlimited, 3<<20), framework.Expect{Backend: "echo", Check: bodyLength(3 << 20)})
	})
	It("refuses PUT bodies over the limit too", func() {
		r := post(k1, 4096)
		r.Method = http.MethodPut
		see(s, r, framework.Expect{Status: 413})
	})
})

var _ = describe("Annotations: canary (more)", Label("annotations", AnnotationLabel("canary"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	hosts := map[string]string{}
	cases := map[string]map[string]string{
		"w0":      {"canary-weight": "0"},
		"hdrw0":   {"canary-by-header": "X-Canary", "canary-weight": "0"},
		"hdrw100": {"canary-by-header": "X-Canary", "canary-weight": "100"},
		"valw100": {"canary-by-header": "X-Version", "canary-by-header-value": "blue", "canary-weight": "100"},
		"pattern": {"canary-by-header": "X-Version", "canary-by-header-pattern": "^(blue|green)$"},
		"cookie":  {"canary-by-cookie": "beta", "canary-weight": "100"},
		"both":    {"canary-by-header": "X-Canary", "canary-by-cookie": "beta"},
		"total":   {"canary-weight": "100", "canary-weight-total": "200"},
		"small":   {"canary-weight": "5", "canary-weight-total": "5"},
		"half":    {"canary-weight": "50"},
	}
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-canary2")
		for label, c := range cases {
			ann := annotationsFor("canary", merge(map[string]string{"canary": "true"}, c))
			s.Backend(label+"-stable", 1)
			s.Backend(label+"-canary", 1)
			hosts[label] = s.Host(label)
			applyAnnotated(s, annotated{Name: label + "-main", Host: hosts[label], Service: label + "-stable"})
			applyAnnotated(s, annotated{Name: label + "-canary", Host: hosts[label], Service: label + "-canary", Annotations: ann})
		}
	})
	hdr := func(k, v string) map[string]string { return map[string]string{k: v} }
	// all20 checks 20 requests in a row all go to backend: one check.
	all20 := func(req framework.Request, backend string) {
		GinkgoHelper()
		countChecks(1)
		s.Poll("20 requests in a row to "+backend, env.Timeouts.MaxTimeToConsistency, batch(s, req, framework.Expect{Backend: backend}, 20))
	}

	It("sends nothing to a canary with canary-weight 0", func() {
		see(s, framework.Request{Host: hosts["w0"]}, framework.Expect{Backend: "w0-stable"})
		all20(framework.Request{Host: hosts["w0"]}, "w0-stable")
	})
	It("lets canary-by-header always override canary-weight 0", func() {
		see(s, framework.Request{Host: hosts["hdrw0"], Headers: hdr("X-Canary", "always")}, framework.Expect{Backend: "hdrw0-canary"})
		see(s, framework.Request{Host: hosts["hdrw0"], Headers: hdr("X-Canary", "other")}, framework.Expect{Backend: "hdrw0-stable"})
	})
	It("lets canary-by-header never override canary-weight 100", func() {
		see(s, framework.Request{Host: hosts["hdrw100"], Headers: hdr("X-Canary", "never")}, framework.Expect{Backend: "hdrw100-stable"})
		see(s, framework.Request{Host: hosts["hdrw100"]}, framework.Expect{Backend: "hdrw100-canary"})
		see(s, framework.Request{Host: hosts["hdrw100"], Headers: hdr("X-Canary", "maybe")}, framework.Expect{Backend: "hdrw100-canary"})
	})
	It("falls back to the weight when canary-by-header-value does not match", func() {
		see(s, framework.Request{Host: hosts["valw100"], Headers: hdr("X-Version", "blue")}, framework.Expect{Backend: "valw100-canary"})
		see(s, framework.Request{Host: hosts["valw100"], Headers: hdr("X-Version", "green")}, framework.Expect{Backend: "valw100-canary"})
	})
	It("routes by canary-by-header-pattern", func() {
		see(s, framework.Request{Host: hosts["pattern"], Headers: hdr("X-Version", "blue")}, framework.Expect{Backend: "pattern-canary"})
		see(s, framework.Request{Host: hosts["pattern"], Headers: hdr("X-Version", "green")}, framework.Expect{Backend: "pattern-canary"})
		see(s, framework.Request{Host: hosts["pattern"], Headers: hdr("X-Version", "red")}, framework.Expect{Backend: "pattern-stable"})
		see(s, framework.Request{Host: hosts["pattern"], Headers: hdr("X-Version", "blue-ish")}, framework.Expect{Backend: "pattern-stable"})
	})
	It("lets canary-by-cookie never override canary-weight 100", func() {
		see(s, framework.Request{Host: hosts["cookie"], Headers: hdr("Cookie", "beta=never")}, framework.Expect{Backend: "cookie-stable"})
		see(s, framework.Request{Host: hosts["cookie"], Headers: hdr("Cookie", "beta=always")}, framework.Expect{Backend: "cookie-canary"})
		see(s, framework.Request{Host: hosts["cookie"]}, framework.Expect{Backend: "cookie-canary"})
	})
	It("checks the header before the cookie", func() {
		see(s, framework.Request{Host: hosts["both"], Headers: map[string]string{"X-Canary": "never", "Cookie": "beta=always"}}, framework.Expect{Backend: "both-stable"})
		see(s, framework.Request{Host: hosts["both"], Headers: map[string]string{"X-Canary": "always", "Cookie": "beta=never"}}, framework.Expect{Backend: "both-canary"})
		see(s, framework.Request{Host: hosts["both"], Headers: map[string]string{"Cookie": "beta=always"}}, framework.Expect{Backend: "both-canary"})
		see(s, framework.Request{Host: hosts["both"]}, framework.Expect{Backend: "both-stable"})
	})
	// split counts which backends answer n requests to host; one check.
	split := func(host string, n int, ok func(seen map[string]int) error) {
		GinkgoHelper()
		countChecks(1)
		s.Poll(fmt.Sprintf("the split of %d requests", n), env.Timeouts.MaxTimeToConsistency, func() error {
			seen := map[string]int{}
			for range n {
				seen[s.Do(framework.Request{Host: host}).Backend()]++
			}
			return ok(seen)
		})
	}
	It("reads canary-weight against canary-weight-total", func() {
		// 100 of 200: half. Read against the default total 100, it would
		// be every request.
		split(hosts["total"], 60, func(seen map[string]int) error {
			// Binomial(60, 0.5): fewer than 12 on one side is under 1e-5.
			if seen["total-stable"] < 12 || seen["total-canary"] < 12 {
				return fmt.Errorf("60 requests went to %v, want each side at least 12", seen)
			}
			return nil
		})
	})
	// ingress-nginx's balancer draws from max(canary-weight-total, 100), so
	// 5 of 5 is 5 of 100 there; read as written it is every request.
	It("reads a canary-weight-total below 100 as written or as 100", func() {
		split(hosts["small"], 200, func(seen map[string]int) error {
			switch c := seen["small-canary"]; {
			case c == 200:
				framework.RecordVariant("as written")
			case c >= 1 && c <= 30 && c+seen["small-stable"] == 200:
				// Binomial(200, 0.05): none is 3.5e-5, more than 30 under 1e-6.
				framework.RecordVariant("as 100")
			default:
				return fmt.Errorf("200 requests went to %v, want all to small-canary (5 of 5) or 1 to 30 (5 of 100)", seen)
			}
			return nil
		})
	})
	It("splits traffic with canary-weight 50", func() {
		req := framework.Request{Host: hosts["half"]}
		see(s, req, framework.Expect{Status: 200})
		countChecks(1)
		s.Poll("both backends answer 60 requests", env.Timeouts.MaxTimeToConsistency, func() error {
			seen := map[string]int{}
			for range 60 {
				seen[s.Do(req).Backend()]++
			}
			// Binomial(60, 0.5): fewer than 12 on one side is under 1e-5.
			if seen["half-stable"] < 12 || seen["half-canary"] < 12 {
				return fmt.Errorf("60 requests went to %v, want each side at least 12", seen)
			}
			return nil
		})
	})
})

var _ = describe("Annotations: affinity (cookie attributes)", Label("annotations", AnnotationLabel("affinity"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var plain, secure string
	// secureErr says why the profile cannot express the secure Ingress's
	// annotations: only the spec that needs them is skipped.
	var secureErr error
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-affinity2")
		s.Backend("plain", 3)
		s.Backend("secure", 2)
		plain, secure = s.Host("plain"), s.Host("secure")
		applyAnnotated(s, annotated{Name: "plain", Host: plain, Service: "plain", Annotations: annotationsFor("affinity", map[string]string{"affinity": "cookie"})})
		var ann map[string]string
		ann, secureErr = env.Controller.Profile.AnnotationKeys("affinity", map[string]string{"affinity": "cookie",
			"session-cookie-name": "sid", "session-cookie-secure": "true", "session-cookie-expires": "172800"})
		if secureErr == nil {
			applyAnnotated(s, annotated{Name: "secure", Host: secure, Service: "secure", Annotations: ann})
		}
	})
	cookieNamed := func(r framework.Response, name string) *http.Cookie {
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == name {
				return c
			}
		}
		return nil
	}

	It("sets INGRESSCOOKIE by default, HttpOnly, for the Ingress's path", func() {
		countChecks(3)
		see(s, framework.Request{Host: plain}, framework.Expect{Backend: "plain", Check: func(r framework.Response) error {
			c := cookieNamed(r, "INGRESSCOOKIE")
			if c == nil {
				return fmt.Errorf("no Set-Cookie INGRESSCOOKIE in %v", r.Header.Values("Set-Cookie"))
			}
			if !c.HttpOnly || c.Path != "/" {
				return fmt.Errorf("cookie INGRESSCOOKIE: HttpOnly %v, path %q; want HttpOnly, path / (%v)", c.HttpOnly, c.Path, r.Header.Values("Set-Cookie"))
			}
			return nil
		}})
	})
	It("keeps a client with the default cookie on one endpoint", func() {
		countChecks(1)
		var value string
		s.Poll("a cookie", env.Timeouts.MaxTimeToConsistency, func() error {
			if c := cookieNamed(s.Do(framework.Request{Host: plain}), "INGRESSCOOKIE"); c != nil {
				value = c.Value
				return nil
			}
			return fmt.Errorf("no cookie")
		})
		pods := map[string]bool{}
		for range 9 {
			r := s.Do(framework.Request{Host: plain, Headers: map[string]string{"Cookie": "INGRESSCOOKIE=" + value}})
			pods[r.Backend()+"/"+podOf(r)] = true
		}
		if len(pods) != 1 {
			Fail(fmt.Sprintf("9 requests with the session cookie reached %v, want one endpoint", slices.Sorted(mapKeys(pods))))
		}
	})
	// Two sane answers to a cookie value that names no endpoint: a fresh
	// cookie, or (ingress-nginx's balanced mode, whose cookie value is a key
	// on a consistent-hash ring) no new cookie, the value itself keeping the
	// client on one endpoint. Wrong: a 5xx, the bogus value echoed back in
	// Set-Cookie, or no cookie and no stickiness.
	It("answers a request with an unknown cookie value, then keeps it on one endpoint", func() {
		countChecks(3) // status, backend, the cookie
		bogus := framework.Request{Host: plain, Headers: map[string]string{"Cookie": "INGRESSCOOKIE=bogus"}}
		variant, _ := s.EventuallyOutcome(bogus,
			framework.OutcomeOf("fresh cookie", framework.Expect{Backend: "plain", Check: func(r framework.Response) error {
				if c := cookieNamed(r, "INGRESSCOOKIE"); c == nil || c.Value == "bogus" {
					return fmt.Errorf("Set-Cookie %v, want a new INGRESSCOOKIE", r.Header.Values("Set-Cookie"))
				}
				return nil
			}}),
			framework.OutcomeOf("value kept as a key", framework.Expect{Backend: "plain", Check: func(r framework.Response) error {
				if c := cookieNamed(r, "INGRESSCOOKIE"); c != nil {
					return fmt.Errorf("Set-Cookie %v, want none", r.Header.Values("Set-Cookie"))
				}
				return nil
			}}))
		if variant != "value kept as a key" {
			return
		}
		countChecks(1)
		pods := map[string]bool{}
		for range 9 {
			r := s.Do(bogus)
			pods[r.Backend()+"/"+podOf(r)] = true
		}
		if len(pods) != 1 {
			Fail(fmt.Sprintf("9 requests with the kept cookie value reached %v, want one endpoint", slices.Sorted(mapKeys(pods))))
		}
	})
	It("applies session-cookie-secure and session-cookie-expires", func() {
		if secureErr != nil {
			Skip(unsupportedPrefix + secureErr.Error())
		}
		countChecks(2)
		see(s, framework.Request{Host: secure}, framework.Expect{Backend: "secure", Check: func(r framework.Response) error {
			attrs, ok := setCookieAttributes(r, "sid")
			if !ok {
				return fmt.Errorf("no Set-Cookie sid in %v", r.Header.Values("Set-Cookie"))
			}
			if _, secure := attrs["secure"]; !secure {
				return fmt.Errorf("cookie sid without Secure (%v)", r.Header.Values("Set-Cookie"))
			}
			// ingress-nginx writes Expires with a two-digit year
			// (ngx.cookie_time), which net/http does not parse.
			exp, err := cookieTime(attrs["expires"])
			if want := time.Now().Add(172800 * time.Second); err != nil || exp.Before(want.Add(-5*time.Minute)) || exp.After(want.Add(5*time.Minute)) {
				return fmt.Errorf("cookie sid: Expires %q (%v), want about 48 h from now (%v)", attrs["expires"], err, r.Header.Values("Set-Cookie"))
			}
			return nil
		}})
	})
})

// setCookieAttributes returns the attributes (lower-case names, values as
// sent) of the Set-Cookie named name in r.
func setCookieAttributes(r framework.Response, name string) (map[string]string, bool) {
	for _, line := range r.Header.Values("Set-Cookie") {
		parts := strings.Split(line, ";")
		if n, _, _ := strings.Cut(strings.TrimSpace(parts[0]), "="); n != name {
			continue
		}
		attrs := map[string]string{}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			attrs[strings.ToLower(k)] = v
		}
		return attrs, true
	}
	return nil, false
}

// cookieTime parses a cookie's Expires in the forms servers send (RFC 1123,
// and Netscape's with a four- or two-digit year).
func cookieTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC1123, "Mon, 02-Jan-2006 15:04:05 MST", "Mon, 02-Jan-06 15:04:05 MST"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// podOf is the pod that answered ("" when not an echo answer).
func podOf(r framework.Response) string {
	if r.Echo == nil {
		return ""
	}
	return r.Echo.Pod
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

var _ = describe("Annotations: backend-protocol (more)", Label("annotations", AnnotationLabel("backend-protocol"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var https, none, plainHTTP string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-proto2")
		secureBackend(s, "secure")
		// A Service of its own: nginx keeps idle upstream connections per
		// endpoint address, TLS or not, so after an HTTPS request to the
		// same endpoint ingress-nginx sends a plain-HTTP location's request
		// over the pooled TLS connection (and it is served).
		secureBackend(s, "secure-plain")
		s.Backend("echo", 1)
		https, none, plainHTTP = s.Host("https"), s.Host("none"), s.Host("http")
		applyAnnotated(s, annotated{Name: "https", Host: https, Service: "secure", Port: 443, Annotations: annotationsFor("backend-protocol", map[string]string{"backend-protocol": "HTTPS"})})
		applyAnnotated(s, annotated{Name: "none", Host: none, Service: "secure-plain", Port: 443})
		applyAnnotated(s, annotated{Name: "http", Host: plainHTTP, Service: "echo", Annotations: annotationsFor("backend-protocol", map[string]string{"backend-protocol": "HTTP"})})
	})

	It("keeps the Host, path and client scheme over HTTPS to the backend", func() {
		see(s, framework.Request{Host: https, Path: "/p?q=1"}, framework.Expect{Backend: "secure", Path: "/p?q=1", Check: all(servedOverTLS(), echoHost(https), echoHeader("X-Forwarded-Proto", "http"))})
	})
	It("speaks HTTP/1.1 over TLS to the backend", func() {
		countChecks(1)
		see(s, framework.Request{Host: https, Path: "/v"}, framework.Expect{Backend: "secure", Check: func(r framework.Response) error {
			if r.Echo.Proto != "HTTP/1.1" {
				return fmt.Errorf("backend got %s, want HTTP/1.1", r.Echo.Proto)
			}
			return nil
		}})
	})
	It("sends no SNI to the backend without proxy-ssl-server-name", func() {
		countChecks(1)
		see(s, framework.Request{Host: https, Path: "/sni"}, framework.Expect{Backend: "secure", Check: func(r framework.Response) error {
			if r.Echo.TLS == nil || r.Echo.TLS.ServerName != "" {
				return fmt.Errorf("backend TLS %+v, want no server name", r.Echo.TLS)
			}
			return nil
		}})
	})
	It("speaks plain HTTP to an HTTPS port without the annotation (the backend refuses)", func() {
		seeStatusIn(s, framework.Request{Host: none, Path: "/"}, 400, 502)
	})
	It("speaks plain HTTP with backend-protocol HTTP", func() {
		countChecks(1)
		see(s, framework.Request{Host: plainHTTP, Path: "/h"}, framework.Expect{Backend: "echo", Path: "/h", Check: func(r framework.Response) error {
			if r.Echo.TLS != nil {
				return fmt.Errorf("backend got TLS, want plain HTTP")
			}
			return nil
		}})
	})
})

var _ = describe("Annotations: upstream-tls (more)", Label("annotations", AnnotationLabel("upstream-tls"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	hosts := map[string]string{}
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-upstls2")
		secure := secureBackend(s, "secure")
		caSecret(s, "backend-ca", backendCertificatePEM(secure, 8443))
		other, err := certs.SelfSigned(certs.Options{Hosts: []string{"secure." + s.Namespace + ".svc"}})
		if err != nil {
			Fail(err.Error())
		}
		caSecret(s, "other-ca", other.CertPEM)
		svcName := "secure." + s.Namespace + ".svc"
		proto := map[string]string{"backend-protocol": "HTTPS"}
		for name, ann := range map[string]map[string]string{
			"noverify":  {"proxy-ssl-verify": "off", "proxy-ssl-secret": s.Namespace + "/other-ca"},
			"wrongname": {"proxy-ssl-verify": "on", "proxy-ssl-secret": s.Namespace + "/backend-ca", "proxy-ssl-name": "wrong.example.org"},
			"sni": {"proxy-ssl-verify": "on", "proxy-ssl-secret": s.Namespace + "/backend-ca", "proxy-ssl-name": svcName,
				"proxy-ssl-server-name": "on"},
			"depth": {"proxy-ssl-verify": "on", "proxy-ssl-secret": s.Namespace + "/backend-ca", "proxy-ssl-name": svcName,
				"proxy-ssl-verify-depth": "2"},
		} {
			hosts[name] = s.Host(name)
			applyAnnotated(s, annotated{Name: name, Host: hosts[name], Service: "secure", Port: 443,
				Annotations: merge(annotationsFor("backend-protocol", proto), annotationsFor("upstream-tls", ann))})
		}
	})

	It("serves a backend with any certificate with proxy-ssl-verify off", func() {
		see(s, framework.Request{Host: hosts["noverify"], Path: "/x"}, framework.Expect{Backend: "secure", Path: "/x", Check: servedOverTLS()})
	})
	It("refuses a backend whose certificate does not name proxy-ssl-name", func() {
		seeStatusIn(s, framework.Request{Host: hosts["wrongname"], Path: "/x"}, 502, 503, 500)
	})
	It("sends proxy-ssl-name as SNI with proxy-ssl-server-name on", func() {
		countChecks(1)
		see(s, framework.Request{Host: hosts["sni"], Path: "/sni"}, framework.Expect{Backend: "secure", Check: func(r framework.Response) error {
			if want := "secure." + s.Namespace + ".svc"; r.Echo.TLS == nil || r.Echo.TLS.ServerName != want {
				return fmt.Errorf("backend TLS %+v, want server name %s", r.Echo.TLS, want)
			}
			return nil
		}})
	})
	It("verifies within proxy-ssl-verify-depth", func() {
		see(s, framework.Request{Host: hosts["depth"], Path: "/d"}, framework.Expect{Backend: "secure", Path: "/d", Check: servedOverTLS()})
	})
})

var _ = describe("Annotations: retries (more)", Label("annotations", AnnotationLabel("retries"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var dead, half string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-retry2")
		s.PublishBackend(cluster.BackendSpec{Name: "dead", Replicas: 2, Refusing: 2})
		s.PublishBackend(cluster.BackendSpec{Name: "half", Replicas: 3, Refusing: 2})
		dead, half = s.Host("dead"), s.Host("half")
		applyAnnotated(s, annotated{Name: "dead", Host: dead, Service: "dead", Annotations: annotationsFor("retries", map[string]string{"proxy-next-upstream-tries": "3"})})
		applyAnnotated(s, annotated{Name: "half", Host: half, Service: "half", Annotations: annotationsFor("retries", map[string]string{"proxy-next-upstream-tries": "3"})})
	})

	It("answers 502 when every endpoint refuses", func() {
		seeStatusIn(s, framework.Request{Host: dead}, 502)
		seeStatusIn(s, framework.Request{Host: dead, Method: http.MethodPost, Body: []byte("x")}, 502)
	})
	It("reaches the one live endpoint of three within three tries", func() {
		countChecks(2)
		s.Poll("30 requests in a row served by half-0", env.Timeouts.MaxTimeToConsistency, batch(s, framework.Request{Host: half}, framework.Expect{Backend: "half", Check: func(r framework.Response) error {
			if r.Echo.Pod != "half-0" {
				return fmt.Errorf("answered by %s", r.Echo.Pod)
			}
			return nil
		}}, 30))
	})
})
