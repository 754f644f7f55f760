package suites

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// The hostile-client specs: requests a browser or net/http would never
// send, written byte for byte on raw TCP or TLS connections. They hold any
// controller to what RFC 9110/9112 require and record its choice where the
// RFCs leave one. Every spec checks afterwards that ordinary requests are
// still answered correctly (no desynchronised connection, no crash).

// hostile is the shared state of the hostile-client specs.
type hostile struct {
	s                   *framework.Spec
	hostA, hostB, hostT string
	hidden              string // the path of every smuggled request
}

// exchange writes raw on a new connection and reads what comes back until
// the controller closes it or Timeouts.Request passes.
func (h *hostile) exchange(raw []byte) framework.RawResult {
	GinkgoHelper()
	res, err := h.s.Controller.HTTP.Exchange(h.s.Context(), nil, raw, h.s.Env.Timeouts.Request)
	if err != nil {
		Fail(fmt.Sprintf("raw exchange: %v", err))
	}
	return res
}

// noSmuggled fails when any response came from the hidden request, or when
// there are more responses than requests the client sent as requests.
func (h *hostile) noSmuggled(what string, res framework.RawResult, sent int) {
	GinkgoHelper()
	for _, r := range res.Responses {
		if r.Echo != nil && strings.Contains(r.Echo.Path, h.hidden) {
			Fail(fmt.Sprintf("%s: the backend received the smuggled request %s (responses: %s)", what, r.Echo.Path, res))
		}
	}
	if len(res.Responses) > sent {
		Fail(fmt.Sprintf("%s: %d responses to %d request(s): the controller answered a request hidden in the body (responses: %s)", what, len(res.Responses), sent, res))
	}
}

// stillServing checks, on fresh connections, that requests get their own
// answers: a smuggled request left on a pooled upstream connection would
// answer one of them instead.
func (h *hostile) stillServing() {
	GinkgoHelper()
	for i := range 5 {
		p := fmt.Sprintf("/after-%d", i)
		r := h.s.Do(framework.Request{Host: h.hostA, Path: p})
		if err := (framework.Expect{Backend: "svc-a", Path: p}).Match(r); err != nil {
			Fail(fmt.Sprintf("after the attack, GET %s: %v (%s)", p, err, r))
		}
	}
}

// sentinel is a request appended after every smuggling attempt: it ends
// the exchange deterministically (Connection: close) whether the
// controller closes the connection after the attack or keeps parsing.
func (h *hostile) sentinel() string {
	return "GET /sentinel HTTP/1.1\r\nHost: " + h.hostA + "\r\nConnection: close\r\n\r\n"
}

// statusIn accepts a response whose status is one of codes, or a
// connection closed without one.
func statusIn(res framework.RawResult, codes ...int) (string, error) {
	if len(res.Responses) == 0 {
		if res.Closed {
			return "closed-without-response", nil
		}
		return "", fmt.Errorf("no response and the connection stayed open (%s)", res)
	}
	code := res.Responses[0].StatusCode
	if !slices.Contains(codes, code) {
		return "", fmt.Errorf("status %d, want one of %v or a closed connection (%s)", code, codes, res)
	}
	return strconv.Itoa(code), nil
}

// smuggle is one Transfer-Encoding obfuscation: head lines after the
// request line, Host and Content-Length.
type smuggle struct {
	name  string
	lines []string
}

