package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/reports"
)

// The post and policy scenarios measure the two request shapes of the
// data-plane goal (issue 13) that single-route does not: a request with a
// 4 KiB body, and a route with a typical policy attached (rewrite, CORS,
// rate limit). Each is a plain HTTP keep-alive load against one route,
// with the raw engines beside the controller when --baselines is given.
// They are optional scenarios: they run when named, or in a run with
// baselines (they exist to be compared with the engines).

const (
	// postBodySize is the post scenario's request body.
	postBodySize = 4096
	policyHost   = "policy.bench.test"
	// policyPath is the policy route's path: ingress-nginx's rewrite
	// example, a regular expression whose second group is the upstream
	// path.
	policyPath   = "/app(/|$)(.*)"
	policyTarget = "/$2"
	// policyRPS is the per-client rate limit: above any rate this machine
	// reaches, so every request is counted and none refused.
	policyRPS    = 100000
	policyOrigin = "https://app.bench.test"
)

// answerCheck is what one answer of a target must show before the target
// is measured: the request reached the echo as sent (path, body), and the
// response carries the headers the route adds.
type answerCheck struct {
	Path       string
	BodyLength int64
	Header     map[string]string
	// Forwarded: the upstream saw forwardedHeaders, each with a value
	// (the raw engines' configurations set them as the controller does).
	Forwarded bool
}

// forwardedHeaders are the request headers the reference controller adds
// and the raw engines are configured to add (baselines.go).
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Request-Id"}

