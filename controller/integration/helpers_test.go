package integration_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/echoserver"
)

// Polling.
const (
	pollEvery   = 100 * time.Millisecond
	consecutive = 3
	// convergeTimeout bounds how long a change may take to show in traffic.
	convergeTimeout = 30 * time.Second
)

// eventually polls check every 100ms until it succeeds 3 times in a row,
// and fails the test with the last error when timeout passes first.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	eventuallyWithin(t, convergeTimeout, what, check)
}

func eventuallyWithin(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	gomega.NewWithT(t).Eventually(check).WithTimeout(timeout).WithPolling(pollEvery).
		MustPassRepeatedly(consecutive).Should(gomega.Succeed(), what)
}

// target is where a controller listens.
type target struct{ http, https, admin string }

func targetOf(c *app.Controller) target {
	return target{http: c.HTTPAddr(), https: c.HTTPSAddr(), admin: c.AdminAddr()}
}

// reply is what a request through the controller got.
type reply struct {
	code   int
	header http.Header
	body   string
	echo   *echoserver.Response // nil unless the body is an echo response
	// peer is the certificate the server presented (HTTPS only).
	peer *x509.Certificate
}

func (r reply) String() string {
	s := fmt.Sprintf("%d", r.code)
	if r.echo != nil {
		s += fmt.Sprintf(" from %s/%s pod %s port %s", r.echo.Namespace, r.echo.Service, r.echo.Pod, r.echo.HTTPPort)
	} else if r.body != "" {
		s += " " + strings.TrimSpace(r.body)
	}
	if loc := r.header.Get("Location"); loc != "" {
		s += " Location " + loc
	}
	return s
}

// dialTo returns a DialContext that always connects to addr (the
// controller), whatever the URL says, so the URL keeps the Host.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// get sends GET http://host+path to the controller's HTTP listener.
func (tg target) get(host, path string) (reply, error) {
	tr := &http.Transport{DialContext: dialTo(tg.http), DisableKeepAlives: true}
	return do(tr, "http://"+host+path, nil)
}

// getTLS sends GET https://host+path with TLS server name sni to the
// controller's HTTPS listener; the certificate is recorded, not verified.
// An empty sni sends none (the URL names the listener's IP, the Host header
// names host).
func (tg target) getTLS(sni, host, path string) (reply, error) {
	tr := &http.Transport{
		DialContext:       dialTo(tg.https),
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{ServerName: sni, InsecureSkipVerify: true}, //nolint:gosec // the test checks the certificate itself
	}
	if sni == "" {
		return do(tr, "https://"+tg.https+path, http.Header{"Host": {host}})
	}
	return do(tr, "https://"+host+path, nil)
}

// do sends a GET; a "Host" entry of hdr sets the request's Host.
func do(tr *http.Transport, url string, hdr http.Header) (reply, error) {
	defer tr.CloseIdleConnections()
	c := &http.Client{
		Transport:     tr,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return reply{}, err
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v[0]
			continue
		}
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{code: resp.StatusCode, header: resp.Header, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e echoserver.Response
		if json.Unmarshal(b, &e) == nil && e.Pod != "" {
			r.echo = &e
		}
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.peer = resp.TLS.PeerCertificates[0]
	}
	return r, nil
}

// want describes an expected answer.
type want struct {
	code      int    // default 200
	namespace string // echo checks when service != ""
	service   string
	pod       string // when set
	port      string // echo httpPort, when set
}

func (w want) check(r reply) error {
	code := w.code
	if code == 0 {
		code = http.StatusOK
	}
	if r.code != code {
		return fmt.Errorf("got %s, want status %d", r, code)
	}
	if w.service == "" {
		return nil
	}
	if r.echo == nil {
		return fmt.Errorf("got %s, want an echo response from %s/%s", r, w.namespace, w.service)
	}
	if r.echo.Namespace != w.namespace || r.echo.Service != w.service ||
		w.pod != "" && r.echo.Pod != w.pod || w.port != "" && r.echo.HTTPPort != w.port {
		return fmt.Errorf("got %s, want %s/%s pod %q port %q", r, w.namespace, w.service, w.pod, w.port)
	}
	return nil
}

// expectHTTP waits until GET http://host+path answers as w, 3 times in a row.
func (tg target) expectHTTP(t *testing.T, host, path string, w want) reply {
	t.Helper()
	var last reply
	eventually(t, fmt.Sprintf("GET http://%s%s", host, path), func() error {
		r, err := tg.get(host, path)
		if err != nil {
			return err
		}
		last = r
		return w.check(r)
	})
	return last
}