var _ = describe("Reliability: hostile clients", Label(ReliabilityLabel, "extended"), Ordered, ContinueOnFailure, func() {
	h := &hostile{}
	BeforeAll(func() {
		s := framework.NewSpec(env, "hostile")
		h.s = s
		for _, name := range []string{"svc-a", "svc-admin", "svc-b"} {
			s.Backend(name, 1)
		}
		h.hostA, h.hostB, h.hostT = s.Host("a"), s.Host("b"), s.Host("tls")
		h.hidden = "/hidden-" + s.Namespace
		s.TLSSecret("hostile-tls", h.hostT)
		s.Apply("reliability/hostile.yaml", nil)
		s.Eventually(framework.Request{Host: h.hostA, Path: "/x"}, framework.Expect{Backend: "svc-a"})
		s.Eventually(framework.Request{Host: h.hostA, Path: "/admin/x"}, framework.Expect{Backend: "svc-admin"})
		s.Eventually(framework.Request{Host: h.hostB}, framework.Expect{Backend: "svc-b"})
		s.Eventually(framework.Request{Host: h.hostT, HTTPS: true}, framework.Expect{Backend: "svc-a"})
	})

	hiddenRequest := func() string {
		return "GET " + h.hidden + " HTTP/1.1\r\nHost: " + h.hostA + "\r\n\r\n"
	}

	Context("request smuggling", Label("smuggling"), func() {
		It("never lets a request hidden behind Content-Length and Transfer-Encoding together reach the backend", func() {
			chunked := "0\r\n\r\n" + hiddenRequest()
			var seen []string
			for _, order := range [][]string{
				{"Content-Length: " + strconv.Itoa(len(chunked)), "Transfer-Encoding: chunked"},
				{"Transfer-Encoding: chunked", "Content-Length: " + strconv.Itoa(len(chunked))},
			} {
				raw := framework.RawRequest(append([]string{"POST /cl-te HTTP/1.1", "Host: " + h.hostA}, order...)...)
				res := h.exchange(append(append(raw, chunked...), h.sentinel()...))
				h.noSmuggled("CL+TE", res, 2)
				// RFC 9112 §6.1: reject, or answer and close the connection.
				switch {
				case len(res.Responses) == 1 && res.Responses[0].StatusCode == 400:
					seen = append(seen, "400")
				case len(res.Responses) == 1 && res.Closed:
					seen = append(seen, "answered-then-closed")
				case len(res.Responses) == 0 && res.Closed:
					seen = append(seen, "closed-without-response")
				default:
					Fail(fmt.Sprintf("CL+TE (%s): want 400, or one answer and a closed connection (RFC 9112 §6.1); got %s", order[0], res))
				}
			}
			framework.RecordVariant(strings.Join(slices.Compact(seen), "/"))
			h.stillServing()
		})

		It("answers conflicting Content-Length headers with 400", func() {
			body := "hello" + hiddenRequest()
			for _, lines := range [][]string{
				{"Content-Length: 5", "Content-Length: " + strconv.Itoa(len(body))},
				{"Content-Length: 5, " + strconv.Itoa(len(body))},
			} {
				raw := framework.RawRequest(append([]string{"POST /cl-cl HTTP/1.1", "Host: " + h.hostA}, lines...)...)
				res := h.exchange(append(append(raw, body...), h.sentinel()...))
				h.noSmuggled("conflicting Content-Length", res, 2)
				v, err := statusIn(res, 400)
				if err != nil {
					Fail(fmt.Sprintf("%v: RFC 9112 §6.3 makes conflicting lengths an unrecoverable error; got %s", lines, err))
				}
				framework.RecordVariant(v)
			}
			h.stillServing()
		})

		It("never lets an obfuscated Transfer-Encoding hide a request", func() {
			cases := []smuggle{
				{name: "space before colon", lines: []string{"Transfer-Encoding : chunked"}},
				{name: "unknown coding", lines: []string{"Transfer-Encoding: xchunked"}},
				{name: "chunked not last", lines: []string{"Transfer-Encoding: chunked, identity"}},
				{name: "two header lines", lines: []string{"Transfer-Encoding: identity", "Transfer-Encoding: chunked"}},
				{name: "tab", lines: []string{"Transfer-Encoding:\tchunked"}},
				{name: "obs-fold", lines: []string{"Transfer-Encoding: identity", " chunked"}},
				{name: "obs-fold in another header", lines: []string{"X-Folded: a", " Transfer-Encoding: chunked"}},
			}
			var seen []string
			for _, c := range cases {
				body := "0\r\n\r\n" + hiddenRequest()
				lines := append([]string{"POST /te HTTP/1.1", "Host: " + h.hostA, "Content-Length: " + strconv.Itoa(len(body))}, c.lines...)
				res := h.exchange(append(append(framework.RawRequest(lines...), body...), h.sentinel()...))
				h.noSmuggled(c.name, res, 2)
				if len(res.Responses) == 1 {
					r := res.Responses[0]
					// Read by Content-Length, the backend must get all of it.
					if r.Echo != nil && r.Echo.BodyLength != 0 && r.Echo.BodyLength != int64(len(body)) {
						Fail(fmt.Sprintf("%s: the backend saw %d body bytes; the client framed %d (Content-Length) or 0 (chunked)", c.name, r.Echo.BodyLength, len(body)))
					}
				}
				v, err := statusIn(res, 200, 400, 501)
				if err != nil {
					Fail(c.name + ": " + err.Error())
				}
				seen = append(seen, c.name+"="+v)
			}
			framework.RecordVariant(strings.Join(seen, ", "))
			h.stillServing()
		})

		It("answers malformed chunked bodies with 400 (a client error, not 502)", func() {
			var seen []string
			for name, body := range map[string]string{
				"invalid hex":          "zz\r\nhello\r\n0\r\n\r\n",
				"size overflow":        "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
				"missing CRLF":         "5\r\nhelloXX0\r\n\r\n",
				"short chunk":          "10\r\nhello\r\n0\r\n\r\n",
				"negative size":        "-5\r\nhello\r\n0\r\n\r\n",
				"hidden after garbage": "5\r\nhello\r\nzz\r\n" + hiddenRequest(),
			} {
				raw := framework.RawRequest("POST /chunks HTTP/1.1", "Host: "+h.hostA, "Transfer-Encoding: chunked")
				res := h.exchange(append(append(raw, body...), h.sentinel()...))
				h.noSmuggled(name, res, 2)
				v, err := statusIn(res, 400)
				if err != nil {
					Fail(name + ": " + err.Error())
				}
				seen = append(seen, v)
			}
			slices.Sort(seen)
			framework.RecordVariant(strings.Join(slices.Compact(seen), "/"))
			h.stillServing()
		})

		It("forwards a request written inside a body as body bytes, and keeps the connection's framing", func() {
			body := hiddenRequest()
			raw := framework.RawRequest("POST /with-body HTTP/1.1", "Host: "+h.hostA, "Content-Length: "+strconv.Itoa(len(body)))
			raw = append(raw, body...)
			raw = append(raw, framework.RawRequest("GET /pipelined HTTP/1.1", "Host: "+h.hostA, "Connection: close")...)
			res := h.exchange(raw)
			h.noSmuggled("request in a body", res, 2)
			if len(res.Responses) != 2 {
				Fail(fmt.Sprintf("want 2 answers (the POST and the pipelined GET), got %s", res))
			}
			post, get := res.Responses[0], res.Responses[1]
			if post.Echo == nil || post.Echo.Path != "/with-body" || post.Echo.BodyLength != int64(len(body)) {
				Fail(fmt.Sprintf("the POST: want the backend to see POST /with-body with %d body bytes; got %s", len(body), res))
			}
			if get.Echo == nil || get.Echo.Path != "/pipelined" {
				Fail(fmt.Sprintf("the pipelined GET: want GET /pipelined; got %s", res))
			}
			h.stillServing()
		})
	})

	Context("request limits", Label("limits"), func() {
		// 2 MiB is over every default controllers ship (nginx 8 KiB per
		// line, HAProxy 16 KiB buffers, Go servers 1 MiB).
		const huge = 2 << 20
		It("refuses an oversized request line (414, 400 or 431)", func() {
			res := h.exchange(framework.RawRequest("GET /"+strings.Repeat("a", huge)+" HTTP/1.1", "Host: "+h.hostA))
			v, err := statusIn(res, 414, 400, 431)
			if err != nil {
				Fail(err.Error())
			}
			framework.RecordVariant(v)
			h.stillServing()
		})

		It("refuses oversized request headers (431 or 400)", func() {
			var seen []string
			for name, lines := range map[string][]string{
				"one huge header": {"X-Huge: " + strings.Repeat("b", huge)},
				"many headers":    manyHeaders(huge / 64),
			} {
				res := h.exchange(framework.RawRequest(append([]string{"GET /big-headers HTTP/1.1", "Host: " + h.hostA}, lines...)...))
				v, err := statusIn(res, 431, 400, 413)
				if err != nil {
					Fail(name + ": " + err.Error())
				}
				seen = append(seen, v)
			}
			slices.Sort(seen)
			framework.RecordVariant(strings.Join(slices.Compact(seen), "/"))
			h.stillServing()
		})
	})

	Context("slow clients", Label("timeouts"), func() {
		// slowConns opens n connections that each write head and then
		// trickle (every tick, when trickle is set) or stall, and returns
		// how long the slowest took to be closed by the controller; it
		// fails when one is still open after bound. Normal requests must be
		// answered meanwhile.
		slowConns := func(n int, head []byte, trickle bool, bound time.Duration) time.Duration {
			GinkgoHelper()
			type result struct {
				closed bool
				took   time.Duration
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			deadline := time.Now().Add(bound)
			for i := range n {
				conn, err := h.s.Controller.HTTP.DialRaw(h.s.Context(), nil)
				if err != nil {
					Fail(fmt.Sprintf("slow connection %d: %v", i, err))
				}
				defer conn.Close()
				if _, err := conn.Write(head); err != nil {
					Fail(fmt.Sprintf("slow connection %d: write: %v", i, err))
				}
				wg.Add(1)
				go func() {
					defer GinkgoRecover()
					defer wg.Done()
					if trickle {
						// The attack itself: one header byte a second keeps
						// per-read timeouts from firing.
						tick := time.NewTicker(time.Second)
						defer tick.Stop()
						done := make(chan struct{})
						go func() {
							defer close(done)
							for range tick.C {
								if time.Now().After(deadline) {
									return
								}
								_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
								if _, err := conn.Write([]byte("x")); err != nil {
									return
								}
							}
						}()
						defer func() { <-done }()
					}
					closed, took := conn.WaitClosed(deadline)
					results[i] = result{closed: closed, took: took}
					conn.Close() // stops the trickle at its next write
				}()
			}
			// The controller keeps serving while they hang on.
			h.s.Eventually(framework.Request{Host: h.hostA, Path: "/during-slow"}, framework.Expect{Backend: "svc-a", Path: "/during-slow"})
			wg.Wait()
			var slowest time.Duration
			for i, r := range results {
				if !r.closed {
					Fail(fmt.Sprintf("slow connection %d of %d still open after %s (bound: Timeouts.SlowHeaders/SlowBody)", i, n, bound))
				}
				slowest = max(slowest, r.took)
			}
			h.stillServing()
			return slowest
		}

		It("closes connections that send their request head too slowly (slowloris) and keeps serving", func() {
			head := []byte("GET /slow-head HTTP/1.1\r\nHost: " + h.hostA + "\r\nX-Slow: ")
			took := slowConns(20, head, true, h.s.Env.Timeouts.SlowHeaders)
			AddReportEntry("slowHeadersClosedAfter", took.String(), ReportEntryVisibilityFailureOrVerbose)
			framework.RecordVariant("closed within " + roundUp(took))
		})

		It("closes connections whose request body stalls and keeps serving", func() {
			head := framework.RawRequest("POST /slow-body HTTP/1.1", "Host: "+h.hostA, "Content-Length: 100000")
			head = append(head, "only a few bytes"...)
			took := slowConns(20, head, false, h.s.Env.Timeouts.SlowBody)
			AddReportEntry("slowBodyClosedAfter", took.String(), ReportEntryVisibilityFailureOrVerbose)
			framework.RecordVariant("closed within " + roundUp(took))
		})
	})

	Context("Host header", Label("host-header"), func() {
		get := func(target string, hostLines ...string) framework.RawResult {
			GinkgoHelper()
			lines := append([]string{"GET " + target + " HTTP/1.1"}, hostLines...)
			return h.exchange(framework.RawRequest(append(lines, "Connection: close")...))
		}
		It("routes an absolute-form request by its target, not by a conflicting Host (RFC 9112 §3.2.2)", func() {
			res := get("http://"+h.hostB+"/abs", "Host: "+h.hostA)
			switch {
			case len(res.Responses) == 1 && res.Responses[0].StatusCode == 400:
				framework.RecordVariant("400")
			case len(res.Responses) == 1 && res.Responses[0].Echo != nil && res.Responses[0].Echo.Service == "svc-b":
				if got := res.Responses[0].Echo.Host; got != h.hostB {
					Fail(fmt.Sprintf("routed by the target to svc-b, but the backend saw Host %q, want %q", got, h.hostB))
				}
				framework.RecordVariant("routed-by-target")
			default:
				Fail(fmt.Sprintf("want svc-b (the target's authority) or 400; got %s", res))
			}
		})

		It("refuses a request with two Host headers (400)", func() {
			res := get("/two-hosts", "Host: "+h.hostA, "Host: "+h.hostB)
			v, err := statusIn(res, 400)
			if err != nil {
				Fail("RFC 9112 §3.2: " + err.Error())
			}
			framework.RecordVariant(v)
		})

		It("refuses an HTTP/1.1 request without Host (400)", func() {
			res := get("/no-host")
			v, err := statusIn(res, 400)
			if err != nil {
				Fail("RFC 9112 §3.2: " + err.Error())
			}
			framework.RecordVariant(v)
		})

		It("does not route an empty Host to a host rule", func() {
			res := get("/empty-host", "Host: ")
			if len(res.Responses) == 0 {
				framework.RecordVariant("closed-without-response")
				return
			}
			r := res.Responses[0]
			if r.Echo != nil && r.Echo.Namespace == h.s.Namespace {
				Fail(fmt.Sprintf("an empty Host was routed to %s, a backend of host rules", r.Echo.Service))
			}
			framework.RecordVariant(strconv.Itoa(r.StatusCode))
		})

		It("matches Host case-insensitively and ignores the default port", func() {
			for _, host := range []string{strings.ToUpper(h.hostA), h.hostA + ":80"} {
				res := get("/case-port", "Host: "+host)
				if len(res.Responses) != 1 || res.Responses[0].Echo == nil || res.Responses[0].Echo.Service != "svc-a" {
					Fail(fmt.Sprintf("Host %q: want svc-a (RFC 9110 §4.2.3: host names are case-insensitive; :80 is the default port); got %s", host, res))
				}
			}
		})

		It("routes a Host with a trailing dot or another port only to that host's rules", func() {
			var seen []string
			for name, host := range map[string]string{"trailing-dot": h.hostA + ".", "port-8080": h.hostA + ":8080"} {
				res := get("/odd-host", "Host: "+host)
				switch {
				case len(res.Responses) == 0 && res.Closed:
					seen = append(seen, name+"=closed")
				case len(res.Responses) == 0:
					Fail(fmt.Sprintf("Host %q: no answer (%s)", host, res))
				case res.Responses[0].Echo == nil:
					seen = append(seen, name+"="+strconv.Itoa(res.Responses[0].StatusCode))
				case res.Responses[0].Echo.Service == "svc-a":
					seen = append(seen, name+"=routed")
				default:
					Fail(fmt.Sprintf("Host %q was routed to %s, not host a's rules", host, res.Responses[0].Echo.Service))
				}
			}
			slices.Sort(seen)
			framework.RecordVariant(strings.Join(seen, ", "))
		})
	})

	Context("path normalisation", Label("path-normalisation"), func() {
		// Host a routes Prefix /admin to svc-admin and everything else to
		// svc-a. Whatever a controller normalises, a request the backend
		// would resolve (by any common normalisation) under /admin must not
		// go to svc-a: that is how path tricks get past per-path policy.
		trick := func(target string) {
			GinkgoHelper()
			res := h.exchange(framework.RawRequest("GET "+target+" HTTP/1.1", "Host: "+h.hostA, "Connection: close"))
			if len(res.Responses) == 0 {
				framework.RecordVariant("closed-without-response")
				return
			}
			r := res.Responses[0]
			if r.Echo == nil {
				if r.StatusCode >= 500 && r.StatusCode != 501 {
					Fail(fmt.Sprintf("%s: status %d without reaching a backend", target, r.StatusCode))
				}
				framework.RecordVariant(strconv.Itoa(r.StatusCode))
				return
			}
			forwarded := "forwarded-as-sent"
			if r.Echo.Path != target {
				forwarded = "forwarded-normalised"
			}
			if r.Echo.Service == "svc-a" {
				for _, n := range backendViews(r.Echo.Path) {
					if underAdmin(n) {
						Fail(fmt.Sprintf("%s reached svc-a (the Prefix / rule) as %q, which a backend may resolve to %q under the /admin rule: the /admin rule was bypassed", target, r.Echo.Path, n))
					}
				}
			}
			framework.RecordVariant(strings.TrimPrefix(r.Echo.Service, "svc-") + "/" + forwarded)
		}
		It("routes dot segments by the path they resolve to", func() {
			trick("/public/../admin/x")
			trick("/admin/../public")
			trick("/./admin/x")
		})
		It("routes percent-encoded dot segments safely", func() { trick("/public/%2e%2e/admin/x"); trick("/public/%2E%2E/admin") })
		It("routes an encoded slash safely", func() { trick("/admin%2Fx"); trick("/public%2F..%2Fadmin") })
		It("routes percent-encoded letters safely", func() { trick("/%61dmin/x"); trick("/adm%69n") })
		It("routes double slashes safely", func() { trick("//admin/x"); trick("/public//../admin") })
		It("matches paths case-sensitively (/ADMIN is not /admin)", func() {
			res := h.exchange(framework.RawRequest("GET /ADMIN/x HTTP/1.1", "Host: "+h.hostA, "Connection: close"))
			if len(res.Responses) != 1 || res.Responses[0].Echo == nil || res.Responses[0].Echo.Service != "svc-a" {
				Fail(fmt.Sprintf("/ADMIN/x: want svc-a (paths are case-sensitive); got %s", res))
			}
		})
	})

	Context("forwarding headers", Label("forwarded-headers"), func() {
		It("does not trust client-sent X-Forwarded-*, X-Real-IP and Forwarded by default", func() {
			const spoof = "203.0.113.66"
			r := h.s.Do(framework.Request{Host: h.hostA, Path: "/spoof", Headers: map[string]string{
				"X-Forwarded-For": spoof, "X-Real-IP": spoof, "X-Forwarded-Host": "evil.example",
				"X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443", "Forwarded": "for=" + spoof + ";proto=https;host=evil.example",
			}})
			if err := (framework.Expect{Backend: "svc-a"}).Match(r); err != nil {
				Fail(err.Error())
			}
			hdr := func(k string) []string { return r.Echo.Headers[k] }
			var problems []string
			xff := strings.Join(hdr("X-Forwarded-For"), ",")
			variant := "x-forwarded-for absent"
			if xff != "" {
				parts := strings.Split(xff, ",")
				last := strings.TrimSpace(parts[len(parts)-1])
				switch {
				case last == spoof:
					problems = append(problems, "X-Forwarded-For ends with the client's spoofed address "+xff)
				case len(parts) == 1:
					variant = "x-forwarded-for replaced"
				default:
					variant = "x-forwarded-for appended"
				}
			}
			for _, k := range []string{"X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port"} {
				for _, v := range hdr(k) {
					if v == spoof || v == "evil.example" || v == "https" || v == "8443" {
						problems = append(problems, fmt.Sprintf("%s: %q passed through from the client", k, v))
					}
				}
			}
			if fw := strings.Join(hdr("Forwarded"), ","); fw != "" {
				elems := strings.Split(fw, ",")
				if strings.Contains(elems[len(elems)-1], spoof) {
					problems = append(problems, "Forwarded ends with the client's spoofed element "+fw)
				}
			}
			if len(problems) > 0 {
				Fail(strings.Join(problems, "; "))
			}
			framework.RecordVariant(variant)
		})
	})

	Context("TLS", Label("tls-hardening"), func() {
		It("refuses TLS 1.0 and 1.1 and accepts TLS 1.2", func() {
			try := func(v uint16, suites []uint16) error {
				conf := &tls.Config{ServerName: h.hostT, MinVersion: v, MaxVersion: v, CipherSuites: suites, InsecureSkipVerify: true} //nolint:gosec // old versions on purpose
				conn, err := h.s.Controller.HTTP.DialRaw(h.s.Context(), conf)
				if err == nil {
					conn.Close()
				}
				return err
			}
			if err := try(tls.VersionTLS12, nil); err != nil {
				Fail(fmt.Sprintf("TLS 1.2 handshake failed (the control): %v", err))
			}
			// The suites TLS 1.0 and 1.1 can use, offered explicitly so that
			// a refusal is the server's.
			old := []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
				tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
			}
			var seen []string
			for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
				err := try(v, old)
				if err == nil {
					Fail(fmt.Sprintf("the controller completed a %s handshake", tls.VersionName(v)))
				}
				how := "closed"
				if strings.Contains(err.Error(), "remote error") {
					how = "alert"
				}
				seen = append(seen, how)
			}
			framework.RecordVariant("refused (" + strings.Join(slices.Compact(seen), "/") + ")")
		})

		It("handles a request without SNI as documented (default certificate, or refused)", func() {
			conn, err := h.s.Controller.HTTP.DialRaw(h.s.Context(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec // the spec inspects the certificate
			if err != nil {
				framework.RecordVariant("handshake-refused")
				return
			}
			defer conn.Close()
			if _, err := conn.Write(framework.RawRequest("GET /no-sni HTTP/1.1", "Host: "+h.hostT, "Connection: close")); err != nil {
				Fail(err.Error())
			}
			res := conn.ReadResponses(time.Now().Add(h.s.Env.Timeouts.Request))
			switch {
			case len(res.Responses) == 1 && res.Responses[0].Echo != nil && res.Responses[0].Echo.Service == "svc-a":
				framework.RecordVariant("routed-by-host")
			case len(res.Responses) == 1 && res.Responses[0].Echo == nil:
				framework.RecordVariant(strconv.Itoa(res.Responses[0].StatusCode))
			case len(res.Responses) == 0 && res.Closed:
				framework.RecordVariant("closed-without-response")
			default:
				Fail(fmt.Sprintf("no SNI, Host %s: want svc-a or a refusal; got %s", h.hostT, res))
			}
		})
	})
})

// manyHeaders returns n distinct 60-byte header lines.
func manyHeaders(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("X-Many-%06d: %s", i, strings.Repeat("m", 44))
	}
	return out
}

