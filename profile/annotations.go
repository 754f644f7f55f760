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
	"external-auth":        {"auth-url", "auth-response-headers", "auth-signin"},
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
	}
	return errors.Join(errs...)
}
