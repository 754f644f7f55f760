package profile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Annotations says how a controller expresses the annotation features the
// extended suites test. Specs are written once, with ingress-nginx's
// annotation names and value syntax (the canonical short names, e.g.
// "rewrite-target"); Key translates a canonical name into this controller's
// annotation key, and Support says whether a spec can run at all.
type Annotations struct {
	// Prefix of this controller's annotation keys
	// ("nginx.ingress.kubernetes.io", "haproxy-ingress.github.io");
	// canonical short names go under it unless a feature renames them.
	Prefix string `json:"prefix"`
	// Features maps an annotation feature (AnnotationFeatures) to how the
	// controller expresses it. Features not listed are unsupported.
	Features map[string]AnnotationFeature `json:"features,omitempty"`
	// CommonVariants are documented differences from the golden recording
	// (`conformance --compare-to`) that apply to every spec, annotation
	// specs and core specs alike (e.g. the body of the controller's error
	// pages).
	CommonVariants []DocumentedVariant `json:"commonVariants,omitempty"`
}

// DocumentedVariant is a known, deliberate difference from the golden
// recording: a comparison classifies a difference it matches as a variant
// with Reason instead of as unexpected.
type DocumentedVariant struct {
	// Field is the observation field that differs ("response.header.
	// access-control-allow-origin"); "*" matches any run of characters.
	Field string `json:"field"`
	// Check, when set, limits the variant to observations whose key (the
	// normalised request, "GET http://cors.{ns}.test/api [Origin: ...]")
	// matches it; "*" matches any run of characters.
	Check string `json:"check,omitempty"`
	// Feature, in commonVariants, limits the variant to specs of this
	// report feature ("path-rules", or an annotation feature such as
	// "hostile-values" that the profile does not map).
	Feature string `json:"feature,omitempty"`
	// Reason says why the controller differs, for the reports.
	Reason string `json:"reason"`
}

// matches says whether the variant covers field of observation key.
func (v DocumentedVariant) matches(key, field string) bool {
	return globMatch(v.Field, field) && (v.Check == "" || globMatch(v.Check, key))
}

// globMatch matches s against a pattern where "*" is any run of
// characters and everything else is literal.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// annotationLabelPrefix starts the report feature label of annotation
// specs ("annotations.cors"; reports.AnnotationFeaturePrefix).
const annotationLabelPrefix = "annotations."

// DocumentedVariant returns the reason the profile gives when field of
// observation key, in a spec with features (report feature labels), may
// differ from the golden recording: a variant of one of the spec's
// annotation features, or a common variant. It implements
// reports.VariantDocs.
func (p *Profile) DocumentedVariant(features []string, key, field string) (string, bool) {
	if p == nil || p.Annotations == nil {
		return "", false
	}
	for _, f := range features {
		name, ok := strings.CutPrefix(f, annotationLabelPrefix)
		if !ok {
			continue
		}
		for _, v := range p.Annotations.Features[name].Variants {
			if v.matches(key, field) {
				return v.Reason, true
			}
		}
	}
	for _, v := range p.Annotations.CommonVariants {
		if v.matches(key, field) && (v.Feature == "" || slices.Contains(features, v.Feature) || slices.Contains(features, annotationLabelPrefix+v.Feature)) {
			return v.Reason, true
		}
	}
	return "", false
}

// AnnotationFeature is one feature in one controller's dialect.
type AnnotationFeature struct {
	// Unsupported, when set, says why the controller cannot express the
	// feature; its specs are skipped and reported as unsupported.
	Unsupported string `json:"unsupported,omitempty"`
	// Keys renames canonical short names: the value is this controller's
	// short name (under Prefix) or a full key (containing "/").
	Keys map[string]string `json:"keys,omitempty"`
	// UnsupportedKeys are canonical names the controller lacks (or whose
	// value syntax differs), with the reason; specs needing one are skipped.
	UnsupportedKeys map[string]string `json:"unsupportedKeys,omitempty"`
	// Note is a known difference from ingress-nginx, shown in reports.
	Note string `json:"note,omitempty"`
	// Variants are the feature's documented differences from the golden
	// recording, per observation field.
	Variants []DocumentedVariant `json:"variants,omitempty"`
}

