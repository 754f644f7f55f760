package suites

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PeerProfiles are the shipped local profiles of third-party controllers:
// ingresslab does not build them; each profile names the program it needs
// (local.binary) and how to run it on loopback with its own ServiceAccount.
var PeerProfiles = []string{"traefik", "traefik-nginx", "haproxy-ingress", "ingress-nginx", "nginx-inc", "skipper", "haproxy-tech"}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
