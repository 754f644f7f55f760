package dataplane

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestResponseHeaderSizeLimit: an upstream response head larger than
// Options.MaxResponseHeaderBytes (default 1 MiB) is answered 502 on every
// path instead of being streamed to the client; a large one within the
// limit passes.
func TestResponseHeaderSizeLimit(t *testing.T) {
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		size := 512 << 10
		if r.URL.Path == "/huge" {
			size = 2 << 20
		}
		w.Header().Set("X-Big", strings.Repeat("b", size))
		io.WriteString(w, "body")
	})
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, addr))
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := do(t, c, method, "http://f.example/huge", strings.NewReader("x"), nil)
			if resp.StatusCode != http.StatusBadGateway || len(resp.Header.Get("X-Big")) > 0 {
				t.Errorf("fast=%v %s /huge: %d (%d header bytes) %.40q, want 502", fast, method, resp.StatusCode,
					len(resp.Header.Get("X-Big")), body)
			}
			resp, body = do(t, c, method, "http://f.example/large", strings.NewReader("x"), nil)
			if resp.StatusCode != http.StatusOK || body != "body" || len(resp.Header.Get("X-Big")) != 512<<10 {
				t.Errorf("fast=%v %s /large: %d %q, want 200", fast, method, resp.StatusCode, body)
			}
		}
	}
}
