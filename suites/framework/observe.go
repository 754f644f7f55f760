package framework

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What an observation keeps of a request and its answer, and how volatile
// values are normalised, so that the observations of two runs (of two
// controllers, or of one controller on two days) are equal exactly when the
// behaviour a migrating user sees is equal. Every field is a string in a
// flat map; a field a response lacks is absent.
//
//	status                    the status code, or "error" for a transport failure
//	error                     the failure's class: connection refused, connection reset,
//	                          connection closed, timeout, tls handshake failure, other error
//	body                      echo (the echo backend's JSON), redirect (a 3xx not from the
//	                          backend), controller-page (a non-empty answer >= 400 not from
//	                          the backend), empty, other
//	proto                     HTTP/1.1 or HTTP/2.0 (HTTPS requests only)
//	tls.certificate           secret:<name> when the certificate is one a spec stored
//	                          (TLSSecret), else other
//	timing                    for requests that ask the backend to wait (delay=), 408, 504
//	                          and timeouts: "under 0.5s" or the time to the nearest half
//	                          second ("~1s", "~1.5s")
//	response.header.<name>    ResponseHeaders and every Access-Control-* and X-* header;
//	                          Content-Type as its media type; Set-Cookie as the cookie's
//	                          name and attributes without its value or Expires date
//	backend                   the Service that answered (echo backend)
//	upstream.method|path|host what the backend received (path with the query)
//	upstream.tls              yes when the backend was reached over TLS
//	upstream.body-bytes       the body bytes the backend read (requests with a body)
//	upstream.header.<name>    UpstreamHeaders, X-Auth-* and every header the request sent
//
// Normalisation (NormalisationRules) replaces the spec's namespace (and so
// its host names) with {ns}, the controller's listening ports with
// {http-port} and {https-port}, backend addresses (198.18.0.0/15) with
// {backend-ip}, UUIDs with {uuid}, hex strings of 16 or more digits with
// {hex}, HTTP dates with {date}, request and trace IDs (IDHeaders) with
// {id}, and generated cookie values with {value}.
// Observations of repeated requests in one check are aggregated: each
// field's distinct values joined with " | ", plus "requests" (how many)
// and "endpoints" (how many echo pods answered).

// ResponseHeaders are the response headers observations keep besides
// Access-Control-* and X-*.
var ResponseHeaders = []string{"Location", "Content-Type", "WWW-Authenticate", "Set-Cookie", "Strict-Transport-Security", "Retry-After"}

// UpstreamHeaders are the headers the backend received that observations
// keep, besides X-Auth-* and the headers the request itself sent.
var UpstreamHeaders = []string{
	"Authorization", "Cookie", "Forwarded", "Via",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Proto", "X-Forwarded-Scheme", "X-Forwarded-Uri",
	"X-Original-Forwarded-For", "X-Original-Method", "X-Original-Uri", "X-Original-Url", "X-Real-Ip", "X-Request-Id", "X-Scheme",
	// Client certificate authentication (auth-tls-*); Ssl-Client-Cert
	// differs in every run (a new key), so the specs check it themselves.
	"Ssl-Client-Verify", "Ssl-Client-Subject-Dn", "Ssl-Client-Issuer-Dn",
}

// IDHeaders carry per-request identifiers: observations keep only that
// they were present ("{id}").
var IDHeaders = []string{"X-Request-Id", "X-Correlation-Id", "X-Amzn-Trace-Id", "Traceparent", "Tracestate", "X-B3-Traceid", "X-B3-Spanid"}

// NormalisationRules describe what a recording normalises (written into its
// index).
var NormalisationRules = []string{
	"the spec's namespace, in host names, paths and headers -> {ns}",
	"the controller's HTTP and HTTPS listening ports -> {http-port}, {https-port}",
	"backend endpoint addresses (198.18.0.0/15) -> {backend-ip}",
	"UUIDs -> {uuid}; hex strings of 16 or more digits (hashes) -> {hex}; HTTP dates -> {date}",
	"request and trace IDs (" + strings.Join(IDHeaders, ", ") + ") -> {id}",
	"cookie values other than short words -> {value}; Set-Cookie keeps the name and attributes, not the value or the Expires date",
	"certificates -> secret:<name> of the spec's Secret, or other",
	"response bodies -> a class (echo, redirect, controller-page, empty, other); Content-Type -> its media type",
	"durations -> a class for requests that wait (delay=), 408, 504 and timeouts: under 0.5s or the nearest half second",
	"which endpoint (pod) answered -> dropped; repeated requests count the distinct endpoints",
	"response headers: only " + strings.Join(ResponseHeaders, ", ") + ", Access-Control-* and X-*; Date, Server, Content-Length and the rest are dropped",
	"headers the backend saw: only " + strings.Join(UpstreamHeaders, ", ") + ", X-Auth-* and the headers the request sent",
}

