package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

// Namespace holds the bench's backends and Ingresses.
const Namespace = "ingresslab-bench"

// Backends is what a scenario needs from the cluster provider (the local
// provider launches the controller itself, through package launch).
type Backends interface {
	cluster.BackendPublisher
}

// Env is what scenarios run against: the cluster, the controller under
// test, the options and the progress output.
type Env struct {
	Opts     Options
	Kube     kubernetes.Interface
	Backends Backends
	Ctrl     *controllerProc
	Profile  *profile.Profile

	began    time.Time
	out      io.Writer
	outMu    sync.Mutex
	selected map[string]bool
	// backends published so far, by name.
	published map[string]*cluster.Backend
	// pairedDirect is the direct series measured interleaved with
	// single-route, reported as the direct scenario when both run.
	pairedDirect *reports.LoadSeries
	// proxiedMaxRPS is single-route's proxied closed-loop maximum when it
	// ran before (0 otherwise); reliability scenarios load half of it.
	proxiedMaxRPS float64
	// launcher starts more controllers from a profile (failover).
	launcher launch.Cluster
	// gen is the load generator's own limit (nil until calibrated).
	gen *reports.GeneratorLimit
	// noise accounts for the machine's load during every window.
	noise noiseAccount
	// remote is set on the kind and existing providers.
	remote *remoteRun
	// notes are added to the report's notes (baselines started or skipped).
	notes []string
	// autogroupChecked are the targets checkAutogroup looked at.
	autogroupChecked map[string]bool
}

// Progressf prints one progress line with the elapsed time.
func (e *Env) Progressf(format string, args ...any) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	fmt.Fprintf(e.out, "[%6.1fs] %s\n", time.Since(e.began).Seconds(), fmt.Sprintf(format, args...))
}

// guard checks an address with the provider before any traffic is sent.
func (e *Env) guard(ctx context.Context, a netip.Addr) error {
	return e.Backends.CheckTarget(ctx, a)
}

// backend publishes (once) an echo backend named name in Namespace.
func (e *Env) backend(ctx context.Context, name string, replicas int) (*cluster.Backend, error) {
	if b, ok := e.published[name]; ok {
		return b, nil
	}
	b, err := e.Backends.PublishBackend(ctx, cluster.BackendSpec{Namespace: Namespace, Name: name, Replicas: replicas})
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", name, err)
	}
	e.published[name] = b
	return b, nil
}

// directAddr returns endpoint i of b as a checked host:port.
func (e *Env) directAddr(ctx context.Context, b *cluster.Backend, i int) (string, error) {
	if i >= len(b.Endpoints) {
		return "", fmt.Errorf("backend %s has no endpoint %d", b.Spec.Name, i)
	}
	hp := net.JoinHostPort(b.Endpoints[i].Address.String(), strconv.Itoa(int(b.Spec.Ports[0].TargetPort)))
	return hp, checkDial(ctx, e.guard, hp)
}

// rule is one host with its paths and backends.
type rule struct {
	Host  string
	Paths []pathBackend
}

type pathBackend struct {
	Path, Service string
}

// ingress builds an Ingress of our class with Prefix paths on port 80.
func (e *Env) ingress(name string, rules []rule, tlsSecret string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	class := e.Profile.IngressClass
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "ingresslab-bench"}},
		Spec:       networkingv1.IngressSpec{IngressClassName: &class},
	}
	for _, r := range rules {
		ir := networkingv1.IngressRule{Host: r.Host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		for _, p := range r.Paths {
			ir.HTTP.Paths = append(ir.HTTP.Paths, networkingv1.HTTPIngressPath{
				Path: p.Path, PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: p.Service, Port: networkingv1.ServiceBackendPort{Number: 80},
				}},
			})
		}
		ing.Spec.Rules = append(ing.Spec.Rules, ir)
		if tlsSecret != "" {
			ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: []string{r.Host}, SecretName: tlsSecret})
		}
	}
	return ing
}

// apply creates or replaces an Ingress.
func (e *Env) apply(ctx context.Context, ing *networkingv1.Ingress) error {
	api := e.Kube.NetworkingV1().Ingresses(ing.Namespace)
	_, err := api.Create(ctx, ing, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return e.replace(ctx, ing)
	}
	if err != nil {
		return fmt.Errorf("apply Ingress %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	return nil
}

// replace overwrites the spec, labels and annotations of the existing
// Ingress named as ing in one API request (a JSON patch, so no read of the
// current resourceVersion comes first, and the controller's own status
// writes cannot make it conflict). A timed update is then one write.
func (e *Env) replace(ctx context.Context, ing *networkingv1.Ingress) error {
	labels, annotations := ing.Labels, ing.Annotations
	if labels == nil {
		labels = map[string]string{}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "add", "path": "/metadata/labels", "value": labels},
		{"op": "add", "path": "/metadata/annotations", "value": annotations},
		{"op": "replace", "path": "/spec", "value": ing.Spec},
	})
	if err == nil {
		_, err = e.Kube.NetworkingV1().Ingresses(ing.Namespace).Patch(ctx, ing.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	}
	if err != nil {
		return fmt.Errorf("replace Ingress %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	return nil
}

// tlsSecret creates a kubernetes.io/tls Secret for hosts and returns a
// client config that trusts it.
func (e *Env) tlsSecret(ctx context.Context, name string, hosts ...string) (pool *x509.CertPool, certAndKey []byte, err error) {
	cert, err := echoserver.GenerateCertificate(hosts...)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, nil, fmt.Errorf("secret %s: key: %w", name, err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key})
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
	if _, err := e.Kube.CoreV1().Secrets(Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, nil, fmt.Errorf("create Secret %s/%s: %w", Namespace, name, err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return pool, append(certPEM, keyPEM...), nil
}

// prober sends single requests through the controller (keeping Host and
// SNI) and reports which Service answered.
type prober struct {
	client *http.Client
}

func newProber(dial string, tlsConf *tls.Config, timeout time.Duration) *prober {
	t := &Traffic{Dial: dial, TLS: tlsConf, KeepAlive: true}
	return &prober{client: t.client(timeout)}
}

// probe returns the status code and the answering Service ("" when the
// body is not an echo response); code 0 means a transport error.
func (p *prober) probe(ctx context.Context, url string) (int, string) {
	code, svc, _ := p.probeFull(ctx, url)
	return code, svc
}

// probeFull is probe with the answering pod.
func (p *prober) probeFull(ctx context.Context, url string) (code int, service, pod string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", ""
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var v struct {
		Service string `json:"service"`
		Pod     string `json:"pod"`
	}
	if json.Unmarshal(b, &v) != nil {
		return resp.StatusCode, agent.ServiceOf(b), ""
	}
	return resp.StatusCode, v.Service, v.Pod
}

// waitRoute polls url until want answers n times in a row, or timeout.
func (e *Env) waitRoute(ctx context.Context, p *prober, url, want string, n int, timeout time.Duration) error {
	err := poll.Until(ctx, 20*time.Millisecond, timeout, func(ctx context.Context) error {
		for range n { // n in a row, without a pause between correct answers
			if code, svc := p.probe(ctx, url); code != http.StatusOK || svc != want {
				return fmt.Errorf("last answer: %d from %q", code, svc)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("route %s not served by %s: %w", url, want, err)
	}
	return nil
}
