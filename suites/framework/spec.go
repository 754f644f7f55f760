package framework

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/template"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/yaml"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/fixtures"
)

// RunLabel is the label key every namespace of a run carries.
const RunLabel = "ingresslab.dev/run"

// Spec is one running spec's context: its namespace, what it applied, and
// what it saw. Create it in BeforeEach with NewSpec.
type Spec struct {
	Env       *Env
	Namespace string
	// Controller is the controller this spec talks to (Env.Controller).
	Controller *Controller

	ctx        context.Context
	applied    []string
	lastChange time.Time
	responses  []Response
}

// NewSpec creates the spec's namespace ("<prefix>-<random>") and registers
// its deletion.
func NewSpec(env *Env, prefix string) *Spec {
	GinkgoHelper()
	ctx := context.Background()
	s := &Spec{Env: env, Namespace: prefix + "-" + randomSuffix(), Controller: env.Controller, ctx: ctx}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace, Labels: map[string]string{RunLabel: env.RunID}}}
	cctx, cancel := context.WithTimeout(ctx, env.Timeouts.Create)
	defer cancel()
	if _, err := env.Client.CoreV1().Namespaces().Create(cctx, ns, metav1.CreateOptions{}); err != nil {
		Fail(fmt.Sprintf("create namespace %s: %v", s.Namespace, err))
	}
	DeferCleanup(func() {
		dctx, cancel := context.WithTimeout(context.Background(), env.Timeouts.Delete)
		defer cancel()
		// Delete the Ingresses first so controllers drop the routes even
		// where namespaces are not deleted (no namespace controller).
		_ = env.Client.NetworkingV1().Ingresses(s.Namespace).DeleteCollection(dctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		err := env.Client.CoreV1().Namespaces().Delete(dctx, s.Namespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			GinkgoWriter.Printf("delete namespace %s: %v\n", s.Namespace, err)
		}
	})
	return s
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Context is the spec's context.
func (s *Spec) Context() context.Context { return s.ctx }

// Host returns a host name unique to this spec: "<label>.<namespace>.test".
func (s *Spec) Host(label string) string {
	if label == "" {
		return s.Namespace + ".test"
	}
	return label + "." + s.Namespace + ".test"
}

// Backend publishes an echo backend in the spec's namespace. The default
// port is named "http", 80 -> 8080.
func (s *Spec) Backend(name string, replicas int, ports ...cluster.ServicePort) *cluster.Backend {
	GinkgoHelper()
	return s.PublishBackend(cluster.BackendSpec{Name: name, Replicas: replicas, Ports: ports})
}

// PublishBackend publishes a backend from a full spec, in the spec's
// namespace; it skips the spec when the provider cannot do what it asks.
func (s *Spec) PublishBackend(spec cluster.BackendSpec) *cluster.Backend {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(s.ctx, s.Env.Timeouts.Create)
	defer cancel()
	spec.Namespace = s.Namespace
	b, err := s.Env.Backends.PublishBackend(ctx, spec)
	if errors.Is(err, errors.ErrUnsupported) {
		Skip(err.Error())
	}
	if err != nil {
		Fail(fmt.Sprintf("publish backend %s/%s: %v", s.Namespace, spec.Name, err))
	}
	DeferCleanup(func() {
		dctx, cancel := context.WithTimeout(context.Background(), s.Env.Timeouts.Delete)
		defer cancel()
		_ = s.Env.Backends.DeleteBackend(dctx, b)
	})
	return b
}

// Values are what fixture templates see.
type Values struct {
	Namespace string
	// Class is the IngressClass name of the controller under test.
	Class string
	// Controller is its IngressClass spec.controller.
	Controller string
	// V holds per-call values.
	V map[string]any
	s *Spec
}

// Host is the template function {{.Host "label"}}.
func (v Values) Host(label string) string { return v.s.Host(label) }

// Apply renders fixtures/conformance/<name> with the spec's values and
// applies every object in it (server-side apply) into the namespace.
func (s *Spec) Apply(name string, vals map[string]any) {
	GinkgoHelper()
	data, err := fs.ReadFile(fixtures.Conformance, "conformance/"+name)
	if err != nil {
		Fail(fmt.Sprintf("fixture %s: %v", name, err))
	}
	s.ApplyYAML(name, string(data), vals)
}

// ApplyYAML is Apply for an inline template.
func (s *Spec) ApplyYAML(name, text string, vals map[string]any) {
	GinkgoHelper()
	rendered, err := s.render(name, text, vals)
	if err != nil {
		Fail(err.Error())
	}
	s.applied = append(s.applied, "# "+name+"\n"+rendered)
	if err := s.applyObjects(rendered); err != nil {
		Fail(fmt.Sprintf("apply %s: %v\n---\n%s", name, err, rendered))
	}
	s.lastChange = time.Now()
}

func (s *Spec) render(name, text string, vals map[string]any) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return "", fmt.Errorf("fixture %s: %w", name, err)
	}
	var b bytes.Buffer
	v := Values{Namespace: s.Namespace, Class: s.Controller.IngressClass, Controller: s.Controller.Profile.Controller, V: vals, s: s}
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("fixture %s: %w", name, err)
	}
	return b.String(), nil
}