// expectHTTPS is expectHTTP over TLS with SNI sni; when leaf is set, the
// served certificate must be it (DER).
func (tg target) expectHTTPS(t *testing.T, sni, host, path string, leaf []byte, w want) reply {
	t.Helper()
	var last reply
	eventually(t, fmt.Sprintf("GET https://%s%s (SNI %q)", host, path, sni), func() error {
		r, err := tg.getTLS(sni, host, path)
		if err != nil {
			return err
		}
		last = r
		if leaf != nil && (r.peer == nil || !bytes.Equal(r.peer.Raw, leaf)) {
			subject := "none"
			if r.peer != nil {
				subject = r.peer.Subject.CommonName + " " + strings.Join(r.peer.DNSNames, ",")
			}
			return fmt.Errorf("served certificate %s is not the expected one", subject)
		}
		return w.check(r)
	})
	return last
}

// adminGet reads an admin endpoint.
func (tg target) adminGet(path string) (int, []byte, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + tg.admin + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// generation reads the admin /generation.
func (tg target) generation(t *testing.T) uint64 {
	t.Helper()
	code, b, err := tg.adminGet("/generation")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /generation: %d %s %v", code, b, err)
	}
	g, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("GET /generation: %q: %v", b, err)
	}
	return g
}

// --- Kubernetes objects ---

var nameCleaner = regexp.MustCompile(`[^a-z0-9-]+`)

// newNamespace creates a namespace for the test, deleted (with its
// Ingresses deleted first, at once) when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	return newNamespaceFor(t, t.Name())
}

// newNamespaceFor is newNamespace with the name built from base instead of
// the test's name (for tests whose namespaces must sort in a known order).
func newNamespaceFor(t *testing.T, base string) string {
	t.Helper()
	requireCluster(t)
	base = strings.Trim(nameCleaner.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(base) > 40 {
		base = strings.Trim(base[:40], "-")
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("it-%s-%x", base, b)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{testLabel: "true"}}}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		// Ingresses go at once, so that a later test never sees them while
		// the namespace controller works.
		if err := kube.NetworkingV1().Ingresses(name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Errorf("delete ingresses of %s: %v", name, err)
		}
		if err := kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name
}

// backend publishes an echo backend, deleted when the test ends.
func backend(t *testing.T, ns, name string, replicas int, ports ...cluster.ServicePort) *cluster.Backend {
	t.Helper()
	b, err := cl.PublishBackend(context.Background(), cluster.BackendSpec{Namespace: ns, Name: name, Replicas: replicas, Ports: ports})
	if err != nil {
		t.Fatalf("publish backend %s/%s: %v", ns, name, err)
	}
	t.Cleanup(func() {
		if err := cl.DeleteBackend(context.Background(), b); err != nil {
			t.Errorf("delete backend %s/%s: %v", ns, name, err)
		}
	})
	return b
}

// ingressClass creates an IngressClass, deleted when the test ends.
func ingressClass(t *testing.T, name, controller string, isDefault bool) {
	t.Helper()
	if err := createClass(context.Background(), name, controller, isDefault); err != nil {
		t.Fatalf("create IngressClass %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := kube.NetworkingV1().IngressClasses().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete IngressClass %s: %v", name, err)
		}
	})
}

// ingressOpt changes an Ingress being built.
type ingressOpt func(*networkingv1.Ingress)

func className(c string) ingressOpt {
	return func(i *networkingv1.Ingress) { i.Spec.IngressClassName = &c }
}

func classAnnotation(c string) ingressOpt {
	return func(i *networkingv1.Ingress) {
		if i.Annotations == nil {
			i.Annotations = map[string]string{}
		}
		i.Annotations["kubernetes.io/ingress.class"] = c
	}
}

// svcBackend is a Service backend; port is a number ("80") or a name.
func svcBackend(svc, port string) networkingv1.IngressBackend {
	sb := &networkingv1.IngressServiceBackend{Name: svc}
	if n, err := strconv.Atoi(port); err == nil {
		sb.Port.Number = int32(n)
	} else {
		sb.Port.Name = port
	}
	return networkingv1.IngressBackend{Service: sb}
}

// path adds a rule path for host (rules of one host are merged).
func path(host string, pt networkingv1.PathType, p, svc, port string) ingressOpt {
	return func(i *networkingv1.Ingress) {
		hp := networkingv1.HTTPIngressPath{Path: p, PathType: &pt, Backend: svcBackend(svc, port)}
		for k := range i.Spec.Rules {
			if r := &i.Spec.Rules[k]; r.Host == host {
				r.HTTP.Paths = append(r.HTTP.Paths, hp)
				return
			}
		}
		i.Spec.Rules = append(i.Spec.Rules, networkingv1.IngressRule{Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{hp}}}})
	}
}

func prefix(host, p, svc, port string) ingressOpt {
	return path(host, networkingv1.PathTypePrefix, p, svc, port)
}

