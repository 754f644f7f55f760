package generators

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/kind"
)

func testOptions(start time.Time) JobOptions {
	return JobOptions{
		Namespace: "ingresslab-bench", Name: "gen-single-1",
		Config: agent.Config{Series: "proxied", Dial: "ingresslab-controller.ingresslab-system.svc:80", KeepAlive: true, Generators: 3, Start: start,
			Targets: []agent.Target{{Method: "GET", URL: "http://single.bench.test/bench", Expect: "echo"}},
			Windows: []agent.Window{{Phase: "warm-up", RateRPS: 3000, DurationMillis: 2000}, {Phase: "fraction", RateRPS: 3000, DurationMillis: 10000}}},
		Allowed: []string{"ingresslab-controller.ingresslab-system.svc:80", "echo.ingresslab-bench.svc:80"},
		Labels:  map[string]string{"ingresslab.dev/run": "abc123"},
	}
}

func TestJobSpec(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	o := testOptions(now.Add(30 * time.Second))
	job, err := NewJob(o, now)
	if err != nil {
		t.Fatal(err)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 3 || *s.Parallelism != 3 || *s.BackoffLimit != 0 {
		t.Fatalf("not an Indexed Job of 3 without retries: %+v", s)
	}
	// 30 s lead + 2 s + gap (5.5 s) + 10 s + the last request's 5 s timeout + 60 s slack.
	if want := int64(30 + 2 + 5.5 + 10 + 5 + 60 + 0.5); *s.ActiveDeadlineSeconds != want {
		t.Errorf("activeDeadlineSeconds %d, want %d", *s.ActiveDeadlineSeconds, want)
	}
	if job.Namespace != "ingresslab-bench" || job.Labels["ingresslab.dev/run"] != "abc123" || job.Labels[GeneratorLabel] != "gen-single-1" {
		t.Errorf("job metadata: %s %v", job.Namespace, job.Labels)
	}
	pod := s.Template.Spec
	if pod.ServiceAccountName != ServiceAccount || *pod.AutomountServiceAccountToken || pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("identity: sa %q automount %v restart %s", pod.ServiceAccountName, *pod.AutomountServiceAccountToken, pod.RestartPolicy)
	}
	if s.Template.Labels[GeneratorLabel] != "gen-single-1" || s.Template.Labels["ingresslab.dev/run"] != "abc123" {
		t.Errorf("pod labels %v", s.Template.Labels)
	}
	aa := pod.Affinity.PodAntiAffinity
	if aa == nil || len(aa.PreferredDuringSchedulingIgnoredDuringExecution) != 1 || len(aa.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Fatalf("anti-affinity must be preferred only: %+v", aa)
	}
	term := aa.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	if term.TopologyKey != corev1.LabelHostname || term.LabelSelector.MatchLabels[GeneratorLabel] != "gen-single-1" {
		t.Errorf("anti-affinity term %+v", term)
	}
	c := pod.Containers[0]
	if c.Image != kind.BenchAgentImage || c.ImagePullPolicy != corev1.PullIfNotPresent || strings.Join(c.Command, " ") != "/usr/local/bin/ingresslab bench-agent" {
		t.Errorf("container %s %s %v", c.Image, c.ImagePullPolicy, c.Command)
	}
	if c.Resources.Requests.Cpu().String() != "500m" || c.Resources.Limits.Cpu().String() != "1" || c.Resources.Requests.Memory().String() != "64Mi" || c.Resources.Limits.Memory().String() != "256Mi" {
		t.Errorf("resources %+v", c.Resources)
	}
	sc := c.SecurityContext
	if *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !*sc.RunAsNonRoot || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Add != nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("security context %+v", sc)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if f := env[IndexEnv].ValueFrom; f == nil || f.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("index env %+v", env[IndexEnv])
	}
	var cfg agent.Config
	if err := json.Unmarshal([]byte(env[ConfigEnv].Value), &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.Start.Equal(o.Config.Start) || cfg.Generators != 3 || cfg.Dial != o.Config.Dial || len(cfg.Windows) != 2 {
		t.Errorf("the start instant and config must be in the Job spec: %+v", cfg)
	}
	if _, err := agent.ParseConfig([]byte(env[ConfigEnv].Value)); err != nil {
		t.Errorf("the agent refuses the Job's config: %v", err)
	}
	sa := NewServiceAccount("ingresslab-bench", o.Labels)
	if *sa.AutomountServiceAccountToken || sa.Name != pod.ServiceAccountName {
		t.Errorf("service account %+v", sa)
	}
}

func TestJobRefusesTargetsOutsideTheRun(t *testing.T) {
	now := time.Now()
	for name, tc := range map[string]struct {
		mut  func(*JobOptions)
		want string
	}{
		"foreign address": {func(o *JobOptions) { o.Config.Dial = "10.0.0.1:80" }, `dial "10.0.0.1:80" is neither the controller address nor a backend of this run`},
		"no allow list":   {func(o *JobOptions) { o.Allowed = nil }, "Allowed is empty"},
		"bad name":        {func(o *JobOptions) { o.Name = "Gen_1" }, `name "Gen_1"`},
		"no namespace":    {func(o *JobOptions) { o.Namespace = "" }, "Namespace is empty"},
		"no windows":      {func(o *JobOptions) { o.Config.Windows = nil }, "windows: 0"},
		"no start":        {func(o *JobOptions) { o.Config.Start = time.Time{} }, "start is not set"},
	} {
		o := testOptions(now.Add(time.Minute))
		tc.mut(&o)
		if _, err := NewJob(o, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	o := testOptions(now.Add(time.Minute))
	o.Config.Dial = "echo.ingresslab-bench.svc:80" // a backend of the run
	if _, err := NewJob(o, now); err != nil {
		t.Errorf("backend of the run refused: %v", err)
	}
}
