package scan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

// nginxPrefix is the dialect clusters migrating off ingress-nginx carry.
var nginxPrefix = annotations.DialectNginx.Prefix()

// FromProfile builds the scan profile of a controller from its controller
// profile's annotation map (profile.Annotations): every ingress-nginx
// annotation the catalogue knows is judged by its feature.
//
//   - The feature is unsupported (or not declared), or the key is in the
//     feature's unsupportedKeys: unsupported, with the profile's reason.
//   - The key is one of the feature's canonical keys: supported when the
//     candidate reads it under the same name (prefix
//     nginx.ingress.kubernetes.io, no rename, no documented difference);
//     otherwise variant, with the key to use instead or the difference.
//   - Other keys of a supported feature are variant: the profile does not
//     map them, so their support is unverified.
//
// Keys in the candidate's own prefix are judged too (supported when they
// are the mapped form of a canonical key). results, when not nil, is a
// conformance report of the candidate: features whose annotation specs
// failed there become variant, naming the failures.
func FromProfile(p *profile.Profile, results *reports.ConformanceReport) Profile {
	out := Profile{Name: p.Name, Prefixes: []string{nginxPrefix}, Support: map[string]Support{}}
	own := ""
	if p.Annotations != nil && p.Annotations.Prefix != nginxPrefix {
		own = p.Annotations.Prefix
		out.Prefixes = append(out.Prefixes, own)
	}
	for _, e := range annotations.Catalog() {
		if e.Dialect != annotations.DialectNginx {
			continue
		}
		out.Support[e.Key] = judgeFeatureKey(p, e.Feature, e.Name, results)
	}
	// The candidate's own keys for canonical names.
	if own != "" {
		for feature, names := range profile.AnnotationFeatures {
			for _, name := range names {
				mapped, err := p.AnnotationKeys(feature, map[string]string{name: ""})
				if err != nil {
					continue
				}
				for key := range mapped {
					out.Support[key] = Support{Verdict: Supported, Feature: feature, Note: "the candidate's form of " + nginxPrefix + "/" + name}
				}
			}
		}
	}
	return out
}

// judgeFeatureKey is FromProfile's verdict for one ingress-nginx annotation.
func judgeFeatureKey(p *profile.Profile, feature, name string, results *reports.ConformanceReport) Support {
	s := Support{Verdict: Unsupported, Feature: feature}
	support, reason := p.AnnotationSupport(feature)
	if _, known := profile.AnnotationFeatures[feature]; !known {
		s.Note = "feature " + feature + " is not covered by the annotation suites"
		return s
	}
	if support == profile.AnnotationUnsupported {
		s.Note = reason
		return s
	}
	f := p.Annotations.Features[feature]
	if why, ok := f.UnsupportedKeys[name]; ok {
		s.Note = why
		return s
	}
	if !slices.Contains(profile.AnnotationFeatures[feature], name) {
		s.Verdict, s.Note = Variant, "feature "+feature+" is supported, but the profile does not map this annotation: unverified"
		return s
	}
	mapped, err := p.AnnotationKeys(feature, map[string]string{name: ""})
	if err != nil {
		s.Note = err.Error()
		return s
	}
	var key string
	for k := range mapped {
		key = k
	}
	var notes []string
	if key != nginxPrefix+"/"+name {
		notes = append(notes, "rename to "+key)
	}
	if f.Note != "" {
		notes = append(notes, f.Note)
	}
	if results != nil {
		switch a := results.AnnotationFor(feature); a.Support {
		case reports.AnnotationFails, reports.AnnotationPartial:
			notes = append(notes, fmt.Sprintf("annotation specs %s in %s", a.Cell(), results.Implementation.Label()))
		case reports.AnnotationUnsupported:
			s.Note = "no annotation spec of the feature could run in " + results.Implementation.Label()
			return s
		}
	}
	s.Verdict = Supported
	if len(notes) > 0 {
		s.Verdict, s.Note = Variant, strings.Join(notes, "; ")
	}
	return s
}

// Candidate returns the scan profile for a --candidate value: "reference"
// (the built-in catalogue-based profile), or a controller profile name or
// YAML file with an annotations section.
//
// When results holds a comparison with a golden recording (conformance
// --compare-to), the profile also says, per annotation key, how the specs
// using it behaved compared with the recorded controller (Behaviour).
func Candidate(name string, results *reports.ConformanceReport) (Profile, error) {
	if name == "" || name == "reference" {
		p := Reference()
		p.Behaviour = behaviourFrom(results)
		return p, nil
	}
	p, err := profile.Load(name)
	if err != nil {
		return Profile{}, fmt.Errorf("candidate: %w", err)
	}
	if p.Annotations == nil {
		return Profile{}, fmt.Errorf("candidate %s: its profile (%s) has no annotations section, so the scan cannot judge its annotations", p.Name, p.Source)
	}
	out := FromProfile(p, results)
	out.Behaviour = behaviourFrom(results)
	return out, nil
}
