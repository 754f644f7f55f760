package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/dataplane"
	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// The data plane is the controller's TableSource.
var _ TableSource = (*dataplane.Server)(nil)

type tables struct{ p atomic.Pointer[routing.Table] }

func (t *tables) Table() *routing.Table { return t.p.Load() }

type warnings []string

func (w warnings) Warnings() any { return []string(w) }

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestAdminEndpoints(t *testing.T) {
	src := &tables{}
	var shuttingDown atomic.Bool
	m := metrics.New()
	s, err := New(Options{
		Addr:     "127.0.0.1:0",
		Tables:   src,
		Ready:    func() bool { return src.Table() != nil && !shuttingDown.Load() },
		Warnings: warnings{"ns/a: spec.rules[0].host: invalid"},
		Metrics:  m.Handler(),
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	base := "http://" + s.Addr()

	check := func(path string, wantCode int, wantBody string) string {
		t.Helper()
		code, _, body := get(t, base+path)
		if code != wantCode || !strings.Contains(body, wantBody) {
			t.Errorf("GET %s: %d %q, want %d containing %q", path, code, body, wantCode, wantBody)
		}
		return body
	}

	// Before the first table.
	check("/healthz", 200, "ok")
	check("/readyz", 503, "not ready")
	check("/generation", 200, "0\n")
	check("/debug/table", 503, "no routing table")

	b := routing.NewBuilder()
	be := &routing.Backend{Key: "ns/svc:80", Namespace: "ns", Service: "svc", Port: "80",
		Endpoints: []routing.Endpoint{{Address: "127.0.0.1:9"}}}
	for _, p := range []string{"/a", "/b"} {
		if err := b.AddRoute(&routing.Route{Ingress: routing.ObjectRef{Namespace: "ns", Name: "ing"},
			Host: "foo.example", Path: p, PathType: routing.PathPrefix, Backend: be}); err != nil {
			t.Fatal(err)
		}
	}
	src.p.Store(b.Build(42))
	m.SetGeneration(42)

	check("/readyz", 200, "ready")
	if body := check("/generation", 200, "42"); body != "42\n" {
		t.Errorf("/generation = %q, want %q", body, "42\n")
	}
	var info GenerationInfo
	if err := json.Unmarshal([]byte(check("/generation?format=json", 200, "")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Generation != 42 || !info.Ready || !info.Published || info.Stats.Routes != 2 ||
		info.Stats.Hosts != 1 || info.Stats.Backends != 1 {
		t.Errorf("/generation?format=json = %+v", info)
	}
	check("/generation?format=xml", 400, "unknown format")

	var dump routing.Dump
	if err := json.Unmarshal([]byte(check("/debug/table", 200, "")), &dump); err != nil {
		t.Fatal(err)
	}
	if dump.Generation != 42 || len(dump.Hosts) != 1 || dump.Hosts[0].Host != "foo.example" ||
		len(dump.Hosts[0].Routes) != 2 || dump.Hosts[0].Routes[0].Backend.Key != "ns/svc:80" {
		t.Errorf("/debug/table = %+v", dump)
	}
	var ws []string
	if err := json.Unmarshal([]byte(check("/warnings", 200, "")), &ws); err != nil || len(ws) != 1 {
		t.Errorf("/warnings = %v, %v", ws, err)
	}
	check("/metrics", 200, "ingresslab_table_generation 42")
	check("/debug/pprof/", 404, "")

	shuttingDown.Store(true)
	check("/readyz", 503, "not ready")
	check("/healthz", 200, "ok")

	code, _, _ := func() (int, string, string) {
		resp, err := http.Post(base+"/generation", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, "", ""
	}()
	if code != http.StatusMethodNotAllowed {
		t.Errorf("POST /generation: %d, want 405", code)
	}
}

func TestAdminDefaults(t *testing.T) {
	s, err := New(Options{Addr: "127.0.0.1:0", Pprof: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	for path, want := range map[string]int{
		"/readyz": 503, "/generation": 200, "/warnings": 200, "/metrics": 404, "/debug/pprof/": 200,
	} {
		if code, _, body := get(t, base+path); code != want {
			t.Errorf("GET %s: %d %q, want %d", path, code, body, want)
		}
	}
	if _, ct, body := get(t, base+"/warnings"); ct != "application/json" || strings.TrimSpace(body) != "[]" {
		t.Errorf("/warnings without a source = %q (%s), want []", body, ct)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("admin server still answers after Shutdown")
	}
}

func TestAdminDefaultAddrFieldError(t *testing.T) {
	s, err := New(Options{Addr: "127.0.0.1:notaport", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Options.Addr") {
		t.Errorf("Start with a bad address: %v, want an error naming Options.Addr", err)
	}
}