var (
	backendIPRE = regexp.MustCompile(`\b198\.1[89]\.\d{1,3}\.\d{1,3}\b`)
	uuidRE      = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	hexRE       = regexp.MustCompile(`\b[0-9a-fA-F]{16,}\b`)
	dateRE      = regexp.MustCompile(`\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2}[ -][A-Z][a-z]{2}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT\b`)
	wordRE      = regexp.MustCompile(`^[A-Za-z_-]{1,16}$`)
)

// normaliser replaces one run's volatile values with placeholders.
type normaliser struct {
	namespace string
	ports     []portName
	certs     map[[32]byte]string
}

type portName struct {
	re   *regexp.Regexp
	name string
}

// newNormaliser normalises for a spec in namespace talking to a controller
// at httpAddr and httpsAddr; certs names known certificates.
func newNormaliser(namespace, httpAddr, httpsAddr string, certs map[[32]byte]string) *normaliser {
	n := &normaliser{namespace: namespace, certs: certs}
	for _, a := range []struct{ addr, name string }{{httpAddr, "{http-port}"}, {httpsAddr, "{https-port}"}} {
		if _, port, err := net.SplitHostPort(a.addr); err == nil && port != "" {
			n.ports = append(n.ports, portName{re: regexp.MustCompile(`\b` + regexp.QuoteMeta(port) + `\b`), name: a.name})
		}
	}
	return n
}

// text normalises a value.
func (n *normaliser) text(s string) string {
	if n.namespace != "" {
		s = strings.ReplaceAll(s, n.namespace, "{ns}")
	}
	s = backendIPRE.ReplaceAllString(s, "{backend-ip}")
	for _, p := range n.ports {
		s = p.re.ReplaceAllString(s, p.name)
	}
	s = dateRE.ReplaceAllString(s, "{date}")
	s = uuidRE.ReplaceAllString(s, "{uuid}")
	return hexRE.ReplaceAllString(s, "{hex}")
}

// cookies normalises a Cookie header: values other than short words become
// {value}.
func (n *normaliser) cookies(h string) string {
	parts := strings.Split(h, ";")
	for i, p := range parts {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && !wordRE.MatchString(value) {
			value = "{value}"
		}
		if ok {
			parts[i] = name + "=" + value
		} else {
			parts[i] = name
		}
	}
	return n.text(strings.Join(parts, "; "))
}

// setCookie normalises one Set-Cookie value: the name, then the attributes
// sorted, without the value and the Expires date.
func (n *normaliser) setCookie(h string) string {
	parts := strings.Split(h, ";")
	name, _, _ := strings.Cut(strings.TrimSpace(parts[0]), "=")
	var attrs []string
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if k == "" {
			continue
		}
		k = canonicalAttr(k)
		if ok && k != "Expires" {
			k += "=" + n.text(v)
		}
		attrs = append(attrs, k)
	}
	slices.Sort(attrs)
	return strings.Join(append([]string{name}, attrs...), "; ")
}

func canonicalAttr(k string) string {
	switch strings.ToLower(k) {
	case "path":
		return "Path"
	case "domain":
		return "Domain"
	case "max-age":
		return "Max-Age"
	case "expires":
		return "Expires"
	case "secure":
		return "Secure"
	case "httponly":
		return "HttpOnly"
	case "samesite":
		return "SameSite"
	case "partitioned":
		return "Partitioned"
	}
	return k
}

// observed is one normalised request and answer.
type observed struct {
	// signature is the normalised request (an observation's key before the
	// occurrence counter).
	signature string
	fields    map[string]string
	// pod is the echo pod that answered ("" if none); counted, not kept.
	pod string
}

// signature normalises a request: method, URL, SNI when it differs from
// the host, h2, headers sorted, and the body size.
func (n *normaliser) signature(r Request) string {
	scheme := "http"
	if r.HTTPS {
		scheme = "https"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s://%s%s", r.method(), scheme, n.text(r.Host), n.text(r.path()))
	if r.HTTPS {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if r.SNI != "" && r.SNI != host {
			fmt.Fprintf(&b, " sni=%s", n.text(r.SNI))
		}
	}
	if r.HTTP2 {
		b.WriteString(" h2")
	}
	if c := r.ClientCert; c != nil && c.Leaf != nil {
		fmt.Fprintf(&b, " client-cert=%s", n.text(c.Leaf.Subject.String()))
	}
	if len(r.Headers) > 0 {
		hs := make([]string, 0, len(r.Headers))
		for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
			v := r.Headers[k]
			if strings.EqualFold(k, "Cookie") {
				v = n.cookies(v)
			} else {
				v = n.text(v)
			}
			hs = append(hs, http.CanonicalHeaderKey(k)+": "+v)
		}
		fmt.Fprintf(&b, " [%s]", strings.Join(hs, "; "))
	}
	if r.Body != nil {
		fmt.Fprintf(&b, " body=%dB", len(r.Body))
	}
	return b.String()
}

