package translate

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// parsedCert is one Secret parsed once per translation: the certificate, or
// the problem.
type parsedCert struct {
	cert            *tls.Certificate
	reason, message string
}

// certOwner records where a host's certificate came from.
type certOwner struct {
	secret, ingress routing.ObjectRef
}

// tls applies spec.tls[k].
func (tr *translator) tls(ing *networkingv1.Ingress, ref routing.ObjectRef, ruleHosts []string, k int, warn warnFunc) {
	t := &ing.Spec.TLS[k]
	tf := "spec.tls[" + strconv.Itoa(k) + "]"
	type tlsHost struct{ host, field string }
	var hosts []tlsHost
	for m, h := range t.Hosts {
		hf := tf + ".hosts[" + strconv.Itoa(m) + "]"
		ch, err := routing.CanonicalHost(h)
		if err == nil && ch == "" {
			err = fmt.Errorf("host is empty")
		}
		if err != nil {
			warn(hf, ReasonInvalidHost, "%v; TLS host skipped", err)
			continue
		}
		if tr.foreignHost(ch, ref, func() string { return hf }, "TLS host skipped", warn) {
			continue
		}
		hosts = append(hosts, tlsHost{ch, hf})
	}
	if len(t.Hosts) == 0 {
		// No hosts: the Ingress's own rule hosts.
		for _, h := range ruleHosts {
			if h != "" {
				hosts = append(hosts, tlsHost{h, tf + ".hosts"})
			}
		}
	}
	secretRef := routing.ObjectRef{Namespace: ing.Namespace, Name: t.SecretName}
	pc := tr.certificate(secretRef)
	if pc.reason != "" {
		warn(tf+".secretName", pc.reason, "%s; the default certificate is served", pc.message)
	}
	for _, h := range hosts {
		tr.b.SetHTTPSRedirect(h.host)
		if pc.cert == nil {
			continue
		}
		if !covers(pc.cert.Leaf, h.host) {
			warn(h.field, ReasonCertificateHostMismatch, "the certificate of secret %s (DNS names %s) does not cover host %q; it is used anyway",
				secretRef, strings.Join(pc.cert.Leaf.DNSNames, ", "), h.host)
		}
		if tr.b.AddCertificate(h.host, pc.cert) {
			tr.certSource[h.host] = certOwner{secret: secretRef, ingress: ref}
		} else if old, ok := tr.certSource[h.host]; ok && old.secret != secretRef {
			warn(h.field, ReasonCertificateConflict, "host %q already uses the certificate of secret %s from ingress %s, %s",
				h.host, old.secret, old.ingress, precedence)
		}
	}
}

// defaultCertificate parses Options.DefaultCertificate; a missing or
// invalid Secret is reported on the Secret (Kind "Secret") and gives nil.
func (tr *translator) defaultCertificate() *tls.Certificate {
	ref := tr.opts.DefaultCertificate
	if ref == nil {
		return nil
	}
	pc := tr.certificate(*ref)
	if pc.reason != "" {
		msg := "default certificate: " + pc.message
		if pc.reason == ReasonSecretNotFound {
			msg += " (only Secrets of type kubernetes.io/tls are read)"
		}
		tr.warn("Secret", *ref, "", pc.reason, msg+"; a generated self-signed certificate is served")
	}
	return pc.cert
}

// certificate parses a TLS Secret once per translation, and once per
// Secret version across translations with Options.CertCache.
func (tr *translator) certificate(ref routing.ObjectRef) *parsedCert {
	if pc := tr.certs[ref]; pc != nil {
		return pc
	}
	pc := tr.opts.CertCache.parse(ref, tr.secrets[ref])
	tr.certs[ref] = pc
	return pc
}

func parseSecret(ref routing.ObjectRef, s *corev1.Secret) *parsedCert {
	bad := func(reason, format string, args ...any) *parsedCert {
		return &parsedCert{reason: reason, message: fmt.Sprintf(format, args...)}
	}
	switch {
	case ref.Name == "":
		return bad(ReasonSecretNotFound, "secretName is empty")
	case s == nil:
		return bad(ReasonSecretNotFound, "secret %s not found", ref)
	case s.Type != corev1.SecretTypeTLS:
		return bad(ReasonInvalidSecret, "secret %s has type %q, want %q", ref, s.Type, corev1.SecretTypeTLS)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return bad(ReasonInvalidSecret, "secret %s needs non-empty %s and %s", ref, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return bad(ReasonInvalidSecret, "secret %s: %v", ref, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return bad(ReasonInvalidSecret, "secret %s: %s: %v", ref, corev1.TLSCertKey, err)
		}
	}
	return &parsedCert{cert: &cert}
}

// covers reports whether the leaf's DNS names cover a rule host: an exact
// host by an equal name or a one-label wildcard name, a wildcard host only by
// the same wildcard name. The Common Name is ignored, as Go's TLS client does.
func covers(leaf *x509.Certificate, host string) bool {
	return slices.ContainsFunc(leaf.DNSNames, func(name string) bool {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		if name == host {
			return true
		}
		suffix, ok := strings.CutPrefix(name, "*.")
		if !ok || strings.HasPrefix(host, "*.") {
			return false
		}
		i := strings.IndexByte(host, '.')
		return i > 0 && host[i+1:] == suffix
	})
}
