package dataplane

import (
	"net/http"
	"strings"
	"testing"
)

// TestQueryForwardedVerbatim: the query string reaches the backend byte
// for byte, also with ';', a bad %-escape or more than 10000 parameters
// (which httputil.ReverseProxy would re-encode or drop).
func TestQueryForwardedVerbatim(t *testing.T) {
	up := newEcho(t, "up")
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, up.addr()))
		c := clientTo(t, s.HTTPAddr(), nil)
		for _, q := range []string{"a;b=1&c=2", "x=%zz&y=1", "p=%", strings.Repeat("k=v&", 10001) + "end"} {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				resp, body := do(t, c, method, "http://f.example/q?"+q, strings.NewReader("b"), nil)
				e := decodeEcho(t, body)
				if resp.StatusCode != 200 || e.Query != q {
					t.Errorf("fast=%v %s: query %.40q arrived as %.40q", fast, method, q, e.Query)
				}
			}
		}
	}
}
