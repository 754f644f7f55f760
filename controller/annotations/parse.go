package annotations

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Warning reports an annotation that was not applied.
type Warning struct {
	// Annotation is the full key, e.g. "nginx.ingress.kubernetes.io/limit-rps".
	Annotation string `json:"annotation"`
	// Reason is one of the Reason* constants.
	Reason string `json:"reason"`
	// Message explains the problem; values are quoted and cut to 64 bytes.
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Annotation + ": " + w.Reason + ": " + w.Message }

// Warning reasons.
const (
	// ReasonInvalid: the value does not parse or is out of bounds; the
	// annotation (and its feature, see Parse) is ignored.
	ReasonInvalid = "InvalidAnnotation"
	// ReasonRefused: a raw-configuration (snippet) annotation.
	ReasonRefused = "RefusedAnnotation"
	// ReasonUnsupported: a known ingress-nginx annotation the reference
	// controller does not implement, or an unsupported value of a
	// supported one.
	ReasonUnsupported = "UnsupportedAnnotation"
	// ReasonUnknown: a key under the dialect's prefix that is not in the
	// catalogue (often a typo).
	ReasonUnknown = "UnknownAnnotation"
	// ReasonUnused: valid, but has no effect without another annotation
	// (e.g. cors-max-age without enable-cors).
	ReasonUnused = "UnusedAnnotation"
	// ReasonIgnoredOnCanary: a canary Ingress only takes canary and
	// affinity annotations; the rest come from the main Ingress.
	ReasonIgnoredOnCanary = "IgnoredOnCanary"
	// ReasonFeatureDisabled: valid, but its feature was not applied
	// because another annotation of the same feature is invalid.
	ReasonFeatureDisabled = "FeatureDisabled"
	// ReasonNginxCompat: valid, and read the way ingress-nginx reads it
	// in the nginx dialect (e.g. a canary-weight-total below 100 is 100).
	ReasonNginxCompat = "ReadAsIngressNginx"
)

// Options configure Parse. The zero value is usable.
type Options struct {
	// Dialect is the annotation prefix read. Default DialectIngressLab.
	Dialect Dialect
	// MaxValueBytes bounds every annotation value. Default 4096; longer
	// values are invalid without being inspected further.
	MaxValueBytes int
	// AllowCrossNamespace permits "namespace/name" references (auth-secret,
	// proxy-ssl-secret, custom-headers) to other namespaces. Default false.
	AllowCrossNamespace bool
}

// DefaultMaxValueBytes is the default Options.MaxValueBytes.
const DefaultMaxValueBytes = 4096

func (o Options) withDefaults() Options {
	if o.Dialect == "" {
		o.Dialect = DialectIngressLab
	}
	if o.MaxValueBytes <= 0 {
		o.MaxValueBytes = DefaultMaxValueBytes
	}
	return o
}

// Input is what Parse reads from an Ingress.
type Input struct {
	// Namespace of the Ingress: references without a namespace resolve to
	// it, and others must equal it unless Options.AllowCrossNamespace.
	Namespace string
	// Annotations of the Ingress; keys of other prefixes are ignored.
	Annotations map[string]string
	// Paths are the Ingress's rule paths; in regex mode each is compiled
	// into Rewrite.Paths (an invalid expression invalidates use-regex and
	// rewrite-target).
	Paths []string
}

// ParseIngress parses an Ingress's annotations (see Parse).
func ParseIngress(ing *networkingv1.Ingress, opts Options) (Policy, []Warning) {
	in := Input{Namespace: ing.Namespace, Annotations: ing.Annotations}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if !slices.Contains(in.Paths, p.Path) {
				in.Paths = append(in.Paths, p.Path)
			}
		}
	}
	return Parse(in, opts)
}

// Parse validates the annotations of one Ingress in the selected dialect and
// returns its Policy and the warnings, sorted by annotation key.
//
// Rules:
//   - Every value is checked (length, UTF-8, no control characters, then
//     its own syntax and bounds). Values are data: nothing is ever
//     interpreted as proxy configuration or code.
//   - An invalid annotation is never partly applied. Annotations that
//     configure one feature together (rewrite-target + use-regex, the
//     rate limits, cors-*, canary-*, affinity, redirects) are applied all or
//     nothing: one invalid member disables the feature.
//   - Security features fail closed: an invalid or incomplete source
//     range, basic auth, external auth or upstream TLS annotation sets
//     Policy.Denied instead of silently dropping the protection.
//   - A canary with an invalid canary-* annotation stays a canary that
//     receives no traffic.
//   - *-snippet annotations are refused; unknown keys under the prefix and
//     unsupported ingress-nginx annotations are reported and ignored.
func Parse(in Input, opts Options) (Policy, []Warning) {
	opts = opts.withDefaults()
	p := &parser{in: in, opts: opts, d: opts.Dialect, vals: map[string]string{}, bad: map[string]bool{}}
	p.collect()
	pol := Policy{Dialect: opts.Dialect}
	p.parseCanary(&pol)
	p.parseAffinity(&pol)
	p.parseRewrite(&pol)
	p.parseRedirects(&pol)
	p.parseRateLimit(&pol)
	p.parseProxy(&pol)
	p.parseBackend(&pol)
	p.parseSourceRange(&pol)
	p.parseBasicAuth(&pol)
	p.parseExternalAuth(&pol)
	p.parseClientAuth(&pol)
	p.parseCORS(&pol)
	p.parseMisc(&pol)
	p.parseMore(&pol)
	if pol.Canary != nil {
		p.stripCanary(&pol)
	}
	slices.SortStableFunc(p.warns, func(a, b Warning) int { return strings.Compare(a.Annotation, b.Annotation) })
	return pol, p.warns
}

