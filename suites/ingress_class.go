package suites

import (
	"context"
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ingresslab/ingresslab/suites/framework"
)

// defaultClassAnnotation marks an IngressClass as the cluster default.
const defaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class"

// classIngress renders ingress-class/ingress.yaml values.
func classIngress(name, host, service, class, annotation string) map[string]any {
	return map[string]any{"name": name, "host": host, "service": service, "class": class, "annotation": annotation}
}

// applyForeignClass creates the spec's foreign IngressClass (spec.controller
// example.com/not-ours) from fixture and registers its deletion; it returns
// the class name.
func applyForeignClass(s *framework.Spec, fixture string) string {
	GinkgoHelper()
	name := s.Namespace + "-foreign"
	DeferCleanup(func(ctx context.Context) {
		err := s.Env.Client.NetworkingV1().IngressClasses().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			GinkgoWriter.Printf("delete IngressClass %s: %v\n", name, err)
		}
	})
	s.Apply(fixture, nil)
	return name
}

// noStatus fails when Ingress name has any status.loadBalancer entry.
func noStatus(s *framework.Spec, name string) error {
	addrs, err := s.LoadBalancerAddresses(name)
	if err != nil {
		return err
	}
	if len(addrs) > 0 {
		return fmt.Errorf("status.loadBalancer.ingress of Ingress %s/%s is %v, want none", s.Namespace, name, addrs)
	}
	return nil
}

// setDefaultClass sets (value "true") or restores (value nil: removed) the
// default-class annotation of IngressClass name.
func setDefaultClass(ctx context.Context, s *framework.Spec, name string, value *string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{defaultClassAnnotation: value}}})
	if err != nil {
		return err
	}
	_, err = s.Env.Client.NetworkingV1().IngressClasses().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("IngressClass %s: annotation %s: %w", name, defaultClassAnnotation, err)
	}
	return nil
}

var _ = describe("IngressClass", Label("ingress-class"), func() {
	var s *framework.Spec
	BeforeEach(func() {
		s = framework.NewSpec(env, "class")
		s.Backend("svc-a", 1)
	})

	It("serves an Ingress whose spec.ingressClassName names the controller's class", Label("core"), func() {
		host := s.Host("field")
		s.Apply("ingress-class/ingress.yaml", classIngress("by-field", host, "svc-a", s.Controller.IngressClass, ""))
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"})
	})

	It("serves an Ingress that names its class with the legacy kubernetes.io/ingress.class annotation", Label("extended"), func() {
		host := s.Host("annotation")
		s.Apply("ingress-class/ingress.yaml", classIngress("by-annotation", host, "svc-a", "", s.Controller.IngressClass))
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"})
	})

	It("serves a class-less Ingress created while its class is the default", Label("extended"), func() {
		class := s.Controller.IngressClass
		ctx := s.Context()
		ic, err := s.Env.Client.NetworkingV1().IngressClasses().Get(ctx, class, metav1.GetOptions{})
		if err != nil {
			Fail(fmt.Sprintf("get IngressClass %s: %v", class, err))
		}
		var previous *string
		if v, ok := ic.Annotations[defaultClassAnnotation]; ok {
			previous = &v
		}
		// Other specs must not see a default class: restore even on failure.
		DeferCleanup(func(ctx context.Context) {
			if err := setDefaultClass(ctx, s, class, previous); err != nil {
				GinkgoWriter.Printf("restore: %v\n", err)
			}
		})
		yes := "true"
		if err := setDefaultClass(ctx, s, class, &yes); err != nil {
			Fail(err.Error())
		}

		// The DefaultIngressClass admission plugin writes the class into
		// Ingresses created without one; it reads classes from an informer,
		// so an Ingress created right after the patch may still miss it:
		// recreate it until the class is written.
		host := s.Host("default")
		const name = "class-less"
		api := s.Env.Client.NetworkingV1().Ingresses(s.Namespace)
		written := ""
		s.Poll("the DefaultIngressClass admission plugin writes the default class", s.Env.Timeouts.MaxTimeToConsistency, func() error {
			ing, err := s.Ingress(name)
			if apierrors.IsNotFound(err) {
				s.Apply("ingress-class/ingress.yaml", classIngress(name, host, "svc-a", "", ""))
				if ing, err = s.Ingress(name); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			if c := ing.Spec.IngressClassName; c != nil {
				written = *c
				return nil
			}
			if err := api.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete Ingress %s to recreate it: %w", name, err)
			}
			return fmt.Errorf("the admission plugin left spec.ingressClassName of Ingress %s/%s empty", s.Namespace, name)
		})
		if written != class {
			Fail(fmt.Sprintf("the admission plugin wrote class %q into Ingress %s/%s, not %q: another IngressClass is marked default",
				written, s.Namespace, name, class))
		}
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-a"})
	})

	It("ignores an Ingress of a class with another spec.controller (no traffic, no status)", Label("core"), func() {
		foreign := applyForeignClass(s, "ingress-class/foreign-class.yaml")
		ours, theirs := s.Host("ours"), s.Host("foreign")
		s.Apply("ingress-class/ingress.yaml", classIngress("foreign", theirs, "svc-a", foreign, ""))
		s.Apply("ingress-class/ingress.yaml", classIngress("ours", ours, "svc-a", s.Controller.IngressClass, ""))
		// The sibling converging shows the controller has caught up with
		// both writes (the foreign one came first).
		s.Eventually(framework.Request{Host: ours}, framework.Expect{Backend: "svc-a"})
		req := framework.Request{Host: theirs}
		s.Hold("Ingress of foreign class "+foreign, req, func() error {
			if err := notFrom("svc-a").Match(s.Do(req)); err != nil {
				return err
			}
			return noStatus(s, "foreign")
		})
	})

	It("lets two controllers each serve only the Ingresses of their own class", Label("core"), func() {
		if env.Second == nil {
			Skip("needs a second controller with its own IngressClass (ingresslab conformance --multi-class)")
		}
		first, second := s.Host("first"), s.Host("second")
		s.Backend("svc-b", 1)
		s.Apply("ingress-class/ingress.yaml", classIngress("first", first, "svc-a", env.Controller.IngressClass, ""))
		s.WithController(env.Second, func() {
			s.Apply("ingress-class/ingress.yaml", classIngress("second", second, "svc-b", env.Second.IngressClass, ""))
			s.Eventually(framework.Request{Host: second}, framework.Expect{Backend: "svc-b"})
		})
		s.Eventually(framework.Request{Host: first}, framework.Expect{Backend: "svc-a"})
		// Both converged: neither may serve the other's host.
		s.Hold("the first controller must not serve the second class's host", framework.Request{Host: second}, func() error {
			return notFrom("svc-b").Match(s.Do(framework.Request{Host: second}))
		})
		s.WithController(env.Second, func() {
			s.Hold("the second controller must not serve the first class's host", framework.Request{Host: first}, func() error {
				return notFrom("svc-a").Match(s.Do(framework.Request{Host: first}))
			})
		})
	})
})
