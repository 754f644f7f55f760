// Package profile describes an Ingress controller under test: its name and
// version, the IngressClass it serves, how the harness runs it on the local
// provider (a command template), how to reach it, and which features it
// supports. Profiles are YAML files; the shipped ones are embedded from
// fixtures/profiles.
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/ingresslab/ingresslab/fixtures"
)

// Profile is one controller's description.
type Profile struct {
	// Name identifies the controller ("reference", "traefik").
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Controller is the IngressClass spec.controller it serves.
	Controller string `json:"controller"`
	// IngressClass is the IngressClass name the harness creates for it.
	IngressClass string `json:"ingressClass"`
	// Local says how to run it on the local provider.
	Local Local `json:"local,omitempty"`
	// Kind says how to install it into a real cluster (kind or existing);
	// nil for controllers that only run locally.
	Kind *KindSection `json:"kind,omitempty"`
	// StatusAddress is the address it publishes in Ingress status; each
	// controller running at the same time needs its own.
	StatusAddress string `json:"statusAddress,omitempty"`
	// Features it supports; tests of other features are skipped.
	Features []string `json:"features,omitempty"`
	// Variants documents known choices where the API leaves behaviour open
	// (informational: the suites record what they see).
	Variants map[string]string `json:"variants,omitempty"`
	// Source is where the profile was loaded from.
	Source string `json:"-"`
}

// Local is how the harness runs the controller as a local process.
type Local struct {
	// Command is the program and arguments, each a text/template over Vars.
	Command []string `json:"command"`
	// Env entries (KEY=VALUE), templated like Command.
	Env []string `json:"env,omitempty"`
	// ReadyURL is polled until it answers 2xx; when empty, the harness waits
	// for the HTTP port to accept connections.
	ReadyURL string `json:"readyURL,omitempty"`
}

// Vars are the values a command template can use.
type Vars struct {
	Bin, Kubeconfig, Controller, IngressClass, StatusAddress string
	HTTPPort, HTTPSPort, AdminPort                           int
	// Workdir is a scratch folder for the controller.
	Workdir string
}

// Supports reports whether the profile lists feature.
func (p *Profile) Supports(feature string) bool { return slices.Contains(p.Features, feature) }

// Render returns the command and environment with vars filled in.
func (p *Profile) Render(v Vars) (cmd, env []string, readyURL string, err error) {
	render := func(field, s string) (string, error) {
		t, err := template.New(field).Option("missingkey=error").Parse(s)
		if err != nil {
			return "", fmt.Errorf("profile %s: %s: %w", p.Name, field, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, v); err != nil {
			return "", fmt.Errorf("profile %s: %s: %w", p.Name, field, err)
		}
		return b.String(), nil
	}
	for i, c := range p.Local.Command {
		s, err := render(fmt.Sprintf("local.command[%d]", i), c)
		if err != nil {
			return nil, nil, "", err
		}
		cmd = append(cmd, s)
	}
	for i, e := range p.Local.Env {
		s, err := render(fmt.Sprintf("local.env[%d]", i), e)
		if err != nil {
			return nil, nil, "", err
		}
		env = append(env, s)
	}
	readyURL, err = render("local.readyURL", p.Local.ReadyURL)
	return cmd, env, readyURL, err
}

// Validate checks the fields every run needs.
func (p *Profile) Validate() error {
	var errs []error
	need := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", field))
		}
	}
	need("name", p.Name)
	need("controller", p.Controller)
	need("ingressClass", p.IngressClass)
	if len(p.Local.Command) == 0 && p.Kind == nil {
		errs = append(errs, errors.New("local.command or a kind section is required"))
	}
	if p.Kind != nil {
		errs = append(errs, p.Kind.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		src := p.Source
		if src == "" {
			src = p.Name
		}
		return fmt.Errorf("profile %s: %w", src, err)
	}
	return nil
}

// Parse reads a profile from YAML; source names it in errors.
func Parse(data []byte, source string) (*Profile, error) {
	var p Profile
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	p.Source = source
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// HasLocal reports whether the profile can run on the local provider.
func (p *Profile) HasLocal() bool { return len(p.Local.Command) > 0 }

// Load returns a shipped profile by name ("reference", "kind/traefik") or
// reads a YAML file (a path ending in .yaml or .yml).
func Load(nameOrPath string) (*Profile, error) {
	if strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		return Parse(b, nameOrPath)
	}
	b, err := fs.ReadFile(fixtures.Profiles, "profiles/"+nameOrPath+".yaml")
	if err != nil {
		return nil, fmt.Errorf("no shipped profile %q (shipped: %s); give a path to a profile YAML file instead", nameOrPath, strings.Join(Shipped(), ", "))
	}
	return Parse(b, "profiles/"+nameOrPath+".yaml")
}

// Shipped lists the names of the embedded profiles ("reference",
// "kind/traefik", ...).
func Shipped() []string {
	var names []string
	_ = fs.WalkDir(fixtures.Profiles, "profiles", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || strings.Count(path, "/") > 2 {
			return err
		}
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(path, "profiles/"), ".yaml"))
		return nil
	})
	return names
}
