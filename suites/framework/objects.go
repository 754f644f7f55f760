package framework

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	"github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Hold runs cond every Timeouts.Poll for Timeouts.NoTrafficWindow and fails
// at the first error (a negative check over time: "no traffic", "no
// status"). Call it only after a positive check of the same run converged,
// so that a controller that has not caught up cannot pass it. req is used
// for the diagnostics (reproduce line).
func (s *Spec) Hold(what string, req Request, cond func() error) {
	GinkgoHelper()
	t := s.Env.Timeouts
	end := s.beginCheck("hold")
	passed := false
	defer func() { end(!passed) }()
	attempt := func() error {
		s.newAttempt()
		return cond()
	}
	s.gomega().Consistently(s.ctx, attempt).WithTimeout(t.NoTrafficWindow).WithPolling(t.Poll).Should(gomega.Succeed(), func() string {
		return fmt.Sprintf("%s: must hold throughout %s%s", what, t.NoTrafficWindow, s.Diagnostics(req))
	})
	passed = true
}

// Ingress reads Ingress name from the spec's namespace.
func (s *Spec) Ingress(name string) (*networkingv1.Ingress, error) {
	ing, err := s.Env.Client.NetworkingV1().Ingresses(s.Namespace).Get(s.ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get Ingress %s/%s: %w", s.Namespace, name, err)
	}
	return ing, nil
}

// LoadBalancerAddresses returns the ip or hostname of every entry of
// Ingress name's status.loadBalancer.ingress.
func (s *Spec) LoadBalancerAddresses(name string) ([]string, error) {
	ing, err := s.Ingress(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		switch {
		case lb.IP != "":
			out = append(out, lb.IP)
		case lb.Hostname != "":
			out = append(out, lb.Hostname)
		default:
			out = append(out, "<empty entry>")
		}
	}
	return out, nil
}

// DeleteIngress deletes Ingress name and records the change time.
func (s *Spec) DeleteIngress(name string) {
	GinkgoHelper()
	err := s.Env.Client.NetworkingV1().Ingresses(s.Namespace).Delete(s.ctx, name, metav1.DeleteOptions{})
	if err != nil {
		Fail(fmt.Sprintf("delete Ingress %s/%s: %v", s.Namespace, name, err))
	}
	s.applied = append(s.applied, fmt.Sprintf("# deleted Ingress %s/%s", s.Namespace, name))
	s.MarkChange()
}

// WithController runs fn with s talking to (and rendering fixtures for) c
// instead of its own controller, e.g. Env.Second in multi-class specs.
func (s *Spec) WithController(c *Controller, fn func()) {
	GinkgoHelper()
	prev := s.Controller
	s.Controller = c
	defer func() { s.Controller = prev }()
	fn()
}

// Within runs cond every Timeouts.Poll until it returns nil (then Within
// returns nil) or timeout passes (then it returns cond's last error). It
// never fails the spec: for checks where either answer is an accepted
// variant.
func (s *Spec) Within(timeout time.Duration, cond func() error) error {
	var last error
	end := s.beginCheck("within")
	defer func() { end(false) }()
	record := func() error {
		s.newAttempt()
		last = cond()
		return last
	}
	quiet := gomega.NewGomega(func(string, ...int) {})
	if quiet.Eventually(s.ctx, record).WithTimeout(timeout).WithPolling(s.Env.Timeouts.Poll).Should(gomega.Succeed()) {
		return nil
	}
	return last
}