type parser struct {
	in    Input
	opts  Options
	d     Dialect
	vals  map[string]string // short name -> trimmed value (supported, pre-checked)
	bad   map[string]bool   // short name -> present but invalid
	warns []Warning
}

// collect pre-checks every annotation of the dialect.
func (p *parser) collect() {
	prefix := p.d.Prefix() + "/"
	for key, raw := range p.in.Annotations {
		name, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		e, known := Lookup(key)
		switch {
		case !known:
			p.warn(name, ReasonUnknown, "not a known annotation; ignored")
			continue
		case e.Status == StatusRefused:
			p.warn(name, ReasonRefused, "raw proxy configuration is never applied: snippet annotations enabled the CVE-2025-1974 (IngressNightmare) and CVE-2021-25742 class of attacks; use the typed annotations instead")
			continue
		case e.Status == StatusUnsupported:
			p.warn(name, ReasonUnsupported, "not supported by the reference controller; ignored")
			continue
		}
		if len(raw) > p.opts.MaxValueBytes {
			p.invalid(name, fmt.Sprintf("value is %d bytes, more than the limit of %d", len(raw), p.opts.MaxValueBytes))
			continue
		}
		if !utf8.ValidString(raw) {
			p.invalid(name, "value is not valid UTF-8")
			continue
		}
		v := strings.TrimSpace(raw)
		if strings.IndexFunc(v, isControl) >= 0 {
			p.invalid(name, fmt.Sprintf("value %s contains a control, format or line-break character", quote(v)))
			continue
		}
		p.vals[name] = v
	}
}

// isControl reports control (Cc), format (Cf, e.g. bidi overrides) and line
// or paragraph separator characters, none of which a value may contain.
func isControl(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

func (p *parser) warn(name, reason, msg string) {
	p.warns = append(p.warns, Warning{Annotation: p.d.Key(name), Reason: reason, Message: msg})
}

func (p *parser) invalid(name, msg string) {
	p.bad[name] = true
	p.warn(name, ReasonInvalid, msg)
}

// has reports whether the annotation is present (valid or not).
func (p *parser) has(name string) bool {
	_, ok := p.vals[name]
	return ok || p.bad[name]
}

// get converts a present, pre-checked value; ok is false when absent or
// invalid (an invalid value has been reported).
func get[T any](p *parser, name string, conv func(string) (T, error)) (v T, ok bool) {
	raw, present := p.vals[name]
	if !present {
		return v, false
	}
	v, err := conv(raw)
	if err != nil {
		p.invalid(name, fmt.Sprintf("value %s: %v", quote(raw), err))
		return v, false
	}
	return v, true
}

// anyBad reports whether one of names is present but invalid.
func (p *parser) anyBad(names ...string) (string, bool) {
	for _, n := range names {
		if p.bad[n] {
			return n, true
		}
	}
	return "", false
}

// disable reports the valid members of a feature that is not applied
// because culprit is invalid.
func (p *parser) disable(culprit string, names ...string) {
	for _, n := range names {
		if _, ok := p.vals[n]; ok && !p.bad[n] {
			p.warn(n, ReasonFeatureDisabled, fmt.Sprintf("not applied because %s is invalid", p.d.Key(culprit)))
		}
	}
}

// unused reports present, valid members that need an enabling annotation.
func (p *parser) unused(enabler string, names ...string) {
	for _, n := range names {
		if _, ok := p.vals[n]; ok && !p.bad[n] {
			p.warn(n, ReasonUnused, fmt.Sprintf("has no effect without %s", p.d.Key(enabler)))
		}
	}
}

// deny marks the policy denied (the first cause wins).
func (p *parser) deny(pol *Policy, name, why string) {
	if pol.Denied == nil {
		pol.Denied = &routing.Denial{Annotation: name, Reason: why}
	}
}

// stripCanary clears everything but Canary and Affinity on a canary
// Ingress and reports what was dropped.
func (p *parser) stripCanary(pol *Policy) {
	kept := Policy{Dialect: pol.Dialect, Canary: pol.Canary, Affinity: pol.Affinity}
	*pol = kept
	for name := range p.vals {
		if p.bad[name] {
			continue
		}
		if e, _ := Lookup(p.d.Key(name)); e.Feature != FeatureCanary && e.Feature != FeatureAffinity {
			p.warn(name, ReasonIgnoredOnCanary, "a canary Ingress takes this from its main Ingress; ignored")
		}
	}
}
