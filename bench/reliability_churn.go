package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/reports"
)

// The kinds of churn-scale changes, made in this order, round and round.
const (
	changeIngress       = "ingress"
	changeService       = "service"
	changeEndpointSlice = "endpointslice"
	changeSecret        = "secret"
)

var changeKinds = []string{changeIngress, changeService, changeEndpointSlice, changeSecret}

const churnScaleReady = "ingress: a new host answers 200 from its Service, a deleted one 404; service: a route to a Service that did not exist answers from it once it is published; endpointslice: a new endpoint answers, a terminating one (still serving) is absent from 20 answers in a row; secret: a rotated certificate is presented in a new TLS handshake"

const (
	csHost    = "churn.rel.bench.test"
	csSvcHost = "svc.rel.bench.test"
	csEPHost  = "eps.rel.bench.test"
	csTLSHost = "tls.rel.bench.test"
	csEPName  = "rel-eps"
	csTLSName = "rel-tls"
)

func runChurnScale(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	o := e.Opts
	changes := o.ChurnScaleChanges
	if changes <= 0 {
		changes = 1000
		if o.Quick {
			changes = 40
		}
	}
	rate, basis := e.reliabilityRate()
	t, err := e.stableTraffic(ctx, e.Ctrl.HTTPAddr, "/stable")
	if err != nil {
		return nil, err
	}
	c, err := e.newChurnScale(ctx)
	if err != nil {
		return nil, err
	}
	tl := newTally()
	done := make(chan struct{})
	loadErr := make(chan error, 1)
	go func() { loadErr <- e.loadUntil(ctx, t, rate, tl, "churn-scale", done) }()

	ready := map[string][]float64{}
	timedOut := map[string]int{}
	deadline := time.Now().Add(o.ChurnScaleBudget)
	planned, stopped := changes, ""
	for i := 0; i < changes && ctx.Err() == nil; i++ {
		if i > 0 && !time.Now().Before(deadline) {
			changes = i
			stopped = fmt.Sprintf("time budget of %s reached after %d of %d changes", o.ChurnScaleBudget, i, planned)
			e.Progressf("churn-scale: %s", stopped)
			break
		}
		kind := changeKinds[i%len(changeKinds)]
		took, ok, err := c.change(ctx, kind, i/len(changeKinds))
		if err != nil {
			close(done)
			if lerr := <-loadErr; lerr != nil { // the change's error is the one returned
				e.Progressf("churn-scale load: %v", lerr)
			}
			return nil, fmt.Errorf("churn-scale change %d (%s): %w", i+1, kind, err)
		}
		if ok {
			ready[kind] = append(ready[kind], float64(took)/1e6)
		} else {
			timedOut[kind]++
		}
		if (i+1)%100 == 0 {
			e.Progressf("churn-scale: %d of %d changes", i+1, changes)
		}
	}
	close(done)
	if err := <-loadErr; err != nil {
		return nil, fmt.Errorf("churn-scale load: %w", err)
	}
	res := &reports.ChurnScaleResult{Traffic: tl.result(rate, basis), Changes: changes, Planned: planned, Stopped: stopped, TimeoutSeconds: c.timeout.Seconds(), Ready: churnScaleReady}
	var all []float64
	allTimedOut := 0
	for _, k := range changeKinds {
		res.ByKind = append(res.ByKind, reports.ChangeStat{Kind: k, Changes: len(ready[k]) + timedOut[k], TimedOut: timedOut[k], ReadyMillis: percentiles(ready[k])})
		all = append(all, ready[k]...)
		allTimedOut += timedOut[k]
	}
	res.All = reports.ChangeStat{Kind: "all", Changes: changes, TimedOut: allTimedOut, ReadyMillis: percentiles(all)}
	tr := res.Traffic
	e.Progressf("churn-scale: %d changes (%d timed out), ready p50 %.1f ms, p99 %.1f ms; stable routes: %d requests at %.0f rps, %d errors, %d non-2xx, %d misroutes",
		changes, allTimedOut, res.All.ReadyMillis.P50, res.All.ReadyMillis.P99, tr.Requests, rate, tr.Errors, tr.Non2xx, tr.Misroutes)
	// Failed requests are the controller's result, judged by the goals.
	return &reports.BenchScenario{Reliability: &reports.ReliabilityResult{ChurnScale: res}}, nil
}

// churnScale makes the changes of churn-scale and times each one.
type churnScale struct {
	e       *Env
	prober  *prober
	tlsAddr string
	timeout time.Duration
	eps     *cluster.Backend
	svc     *cluster.Backend // the Service csSvcHost routes to now
	ingLive []string         // Ingresses added and not yet deleted
}

func (e *Env) newChurnScale(ctx context.Context) (*churnScale, error) {
	c := &churnScale{e: e, prober: newProber(e.Ctrl.HTTPAddr, nil, time.Second), tlsAddr: e.Ctrl.HTTPSAddr, timeout: e.Opts.PropagationTimeout}
	var err error
	if c.eps, err = e.backend(ctx, csEPName, 1); err != nil {
		return nil, err
	}
	if _, _, err := e.tlsSecret(ctx, csTLSName, csTLSHost); err != nil {
		return nil, err
	}
	for _, ing := range []struct {
		name, host, svc, secret string
	}{{csEPName, csEPHost, csEPName, ""}, {csTLSName, csTLSHost, stableService, csTLSName}} {
		if err := e.apply(ctx, e.ingress(ing.name, []rule{{Host: ing.host, Paths: []pathBackend{{"/", ing.svc}}}}, ing.secret)); err != nil {
			return nil, err
		}
	}
	if err := e.waitRoute(ctx, c.prober, "http://"+csEPHost+"/", csEPName, 3, 30*time.Second); err != nil {
		return nil, err
	}
	if err := checkDial(ctx, e.guard, c.tlsAddr); err != nil {
		return nil, err
	}
	return c, nil
}

