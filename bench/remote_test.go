package bench

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/bench/generators"
	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/launch"
)

func TestRemoteOptionsDefaultsAndErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		provider string
		r        RemoteOptions
		want     string
	}{
		"unknown provider":     {"cloud", RemoteOptions{}, `unknown provider "cloud"`},
		"existing no address":  {"existing", RemoteOptions{}, "--address 127.0.0.1:PORT"},
		"local generators":     {"local", RemoteOptions{Generators: 2}, "need a cluster with nodes"},
		"no generator address": {"existing", RemoteOptions{Address: "127.0.0.1:8080", Generators: 2}, "--generator-address"},
		"bad address":          {"existing", RemoteOptions{Address: "localhost"}, `--address "localhost" is not host:port`},
		"too many generators":  {"kind", RemoteOptions{Generators: 5000}, "within 1..1000"},
	} {
		if err := tc.r.defaults(tc.provider); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	var k RemoteOptions
	if err := k.defaults("kind"); err != nil {
		t.Fatal(err)
	}
	if k.Address != "127.0.0.1:80" || k.HTTPSAddress != "127.0.0.1:443" || k.Generators != 1 || k.GeneratorAddress != "ingresslab-controller.ingresslab-system.svc:80" ||
		k.KindName != "ingresslab" || k.GeneratorStartLead <= 0 || k.GeneratorImage == "" || !strings.Contains(k.EchoImage, "ingresslab-echo") {
		t.Fatalf("kind defaults: %+v", k)
	}
	o := Options{Provider: "existing", BinDir: "/x", Remote: RemoteOptions{Address: "127.0.0.1:8080"}}
	if err := o.defaults(); err != nil {
		t.Fatalf("bench --provider existing --address: %v", err)
	}
}

func remoteEnv(t *testing.T, generatorsN int) *Env {
	t.Helper()
	o := Options{Provider: "existing", BinDir: "/x", Remote: RemoteOptions{Address: "127.0.0.1:8080", Generators: generatorsN, GeneratorAddress: "ctrl.ingress.svc:80"}}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	e := &Env{Opts: o, Ctrl: &controllerProc{Controller: &launch.Controller{HTTPAddr: "127.0.0.1:8080"}}, remote: &remoteRun{}, published: map[string]*cluster.Backend{}}
	if generatorsN > 1 {
		e.remote.dist = &generators.Runner{}
	}
	spec, _ := cluster.BackendSpec{Namespace: Namespace, Name: echoName, Replicas: 1}.WithDefaults()
	e.published[echoName] = &cluster.Backend{Spec: spec}
	return e
}

func TestRemoteScenariosSayWhatNeedsTheLocalProvider(t *testing.T) {
	one, two := remoteEnv(t, 1), remoteEnv(t, 2)
	for _, name := range []string{"scale", "churn"} {
		if why := one.unsupported(name); !strings.Contains(why, "needs the local provider") {
			t.Errorf("%s on existing: %q", name, why)
		}
	}
	if why := one.unsupported("direct"); !strings.Contains(why, "--generators >= 2") {
		t.Errorf("direct with one in-process generator: %q", why)
	}
	if why := one.unsupported("tls"); !strings.Contains(why, "--https-address") {
		t.Errorf("tls without an HTTPS address: %q", why)
	}
	for _, name := range []string{"direct", "single-route", "many-routes", "no-keepalive", "propagation"} {
		if why := two.unsupported(name); why != "" {
			t.Errorf("%s with generators: %q", name, why)
		}
	}
	local := &Env{Opts: Options{Provider: "local"}}
	for _, n := range Names() {
		if why := local.unsupported(n); why != "" {
			t.Errorf("local %s: %q", n, why)
		}
	}
}

func TestGeneratorTargetsAreTheControllerAndTheRunsBackends(t *testing.T) {
	e := remoteEnv(t, 2)
	ctx := context.Background()
	proxied := singleTraffic("proxied", "controller", "127.0.0.1:8080", true, 0)
	direct := singleTraffic("direct", "direct", "", true, 0)
	if err := e.checkTraffic(ctx, proxied); err != nil {
		t.Errorf("controller traffic refused: %v", err)
	}
	if err := e.checkTraffic(ctx, direct); err != nil {
		t.Errorf("traffic to the run's echo backend refused: %v", err)
	}
	if d, _ := e.generatorDial(direct); d != "echo.ingresslab-bench.svc:80" {
		t.Errorf("direct generator target %q", d)
	}
	other := singleTraffic("other", "controller", "127.0.0.1:9999", true, 0)
	if err := e.checkTraffic(ctx, other); err == nil || !strings.Contains(err.Error(), "no in-cluster address") {
		t.Errorf("unknown traffic: %v", err)
	}
	delete(e.published, echoName) // not a backend of this run any more
	if err := e.checkTraffic(ctx, direct); !errors.Is(err, errNotAllowed) {
		t.Errorf("a Service the run did not publish: %v", err)
	}
	// In-process: the provider guard checks the dialled address.
	one := remoteEnv(t, 1)
	one.Backends = loopbackOnly{}
	if err := one.checkTraffic(ctx, proxied); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	if err := one.checkTraffic(ctx, singleTraffic("x", "controller", "10.1.2.3:80", true, 0)); !errors.Is(err, errNotAllowed) {
		t.Errorf("non-loopback address: %v", err)
	}
}

// loopbackOnly is the existing provider's traffic rule (loopback only),
// without a cluster behind it.
type loopbackOnly struct{ cluster.BackendPublisher }

func (loopbackOnly) CheckTarget(_ context.Context, a netip.Addr) error {
	if a.IsLoopback() {
		return nil
	}
	return errors.New("not loopback")
}