// observe normalises one response.
func (n *normaliser) observe(r Response) observed {
	o := observed{signature: n.signature(r.Request), fields: map[string]string{}}
	f := o.fields
	if r.Err != nil {
		f["status"], f["error"] = "error", errorClass(r.Err)
	} else {
		f["status"] = strconv.Itoa(r.StatusCode)
		f["body"] = bodyClass(r)
		if r.Request.HTTPS {
			f["proto"] = r.Proto
		}
		n.responseHeaders(r.Header, f)
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		f["tls.certificate"] = "other"
		if name, ok := n.certs[sha256.Sum256(r.TLS.PeerCertificates[0].Raw)]; ok {
			f["tls.certificate"] = "secret:" + name
		}
	}
	if timed(r) {
		f["timing"] = timingClass(r.Elapsed)
	}
	if e := r.Echo; e != nil {
		o.pod = e.Pod
		f["backend"] = e.Service
		f["upstream.method"] = e.Method
		f["upstream.path"] = n.text(e.Path)
		f["upstream.host"] = n.text(e.Host)
		f["upstream.tls"] = "no"
		if e.TLS != nil {
			f["upstream.tls"] = "yes"
		}
		if r.Request.Body != nil {
			f["upstream.body-bytes"] = strconv.FormatInt(e.BodyLength, 10)
		}
		n.upstreamHeaders(e.Headers, r.Request.Headers, f)
	}
	return o
}

func (n *normaliser) responseHeaders(h http.Header, f map[string]string) {
	for name, values := range h {
		canon := http.CanonicalHeaderKey(name)
		if !listed(ResponseHeaders, canon) && !strings.HasPrefix(canon, "Access-Control-") && !strings.HasPrefix(canon, "X-") {
			continue
		}
		out := make([]string, 0, len(values))
		for _, v := range values {
			switch canon {
			case "Content-Type":
				if mt, _, err := mime.ParseMediaType(v); err == nil {
					v = mt
				}
			case "Set-Cookie":
				v = n.setCookie(v)
			default:
				if listed(IDHeaders, canon) {
					v = "{id}"
					break
				}
				v = n.text(v)
			}
			out = append(out, v)
		}
		if canon == "Set-Cookie" {
			slices.Sort(out)
		}
		f["response.header."+strings.ToLower(canon)] = strings.Join(out, ", ")
	}
}

func (n *normaliser) upstreamHeaders(h map[string][]string, sent map[string]string, f map[string]string) {
	for name, values := range h {
		canon := http.CanonicalHeaderKey(name)
		keep := listed(UpstreamHeaders, canon) || strings.HasPrefix(canon, "X-Auth-")
		for k := range sent {
			keep = keep || strings.EqualFold(k, canon)
		}
		if !keep {
			continue
		}
		out := make([]string, 0, len(values))
		for _, v := range values {
			switch {
			case canon == "Cookie":
				v = n.cookies(v)
			case listed(IDHeaders, canon):
				v = "{id}"
			default:
				v = n.text(v)
			}
			out = append(out, v)
		}
		f["upstream.header."+strings.ToLower(canon)] = strings.Join(out, ", ")
	}
}

// listed says whether names holds name, ignoring case.
func listed(names []string, name string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
}

func bodyClass(r Response) string {
	switch {
	case r.Echo != nil:
		return "echo"
	case r.StatusCode/100 == 3:
		return "redirect"
	case len(r.Body) == 0:
		return "empty"
	case r.StatusCode >= 400:
		return "controller-page"
	}
	return "other"
}

// timed says whether an answer's duration is part of the behaviour: the
// request asked the backend to wait, or the answer is a timeout.
func timed(r Response) bool {
	if strings.Contains(r.Request.path(), "delay=") {
		return true
	}
	if r.Err != nil {
		return errorClass(r.Err) == "timeout"
	}
	return r.StatusCode == http.StatusRequestTimeout || r.StatusCode == http.StatusGatewayTimeout
}

// timingClass is "under 0.5s" or the duration to the nearest half second.
func timingClass(d time.Duration) string {
	if d < 500*time.Millisecond {
		return "under 0.5s"
	}
	return "~" + strconv.FormatFloat(math.Round(d.Seconds()*2)/2, 'f', -1, 64) + "s"
}

func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "):
		return "tls handshake failure"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "other error"
}

// aggregate joins the observations of one request signature in one check:
// a single answer is kept as is; several give each field's distinct values
// (sorted, joined with " | ", Absent where some answers lack it), the
// number of requests and of distinct echo pods.
func aggregate(items []observed) map[string]string {
	if len(items) == 1 {
		return items[0].fields
	}
	names := map[string]bool{}
	pods := map[string]bool{}
	for _, it := range items {
		for k := range it.fields {
			names[k] = true
		}
		if it.pod != "" {
			pods[it.pod] = true
		}
	}
	out := make(map[string]string, len(names)+2)
	for name := range names {
		vals := map[string]bool{}
		for _, it := range items {
			v, ok := it.fields[name]
			if !ok {
				v = "(absent)"
			}
			vals[v] = true
		}
		out[name] = strings.Join(slices.Sorted(maps.Keys(vals)), " | ")
	}
	out["requests"] = strconv.Itoa(len(items))
	if len(pods) > 0 {
		out["endpoints"] = strconv.Itoa(len(pods))
	}
	return out
}