// AnnotationFeatures lists the annotation features and the canonical
// (ingress-nginx) short names their specs use.
var AnnotationFeatures = map[string][]string{
	"rewrite":              {"rewrite-target", "use-regex"},
	"app-root":             {"app-root"},
	"x-forwarded-prefix":   {"x-forwarded-prefix"},
	"upstream-vhost":       {"upstream-vhost"},
	"ssl-redirect":         {"ssl-redirect", "force-ssl-redirect"},
	"redirect":             {"permanent-redirect", "permanent-redirect-code", "temporal-redirect", "temporal-redirect-code"},
	"rate-limit":           {"limit-rps", "limit-rpm", "limit-connections", "limit-burst-multiplier", "limit-whitelist"},
	"timeouts":             {"proxy-connect-timeout", "proxy-read-timeout", "proxy-send-timeout"},
	"body-size":            {"proxy-body-size"},
	"retries":              {"proxy-next-upstream-tries"},
	"backend-protocol":     {"backend-protocol"},
	"upstream-tls":         {"proxy-ssl-verify", "proxy-ssl-secret", "proxy-ssl-name", "proxy-ssl-server-name", "proxy-ssl-verify-depth"},
	"source-range":         {"whitelist-source-range", "denylist-source-range"},
	"basic-auth":           {"auth-type", "auth-secret", "auth-realm", "auth-secret-type"},
	"external-auth":        {"auth-url", "auth-response-headers", "auth-signin", "auth-cache-key", "auth-cache-duration"},
	"cors":                 {"enable-cors", "cors-allow-origin", "cors-allow-methods", "cors-allow-headers", "cors-allow-credentials", "cors-max-age", "cors-expose-headers"},
	"canary":               {"canary", "canary-weight", "canary-weight-total", "canary-by-header", "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie"},
	"affinity":             {"affinity", "session-cookie-name", "session-cookie-path", "session-cookie-max-age", "session-cookie-samesite", "session-cookie-secure", "session-cookie-expires"},
	"custom-headers":       {"custom-headers"},
	"server-alias":         {"server-alias"},
	"default-backend":      {"default-backend"},
	"custom-http-errors":   {"custom-http-errors"},
	"snippet":              {"configuration-snippet", "server-snippet"},
	"from-to-www-redirect": {"from-to-www-redirect"},
	"proxy-redirect":       {"proxy-redirect-from", "proxy-redirect-to"},
	"cookie-rewrite":       {"proxy-cookie-path", "proxy-cookie-domain"},
	"load-balance":         {"load-balance"},
	"upstream-hash-by":     {"upstream-hash-by"},
	"buffering":            {"proxy-buffering", "proxy-request-buffering", "client-body-buffer-size", "proxy-buffer-size"},
	"proxy-http-version":   {"proxy-http-version"},
	"service-upstream":     {"service-upstream"},
	"ssl-passthrough":      {"ssl-passthrough"},
	"client-cert-auth":     {"auth-tls-secret", "auth-tls-verify-client", "auth-tls-verify-depth", "auth-tls-pass-certificate-to-upstream"},
	"digest-auth":          {"auth-type", "auth-secret", "auth-realm"},
	// Annotations ingress-nginx accepts that have no effect a client can
	// see (logging, tracing), and an unknown key under the prefix: the
	// rest of the Ingress must be served as if they were absent.
	"unsupported-annotations": {"enable-access-log", "enable-rewrite-log", "enable-opentelemetry", "no-such-annotation"},
}

