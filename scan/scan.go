// Package scan reads every Ingress of a live cluster and produces a
// migration-readiness report: which controller annotations are in use (with
// counts and the Ingresses that carry them) and, for a candidate controller
// profile, which of them it supports, supports with different behaviour, or
// lacks. It is the engine of `ingresslab scan`.
//
// # Profile data
//
// A Profile is the scan's view of a candidate controller: its name, the
// annotation prefixes it is judged on (keys with other prefixes, such as
// cert-manager.io/*, are listed as "other"), and a Support map from full
// annotation key to a Verdict (supported, variant, unsupported) with the
// feature label and a note. Keys under a judged prefix that the map lacks are
// unsupported. A profile may also validate values (Validate), so that values
// the candidate would reject are counted too.
//
// The reference controller's profile is built in (Reference), derived from
// annotations.Catalog: supported entries are "supported" in the
// ingresslab.dev dialect and, in the nginx dialect, "variant" when the
// catalogue records a difference from ingress-nginx; refused (snippet) and
// unsupported entries are "unsupported". Any other candidate comes from its
// controller profile's annotation map (FromProfile, Candidate), optionally
// refined by its conformance results.
package scan

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/controller/annotations"
)

// Verdict is a candidate's support for one annotation.
type Verdict string

const (
	Supported   Verdict = "supported"
	Variant     Verdict = "variant"
	Unsupported Verdict = "unsupported"
	// Other marks keys outside the profile's prefixes (not judged).
	Other Verdict = "other"
)

