package framework

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// warning is one entry of a controller's warnings list (profile
// diagnostics.warningsURL).
type warning struct {
	Kind   string `json:"kind"`
	Object struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"object"`
	Field   string `json:"field"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// ExpectDiagnosis checks that the controller says what is wrong with
// Ingress name of the spec's namespace, naming field (a prefix, e.g.
// "spec.tls[0]"), in every way its profile declares (diagnostics.events: a
// Warning Event; diagnostics.warningsURL: an entry there), within
// Timeouts.MaxTimeToConsistency. It returns what it checked ("events",
// "warnings", or "none declared") for the spec to record.
func (s *Spec) ExpectDiagnosis(name, field string) string {
	GinkgoHelper()
	d := s.Controller.Profile.Diagnostics
	if d == nil || !d.Events && s.Controller.WarningsURL == "" {
		return "none declared"
	}
	var checked []string
	timeout := s.Env.Timeouts.MaxTimeToConsistency
	if d.Events {
		s.Poll(fmt.Sprintf("a Warning Event on Ingress %s/%s naming %s", s.Namespace, name, field), timeout, func() error {
			list, err := s.Env.Client.CoreV1().Events(s.Namespace).List(s.ctx, metav1.ListOptions{
				FieldSelector: "involvedObject.kind=Ingress,involvedObject.name=" + name,
			})
			if err != nil {
				return err
			}
			var seen []string
			for _, e := range list.Items {
				if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, field) {
					return nil
				}
				seen = append(seen, e.Reason+": "+e.Message)
			}
			return fmt.Errorf("events so far: %q", seen)
		})
		checked = append(checked, "events")
	}
	if u := s.Controller.WarningsURL; u != "" {
		s.Poll(fmt.Sprintf("an entry for Ingress %s/%s naming %s at %s", s.Namespace, name, field, u), timeout, func() error {
			ws, err := s.warnings(u)
			if err != nil {
				return err
			}
			for _, w := range ws {
				if w.Kind == "Ingress" && w.Object.Namespace == s.Namespace && w.Object.Name == name && strings.HasPrefix(w.Field, field) {
					return nil
				}
			}
			return fmt.Errorf("%d warnings, none for Ingress %s/%s field %s", len(ws), s.Namespace, name, field)
		})
		checked = append(checked, "warnings")
	}
	return strings.Join(checked, "+")
}

// warnings reads a controller's warnings list; the address must pass the
// client's guard (loopback).
func (s *Spec) warnings(u string) ([]warning, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("warnings URL %q: %w", u, err)
	}
	host, _, err := net.SplitHostPort(pu.Host)
	if err != nil {
		host = pu.Host
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("warnings URL %q: only loopback addresses are queried", u)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: s.Env.Timeouts.Request}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	var ws []warning
	if err := json.Unmarshal(body, &ws); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return ws, nil
}
