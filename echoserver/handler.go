package echoserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// HealthPath answers 200 "ok" while the server is healthy, 503 otherwise.
const HealthPath = "/-/healthz"

// SetHeaderHeader is the request header that asks for response headers:
// "K:V,K2:V2".
const SetHeaderHeader = "X-Echo-Set-Header"

const statusPathPrefix = "/status/"

// controls are the parsed test controls of a request.
type controls struct {
	status     int           // 0: 200
	delay      time.Duration // wait before answering
	stream     int           // 0: plain answer; else number of chunks
	interval   time.Duration // between chunks
	setHeaders [][2]string   // from X-Echo-Set-Header
}

// controlError is a client mistake in a control; it becomes a 400.
type controlError struct{ msg string }

func (e *controlError) Error() string { return e.msg }

func badControl(format string, args ...any) error {
	return &controlError{msg: fmt.Sprintf(format, args...)}
}

// parseControls reads the controls of r. query is r's parsed query.
func (s *Server) parseControls(r *http.Request, query url.Values) (controls, error) {
	var c controls
	var err error
	if rest, ok := strings.CutPrefix(r.URL.Path, statusPathPrefix); ok {
		if c.status, err = parseStatus(rest); err != nil {
			return c, badControl("path %q: %v", r.URL.Path, err)
		}
	}
	if query != nil {
		if v, ok := query["status"]; ok {
			if c.status, err = parseStatus(v[0]); err != nil {
				return c, badControl("query parameter status: %v", err)
			}
		}
		if v, ok := query["delay"]; ok {
			if c.delay, err = s.parseDuration(v[0]); err != nil {
				return c, badControl("query parameter delay: %v", err)
			}
		}
		if v, ok := query["stream"]; ok {
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > s.opts.MaxStreamChunks {
				return c, badControl("query parameter stream: %q is not a chunk count in 1..%d", v[0], s.opts.MaxStreamChunks)
			}
			c.stream = n
		}
		if v, ok := query["interval"]; ok {
			if c.stream == 0 {
				return c, badControl("query parameter interval: only valid together with stream=N")
			}
			if c.interval, err = s.parseDuration(v[0]); err != nil {
				return c, badControl("query parameter interval: %v", err)
			}
			if total := time.Duration(c.stream-1) * c.interval; total > s.opts.MaxDelay {
				return c, badControl("query parameters stream and interval: the stream would last %v, more than the maximum %v", total, s.opts.MaxDelay)
			}
		}
	}
	if values := r.Header[SetHeaderHeader]; len(values) > 0 {
		if c.setHeaders, err = parseSetHeaders(values); err != nil {
			return c, badControl("header %s: %v", SetHeaderHeader, err)
		}
	}
	return c, nil
}

func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("%q is not a status code in 100..599", s)
	}
	if code == http.StatusSwitchingProtocols {
		return 0, fmt.Errorf("status 101 needs a real upgrade; send a WebSocket upgrade request instead")
	}
	return code, nil
}

func (s *Server) parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a Go duration such as 250ms or 2s", v)
	}
	if d > s.opts.MaxDelay {
		return 0, fmt.Errorf("%v is more than the maximum %v", d, s.opts.MaxDelay)
	}
	return d, nil
}

// parseSetHeaders parses X-Echo-Set-Header values, "K:V,K2:V2" each.
func parseSetHeaders(values []string) ([][2]string, error) {
	var out [][2]string
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			name, value, ok := strings.Cut(entry, ":")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || !httpguts.ValidHeaderFieldName(name) {
				return nil, fmt.Errorf("entry %q: want NAME:VALUE with a valid header name", entry)
			}
			if !httpguts.ValidHeaderFieldValue(value) {
				return nil, fmt.Errorf("entry %q: invalid header value", entry)
			}
			switch http.CanonicalHeaderKey(name) {
			case "Content-Length", "Transfer-Encoding":
				return nil, fmt.Errorf("entry %q: %s cannot be set", entry, name)
			}
			out = append(out, [2]string{name, value})
		}
	}
	return out, nil
}

