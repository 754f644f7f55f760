package existing

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/cluster"
)

// EchoHealthPath is probed for readiness. ingresslab-echo serves it as its
// health endpoint; echo-basic answers every path with 200.
const EchoHealthPath = "/-/healthz"

// EchoDeployment returns the Deployment of a backend: one echo container
// per distinct target port (each listening on it through HTTP_PORT), the
// identity from the downward API, a readiness probe, and a restrictive
// securityContext.
func EchoDeployment(spec cluster.BackendSpec, image string, pull corev1.PullPolicy, labels map[string]string) *appsv1.Deployment {
	podLabels := map[string]string{BackendLabel: spec.Name}
	for k, v := range labels {
		podLabels[k] = v
	}
	var containers []corev1.Container
	seen := map[int32]bool{}
	for _, port := range spec.Ports {
		if seen[port.TargetPort] {
			continue
		}
		seen[port.TargetPort] = true
		tp := strconv.Itoa(int(port.TargetPort))
		portEnv := []corev1.EnvVar{{Name: "HTTP_PORT", Value: tp}}
		probeScheme := corev1.URISchemeHTTP
		if port.TLS {
			// HTTPS on the target port; plain HTTP on a free port.
			portEnv = []corev1.EnvVar{{Name: "HTTP_PORT", Value: "0"}, {Name: "HTTPS_PORT", Value: tp}}
			probeScheme = corev1.URISchemeHTTPS
		}
		containers = append(containers, corev1.Container{
			Name:            "echo-" + tp,
			Image:           image,
			ImagePullPolicy: pull,
			Env: append(portEnv, []corev1.EnvVar{
				{Name: "SERVICE_NAME", Value: spec.Name},
				{Name: "SERVICE_PORT", Value: strconv.Itoa(int(port.Port))},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			}...),
			Ports: []corev1.ContainerPort{{Name: portName(port.TargetPort), ContainerPort: port.TargetPort, Protocol: corev1.ProtocolTCP}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: EchoHealthPath, Port: intstr.FromInt32(port.TargetPort), Scheme: probeScheme}},
				PeriodSeconds: 2, FailureThreshold: 2,
			},
			Resources: corev1.ResourceRequirements{},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptrTo(false),
				ReadOnlyRootFilesystem:   ptrTo(true),
				RunAsNonRoot:             ptrTo(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		})
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: podLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptrTo(int32(spec.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{BackendLabel: spec.Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					Containers:                    containers,
					TerminationGracePeriodSeconds: ptrTo(int64(5)),
					AutomountServiceAccountToken:  ptrTo(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptrTo(true), RunAsUser: ptrTo(int64(65532)), RunAsGroup: ptrTo(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
				},
			},
		},
	}
}

func portName(p int32) string { return "echo-" + strconv.Itoa(int(p)) }

// EchoService returns the Service of a backend, selecting its pods.
func EchoService(spec cluster.BackendSpec, labels map[string]string) *corev1.Service {
	all := map[string]string{BackendLabel: spec.Name}
	for k, v := range labels {
		all[k] = v
	}
	for k, v := range spec.Labels {
		all[k] = v
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: all},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{BackendLabel: spec.Name},
		},
	}
	for _, port := range spec.Ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: port.Name, Port: port.Port, TargetPort: intstr.FromInt32(port.TargetPort), Protocol: corev1.ProtocolTCP,
		})
	}
	return svc
}

// PublishBackend creates the backend's namespace (labelled with the run),
// its echo Deployment and Service, then waits for the pods.
func (p *Provider) PublishBackend(ctx context.Context, spec cluster.BackendSpec) (*cluster.Backend, error) {
	spec, err := spec.WithDefaults()
	if err != nil {
		return nil, err
	}
	if spec.Refusing > 0 {
		return nil, fmt.Errorf("backend %s/%s: the %s provider cannot publish endpoints that refuse connections (endpoints follow pod readiness): %w",
			spec.Namespace, spec.Name, p.opts.Name, errors.ErrUnsupported)
	}
	if err := p.EnsureNamespace(ctx, spec.Namespace); err != nil {
		return nil, err
	}
	labels := p.RunLabels()
	dep := EchoDeployment(spec, p.opts.EchoImage, p.opts.PullPolicy, labels)
	if _, err := p.client.AppsV1().Deployments(spec.Namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("backend %s/%s: create Deployment: %w", spec.Namespace, spec.Name, err)
	}
	if _, err := p.client.CoreV1().Services(spec.Namespace).Create(ctx, EchoService(spec, labels), metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("backend %s/%s: create Service: %w", spec.Namespace, spec.Name, err)
	}
	b := &cluster.Backend{Spec: spec}
	p.mu.Lock()
	p.backends[b] = true
	p.mu.Unlock()
	if err := p.settle(ctx, b); err != nil {
		return b, err
	}
	return b, nil
}

func (p *Provider) check(b *cluster.Backend) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.backends[b] {
		return fmt.Errorf("backend %s/%s is not published by this provider", b.Spec.Namespace, b.Spec.Name)
	}
	return nil
}