// checkAnswer sends t's first request once and checks the answer against
// want: a 200 from t's expected Service, with want's path, body length and
// response headers.
func checkAnswer(ctx context.Context, t *Traffic, want answerCheck) error {
	tg := t.Targets[0]
	req, err := http.NewRequestWithContext(ctx, tg.Method, tg.URL, bytes.NewReader(tg.Body))
	if err != nil {
		return err
	}
	maps.Copy(req.Header, tg.Header)
	c := t.client(5 * time.Second)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", t.Name, tg.Method, tg.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var got echoserver.Response
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil {
		return fmt.Errorf("%s: %s %s: status %d, body %.200q", t.Name, tg.Method, tg.URL, resp.StatusCode, body)
	}
	var problems []string
	if len(t.Expect) > 0 && got.Service != t.Expect[0] {
		problems = append(problems, fmt.Sprintf("answered by %q, want %q", got.Service, t.Expect[0]))
	}
	if got.Path != want.Path {
		problems = append(problems, fmt.Sprintf("upstream path %q, want %q", got.Path, want.Path))
	}
	if got.BodyLength != want.BodyLength {
		problems = append(problems, fmt.Sprintf("upstream read %d body bytes, want %d", got.BodyLength, want.BodyLength))
	}
	for k, v := range want.Header {
		if g := resp.Header.Get(k); g != v {
			problems = append(problems, fmt.Sprintf("response %s %q, want %q", k, g, v))
		}
	}
	if want.Forwarded {
		for _, k := range forwardedHeaders {
			if len(got.Headers[k]) != 1 || got.Headers[k][0] == "" {
				problems = append(problems, fmt.Sprintf("upstream request header %s %q, want one value", k, got.Headers[k]))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s %s: %v", t.Name, tg.Method, tg.URL, problems)
	}
	return nil
}

// checkAnswers runs checkAnswer on every traffic; a raw engine's
// upstream must also see the forwarding headers (answerCheck.Forwarded).
func checkAnswers(ctx context.Context, traffic []*Traffic, want answerCheck) error {
	for _, t := range traffic {
		w := want
		w.Forwarded = t.Via == "baseline"
		if err := checkAnswer(ctx, t, w); err != nil {
			return fmt.Errorf("bench: the target does not serve the request as configured: %w", err)
		}
	}
	return nil
}

func runPost(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	direct, err := e.setupSingle(ctx)
	if err != nil {
		return nil, err
	}
	body := bytes.Repeat([]byte("ingresslab-post-"), postBodySize/16)
	t := &Traffic{Name: "proxied", Via: "controller", Dial: e.Ctrl.HTTPAddr, KeepAlive: true, PID: e.Ctrl.PID(),
		Targets: []vegeta.Target{{Method: http.MethodPost, URL: "http://" + singleHost + "/bench", Body: body,
			Header: http.Header{"Content-Type": {"application/octet-stream"}}}},
		Expect: []string{echoName}}
	return e.measureRoute(ctx, "post", t, func() (baselineRoute, error) {
		rt := plainRoute(direct)
		rt.Scenario = "post"
		return rt, nil
	}, answerCheck{Path: "/bench", BodyLength: postBodySize})
}

// measureRoute measures the controller's traffic t to one route, and the
// same traffic to each raw engine (Options.Baselines) serving the route
// that rt describes; every target is first checked to answer as want says.
func (e *Env) measureRoute(ctx context.Context, scenario string, t *Traffic, rt func() (baselineRoute, error), want answerCheck) (*reports.BenchScenario, error) {
	traffic := []*Traffic{t}
	if len(e.Opts.Baselines) > 0 && e.remote == nil {
		route, err := rt()
		if err != nil {
			return nil, err
		}
		extra, stop, err := e.baselineTargets(ctx, route, func(b *runningBaseline) []*Traffic {
			return []*Traffic{baselineTraffic(b, t, "")}
		})
		if err != nil {
			return nil, err
		}
		defer stop()
		traffic = append(traffic, extra...)
	}
	if err := checkAnswers(ctx, traffic, want); err != nil {
		return nil, err
	}
	series, err := e.measureSeries(ctx, scenario, traffic)
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

// policyAnnotations are the policy route's annotations in the profile's
// dialect; an error names what the profile cannot express.
func (e *Env) policyAnnotations() (map[string]string, error) {
	out := map[string]string{}
	for _, f := range []struct {
		feature string
		values  map[string]string
	}{
		{"rewrite", map[string]string{"use-regex": "true", "rewrite-target": policyTarget}},
		{"cors", map[string]string{"enable-cors": "true"}},
		{"rate-limit", map[string]string{"limit-rps": strconv.Itoa(policyRPS)}},
	} {
		keys, err := e.Profile.AnnotationKeys(f.feature, f.values)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, keys)
	}
	return out, nil
}

func runPolicy(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	annotations, err := e.policyAnnotations()
	if err != nil {
		return nil, &skipError{"the route's policy cannot be written for this controller: " + err.Error()}
	}
	b, err := e.backend(ctx, echoName, 1)
	if err != nil {
		return nil, err
	}
	ing := e.ingress("policy", []rule{{Host: policyHost, Paths: []pathBackend{{policyPath, echoName}}}}, "")
	implementationSpecific := networkingv1.PathTypeImplementationSpecific
	ing.Spec.Rules[0].HTTP.Paths[0].PathType = &implementationSpecific
	ing.Annotations = annotations
	if err := e.apply(ctx, ing); err != nil {
		return nil, err
	}
	if err := e.waitRoute(ctx, newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second), "http://"+policyHost+"/app/", echoName, 3, 30*time.Second); err != nil {
		return nil, err
	}
	t := &Traffic{Name: "proxied", Via: "controller", Dial: e.Ctrl.HTTPAddr, KeepAlive: true, PID: e.Ctrl.PID(),
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://" + policyHost + "/app/bench", Header: http.Header{"Origin": {policyOrigin}}}},
		Expect:  []string{echoName}}
	want := answerCheck{Path: "/bench", Header: map[string]string{"Access-Control-Allow-Origin": policyOrigin, "Access-Control-Allow-Credentials": "true"}}
	return e.measureRoute(ctx, "policy", t, func() (baselineRoute, error) {
		direct, err := e.directAddr(ctx, b, 0)
		if err != nil {
			return baselineRoute{}, err
		}
		rt := singleRoute("policy", policyHost, echoName, direct)
		rt.Hosts[0].Paths[0].Prefix = "/app/"
		rt.Policy = &baselinePolicy{Regex: policyPath, Target: policyTarget, RPS: policyRPS, BurstMultiplier: 5}
		return rt, nil
	}, want)
}