// applySetHeaders sets the asked-for headers in h the way echo-basic does:
// the name's case is kept and a repeated name is joined into one value. An
// asked-for header replaces one the server set (e.g. Content-Type).
func applySetHeaders(h http.Header, set [][2]string) {
	for i, kv := range set {
		if cur := h[kv[0]]; len(cur) > 0 && setBefore(set[:i], kv[0]) {
			cur[0] += "," + kv[1]
			continue
		}
		if canon := http.CanonicalHeaderKey(kv[0]); canon != kv[0] {
			delete(h, canon)
		}
		h[kv[0]] = []string{kv[1]}
	}
}

func setBefore(set [][2]string, name string) bool {
	for _, kv := range set {
		if kv[0] == name {
			return true
		}
	}
	return false
}

// ServeHTTP answers r; see the package documentation for the controls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	if s.opts.LogRequests {
		start = time.Now()
	}
	status := s.serve(w, r)
	if s.opts.LogRequests {
		s.opts.Logger.Info("request", "method", r.Method, "uri", r.RequestURI, "host", r.Host,
			"proto", r.Proto, "remote", r.RemoteAddr, "status", status, "duration", time.Since(start))
	}
}

// serve answers r and returns the status it sent (0 when none was).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) int {
	if r.URL.Path == HealthPath {
		return s.serveHealth(w)
	}
	if f := s.Fault(); f != FaultNone {
		return s.serveFault(w, r, f)
	}
	if isWebSocketUpgrade(r) {
		return s.serveWebSocket(w, r)
	}
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	ctl, err := s.parseControls(r, query)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err)
	}
	n, _ := io.Copy(io.Discard, r.Body)
	resp := newResponse(r, &s.opts.Identity, query, n)

	if ctl.delay > 0 && !wait(r, ctl.delay) {
		return 0
	}
	h := w.Header()
	h["X-Content-Type-Options"] = []string{"nosniff"}
	status := ctl.status
	if status == 0 {
		status = http.StatusOK
	} else if status < 200 {
		w.WriteHeader(status) // informational, followed by the echo
		status = http.StatusOK
	}
	if ctl.stream > 0 {
		h["Content-Type"] = []string{"application/x-ndjson"}
		applySetHeaders(h, ctl.setHeaders)
		return s.serveStream(w, r, status, &ctl, &resp)
	}
	buf, err := encode(&resp)
	if err != nil {
		return writeError(w, http.StatusInternalServerError, fmt.Errorf("echoserver: encode response: %w", err))
	}
	defer bufPool.Put(buf)
	body := buf.Bytes()
	h["Content-Type"] = []string{"application/json"}
	if status != http.StatusNoContent && status != http.StatusNotModified {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	applySetHeaders(h, ctl.setHeaders)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// serveStream writes ctl.stream chunks, flushing each.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, status int, ctl *controls, resp *Response) int {
	rc := http.NewResponseController(w)
	w.WriteHeader(status)
	chunk := Chunk{Count: ctl.stream, Response: *resp}
	for i := range ctl.stream {
		if i > 0 && ctl.interval > 0 && !wait(r, ctl.interval) {
			break
		}
		chunk.Index, chunk.SentAt = i, time.Now()
		buf, err := encode(&chunk)
		if err != nil {
			break
		}
		_, err = w.Write(buf.Bytes())
		bufPool.Put(buf)
		if err != nil {
			break
		}
		if err := rc.Flush(); err != nil {
			break
		}
	}
	return status
}

// wait waits d and reports whether the client is still there.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) serveHealth(w http.ResponseWriter) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.healthy.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "unhealthy\n")
		return http.StatusServiceUnavailable
	}
	_, _ = io.WriteString(w, "ok\n")
	return http.StatusOK
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode writes v as one line of JSON, without HTML escaping, into a buffer
// from bufPool; the caller puts the buffer back.
func encode(v any) (*bytes.Buffer, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		bufPool.Put(buf)
		return nil, err
	}
	return buf, nil
}

func writeError(w http.ResponseWriter, status int, err error) int {
	body, _ := json.Marshal(ErrorResponse{Error: err.Error()})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return status
}