// Support values of an annotation feature.
const (
	AnnotationSupported   = "supported"
	AnnotationVariant     = "variant" // supported, with a documented difference
	AnnotationUnsupported = "unsupported"
)

// AnnotationSupport says whether the profile expresses feature, and why not
// (or its documented difference).
func (p *Profile) AnnotationSupport(feature string) (support, reason string) {
	a := p.Annotations
	if a == nil {
		return AnnotationUnsupported, "the profile declares no annotations"
	}
	f, ok := a.Features[feature]
	switch {
	case !ok:
		return AnnotationUnsupported, "not declared by the profile"
	case f.Unsupported != "":
		return AnnotationUnsupported, f.Unsupported
	case f.Note != "":
		return AnnotationVariant, f.Note
	}
	return AnnotationSupported, ""
}

// AnnotationKeys translates canonical annotations (short name -> value) of
// feature into this controller's keys. It fails, naming the reason, when
// the feature or one of the keys is unsupported.
func (p *Profile) AnnotationKeys(feature string, canonical map[string]string) (map[string]string, error) {
	if support, reason := p.AnnotationSupport(feature); support == AnnotationUnsupported {
		return nil, fmt.Errorf("%s does not support annotation feature %s: %s", p.Name, feature, reason)
	}
	f := p.Annotations.Features[feature]
	out := make(map[string]string, len(canonical))
	for _, name := range slices.Sorted(maps.Keys(canonical)) {
		if why, ok := f.UnsupportedKeys[name]; ok {
			return nil, fmt.Errorf("%s does not support annotation %s (feature %s): %s", p.Name, name, feature, why)
		}
		key := name
		if k, ok := f.Keys[name]; ok {
			key = k
		}
		if !strings.Contains(key, "/") {
			key = p.Annotations.Prefix + "/" + key
		}
		out[key] = canonical[name]
	}
	return out, nil
}

// validate checks feature names and that renamed keys are canonical.
func (a *Annotations) validate() error {
	if a == nil {
		return nil
	}
	var errs []error
	if strings.TrimSpace(a.Prefix) == "" || strings.Contains(a.Prefix, "/") {
		errs = append(errs, fmt.Errorf("annotations.prefix %q must be a DNS-style prefix without '/'", a.Prefix))
	}
	for _, name := range slices.Sorted(maps.Keys(a.Features)) {
		canon, ok := AnnotationFeatures[name]
		if !ok {
			errs = append(errs, fmt.Errorf("annotations.features.%s: unknown feature (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(AnnotationFeatures)), ", ")))
			continue
		}
		f := a.Features[name]
		for k := range f.Keys {
			if !slices.Contains(canon, k) {
				errs = append(errs, fmt.Errorf("annotations.features.%s.keys.%s: not a canonical key of the feature (%s)", name, k, strings.Join(canon, ", ")))
			}
		}
		for k := range f.UnsupportedKeys {
			if !slices.Contains(canon, k) {
				errs = append(errs, fmt.Errorf("annotations.features.%s.unsupportedKeys.%s: not a canonical key of the feature (%s)", name, k, strings.Join(canon, ", ")))
			}
		}
		errs = append(errs, validateVariants("annotations.features."+name+".variants", f.Variants)...)
	}
	errs = append(errs, validateVariants("annotations.commonVariants", a.CommonVariants)...)
	return errors.Join(errs...)
}

// validateVariants checks that every documented variant names a field and
// gives its reason.
func validateVariants(at string, vs []DocumentedVariant) []error {
	var errs []error
	for i, v := range vs {
		if strings.TrimSpace(v.Field) == "" {
			errs = append(errs, fmt.Errorf("%s[%d].field: empty (name the observation field that differs, e.g. response.header.access-control-allow-origin)", at, i))
		}
		if strings.TrimSpace(v.Reason) == "" {
			errs = append(errs, fmt.Errorf("%s[%d] (field %s).reason: empty (say why the controller differs)", at, i, v.Field))
		}
	}
	return errs
}
