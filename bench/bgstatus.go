package bench

import (
	"context"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ingresslab/ingresslab/reports"
)

// backgroundStatusTimeout bounds the wait for the background Ingresses'
// statuses: two minutes plus 50 ms per Ingress (20 writes a second).
func backgroundStatusTimeout(n int) time.Duration {
	return 2*time.Minute + time.Duration(n)*50*time.Millisecond
}

// waitBackgroundStatus waits until each of the n background Ingresses
// carries the controller's status address (the profile's statusAddress),
// so that the changes are timed without the controller's status writes
// competing for the API server, and says how far it got. It watches the
// Ingresses (one list, then a watch) rather than asking the controller.
// Without a status address in the profile there is nothing to wait for.
func (e *Env) waitBackgroundStatus(ctx context.Context, n int, since time.Time) *reports.BackgroundStatus {
	addr := e.Profile.StatusAddress
	if addr == "" || n == 0 {
		return nil
	}
	res := &reports.BackgroundStatus{Address: addr, Ingresses: n}
	timeout := backgroundStatusTimeout(n)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := e.Kube.NetworkingV1().Ingresses(Namespace)
	sel := backgroundLabel + "=propagation"
	done := map[string]bool{}
	count := func() int {
		k := 0
		for _, ok := range done {
			if ok {
				k++
			}
		}
		return k
	}
	for ctx.Err() == nil {
		list, err := api.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			break
		}
		for i := range list.Items {
			done[list.Items[i].Name] = carries(&list.Items[i], addr)
		}
		if count() >= n {
			break
		}
		w, err := api.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			break
		}
		for ev := range w.ResultChan() {
			ing, ok := ev.Object.(*networkingv1.Ingress)
			if !ok || ev.Type == watch.Error {
				break
			}
			was := done[ing.Name]
			done[ing.Name] = ev.Type != watch.Deleted && carries(ing, addr)
			if done[ing.Name] && !was {
				if k := count(); k%1000 == 0 {
					e.Progressf("propagation: %d/%d background statuses written", k, n)
				}
			}
			if count() >= n {
				break
			}
		}
		w.Stop()
		if count() >= n {
			break
		}
	}
	res.WithStatus = count()
	res.Pending = n - res.WithStatus
	if res.Pending <= 0 {
		took := time.Since(since)
		res.Pending = 0
		res.SettledMillis = float64(took) / 1e6
		e.Progressf("propagation: the %d background statuses were written %.1f s after the first write", n, took.Seconds())
	} else {
		res.TimedOut = true
		e.Progressf("propagation: %d of %d background statuses still unwritten after %s; timing the changes anyway", res.Pending, n, timeout)
	}
	return res
}

// carries reports whether ing's status holds addr.
func carries(ing *networkingv1.Ingress, addr string) bool {
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.IP == addr || lb.Hostname == addr {
			return true
		}
	}
	return false
}