// Support is one annotation's verdict.
type Support struct {
	Verdict Verdict `json:"verdict"`
	Feature string  `json:"feature,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// Profile is a candidate controller as the scan sees it.
type Profile struct {
	Name string
	// Prefixes are the annotation prefixes judged (without "/").
	Prefixes []string
	// Support maps full annotation keys to verdicts; judged keys missing
	// from it are Unsupported.
	Support map[string]Support
	// Validate, when set, returns the warnings the candidate would raise for
	// an Ingress's annotation values (nil: values are not checked).
	Validate func(ing *networkingv1.Ingress) []annotations.Warning
	// Behaviour, when set, returns how the annotation specs using a key
	// behaved on the candidate compared with a golden recording (nil when
	// no spec used it); a supported key whose specs differed unexpectedly
	// becomes a variant.
	Behaviour func(key string) *Behaviour
}

// Reference is the built-in profile of ingresslab's reference controller.
func Reference() Profile {
	p := Profile{Name: "reference", Support: map[string]Support{}}
	for _, d := range annotations.Dialects() {
		p.Prefixes = append(p.Prefixes, d.Prefix())
	}
	for _, e := range annotations.Catalog() {
		s := Support{Verdict: Unsupported, Feature: e.Feature, Note: e.Differences}
		switch {
		case e.Status == annotations.StatusSupported && e.Differences != "":
			s.Verdict = Variant
		case e.Status == annotations.StatusSupported:
			s.Verdict = Supported
		}
		p.Support[e.Key] = s
	}
	p.Validate = func(ing *networkingv1.Ingress) []annotations.Warning {
		var out []annotations.Warning
		for _, d := range annotations.Dialects() {
			_, ws := annotations.ParseIngress(ing, annotations.Options{Dialect: d})
			for _, w := range ws {
				if w.Reason == annotations.ReasonInvalid {
					out = append(out, w)
				}
			}
		}
		return out
	}
	return p
}

// Judge returns the profile's verdict on a full annotation key.
func (p Profile) Judge(key string) Support {
	if s, ok := p.Support[key]; ok {
		return s
	}
	for _, pre := range p.Prefixes {
		if strings.HasPrefix(key, pre+"/") {
			s := Support{Verdict: Unsupported, Note: "not known to " + p.Name}
			if strings.HasSuffix(key, "-snippet") {
				s.Feature = annotations.FeatureSnippet
			}
			return s
		}
	}
	return Support{Verdict: Other}
}

// Report is the scan's result.
type Report struct {
	Candidate string `json:"candidate"`
	// Source describes where the Ingresses came from (cluster context).
	Source    string  `json:"source,omitempty"`
	Ingresses int     `json:"ingresses"`
	Summary   Summary `json:"summary"`
	// Annotations in use, sorted by verdict (unsupported first) then key.
	Annotations []Usage `json:"annotations"`
	// Blocked lists the Ingresses that use an unsupported annotation or a
	// value the candidate rejects, with those keys.
	Blocked []IngressIssues `json:"blocked,omitempty"`
}

// Summary counts distinct annotation keys per verdict and Ingresses by
// readiness.
type Summary struct {
	Supported   int `json:"supported"`
	Variant     int `json:"variant"`
	Unsupported int `json:"unsupported"`
	Other       int `json:"other"`
	// Ready Ingresses use only supported or variant annotations with valid
	// values; Blocked ones do not.
	Ready   int `json:"ready"`
	Blocked int `json:"blocked"`
}

// Usage is one annotation key in use.
type Usage struct {
	Key string `json:"key"`
	Support
	// Count is the number of Ingresses carrying the key.
	Count int `json:"count"`
	// Ingresses are "namespace/name", sorted.
	Ingresses []string `json:"ingresses"`
	// Invalid counts Ingresses whose value the candidate rejects, with one
	// example message.
	Invalid        int    `json:"invalid,omitempty"`
	InvalidExample string `json:"invalidExample,omitempty"`
	// Behaviour compares the candidate with the golden recording on the
	// specs that use the key (scan --results with a --compare-to report).
	Behaviour *Behaviour `json:"behaviour,omitempty"`
}

// IngressIssues names an Ingress and its blocking annotation keys.
type IngressIssues struct {
	Ingress string   `json:"ingress"`
	Keys    []string `json:"keys"`
}

// ignoredKeys are bookkeeping annotations that say nothing about routing.
var ignoredKeys = map[string]bool{"kubectl.kubernetes.io/last-applied-configuration": true}

// Analyze builds the report for a set of Ingresses. It is pure.
func Analyze(ings []networkingv1.Ingress, p Profile) Report {
	r := Report{Candidate: p.Name, Ingresses: len(ings)}
	byKey := map[string]*Usage{}
	for i := range ings {
		ing := &ings[i]
		id := ing.Namespace + "/" + ing.Name
		invalid := map[string]string{}
		if p.Validate != nil {
			for _, w := range p.Validate(ing) {
				if _, ok := invalid[w.Annotation]; !ok {
					invalid[w.Annotation] = w.Message
				}
			}
		}
		var blocking []string
		for key := range ing.Annotations {
			if ignoredKeys[key] {
				continue
			}
			u := byKey[key]
			if u == nil {
				u = &Usage{Key: key, Support: p.Judge(key)}
				if p.Behaviour != nil {
					u.Behaviour = p.Behaviour(key)
				}
				if b := u.Behaviour; b != nil && u.Verdict == Supported && b.Fields.Unexpected > 0 {
					u.Verdict, u.Note = Variant, fmt.Sprintf("behaves differently from %s in %d field(s) of %d spec(s)", b.Golden, b.Fields.Unexpected, len(b.Specs))
				}
				byKey[key] = u
			}
			u.Count++
			u.Ingresses = append(u.Ingresses, id)
			msg, bad := invalid[key]
			if bad {
				u.Invalid++
				if u.InvalidExample == "" {
					u.InvalidExample = id + ": " + msg
				}
			}
			if u.Verdict == Unsupported || bad {
				blocking = append(blocking, key)
			}
		}
		if len(blocking) > 0 {
			slices.Sort(blocking)
			r.Blocked = append(r.Blocked, IngressIssues{Ingress: id, Keys: blocking})
		}
	}
	rank := map[Verdict]int{Unsupported: 0, Variant: 1, Supported: 2, Other: 3}
	for _, u := range byKey {
		slices.Sort(u.Ingresses)
		r.Annotations = append(r.Annotations, *u)
		switch u.Verdict {
		case Supported:
			r.Summary.Supported++
		case Variant:
			r.Summary.Variant++
		case Unsupported:
			r.Summary.Unsupported++
		default:
			r.Summary.Other++
		}
	}
	slices.SortFunc(r.Annotations, func(a, b Usage) int {
		return cmp.Or(cmp.Compare(rank[a.Verdict], rank[b.Verdict]), strings.Compare(a.Key, b.Key))
	})
	slices.SortFunc(r.Blocked, func(a, b IngressIssues) int { return strings.Compare(a.Ingress, b.Ingress) })
	r.Summary.Blocked = len(r.Blocked)
	r.Summary.Ready = r.Ingresses - r.Summary.Blocked
	return r
}

// Options configure Scan.
type Options struct {
	// Profile is the candidate. Default Reference().
	Profile *Profile
	// Namespace limits the scan. Default: all namespaces.
	Namespace string
	// IngressClass, when set, keeps only Ingresses of that class
	// (spec.ingressClassName or the kubernetes.io/ingress.class annotation).
	IngressClass string
	// PageSize of list calls. Default 500.
	PageSize int64
	// Source is copied into Report.Source.
	Source string
}

// Scan lists the Ingresses (paginated) and analyses them.
func Scan(ctx context.Context, c kubernetes.Interface, opts Options) (Report, error) {
	prof := Reference()
	if opts.Profile != nil {
		prof = *opts.Profile
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	var ings []networkingv1.Ingress
	cont := ""
	for {
		list, err := c.NetworkingV1().Ingresses(opts.Namespace).List(ctx, metav1.ListOptions{Limit: opts.PageSize, Continue: cont})
		if err != nil {
			return Report{}, fmt.Errorf("scan: list ingresses: %w", err)
		}
		for _, ing := range list.Items {
			if opts.IngressClass == "" || className(&ing) == opts.IngressClass {
				ings = append(ings, ing)
			}
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	r := Analyze(ings, prof)
	r.Source = opts.Source
	return r, nil
}

func className(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations["kubernetes.io/ingress.class"]
}
