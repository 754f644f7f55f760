package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/bench/generators"
	"github.com/ingresslab/ingresslab/echoserver"
)

// TestBenchAgentCommand runs `ingresslab bench-agent` as a generator Pod
// would (config and index from the environment) against a loopback echo
// server, and reads its output as the harness reads a Pod log.
func TestBenchAgentCommand(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := echoserver.New(echoserver.Options{Listener: l, Identity: echoserver.Identity{Namespace: "ns", Service: "echo", Pod: "echo-0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := agent.Config{Series: "proxied", Dial: l.Addr().String(), KeepAlive: true, Generators: 2, Start: time.Now().Add(100 * time.Millisecond),
		Targets: []agent.Target{{Method: "GET", URL: "http://single.bench.test/", Expect: "echo"}},
		Windows: []agent.Window{{Phase: "fraction", RateRPS: 100, DurationMillis: 300}}}
	b, _ := json.Marshal(c)
	t.Setenv(generators.ConfigEnv, string(b))
	t.Setenv(generators.IndexEnv, "1")
	t.Setenv(generators.PodEnv, "bench-gen-1-1-xyz")
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"bench-agent"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("bench-agent: %v\n%s", err, errOut.String())
	}
	rs, err := agent.Parse(&out)
	if err != nil || len(rs) != 1 {
		t.Fatalf("%d results (%v) in %q", len(rs), err, out.String())
	}
	if r := rs[0]; r.Generator != 1 || r.Pod != "bench-gen-1-1-xyz" || r.OfferedRPS != 50 || r.OK != r.Requests || r.Requests < 10 {
		t.Fatalf("result %+v", r)
	}
	if !strings.Contains(errOut.String(), "generator 1 of 2") {
		t.Errorf("stderr: %q", errOut.String())
	}

	for name, tc := range map[string]struct {
		env, index string
		args       []string
		want       string
	}{
		"no config": {"", "0", nil, "no config: set $" + generators.ConfigEnv},
		"bad json":  {"{", "0", nil, "agent config"},
		"no index":  {string(b), "", nil, "no index"},
		"file":      {"", "", []string{"--config", filepath.Join(t.TempDir(), "missing.json"), "--index", "0"}, "missing.json"},
	} {
		t.Setenv(generators.ConfigEnv, tc.env)
		t.Setenv(generators.IndexEnv, tc.index)
		cmd := newRootCommand()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"bench-agent"}, tc.args...))
		if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
