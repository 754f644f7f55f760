package suites

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// The extended annotation suites are written once against behaviour, with
// ingress-nginx's annotation names and value syntax. Each controller's
// profile says how it expresses a feature (profile.Annotations): the specs
// ask for the canonical annotations and get the controller's keys, or are
// skipped as unsupported. Every annotation spec carries the label
// AnnotationLabel(feature) and the level "extended".

// annotationLabelPrefix starts the label of an annotation feature; reports
// read features with this prefix as annotation features.
const annotationLabelPrefix = reports.AnnotationFeaturePrefix

// AnnotationLabel is the Ginkgo label of an annotation feature
// ("annotations.rewrite").
func AnnotationLabel(feature string) string { return annotationLabelPrefix + feature }

// annotationFeature returns the feature of an annotation label.
func annotationFeature(label string) (string, bool) {
	f, ok := strings.CutPrefix(label, annotationLabelPrefix)
	if !ok {
		return "", false
	}
	_, known := profile.AnnotationFeatures[f]
	return f, known || f == hostileFeature
}

// unsupportedPrefix starts the skip message of an unsupported annotation
// feature or key; reports read it back.
const unsupportedPrefix = reports.UnsupportedSkip

// annotationsFor translates a feature's canonical annotations into the
// controller's, or skips the spec when the controller cannot express them.
func annotationsFor(feature string, canonical map[string]string) map[string]string {
	GinkgoHelper()
	a, err := env.Controller.Profile.AnnotationKeys(feature, canonical)
	if err != nil {
		Skip(unsupportedPrefix + err.Error())
	}
	return a
}

// annotationKeySupported says whether the profile expresses the canonical
// key name of feature, for keys a spec can do without.
func annotationKeySupported(feature, name string) bool {
	_, err := env.Controller.Profile.AnnotationKeys(feature, map[string]string{name: ""})
	return err == nil
}

// skipUnsupportedAnnotations skips specs of annotation features the
// profile declares unsupported (called from the suite's BeforeEach).
func skipUnsupportedAnnotations(labels []string) {
	for _, l := range labels {
		f, ok := annotationFeature(l)
		if !ok || f == hostileFeature {
			continue
		}
		if support, reason := env.Controller.Profile.AnnotationSupport(f); support == profile.AnnotationUnsupported {
			Skip(fmt.Sprintf("%sprofile %s does not support annotation feature %s: %s", unsupportedPrefix, env.Controller.Profile.Name, f, reason))
		}
	}
}

// annotated is one Ingress with annotations and a single rule.
type annotated struct {
	Name        string
	Host        string
	Path        string // default "/"
	PathType    string // default Prefix
	Service     string
	Port        int32 // default 80
	TLSSecret   string
	Annotations map[string]string
}

const annotatedTemplate = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{.V.Name}}
  annotations: {{json .V.Annotations}}
spec:
  ingressClassName: {{.Class}}
{{- if .V.TLSSecret}}
  tls:
  - hosts: [{{json .V.Host}}]
    secretName: {{.V.TLSSecret}}
{{- end}}
  rules:
  - host: {{json .V.Host}}
    http:
      paths:
      - path: {{json .V.Path}}
        pathType: {{.V.PathType}}
        backend: {service: {name: {{.V.Service}}, port: {number: {{.V.Port}}}}}
`

// applyAnnotated applies the Ingress in the spec's namespace.
func applyAnnotated(s *framework.Spec, a annotated) {
	GinkgoHelper()
	if a.Path == "" {
		a.Path = "/"
	}
	if a.PathType == "" {
		a.PathType = "Prefix"
	}
	if a.Port == 0 {
		a.Port = 80
	}
	if a.Annotations == nil {
		a.Annotations = map[string]string{}
	}
	s.ApplyYAML("ingress "+a.Name, annotatedTemplate, map[string]any{
		"Name": a.Name, "Host": a.Host, "Path": a.Path, "PathType": a.PathType, "Service": a.Service,
		"Port": a.Port, "TLSSecret": a.TLSSecret, "Annotations": a.Annotations,
	})
}

// merge joins annotation maps (later maps win).
func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// header checks a response header.
func header(name, want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if got := r.Header.Values(name); !slices.Contains(got, want) {
			return fmt.Errorf("response header %s = %q, want %q", name, got, want)
		}
		return nil
	}
}

// echoHeader checks a request header the backend received.
func echoHeader(name, want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if r.Echo == nil {
			return fmt.Errorf("response is not from an echo backend")
		}
		for k, vs := range r.Echo.Headers {
			if strings.EqualFold(k, name) && slices.Contains(vs, want) {
				return nil
			}
		}
		return fmt.Errorf("backend got header %s = %q, want %q", name, r.Echo.Headers[name], want)
	}
}

// echoHost checks the Host the backend received.
func echoHost(want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if r.Echo == nil || r.Echo.Host != want {
			got := "<none>"
			if r.Echo != nil {
				got = r.Echo.Host
			}
			return fmt.Errorf("backend got Host %q, want %q", got, want)
		}
		return nil
	}
}

// redirectTo checks a redirect's Location: want is a full URL, or a path
// (then only the Location's path is compared, since controllers differ in
// making it absolute).
func redirectTo(want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		loc := r.Header.Get("Location")
		if loc == "" {
			return fmt.Errorf("status %d without a Location header", r.StatusCode)
		}
		if strings.HasPrefix(want, "/") {
			u, err := url.Parse(loc)
			if err != nil || u.Path != want {
				return fmt.Errorf("header Location %q, want path %q", loc, want)
			}
			return nil
		}
		if loc != want {
			return fmt.Errorf("header Location %q, want %q", loc, want)
		}
		return nil
	}
}

// all joins checks.
func all(checks ...func(framework.Response) error) func(framework.Response) error {
	return func(r framework.Response) error {
		for _, c := range checks {
			if err := c(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// statusOutcomes accepts any of the codes (recorded as the variant) with
// an extra check.
func statusOutcomes(check func(framework.Response) error, codes ...int) []framework.Outcome {
	countChecks(1)
	out := make([]framework.Outcome, 0, len(codes))
	for _, c := range codes {
		out = append(out, framework.OutcomeOf(fmt.Sprint(c), framework.Expect{Status: c, Check: check}))
	}
	return out
}

// burst sends n requests one after another and counts status codes.
func burst(s *framework.Spec, req framework.Request, n int) map[int]int {
	counts := map[int]int{}
	for range n {
		r := s.Do(req)
		if r.Err != nil {
			counts[0]++
			continue
		}
		counts[r.StatusCode]++
	}
	return counts
}