// change makes change n of kind and waits until traffic shows it; it
// returns the time from the write to that, and false when the timeout
// passed first.
func (c *churnScale) change(ctx context.Context, kind string, n int) (time.Duration, bool, error) {
	e := c.e
	var write func() error
	var ready func() bool
	switch kind {
	case changeIngress:
		// Even rounds add an Ingress with a new host, odd ones delete it.
		if n%2 == 0 {
			name := fmt.Sprintf("rel-ing-%d", n)
			host := name + "." + csHost
			c.ingLive = append(c.ingLive, name)
			write = func() error {
				return e.apply(ctx, e.ingress(name, []rule{{Host: host, Paths: []pathBackend{{"/", stableService}}}}, ""))
			}
			ready = func() bool {
				code, svc := c.prober.probe(ctx, "http://"+host+"/")
				return code == http.StatusOK && svc == stableService
			}
		} else {
			name := c.ingLive[0]
			c.ingLive = c.ingLive[1:]
			host := name + "." + csHost
			write = func() error {
				return e.Kube.NetworkingV1().Ingresses(Namespace).Delete(ctx, name, metav1.DeleteOptions{})
			}
			ready = func() bool {
				code, _ := c.prober.probe(ctx, "http://"+host+"/")
				return code == http.StatusNotFound
			}
		}
	case changeService:
		// The route moves to a Service that does not exist yet; the
		// change timed is its publication (Service, EndpointSlice,
		// Endpoints); the previous Service is deleted afterwards.
		name := fmt.Sprintf("rel-svc-%d", n)
		if err := e.apply(ctx, e.ingress("rel-svc", []rule{{Host: csSvcHost, Paths: []pathBackend{{"/", name}}}}, "")); err != nil {
			return 0, false, err
		}
		var b *cluster.Backend
		write = func() error {
			var err error
			b, err = e.Backends.PublishBackend(ctx, cluster.BackendSpec{Namespace: Namespace, Name: name, Replicas: 1})
			return err
		}
		ready = func() bool {
			code, svc := c.prober.probe(ctx, "http://"+csSvcHost+"/")
			return code == http.StatusOK && svc == name
		}
		defer func() {
			if c.svc != nil {
				_ = e.Backends.DeleteBackend(context.WithoutCancel(ctx), c.svc)
			}
			c.svc = b
		}()
	case changeEndpointSlice:
		// Even rounds add endpoint 1, odd ones remove it.
		if n%2 == 0 {
			write = func() error { return e.Backends.ScaleBackend(ctx, c.eps, 2) }
			ready = func() bool {
				_, _, pod := c.prober.probeFull(ctx, "http://"+csEPHost+"/")
				return pod == csEPName+"-1"
			}
		} else {
			// Graceful: endpoint 1 turns terminating (still serving), and is
			// stopped only after traffic shows it gone.
			write = func() error {
				return e.Backends.SetEndpointConditions(ctx, c.eps, 1, cluster.EndpointConditions{Serving: true, Terminating: true})
			}
			defer func() { _ = e.Backends.ScaleBackend(context.WithoutCancel(ctx), c.eps, 1) }()
			ready = func() bool {
				for range drainStreak {
					code, _, pod := c.prober.probeFull(ctx, "http://"+csEPHost+"/")
					if code != http.StatusOK || pod != csEPName+"-0" {
						return false
					}
				}
				return true
			}
		}
	case changeSecret:
		var serial *big.Int
		write = func() error {
			var err error
			serial, err = c.rotate(ctx)
			return err
		}
		ready = func() bool {
			got, err := c.servedSerial(ctx)
			return err == nil && got.Cmp(serial) == 0
		}
	default:
		return 0, false, fmt.Errorf("unknown change kind %q", kind)
	}
	start := time.Now()
	if err := write(); err != nil {
		return 0, false, err
	}
	err := poll.Until(ctx, probeInterval, c.timeout, func(context.Context) error {
		if ready() {
			return nil
		}
		return errNotYet
	})
	if ctx.Err() != nil {
		return 0, false, ctx.Err()
	}
	return time.Since(start), err == nil, nil
}

// rotate writes a new certificate into csTLSName and returns its serial.
func (c *churnScale) rotate(ctx context.Context) (*big.Int, error) {
	cert, err := echoserver.GenerateCertificate(csTLSHost)
	if err != nil {
		return nil, err
	}
	key, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("secret %s: key: %w", csTLSName, err)
	}
	api := c.e.Kube.CoreV1().Secrets(Namespace)
	sec, err := api.Get(ctx, csTLSName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get Secret %s/%s: %w", Namespace, csTLSName, err)
	}
	sec.Data = map[string][]byte{
		corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key}),
	}
	if _, err := api.Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("update Secret %s/%s: %w", Namespace, csTLSName, err)
	}
	return cert.Leaf.SerialNumber, nil
}

// servedSerial does a TLS handshake with SNI csTLSHost and returns the
// serial of the certificate the controller presents.
func (c *churnScale) servedSerial(ctx context.Context) (*big.Int, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: &tls.Config{ServerName: csTLSHost, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // the serial is checked, not the chain
	conn, err := d.DialContext(ctx, "tcp", c.tlsAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate")
	}
	return certs[0].SerialNumber, nil
}
