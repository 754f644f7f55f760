package dataplane

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/controller/metrics"
)

// TestMalformedClientChunkIs400: a chunked request body that the client
// framed wrongly (a chunk size line that is not hex, a chunk not followed
// by CRLF) is the client's error: answered 400, logged as a client error
// and not counted as an upstream error. Fast path on and off (a body
// always takes the ReverseProxy path) and with the ClientBodyTimeout wrap
// on and off.
func TestMalformedClientChunkIs400(t *testing.T) {
	rec := &pathRecorder{}
	addr, _ := countingUpstream(t, rec.handler)
	for name, body := range map[string]string{
		"size":     "zz\r\nhello\r\n0\r\n\r\n",
		"no CRLF":  "5\r\nhelloXX0\r\n\r\n",
		"size 2nd": "5\r\nhello\r\n-1\r\n\r\n",
	} {
		for _, o := range []Options{{}, {DisableFastPath: true}, {ClientBodyTimeout: -1}} {
			var buf lockedBuffer
			o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			o.Metrics = metrics.New()
			s := startServer(t, o, singleRoute(t, addr))
			resp, got := rawExchange(t, s.HTTPAddr(), "POST /upload HTTP/1.1\r\nHost: f.example\r\n"+
				"Transfer-Encoding: chunked\r\n\r\n"+body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s (fast off %v, body timeout %v): status %d (%q), want 400",
					name, o.DisableFastPath, o.ClientBodyTimeout, resp.StatusCode, got)
			}
			if v := scrape(t, o.Metrics, `ingresslab_upstream_errors_total{reason="other"}`); v != "" {
				t.Errorf("%s: counted as an upstream error (%s)", name, v)
			}
			logs := buf.String()
			if strings.Contains(logs, "upstream error") || !strings.Contains(logs, "client request body") {
				t.Errorf("%s: want a client error logged, not an upstream error; log:\n%s", name, logs)
			}
		}
	}
}
