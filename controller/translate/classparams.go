package translate

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// IngressClass parameters: an IngressClass of ours may reference a
// ConfigMap (spec.parameters with apiGroup "" or unset, kind ConfigMap,
// scope Namespace and its namespace). Its keys:
const (
	// ParamAnnotationDialect is the annotation dialect of the class's
	// Ingresses: "ingresslab" or "nginx" (annotations.ParseDialect also
	// accepts the prefixes). Absent: Options.AnnotationDialect.
	ParamAnnotationDialect = "annotationDialect"
)

// classDialects returns the annotation dialect set by the parameters of
// each of our IngressClasses that has a valid one. Unusable parameters (not
// a namespaced ConfigMap, missing ConfigMap, invalid value) are reported on
// the IngressClass (Kind "IngressClass", Field "spec.parameters") and its
// Ingresses keep Options.AnnotationDialect.
func (tr *translator) classDialects(classes map[string]*networkingv1.IngressClass) map[string]annotations.Dialect {
	out := make(map[string]annotations.Dialect)
	for name, c := range classes {
		p := c.Spec.Parameters
		if p == nil {
			continue
		}
		ref := routing.ObjectRef{Name: name}
		fallback := fmt.Sprintf("the default annotation dialect %q is used", tr.opts.AnnotationDialect)
		warn := func(field, reason, msg string) {
			tr.warn("IngressClass", ref, "spec.parameters"+field, reason, msg+"; "+fallback)
		}
		group, scope, ns := "", "", ""
		if p.APIGroup != nil {
			group = *p.APIGroup
		}
		if p.Scope != nil {
			scope = *p.Scope
		}
		if p.Namespace != nil {
			ns = *p.Namespace
		}
		switch {
		case group != "" || p.Kind != "ConfigMap":
			warn("", ReasonInvalidParameters, fmt.Sprintf("parameters of kind %s are not supported (want a ConfigMap)", kindText(group, p.Kind)))
			continue
		case scope != networkingv1.IngressClassParametersReferenceScopeNamespace || ns == "":
			warn(".scope", ReasonInvalidParameters, "a ConfigMap is namespaced: parameters need scope Namespace and a namespace")
			continue
		}
		cmRef := routing.ObjectRef{Namespace: ns, Name: p.Name}
		cm := tr.configMaps[cmRef]
		if cm == nil {
			warn(".name", ReasonConfigMapNotFound, fmt.Sprintf("ConfigMap %s not found (or not watched)", cmRef))
			continue
		}
		v := cm.Data[ParamAnnotationDialect]
		if strings.TrimSpace(v) == "" {
			continue // absent or empty: the default
		}
		d, err := annotations.ParseDialect(v)
		if err != nil {
			warn("", ReasonInvalidParameters, fmt.Sprintf("ConfigMap %s key %s: %v", cmRef, ParamAnnotationDialect, err))
			continue
		}
		out[name] = d
	}
	return out
}

// dialectOf is the annotation dialect of one of our Ingresses: its
// IngressClass parameters', else Options.AnnotationDialect.
func (tr *translator) dialectOf(ing *networkingv1.Ingress) annotations.Dialect {
	if d, ok := tr.dialects[ing]; ok {
		return d
	}
	return tr.opts.AnnotationDialect
}
