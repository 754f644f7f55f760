package integration_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// generatedCN is the subject of the data plane's generated certificate.
const generatedCN = "ingresslab default certificate"

// TestDefaultCertificateRotation follows the --default-certificate Secret:
// missing (generated certificate and a warning), created, rotated, broken
// (generated again), all without a restart.
func TestDefaultCertificateRotation(t *testing.T) {
	ns := newNamespace(t)
	ingressClass(t, "defcert", "ingresslab.dev/defcert", false)
	_, tg := startController(t, "defcert", app.Options{
		ControllerName: "ingresslab.dev/defcert", IngressClass: "defcert",
		DefaultCertificate: ns + "/default-cert",
	})
	served := func(check func(*reply) error) func() error {
		return func() error {
			r, err := tg.getTLS("unknown.defcert.example", "unknown.defcert.example", "/")
			if err != nil {
				return err
			}
			if r.peer == nil {
				return errors.New("no certificate served")
			}
			return check(&r)
		}
	}
	isGenerated := served(func(r *reply) error {
		if r.peer.Subject.CommonName != generatedCN {
			return fmt.Errorf("served %q, want the generated certificate", r.peer.Subject.CommonName)
		}
		return nil
	})
	isLeaf := func(leaf []byte) func() error {
		return served(func(r *reply) error {
			if !bytes.Equal(r.peer.Raw, leaf) {
				return fmt.Errorf("served %q (%v), not the Secret's certificate", r.peer.Subject.CommonName, r.peer.DNSNames)
			}
			return nil
		})
	}
	eventually(t, "generated certificate while the Secret is missing", isGenerated)
	expectSecretWarning(t, tg, ns, "default-cert", translate.ReasonSecretNotFound)

	ca, err := newCA("default certificate CA")
	if err != nil {
		t.Fatal(err)
	}
	crt1, key1, leaf1 := ca.mustIssue(t, "default-1.defcert.example")
	crt2, key2, leaf2 := ca.mustIssue(t, "default-2.defcert.example")
	createSecret(t, ns, "default-cert", crt1, key1)
	eventually(t, "the Secret's certificate", isLeaf(leaf1))

	updateSecret(t, ns, "default-cert", crt2, key2)
	eventually(t, "the rotated certificate", isLeaf(leaf2))

	updateSecret(t, ns, "default-cert", []byte("not a certificate"), key2)
	eventually(t, "generated certificate for an invalid Secret", isGenerated)
	expectSecretWarning(t, tg, ns, "default-cert", translate.ReasonInvalidSecret)
}

func updateSecret(t *testing.T, ns, name string, crt, key []byte) {
	t.Helper()
	ctx := context.Background()
	sec, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey] = crt, key
	if _, err := kube.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update secret %s/%s: %v", ns, name, err)
	}
}

// expectSecretWarning waits until /warnings lists a warning about a Secret.
func expectSecretWarning(t *testing.T, tg target, ns, name, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s warning for secret %s/%s", reason, ns, name), func() error {
		code, body, err := tg.adminGet("/warnings")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET /warnings: %d %s %v", code, body, err)
		}
		var ws []translate.Warning
		if err := json.Unmarshal(body, &ws); err != nil {
			return err
		}
		for _, w := range ws {
			if w.Kind == "Secret" && w.Object.Namespace == ns && w.Object.Name == name && w.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("not among %v", ws)
	})
}

// TestShutdownDelay: once shutdown begins the controller reports not ready
// but keeps accepting and serving until the delay ends.
func TestShutdownDelay(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ingressClass(t, "delayed", "ingresslab.dev/delayed", false)
	// The delay is long; the test ends it through the context, so nothing
	// depends on timing.
	c, tg := startController(t, "delayed", app.Options{
		ControllerName: "ingresslab.dev/delayed", IngressClass: "delayed", ShutdownDelay: ptr.To(time.Hour),
	})
	createIngress(t, ns, "delayed", className("delayed"), prefix("delayed.example", "/", "echo", "80"))
	ok := want{namespace: ns, service: "echo"}
	tg.expectHTTP(t, "delayed.example", "/", ok)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- c.Shutdown(ctx) }()
	eventually(t, "/readyz not ready", func() error {
		code, body, err := tg.adminGet("/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	// New connections are still served during the delay.
	tg.expectHTTP(t, "delayed.example", "/during-delay", ok)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v during the delay", err)
	default:
	}
	cancel()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := tg.get("delayed.example", "/"); err == nil {
		t.Error("a request was served after Shutdown returned")
	}
}

// TestPathTraversalNormalized: routing uses the normalised path, the
// upstream gets the path as sent.
func TestPathTraversalNormalized(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "public", 1)
	backend(t, ns, "admin", 1)
	createIngress(t, ns, "paths", className(mainClass),
		prefix("traversal.example", "/public", "public", "80"),
		exact("traversal.example", "/admin", "admin", "80"))
	mainTarget.expectHTTP(t, "traversal.example", "/public/x", want{namespace: ns, service: "public"})
	r := mainTarget.expectHTTP(t, "traversal.example", "/public/../admin", want{namespace: ns, service: "admin"})
	if r.echo.Path != "/public/../admin" {
		t.Errorf("upstream saw path %q, want it unchanged", r.echo.Path)
	}
	mainTarget.expectHTTP(t, "traversal.example", "/public/%2e%2e/secret", want{code: http.StatusNotFound})
	mainTarget.expectHTTP(t, "traversal.example", "//public//y", want{namespace: ns, service: "public"})
}

