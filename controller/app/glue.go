package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/controller/loop"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// DefaultBackendIngressName names the Ingress that the default backend glue
// adds to every snapshot. The parentheses make it an invalid object name,
// so it never collides with a real Ingress; it appears in /debug/table and
// /warnings (e.g. when the Service does not exist).
const DefaultBackendIngressName = "(default-backend-service)"

// farFuture is the synthetic Ingress's creationTimestamp: it is processed
// after every real Ingress, so a real spec.defaultBackend wins.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// withDefaultBackend returns a TranslateFunc that serves --default-backend-service
// through translate's own defaultBackend logic: it adds a synthetic Ingress
// of our class with only spec.defaultBackend, and removes that Ingress from
// the result's Owned and Statuses, and the expected DuplicateDefaultBackend
// warning when a real Ingress already holds the default.
func withDefaultBackend(be *backendRef, ingressClass string) loop.TranslateFunc {
	sb := &networkingv1.IngressServiceBackend{Name: be.Name}
	if be.Port.Type == intstr.Int {
		sb.Port.Number = be.Port.IntVal
	} else {
		sb.Port.Name = be.Port.StrVal
	}
	synthetic := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:         be.Namespace,
			Name:              DefaultBackendIngressName,
			CreationTimestamp: metav1.NewTime(farFuture),
			Annotations:       map[string]string{translate.AnnotationIngressClass: ingressClass},
		},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: sb}},
	}
	ref := routing.ObjectRef{Namespace: be.Namespace, Name: DefaultBackendIngressName}
	return func(snap *translate.Snapshot, opts translate.Options) translate.Result {
		s := *snap
		s.Ingresses = append(slices.Clip(snap.Ingresses), synthetic)
		res := translate.Translate(&s, opts)
		res.Owned = slices.DeleteFunc(res.Owned, func(r routing.ObjectRef) bool { return r == ref })
		res.Statuses = slices.DeleteFunc(res.Statuses, func(u translate.StatusUpdate) bool { return u.Ingress == ref })
		res.Warnings = slices.DeleteFunc(res.Warnings, func(w translate.Warning) bool {
			return w.Object == ref && w.Reason == translate.ReasonDuplicateDefaultBackend
		})
		return res
	}
}

// loadDefaultCertificate reads the --default-certificate Secret once. A
// missing Secret gives nil (the data plane generates one) and a warning; an
// unreadable or invalid one is an error.
func loadDefaultCertificate(ctx context.Context, client kubernetes.Interface, ref routing.ObjectRef, log *slog.Logger) (*tls.Certificate, error) {
	s, err := client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		log.Warn("default certificate secret not found; serving a generated self-signed certificate", slog.String("secret", ref.String()))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--default-certificate %s: read secret: %w", ref, err)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return nil, fmt.Errorf("--default-certificate %s: secret needs non-empty %s and %s", ref, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return nil, fmt.Errorf("--default-certificate %s: %w", ref, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("--default-certificate %s: %s: %w", ref, corev1.TLSCertKey, err)
		}
	}
	log.Info("loaded default certificate", slog.String("secret", ref.String()),
		slog.String("subject", cert.Leaf.Subject.String()), slog.Time("notAfter", cert.Leaf.NotAfter))
	return &cert, nil
}