// ScaleBackend sets the Deployment's replicas through its scale
// subresource and waits for the pods.
func (p *Provider) ScaleBackend(ctx context.Context, b *cluster.Backend, replicas int) error {
	if replicas < 0 {
		return fmt.Errorf("backend %s/%s: replicas %d is negative", b.Spec.Namespace, b.Spec.Name, replicas)
	}
	if err := p.check(b); err != nil {
		return err
	}
	ns, name := b.Spec.Namespace, b.Spec.Name
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: int32(replicas)}}
	if _, err := p.client.AppsV1().Deployments(ns).UpdateScale(ctx, name, sc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("backend %s/%s: scale to %d: %w", ns, name, replicas, err)
	}
	b.Spec.Replicas = replicas
	return p.settle(ctx, b)
}

// settle waits for the Deployment and refreshes b.Endpoints from its pods.
func (p *Provider) settle(ctx context.Context, b *cluster.Backend) error {
	ns, name := b.Spec.Namespace, b.Spec.Name
	wctx, cancel := context.WithTimeout(ctx, p.opts.WaitTimeout)
	defer cancel()
	if err := p.opts.Wait(wctx, p.client, ns, name, b.Spec.Replicas); err != nil {
		return fmt.Errorf("backend %s/%s: %d replicas not ready within %s: %w%s", ns, name, b.Spec.Replicas, p.opts.WaitTimeout, err, p.podProblems(ctx, ns, name))
	}
	eps, err := p.endpoints(ctx, ns, name)
	if err != nil {
		return err
	}
	b.Endpoints = eps
	return nil
}

// endpoints lists the backend's pods (not terminating), sorted by name.
func (p *Provider) endpoints(ctx context.Context, ns, name string) ([]cluster.Endpoint, error) {
	pods, err := p.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: BackendLabel + "=" + name})
	if err != nil {
		return nil, fmt.Errorf("backend %s/%s: list pods: %w", ns, name, err)
	}
	var eps []cluster.Endpoint
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp != nil {
			continue
		}
		ep := cluster.Endpoint{Pod: pod.Name}
		if a, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
			ep.Address = a
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ep.Conditions = cluster.Ready
			}
		}
		eps = append(eps, ep)
	}
	slices.SortFunc(eps, func(a, b cluster.Endpoint) int { return strings.Compare(a.Pod, b.Pod) })
	return eps, nil
}

// podProblems describes why pods are not ready (image pulls, crashes),
// for error messages.
func (p *Provider) podProblems(ctx context.Context, ns, name string) string {
	pods, err := p.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: BackendLabel + "=" + name})
	if err != nil || len(pods.Items) == 0 {
		return ""
	}
	var out []string
	for _, pod := range pods.Items {
		for _, cs := range pod.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				out = append(out, fmt.Sprintf("pod %s container %s: %s %s", pod.Name, cs.Name, w.Reason, w.Message))
			}
		}
		if pod.Status.Phase == corev1.PodPending && len(pod.Status.ContainerStatuses) == 0 {
			for _, c := range pod.Status.Conditions {
				if c.Status == corev1.ConditionFalse && c.Message != "" {
					out = append(out, fmt.Sprintf("pod %s: %s", pod.Name, c.Message))
				}
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "\n  " + strings.Join(out, "\n  ")
}

// SetEndpointConditions is not supported: on a real cluster endpoint
// conditions follow pod readiness, which the EndpointSlice controller
// publishes. The error wraps errors.ErrUnsupported (specs skip on it).
func (p *Provider) SetEndpointConditions(_ context.Context, b *cluster.Backend, i int, _ cluster.EndpointConditions) error {
	return fmt.Errorf("backend %s/%s endpoint %d: the %s provider cannot set endpoint conditions (they follow pod readiness): %w",
		b.Spec.Namespace, b.Spec.Name, i, p.opts.Name, errors.ErrUnsupported)
}

// DeleteBackend deletes the Deployment (and so its pods) and the Service.
func (p *Provider) DeleteBackend(ctx context.Context, b *cluster.Backend) error {
	if err := p.check(b); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.backends, b)
	p.mu.Unlock()
	b.Endpoints = nil
	ns, name := b.Spec.Namespace, b.Spec.Name
	policy := metav1.DeletePropagationBackground
	if err := p.client.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete backend %s/%s: Deployment: %w", ns, name, err)
	}
	if err := p.client.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete backend %s/%s: Service: %w", ns, name, err)
	}
	return nil
}

// WaitDeployment polls until the Deployment has observed its latest spec
// and runs exactly replicas pods, all updated and ready.
func WaitDeployment(ctx context.Context, c kubernetes.Interface, namespace, name string, replicas int) error {
	var last string
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return false, err
			}
			last = err.Error()
			return false, nil
		}
		s := d.Status
		last = fmt.Sprintf("observed generation %d of %d, %d replicas, %d updated, %d ready", s.ObservedGeneration, d.Generation, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas)
		r := int32(replicas)
		return s.ObservedGeneration >= d.Generation && s.Replicas == r && s.UpdatedReplicas == r && s.ReadyReplicas == r, nil
	})
	if err != nil && last != "" {
		return fmt.Errorf("deployment %s/%s (%s): %w", namespace, name, last, err)
	}
	return err
}

// NoWait is a WaitFunc that returns at once (for API servers without
// kubelets, e.g. tests against the local provider).
func NoWait(context.Context, kubernetes.Interface, string, string, int) error { return nil }