// TestRequestSeriesRemovedWithIngress: deleting an Ingress removes its
// request series from /metrics.
func TestRequestSeriesRemovedWithIngress(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "counted", className(mainClass), prefix("counted.example", "/", "echo", "80"))
	mainTarget.expectHTTP(t, "counted.example", "/", want{namespace: ns, service: "echo"})
	label := `ingress="` + ns + `/counted"`
	hasSeries := func() (bool, error) {
		code, body, err := mainTarget.adminGet("/metrics")
		if err != nil || code != http.StatusOK {
			return false, fmt.Errorf("GET /metrics: %d %v", code, err)
		}
		return strings.Contains(string(body), label), nil
	}
	if ok, err := hasSeries(); err != nil || !ok {
		t.Fatalf("no series with %s after requests (%v)", label, err)
	}
	if err := kube.NetworkingV1().Ingresses(ns).Delete(context.Background(), "counted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "series of the deleted Ingress gone", func() error {
		ok, err := hasSeries()
		if err == nil && ok {
			err = fmt.Errorf("/metrics still has %s", label)
		}
		return err
	})
}

// TestGRPCBackend: a Service port with appProtocol kubernetes.io/h2c is
// reached over HTTP/2 cleartext, so gRPC works end to end with trailers.
func TestGRPCBackend(t *testing.T) {
	ns := newNamespace(t)
	addr := grpcServer(t)
	host, port, _ := net.SplitHostPort(addr)
	var portNum int32
	fmt.Sscan(port, &portNum)
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grpc"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "grpc", Port: 50051, Protocol: corev1.ProtocolTCP, AppProtocol: ptr.To("kubernetes.io/h2c"),
		}}},
	}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A selector-less Service with its own slice, pointing at the server
	// of this test (an IP literal in an FQDN slice, as the local cluster's
	// loopback backends do).
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "grpc-1", Labels: map[string]string{discoveryv1.LabelServiceName: "grpc"}},
		AddressType: discoveryv1.AddressTypeFQDN,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(portNum), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createIngress(t, ns, "grpc", className(mainClass), prefix("grpc.example", "/", "grpc", "grpc"))

	tr := &http.Transport{
		DialContext:       dialTo(mainTarget.https),
		TLSClientConfig:   &tls.Config{ServerName: "grpc.example", InsecureSkipVerify: true}, //nolint:gosec // the test checks routing, not the certificate
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	eventually(t, "gRPC call through the controller", func() error {
		req, err := http.NewRequest(http.MethodPost, "https://grpc.example/echo.Echo/Say", bytes.NewReader(grpcMsg("ping")))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			return fmt.Errorf("%d %s %q", resp.StatusCode, resp.Proto, body)
		}
		if !bytes.Equal(body, grpcMsg("PING")) {
			return fmt.Errorf("body %q, want the echoed message", body)
		}
		if st := resp.Trailer.Get("Grpc-Status"); st != "0" {
			return fmt.Errorf("grpc-status trailer %q (trailers %v), want 0", st, resp.Trailer)
		}
		return nil
	})
}

func grpcMsg(s string) []byte {
	b := make([]byte, 5+len(s))
	binary.BigEndian.PutUint32(b[1:], uint32(len(s)))
	copy(b[5:], s)
	return b
}

// grpcServer is an h2c-only server answering one gRPC-style message with
// it upper-cased and grpc-status trailers; it refuses anything but HTTP/2
// with TE: trailers.
func grpcServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Header.Get("Te") != "trailers" {
			http.Error(w, "want HTTP/2 with TE: trailers", http.StatusBadRequest)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil || len(b) < 5 {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		_, _ = w.Write(grpcMsg(strings.ToUpper(string(b[5:]))))
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