func exact(host, p, svc, port string) ingressOpt {
	return path(host, networkingv1.PathTypeExact, p, svc, port)
}

func defaultBackend(svc, port string) ingressOpt {
	return func(i *networkingv1.Ingress) {
		b := svcBackend(svc, port)
		i.Spec.DefaultBackend = &b
	}
}

func tlsFor(secret string, hosts ...string) ingressOpt {
	return func(i *networkingv1.Ingress) {
		i.Spec.TLS = append(i.Spec.TLS, networkingv1.IngressTLS{Hosts: hosts, SecretName: secret})
	}
}

// createIngress creates an Ingress (deleted with the test's namespace).
func createIngress(t *testing.T, ns, name string, opts ...ingressOpt) *networkingv1.Ingress {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, o := range opts {
		o(ing)
	}
	got, err := kube.NetworkingV1().Ingresses(ns).Create(context.Background(), ing, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ingress %s/%s: %v", ns, name, err)
	}
	return got
}

// updateIngress applies change to a fresh copy, retrying on conflict.
func updateIngress(t *testing.T, ns, name string, change func(*networkingv1.Ingress)) {
	t.Helper()
	ctx := context.Background()
	for range 10 {
		ing, err := kube.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get ingress %s/%s: %v", ns, name, err)
		}
		change(ing)
		_, err = kube.NetworkingV1().Ingresses(ns).Update(ctx, ing, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatalf("update ingress %s/%s: %v", ns, name, err)
		}
	}
	t.Fatalf("update ingress %s/%s: conflicts", ns, name)
}

// ingressStatus returns the IPs and host names of an Ingress's status.
func ingressStatus(ns, name string) ([]string, error) {
	ing, err := kube.NetworkingV1().Ingresses(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		out = append(out, lb.IP+lb.Hostname)
	}
	return out, nil
}

// expectStatus waits until the Ingress's status is exactly addrs (none:
// empty).
func expectStatus(t *testing.T, ns, name string, addrs ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("status of ingress %s/%s", ns, name), func() error {
		got, err := ingressStatus(ns, name)
		if err != nil {
			return err
		}
		if strings.Join(got, ",") != strings.Join(addrs, ",") {
			return fmt.Errorf("status.loadBalancer.ingress = %v, want %v", got, addrs)
		}
		return nil
	})
}

// --- TLS ---

// testCA issues certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(name string) (*testCA, error) {
	c, err := certs.SelfSigned(certs.Options{CommonName: name, CA: true, Validity: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return &testCA{cert: c.Leaf, key: c.TLS.PrivateKey.(*ecdsa.PrivateKey)}, nil
}

// issue returns a server certificate and key (PEM) and the leaf (DER).
func (ca *testCA) issue(cn string, dnsNames ...string) (certPEM, keyPEM, leaf []byte, err error) {
	c, err := certs.Issue(&tls.Certificate{Leaf: ca.cert, PrivateKey: ca.key}, certs.Options{CommonName: cn, Hosts: dnsNames, Validity: 24 * time.Hour})
	if err != nil {
		return nil, nil, nil, err
	}
	return c.CertPEM, c.KeyPEM, c.Leaf.Raw, nil
}

// mustIssue is issue for tests.
func (ca *testCA) mustIssue(t *testing.T, dnsNames ...string) (certPEM, keyPEM, leaf []byte) {
	t.Helper()
	c, k, l, err := ca.issue(dnsNames[0], dnsNames...)
	if err != nil {
		t.Fatal(err)
	}
	return c, k, l
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func tlsSecret(ns, name string, crt, key []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
}

// createSecret creates a TLS Secret (deleted with the namespace).
func createSecret(t *testing.T, ns, name string, crt, key []byte) {
	t.Helper()
	if _, err := kube.CoreV1().Secrets(ns).Create(context.Background(), tlsSecret(ns, name, crt, key), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create secret %s/%s: %v", ns, name, err)
	}
}

// events lists the Events about an object with a reason.
func events(ns, kind, name, reason string) ([]corev1.Event, error) {
	list, err := kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name + ",reason=" + reason,
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// expectEvent waits for one Event about the object with the reason whose
// message contains text, and returns it.
func expectEvent(t *testing.T, ns, kind, name, reason, text string) corev1.Event {
	t.Helper()
	var ev corev1.Event
	eventually(t, fmt.Sprintf("%s Event on %s %s/%s", reason, kind, ns, name), func() error {
		evs, err := events(ns, kind, name, reason)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if strings.Contains(e.Message, text) {
				if e.Type != corev1.EventTypeWarning || e.Source.Component != app.EventComponent {
					return fmt.Errorf("event %s: type %s source %s", e.Name, e.Type, e.Source.Component)
				}
				ev = e
				return nil
			}
		}
		return errors.New("no such event yet")
	})
	return ev
}
