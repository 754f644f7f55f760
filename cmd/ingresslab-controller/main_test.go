package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	for _, s := range []string{"Usage:", "--controller-name", `(default "ingresslab.dev/ingress-controller")`, "--leader-elect", "on in a cluster", "--shutdown-delay", "5s in a cluster",
		"--max-connections int", "(default 10000)", "--max-connections-per-client int", "0: no limit (the default", "--client-body-timeout duration", "--upstream-read-timeout duration", "(default 1m0s)", "--gc-headroom string", `(default "8Mi")`, "--adaptive-procs", "GOMAXPROCS environment variable turns this off (default true)"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("--help lacks %q", s)
		}
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"extra-arg"}, 2, `unexpected argument "extra-arg"`},
		{[]string{"--log-format", "xml"}, 2, "--log-format"},
		{[]string{"--kubeconfig", "/nonexistent", "--log-level", "error"}, 1, "--kubeconfig /nonexistent"},
		{[]string{"--kubeconfig", "/nonexistent", "--shutdown-delay", "-1s"}, 1, "--shutdown-delay -1s is negative"},
		{[]string{"--gc-headroom", "lots"}, 2, `--gc-headroom "lots": want a positive quantity`},
		{[]string{"--gc-headroom", "-1Mi"}, 2, `--gc-headroom "-1Mi"`},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &out, &errb)
		lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
		if code != c.code || len(lines) != 1 || !strings.HasPrefix(lines[0], "ingresslab-controller: ") || !strings.Contains(lines[0], c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}
