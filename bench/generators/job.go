// Package generators runs a bench window's load on several machines: as an
// Indexed Job (batch/v1, completionMode Indexed, parallelism = completions
// = N) in the run's namespace, one Pod per load generator, each running
// `ingresslab bench-agent` (package bench/agent) from the project's own
// image. Kubernetes does the coordination; this package only describes the
// Job, waits for it, reads the Pods' logs with client-go and merges them.
//
// All generators get the same agent Config, including one agreed
// wall-clock start instant, so their windows line up; each offers its share
// of the total (Rate/N open loop, its share of the workers closed loop).
//
// Safety: the Config's address is checked against the addresses the run
// allows (the controller address it was given and its own backends) before
// any Job exists; the Job has an activeDeadlineSeconds that covers the
// windows and a slack, no retries (backoffLimit 0), and the harness deletes
// the Job and its Pods when the run ends, fails or is cancelled (with a
// fresh context). The Pods run as a ServiceAccount of their own with no
// Role bound and no token mounted: a generator needs no API access at all.
// They prefer different nodes (pod anti-affinity on kubernetes.io/hostname)
// and state their CPU and memory requests and limits.
package generators

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/kind"
)

const (
	// ServiceAccount runs the generator Pods; no Role is bound to it.
	ServiceAccount = "ingresslab-bench-agent"
	// GeneratorLabel carries the Job's name on the Job and its Pods (the
	// anti-affinity and the clean-up select on it).
	GeneratorLabel = "ingresslab.dev/bench-generators"
	// ConfigEnv holds the agent Config (JSON) in the container.
	ConfigEnv = "INGRESSLAB_AGENT_CONFIG"
	// IndexEnv holds the Pod's completion index.
	IndexEnv = "INGRESSLAB_GENERATOR_INDEX"
	// PodEnv and NodeEnv name the Pod and its node (downward API).
	PodEnv  = "POD_NAME"
	NodeEnv = "NODE_NAME"
	// Container is the agent container's name.
	Container = "agent"
	// completionIndexAnnotation is set by the Job controller on every Pod
	// of an Indexed Job.
	completionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
)

// JobOptions describe one distributed measurement.
type JobOptions struct {
	// Namespace is the run's namespace; Name the Job's name (a DNS label).
	Namespace, Name string
	// Image runs `ingresslab bench-agent`. Default kind.BenchAgentImage.
	Image string
	// PullPolicy of the image. Default IfNotPresent.
	PullPolicy corev1.PullPolicy
	// Config is what every generator runs; Config.Generators is N.
	Config agent.Config
	// Allowed are the host:port addresses Config.Dial may name: the
	// controller address the run was given and the run's own backends.
	// Required.
	Allowed []string
	// Resources of each generator container. Default: requests 500m CPU
	// and 64Mi, limits 1 CPU and 256Mi.
	Resources corev1.ResourceRequirements
	// Slack is added to the windows for the Job's activeDeadlineSeconds
	// (scheduling, image start, the last answers). Default 60s.
	Slack time.Duration
	// Labels are added to the Job, its Pods and the ServiceAccount (the
	// run's labels).
	Labels map[string]string
}

// DefaultResources are a generator's requests and limits.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
}

func (o *JobOptions) defaults() error {
	if o.Image == "" {
		o.Image = kind.BenchAgentImage
	}
	if o.PullPolicy == "" {
		o.PullPolicy = corev1.PullIfNotPresent
	}
	if len(o.Resources.Requests) == 0 && len(o.Resources.Limits) == 0 {
		o.Resources = DefaultResources()
	}
	if o.Slack <= 0 {
		o.Slack = time.Minute
	}
	if o.Namespace == "" {
		return fmt.Errorf("generator Job: JobOptions.Namespace is empty")
	}
	if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 {
		return fmt.Errorf("generator Job: name %q: %v", o.Name, errs)
	}
	if len(o.Allowed) == 0 {
		return fmt.Errorf("generator Job %s/%s: JobOptions.Allowed is empty: generators may only target the controller and the run's own backends", o.Namespace, o.Name)
	}
	if err := o.Config.Validate(o.Allowed); err != nil {
		return fmt.Errorf("generator Job %s/%s: %w", o.Namespace, o.Name, err)
	}
	return nil
}

// NewJob returns the Indexed Job of o, its deadline counted from now.
func NewJob(o JobOptions, now time.Time) (*batchv1.Job, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(o.Config)
	if err != nil {
		return nil, fmt.Errorf("generator Job %s/%s: config: %w", o.Namespace, o.Name, err)
	}
	n := int32(o.Config.Generators)
	deadline := int64(math.Ceil((o.Config.End().Sub(now) + o.Slack).Seconds()))
	labels := map[string]string{GeneratorLabel: o.Name, "app.kubernetes.io/name": "ingresslab-bench-agent"}
	for k, v := range o.Labels {
		labels[k] = v
	}
	indexed := batchv1.IndexedCompletion
	f := false
	t := true
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode:          &indexed,
			Completions:             &n,
			Parallelism:             &n,
			BackoffLimit:            ptr(int32(0)),
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: ptr(int32(600)), // a backstop: the harness deletes the Job itself
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            ServiceAccount,
					AutomountServiceAccountToken:  &f,
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: ptr(int64(5)),
					EnableServiceLinks:            &f,
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
							Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{
								TopologyKey:   corev1.LabelHostname,
								LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{GeneratorLabel: o.Name}},
							},
						}},
					}},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: &t, RunAsUser: ptr(int64(65532)), RunAsGroup: ptr(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            Container,
						Image:           o.Image,
						ImagePullPolicy: o.PullPolicy,
						Command:         []string{"/usr/local/bin/ingresslab", "bench-agent"},
						Env: []corev1.EnvVar{
							{Name: ConfigEnv, Value: string(cfg)},
							fieldEnv(IndexEnv, "metadata.annotations['"+completionIndexAnnotation+"']"),
							fieldEnv(PodEnv, "metadata.name"),
							fieldEnv(NodeEnv, "spec.nodeName"),
							{Name: "GOMAXPROCS", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1")}}},
						},
						Resources: o.Resources,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &f, ReadOnlyRootFilesystem: &t, RunAsNonRoot: &t,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}, nil
}

// NewServiceAccount is the generators' identity: no token, no Role.
func NewServiceAccount(namespace string, labels map[string]string) *corev1.ServiceAccount {
	f := false
	return &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: ServiceAccount, Namespace: namespace, Labels: labels},
		AutomountServiceAccountToken: &f,
	}
}

func ptr[T any](v T) *T { return &v }
