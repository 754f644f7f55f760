package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/echoserver"
)

// echoUpstream is an echo backend answering as Service name.
func echoUpstream(t *testing.T, name string) string {
	t.Helper()
	srv, err := echoserver.New(echoserver.Options{Identity: echoserver.Identity{Service: name}})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(srv.Handler())
	t.Cleanup(up.Close)
	return strings.TrimPrefix(up.URL, "http://")
}

// requireEngine fails the test under INGRESSLAB_REQUIRE_TOOLS (make test)
// when eng's binary is not on PATH, and skips it otherwise.
func requireEngine(t *testing.T, eng baselineEngine) {
	t.Helper()
	if _, err := exec.LookPath(eng.Binary); err != nil {
		if os.Getenv("INGRESSLAB_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s not on PATH (install the Debian package %s): %v", eng.Binary, eng.Package, err)
		}
		t.Skipf("%s not on PATH (install the Debian package %s)", eng.Binary, eng.Package)
	}
}

// startEngine starts eng serving rt (requireEngine).
func startEngine(t *testing.T, eng baselineEngine, rt baselineRoute) *runningBaseline {
	t.Helper()
	requireEngine(t, eng)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var progress bytes.Buffer
	e := &Env{Opts: Options{ReportDir: t.TempDir(), Baselines: []string{eng.Name}, BaselineThreads: 1}, out: &progress, began: time.Now()}
	started, _, err := e.startBaselines(ctx, rt)
	if err != nil || len(started) != 1 {
		t.Fatalf("start %s: %v\n%s", eng.Name, err, progress.String())
	}
	t.Cleanup(func() { stopBaselines(context.Background(), started) })
	return started[0]
}

// engineTraffic is one request to b.
func engineTraffic(b *runningBaseline, tg vegeta.Target, expect string) *Traffic {
	return &Traffic{Name: b.engine.Name, Dial: b.addr, KeepAlive: true, Targets: []vegeta.Target{tg}, Expect: []string{expect}}
}

// TestBaselinesPolicy: with the policy scenario's configuration each engine
// serves the regular-expression path (case-insensitively), rewrites it to
// its second group, adds the CORS headers only to requests with an Origin,
// counts requests against a rate limit the load never reaches, and answers
// 404 for paths the expression does not match.
func TestBaselinesPolicy(t *testing.T) {
	up := echoUpstream(t, echoName)
	for _, eng := range baselineEngines() {
		t.Run(eng.Name, func(t *testing.T) {
			rt := singleRoute("policy", policyHost, echoName, up)
			rt.Hosts[0].Paths[0].Prefix = "/app/"
			rt.Policy = &baselinePolicy{Regex: policyPath, Target: policyTarget, RPS: policyRPS, BurstMultiplier: 5}
			b := startEngine(t, eng, rt)
			ctx := context.Background()
			origin := http.Header{"Origin": {policyOrigin}}
			cors := map[string]string{"Access-Control-Allow-Origin": policyOrigin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
			for _, c := range []struct {
				url    string
				header http.Header
				want   answerCheck
			}{
				{"/app/bench", origin, answerCheck{Path: "/bench", Header: cors, Forwarded: true}},
				{"/app", origin, answerCheck{Path: "/", Header: cors, Forwarded: true}},
				{"/APP/a/b?q=1", origin, answerCheck{Path: "/a/b?q=1", Header: cors, Forwarded: true}},
				{"/app/bench", nil, answerCheck{Path: "/bench", Header: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}}},
			} {
				tg := vegeta.Target{Method: http.MethodGet, URL: "http://" + policyHost + c.url, Header: c.header}
				if err := checkAnswer(ctx, engineTraffic(b, tg, echoName), c.want); err != nil {
					t.Error(err)
				}
			}
			p := newProber(b.addr, nil, 2*time.Second)
			for _, url := range []string{"http://" + policyHost + "/other", "http://" + policyHost + "/application"} {
				if code, _ := p.probe(ctx, url); code != http.StatusNotFound {
					t.Errorf("%s: %d, want 404", url, code)
				}
			}
		})
	}
}

// TestBaselinesManyRoutes: with a table of hosts x prefixes over two
// Services, each engine sends every route to its Service, the longest
// prefix winning (/p1/ against /p10/), and answers 404 for other hosts and
// paths.
func TestBaselinesManyRoutes(t *testing.T) {
	ups := map[string]string{"mr-0": echoUpstream(t, "mr-0"), "mr-1": echoUpstream(t, "mr-1")}
	rt := baselineRoute{Scenario: "many-routes", Upstreams: ups}
	want := map[string]string{}
	for h := range 3 {
		bh := baselineHost{Host: fmt.Sprintf("h%d.many.bench.test", h)}
		for p := range 12 {
			svc := fmt.Sprintf("mr-%d", (h+p)%2)
			bh.Paths = append(bh.Paths, baselinePath{Prefix: fmt.Sprintf("/p%d/", p), Service: svc})
			want[fmt.Sprintf("http://%s/p%d/x", bh.Host, p)] = svc
		}
		rt.Hosts = append(rt.Hosts, bh)
	}
	if n := rt.routes(); n != 36 {
		t.Fatalf("routes() = %d", n)
	}
	for _, eng := range baselineEngines() {
		t.Run(eng.Name, func(t *testing.T) {
			b := startEngine(t, eng, rt)
			ctx := context.Background()
			p := newProber(b.addr, nil, 2*time.Second)
			for url, svc := range want {
				if code, got := p.probe(ctx, url); code != http.StatusOK || got != svc {
					t.Errorf("%s: %d from %q, want 200 from %s", url, code, got, svc)
				}
			}
			for _, url := range []string{"http://other.bench.test/p1/x", "http://h0.many.bench.test/q1/x"} {
				if code, _ := p.probe(ctx, url); code != http.StatusNotFound {
					t.Errorf("%s: %d, want 404", url, code)
				}
			}
		})
	}
}

// TestBaselinesPost: each engine passes the post scenario's 4 KiB body to
// the upstream whole.
func TestBaselinesPost(t *testing.T) {
	up := echoUpstream(t, echoName)
	for _, eng := range baselineEngines() {
		t.Run(eng.Name, func(t *testing.T) {
			rt := plainRoute(up)
			rt.Scenario = "post"
			b := startEngine(t, eng, rt)
			tg := vegeta.Target{Method: http.MethodPost, URL: "http://" + singleHost + "/bench", Body: bytes.Repeat([]byte("x"), postBodySize)}
			if err := checkAnswer(context.Background(), engineTraffic(b, tg, echoName), answerCheck{Path: "/bench", BodyLength: postBodySize, Forwarded: true}); err != nil {
				t.Error(err)
			}
		})
	}
}
