package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// AnnotationFeaturePrefix starts the feature label of annotation specs
// ("annotations.rewrite").
const AnnotationFeaturePrefix = "annotations."

// UnsupportedSkip starts the skip message of a spec the controller cannot
// express (the suites write it, Finalize reads it back as the reason).
const UnsupportedSkip = "unsupported: "

// Annotation support values in a compatibility matrix.
const (
	// AnnotationSupported: every spec of the feature passed.
	AnnotationSupported = "supported"
	// AnnotationVariant: every spec that ran passed, with a difference the
	// profile documents.
	AnnotationVariant = "variant"
	// AnnotationPartial: some specs passed, others were skipped because
	// the controller lacks some of the feature's annotations.
	AnnotationPartial = "partial"
	// AnnotationFails: the controller claims the feature, but specs failed.
	AnnotationFails = "fails"
	// AnnotationUnsupported: the controller cannot express the feature.
	AnnotationUnsupported = "unsupported"
	// AnnotationNotRun: the run did not include the feature's specs.
	AnnotationNotRun = "not-run"
)

// AnnotationCompat is one annotation feature's compatibility for the
// controller of a report: what its profile declares and what the extended
// annotation specs saw.
type AnnotationCompat struct {
	Feature string `json:"feature"`
	// Declared is the profile's claim: supported, variant or unsupported
	// (empty for features that are not profile features, such as
	// hostile-values).
	Declared string `json:"declared,omitempty"`
	// Note is the profile's documented difference or why it is unsupported.
	Note string `json:"note,omitempty"`
	// Support is the result (Annotation* constants), computed by Finalize
	// from Declared and the tests.
	Support string  `json:"support"`
	Summary Summary `json:"summary"`
	// Variants are the behaviours the specs recorded (e.g. "429").
	Variants []string `json:"variants,omitempty"`
	// Golden is how the feature's specs compare with the golden recording
	// (runs with --compare-to only); Finalize computes it.
	Golden *FeatureBehaviour `json:"golden,omitempty"`
}

// annotationCompat recomputes r.Annotations from the tests, keeping the
// declared support and notes already there.
func (r *ConformanceReport) annotationCompat() {
	byFeature := map[string]*AnnotationCompat{}
	for i := range r.Annotations {
		a := r.Annotations[i]
		a.Summary, a.Variants = Summary{}, nil
		byFeature[a.Feature] = &a
	}
	for _, t := range r.Tests {
		for _, f := range t.Features {
			name, ok := strings.CutPrefix(f, AnnotationFeaturePrefix)
			if !ok {
				continue
			}
			a := byFeature[name]
			if a == nil {
				a = &AnnotationCompat{Feature: name}
				byFeature[name] = a
			}
			switch t.Result {
			case Passed:
				a.Summary.Passed++
			case Skipped:
				a.Summary.Skipped++
				if a.Note == "" && strings.HasPrefix(t.Message, UnsupportedSkip) {
					a.Note = strings.TrimPrefix(t.Message, UnsupportedSkip)
				}
			default:
				a.Summary.Failed++
			}
			if t.Variant != "" && !slices.Contains(a.Variants, t.Variant) {
				a.Variants = append(a.Variants, t.Variant)
			}
		}
	}
	if len(byFeature) == 0 {
		r.Annotations = nil
		return
	}
	out := make([]AnnotationCompat, 0, len(byFeature))
	for _, a := range byFeature {
		slices.Sort(a.Variants)
		a.Support = a.support()
		a.Golden = nil
		if r.Golden != nil {
			b := r.Golden.Feature(AnnotationFeaturePrefix + a.Feature)
			a.Golden = &b
		}
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b AnnotationCompat) int { return cmp.Compare(a.Feature, b.Feature) })
	r.Annotations = out
}