// applyObjects decodes every object of a manifest with e2e-framework's
// decoder and server-side applies it through its klient resources, into
// the spec's namespace unless the object is cluster-scoped or names one.
func (s *Spec) applyObjects(text string) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.Env.Timeouts.Create)
	defer cancel()
	force := true
	owner := func(o *metav1.PatchOptions) { o.FieldManager, o.Force = "ingresslab-suites", &force }
	return decoder.DecodeEach(ctx, strings.NewReader(text), func(ctx context.Context, obj k8s.Object) error {
		gvk := obj.GetObjectKind().GroupVersionKind()
		m, err := s.Env.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace && obj.GetNamespace() == "" {
			obj.SetNamespace(s.Namespace)
		}
		if gvk.Kind == "Ingress" {
			s.noteAnnotations(obj.GetAnnotations())
		}
		body, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		if err := s.Env.Resources.Patch(ctx, obj, k8s.Patch{PatchType: types.ApplyPatchType, Data: body}, owner); err != nil {
			return fmt.Errorf("%s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		return nil
	})
}

// MarkChange records that the spec changed something now (for convergence
// timing) when it did so without Apply.
func (s *Spec) MarkChange() { s.lastChange = time.Now() }

// Diagnostics is what a person needs when a check fails: the applied YAML,
// the Ingresses' status, the last responses, a curl command and the
// controller's recent log lines.
func (s *Spec) Diagnostics(req Request) string {
	var b strings.Builder
	b.WriteString("\n===== applied manifests =====\n")
	for _, a := range s.applied {
		b.WriteString(a)
		b.WriteString("\n---\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if list, err := s.Env.Client.NetworkingV1().Ingresses(s.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		b.WriteString("===== Ingress status =====\n")
		for _, ing := range list.Items {
			st, _ := yaml.Marshal(ing.Status)
			fmt.Fprintf(&b, "%s/%s: %s", ing.Namespace, ing.Name, st)
		}
	}
	b.WriteString("===== last responses =====\n")
	for _, r := range s.responses {
		b.WriteString(r.String())
		b.WriteString("\n")
	}
	addr := s.Controller.HTTP.HTTPAddr
	if req.HTTPS {
		addr = s.Controller.HTTP.HTTPSAddr
	}
	fmt.Fprintf(&b, "===== reproduce =====\n%s\n", req.Curl(addr))
	if s.Controller.Log != nil {
		fmt.Fprintf(&b, "===== controller log (last 30 lines) =====\n%s\n", s.Controller.Log(30))
	}
	return b.String()
}

func (s *Spec) remember(r Response) {
	s.responses = append(s.responses, r)
	if len(s.responses) > 3 {
		s.responses = s.responses[len(s.responses)-3:]
	}
}

// templateFuncs are the helpers fixture templates may use.
var templateFuncs = template.FuncMap{
	// dict builds a map from key, value pairs.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict needs key/value pairs, got %d arguments", len(kv))
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	// list builds a slice.
	"list": func(v ...any) []any { return v },
	// json renders a value as JSON, which is also valid YAML (annotation
	// maps, quoted paths).
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}
