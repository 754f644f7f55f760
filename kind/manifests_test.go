package kind

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("no %s %s in the manifests", kind, name)
}

func TestManifestsAsShipped(t *testing.T) {
	objs, err := Manifests(ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	want := []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "IngressClass", "PodDisruptionBudget"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("kinds in apply order = %v, want %v", kinds, want)
	}

	var cr rbacv1.ClusterRole
	find(t, objs, "ClusterRole", "ingresslab-controller", &cr)
	var role rbacv1.Role
	find(t, objs, "Role", "ingresslab-controller-leader-election", &role)
	grants := map[string][]string{}
	for _, rules := range [][]rbacv1.PolicyRule{cr.Rules, role.Rules} {
		for _, r := range rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					grants[g+"/"+res] = append(grants[g+"/"+res], r.Verbs...)
				}
			}
			if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
				t.Fatalf("unexpected rule %+v", r)
			}
		}
	}
	read := []string{"get", "list", "watch"}
	wantGrants := map[string][]string{
		"networking.k8s.io/ingresses":        read,
		"networking.k8s.io/ingressclasses":   read,
		"networking.k8s.io/ingresses/status": {"patch"}, // merge patches of status (controller/status)
		"/services":                          read,
		"/secrets":                           read,
		"/configmaps":                        read, // custom-headers and IngressClass parameters
		"discovery.k8s.io/endpointslices":    read,
		"/events":                            {"create", "patch"},
		"events.k8s.io/events":               {"create", "patch"},
		"coordination.k8s.io/leases":         {"create", "get", "update"},
	}
	if len(grants) != len(wantGrants) {
		t.Fatalf("grants %v, want exactly %v", grants, wantGrants)
	}
	for res, verbs := range wantGrants {
		got := slices.Sorted(slices.Values(grants[res]))
		if !slices.Equal(got, slices.Sorted(slices.Values(verbs))) {
			t.Errorf("%s: verbs %v, want %v", res, got, verbs)
		}
	}

	var d appsv1.Deployment
	find(t, objs, "Deployment", DeploymentName, &d)
	if d.Namespace != Namespace || *d.Spec.Replicas != 2 {
		t.Fatalf("deployment %s/%s replicas %d", d.Namespace, d.Name, *d.Spec.Replicas)
	}
	ps := d.Spec.Template.Spec
	if ps.ServiceAccountName != "ingresslab-controller" || !*ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Fatalf("pod spec: sa %q securityContext %+v", ps.ServiceAccountName, ps.SecurityContext)
	}
	c := ps.Containers[0]
	if c.Image != ControllerImage || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Fatalf("image %s %s", c.Image, c.ImagePullPolicy)
	}
	for _, a := range []string{"--leader-elect=true", "--admin-addr=:10254", "--ingress-class=ingresslab", "--controller-name=ingresslab.dev/ingress-controller"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("args %v lack %s", c.Args, a)
		}
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.StrVal != "admin" {
		t.Errorf("readiness probe %+v", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.StrVal != "admin" {
		t.Errorf("liveness probe %+v", p)
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v", sc)
	}
	var svc corev1.Service
	find(t, objs, "Service", ServiceName, &svc)
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			t.Errorf("shipped Service pins node port %d", p.NodePort)
		}
	}
}

func TestManifestOptions(t *testing.T) {
	objs, err := Manifests(ManifestOptions{
		Image: "example.test/ctrl:v9", PullPolicy: corev1.PullNever, Replicas: 3,
		HTTPNodePort: 80, HTTPSNodePort: 443, StatusAddress: "127.0.0.1", ExtraArgs: []string{"--access-log"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", DeploymentName, &d)
	c := d.Spec.Template.Spec.Containers[0]
	if *d.Spec.Replicas != 3 || c.Image != "example.test/ctrl:v9" || c.ImagePullPolicy != corev1.PullNever {
		t.Fatalf("replicas %d image %s policy %s", *d.Spec.Replicas, c.Image, c.ImagePullPolicy)
	}
	if !slices.Contains(c.Args, "--publish-status-address=127.0.0.1") || !slices.Contains(c.Args, "--access-log") ||
		slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--publish-service") }) {
		t.Fatalf("args %v", c.Args)
	}
	var svc corev1.Service
	find(t, objs, "Service", ServiceName, &svc)
	got := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		got[p.Name] = p.NodePort
	}
	if got["http"] != 80 || got["https"] != 443 {
		t.Fatalf("node ports %v", got)
	}
	// The shipped objects are not modified by an earlier call.
	again, _ := Manifests(ManifestOptions{})
	find(t, again, "Service", ServiceName, &svc)
	if svc.Spec.Ports[0].NodePort != 0 {
		t.Fatal("options leaked into the shipped manifests")
	}
	if _, err := Manifests(ManifestOptions{Replicas: -1}); err == nil {
		t.Fatal("negative replicas accepted")
	}
}

func TestDecodeYAML(t *testing.T) {
	objs, err := DecodeYAML([]byte("# comment only\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n---\n\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n"))
	if err != nil || len(objs) != 2 || objs[0].GetName() != "a" || objs[1].GetKind() != "Secret" {
		t.Fatalf("objs %v err %v", objs, err)
	}
	if _, err := DecodeYAML([]byte("metadata: {name: x}\n")); err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Fatalf("object without kind: err = %v", err)
	}
}