func (a *AnnotationCompat) support() string {
	s := a.Summary
	switch {
	case s.Passed+s.Failed+s.Skipped == 0:
		if a.Declared == AnnotationUnsupported {
			return AnnotationUnsupported
		}
		return AnnotationNotRun
	case s.Failed > 0:
		return AnnotationFails
	case s.Passed == 0:
		return AnnotationUnsupported
	case s.Skipped > 0:
		return AnnotationPartial
	case a.Declared == AnnotationVariant:
		return AnnotationVariant
	}
	return AnnotationSupported
}

// Cell renders the support for a table: "supported", "fails (2/5)", ...
func (a AnnotationCompat) Cell() string {
	s := a.Summary
	switch a.Support {
	case AnnotationFails, AnnotationPartial:
		return fmt.Sprintf("%s (%d/%d passed)", a.Support, s.Passed, s.Passed+s.Failed+s.Skipped)
	}
	return a.Support
}

// AnnotationSymbol is a short marker for matrices.
func AnnotationSymbol(support string) string {
	switch support {
	case AnnotationSupported:
		return "✅"
	case AnnotationVariant, AnnotationPartial:
		return "🟡"
	case AnnotationFails:
		return "❌"
	case AnnotationUnsupported:
		return "—"
	}
	return "·"
}

// AnnotationFeatureNames returns the annotation features of reports, sorted.
func AnnotationFeatureNames(rs ...*ConformanceReport) []string {
	var out []string
	for _, r := range rs {
		for _, a := range r.Annotations {
			if !slices.Contains(out, a.Feature) {
				out = append(out, a.Feature)
			}
		}
	}
	slices.Sort(out)
	return out
}

// AnnotationFor returns the report's entry for feature (Support
// AnnotationNotRun when absent).
func (r *ConformanceReport) AnnotationFor(feature string) AnnotationCompat {
	for _, a := range r.Annotations {
		if a.Feature == feature {
			return a
		}
	}
	return AnnotationCompat{Feature: feature, Support: AnnotationNotRun}
}

// writeAnnotationTable renders the compatibility of one report.
func writeAnnotationTable(p func(string, ...any), r *ConformanceReport) {
	if len(r.Annotations) == 0 {
		return
	}
	p("\n## Annotation compatibility\n\n")
	p("Extended annotation specs, written once with ingress-nginx's annotation names and values and translated by the profile into this controller's annotations.\n\n")
	if checks, specs, features := r.BehaviourChecks(); checks > 0 {
		p("Behaviour checks passed: **%d** in %d specs over %d annotation features (one check is one asserted observable on the wire: a status, the backend that answered, one header, the Location, a timing bound or a count).\n\n", checks, specs, features)
	}
	p("| Annotation feature | Result | Passed | Failed | Skipped | Notes |\n|---|---|---|---|---|---|\n")
	for _, a := range r.Annotations {
		notes := a.Note
		if len(a.Variants) > 0 {
			if notes != "" {
				notes += "; "
			}
			notes += "seen: " + strings.Join(a.Variants, ", ")
		}
		p("| %s | %s %s | %d | %d | %d | %s |\n", a.Feature, AnnotationSymbol(a.Support), a.Support, a.Summary.Passed, a.Summary.Failed, a.Summary.Skipped, cell(notes, 0))
	}
}

// EntryBehaviourChecks is the report entry (a test observation) where an
// annotation spec records how many behaviour checks it made (see the
// suites package for what counts as one).
const EntryBehaviourChecks = "behaviourChecks"

// BehaviourChecks sums the behaviour checks of the annotation specs that
// passed, and counts those specs and their annotation features.
func (r *ConformanceReport) BehaviourChecks() (checks, specs, features int) {
	seen := map[string]bool{}
	for _, t := range r.Tests {
		if t.Result != Passed {
			continue
		}
		var n int
		if _, err := fmt.Sscan(t.Observations[EntryBehaviourChecks], &n); err != nil || n == 0 {
			continue
		}
		checks += n
		specs++
		for _, f := range t.Features {
			if name, ok := strings.CutPrefix(f, AnnotationFeaturePrefix); ok && !seen[name] {
				seen[name] = true
				features++
			}
		}
	}
	return checks, specs, features
}