// roundUp renders d rounded up to whole seconds, for variants that must not
// differ between runs by milliseconds ("10s").
func roundUp(d time.Duration) string {
	return (d + time.Second - 1).Truncate(time.Second).String()
}

// backendViews are the paths a backend might resolve a forwarded path to:
// as is, percent-decoded (all, or all but %2F), with slashes merged, each
// with dot segments removed.
func backendViews(p string) []string {
	p, _, _ = strings.Cut(p, "?")
	views := []string{p}
	if d, err := url.PathUnescape(p); err == nil {
		views = append(views, d)
	}
	keepSlash := strings.NewReplacer("%2F", "%252F", "%2f", "%252f").Replace(p)
	if d, err := url.PathUnescape(keepSlash); err == nil {
		views = append(views, d)
	}
	var out []string
	for _, v := range views {
		out = append(out, removeDots(v), removeDots(mergeSlashes(v)))
	}
	return out
}

func mergeSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// removeDots is RFC 3986 §5.2.4 for an absolute path (path.Clean also
// merges slashes, which removeDots must not do).
func removeDots(p string) string {
	var out []string
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

// underAdmin is Prefix /admin matching.
func underAdmin(p string) bool {
	return p == "/admin" || strings.HasPrefix(p, "/admin/") || path.Clean(p) == "/admin"
}
