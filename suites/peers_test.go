package suites

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/testtools"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// TestPeerProfilesRoute starts each shipped third-party profile, when its
// program is present, with its least-privilege ServiceAccount, and checks it
// routes one Ingress to a backend and publishes its own status address.
// Without the program the subtest skips and says how to provide it.
func TestPeerProfilesRoute(t *testing.T) {
	for _, name := range PeerProfiles {
		t.Run(name, func(t *testing.T) {
			p, err := profile.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.FindBinary(); errors.Is(err, profile.ErrBinaryNotFound) {
				t.Skipf("third-party controller absent: %v", err)
			} else if err != nil {
				t.Fatal(err)
			}
			if testing.Short() {
				t.Skip("starts a cluster and a controller")
			}
			_, err = local.FindBinaries(context.Background(), local.Binaries{})
			testtools.Require(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			lp, err := local.Start(ctx, local.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = lp.Destroy(context.Background()) })
			e, err := framework.NewEnv(lp.RESTConfig())
			if err != nil {
				t.Fatal(err)
			}
			e.RunID, e.Backends, e.Timeouts = "peer-test", lp, framework.DefaultTimeouts()
			rc, err := startController(ctx, lp, e, p, Options{BinDir: t.TempDir()}, filepath.Join(t.TempDir(), "logs"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rc.stop(context.Background()) })
			checkPeerRoutes(ctx, t, e, p, rc)
		})
	}
}

func checkPeerRoutes(ctx context.Context, t *testing.T, e *framework.Env, p *profile.Profile, rc *runningController) {
	t.Helper()
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, namespace("peer"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Backends.PublishBackend(ctx, cluster.BackendSpec{Namespace: "peer", Name: "echo", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "peer", Namespace: "peer"},
		Spec: networkingv1.IngressSpec{IngressClassName: &p.IngressClass, Rules: []networkingv1.IngressRule{{
			Host: "peer.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "echo", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
	if _, err := e.Client.NetworkingV1().Ingresses("peer").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	routed, published := false, false
	gomega.NewWithT(t).Eventually(ctx, func(ctx context.Context) error {
		if !routed {
			r := rc.view.HTTP.Do(ctx, framework.Request{Host: "peer.example", Path: "/x"})
			switch {
			case r.Err != nil:
				return r.Err
			case r.Echo == nil || r.Echo.Service != "echo":
				return fmt.Errorf("status %d, not an answer from backend echo", r.StatusCode)
			}
			routed = true
		}
		if !published {
			cur, err := e.Client.NetworkingV1().Ingresses("peer").Get(ctx, "peer", metav1.GetOptions{})
			if err != nil {
				return gomega.StopTrying("get Ingress peer/peer").Wrap(err)
			}
			for _, lb := range cur.Status.LoadBalancer.Ingress {
				// An IP entry, or a hostname naming the address (as the
				// status specs accept).
				published = published || lb.IP == p.StatusAddress || lb.Hostname == p.StatusAddress
			}
			if !published {
				return fmt.Errorf("status %v lacks %s", cur.Status.LoadBalancer.Ingress, p.StatusAddress)
			}
		}
		return nil
	}).WithTimeout(90*time.Second).WithPolling(250*time.Millisecond).Should(gomega.Succeed(), func() string {
		return fmt.Sprintf("%s did not converge\nlog:\n%s", p.Name, rc.ctl.LogTail(30))
	})
}
