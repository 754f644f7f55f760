package reports

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// States of a compared spec, observation or field.
const (
	CompareSame          = "same"
	CompareDifferent     = "different"
	CompareNotApplicable = "not-applicable"
)

// Classes of a difference.
const (
	// DiffVariant is a difference the controller's profile documents, with
	// its reason.
	DiffVariant = "variant"
	// DiffUnexpected is any other difference.
	DiffUnexpected = "unexpected"
)

// Absent is how a comparison shows a field one side does not have.
const Absent = "(absent)"

// SpecKey is the key of the spec-level observation Compare adds to every
// spec: its result and the variant it recorded.
const SpecKey = "(spec)"

// VariantDocs says which differences a controller documents: a profile
// implements it (profile.Profile.DocumentedVariant).
type VariantDocs interface {
	// DocumentedVariant returns the documented reason when field of
	// observation key, in a spec with features (report feature labels such
	// as "annotations.cors"), may differ from the golden recording.
	DocumentedVariant(features []string, key, field string) (reason string, ok bool)
}

// GoldenComparison is a run compared with a recording (see CompareRecording).
type GoldenComparison struct {
	// Golden is the recorded controller; Recording where it was read from.
	Golden     Implementation    `json:"golden"`
	GoldenDate time.Time         `json:"goldenDate"`
	Recording  string            `json:"recording"`
	Summary    ComparisonSummary `json:"summary"`
	// Specs are sorted by name.
	Specs []SpecComparison `json:"specs"`
}

// ComparisonSummary counts specs and observations by state and compared
// fields by result.
type ComparisonSummary struct {
	Specs        StateCounts `json:"specs"`
	Observations StateCounts `json:"observations"`
	Fields       FieldCounts `json:"fields"`
}

// StateCounts counts same, different and not-applicable.
type StateCounts struct {
	Same          int `json:"same"`
	Different     int `json:"different"`
	NotApplicable int `json:"notApplicable"`
}

// FieldCounts counts compared fields: the same, documented variants, and
// unexpected differences.
type FieldCounts struct {
	Same       int `json:"same"`
	Variant    int `json:"variant"`
	Unexpected int `json:"unexpected"`
}

func (c *FieldCounts) add(o FieldCounts) {
	c.Same += o.Same
	c.Variant += o.Variant
	c.Unexpected += o.Unexpected
}

// SpecComparison is one spec.
type SpecComparison struct {
	Spec     string   `json:"spec"`
	Features []string `json:"features,omitempty"`
	State    string   `json:"state"`
	// Reason says why the spec is not applicable.
	Reason string `json:"reason,omitempty"`
	// Annotations are the annotations the golden run applied (the keys
	// `ingresslab scan` matches a cluster's Ingresses with).
	Annotations  []string                `json:"annotations,omitempty"`
	Fields       FieldCounts             `json:"fields"`
	Observations []ObservationComparison `json:"observations,omitempty"`
}

// ObservationComparison is one observation: how many fields were the same,
// and every difference with both values.
type ObservationComparison struct {
	Key         string            `json:"key"`
	State       string            `json:"state"`
	Reason      string            `json:"reason,omitempty"`
	Same        int               `json:"same,omitempty"`
	Differences []FieldDifference `json:"differences,omitempty"`
}

// FieldDifference is one field that differs.
type FieldDifference struct {
	Field  string `json:"field"`
	Golden string `json:"golden"`
	Actual string `json:"actual"`
	// Class is DiffVariant (with the profile's Reason) or DiffUnexpected.
	Class  string `json:"class"`
	Reason string `json:"reason,omitempty"`
}

// CompareRecording compares a run's spec recordings with a golden recording, spec by
// spec, observation by observation (paired by key) and field by field. A
// spec the golden run did not record, or that either run skipped, is not
// applicable; so is an observation only one run made (a spec that failed
// early, or changed). A field only one side has is a difference against
// Absent. docs classifies differences (nil: all unexpected).
func CompareRecording(golden *Recording, current []*SpecRecording, docs VariantDocs) *GoldenComparison {
	c := &GoldenComparison{Golden: golden.Index.Implementation, GoldenDate: golden.Index.Date, Recording: golden.Dir}
	seen := map[string]bool{}
	for _, cur := range current {
		seen[cur.Spec] = true
		c.Specs = append(c.Specs, compareSpec(golden.Specs[cur.Spec], cur, docs))
	}
	for name, g := range golden.Specs {
		if !seen[name] {
			c.Specs = append(c.Specs, SpecComparison{Spec: name, Features: g.Features, State: CompareNotApplicable, Reason: "not run here", Annotations: g.Annotations})
		}
	}
	slices.SortFunc(c.Specs, func(a, b SpecComparison) int { return cmp.Compare(a.Spec, b.Spec) })
	for _, s := range c.Specs {
		c.Summary.Specs.count(s.State)
		c.Summary.Fields.add(s.Fields)
		for _, o := range s.Observations {
			c.Summary.Observations.count(o.State)
		}
	}
	return c
}

func (s *StateCounts) count(state string) {
	switch state {
	case CompareSame:
		s.Same++
	case CompareDifferent:
		s.Different++
	default:
		s.NotApplicable++
	}
}

func compareSpec(g, cur *SpecRecording, docs VariantDocs) SpecComparison {
	out := SpecComparison{Spec: cur.Spec, Features: cur.Features, State: CompareNotApplicable}
	switch {
	case g == nil:
		out.Reason = "not recorded in the golden run"
		return out
	case g.Result == Skipped:
		out.Reason, out.Annotations = "skipped in the golden run", g.Annotations
		return out
	case cur.Result == Skipped:
		out.Reason, out.Annotations = "skipped here", g.Annotations
		return out
	}
	out.Annotations = g.Annotations
	gObs := withSpecObservation(g)
	cObs := withSpecObservation(cur)
	keys := slices.Sorted(maps.Keys(union(gObs, cObs)))
	for _, k := range keys {
		o := compareObservation(k, gObs[k], cObs[k], cur.Features, docs)
		out.Fields.add(o.counts())
		out.Observations = append(out.Observations, o)
	}
	switch {
	case out.Fields.Variant+out.Fields.Unexpected > 0:
		out.State = CompareDifferent
	case out.Fields.Same > 0:
		out.State = CompareSame
	default:
		out.Reason = "no observation made by both runs"
	}
	return out
}

// withSpecObservation indexes a spec's observations by key, with the
// spec-level observation (result, variant) added.
func withSpecObservation(s *SpecRecording) map[string]*Observation {
	m := make(map[string]*Observation, len(s.Observations)+1)
	for i := range s.Observations {
		m[s.Observations[i].Key] = &s.Observations[i]
	}
	fields := map[string]string{"result": string(s.Result)}
	if s.Variant != "" {
		fields["variant"] = s.Variant
	}
	m[SpecKey] = &Observation{Key: SpecKey, Fields: fields}
	return m
}

func union[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func compareObservation(key string, g, cur *Observation, features []string, docs VariantDocs) ObservationComparison {
	o := ObservationComparison{Key: key, State: CompareNotApplicable}
	switch {
	case g == nil:
		o.Reason = "not observed in the golden run"
		return o
	case cur == nil:
		o.Reason = "not observed here"
		return o
	}
	for _, f := range slices.Sorted(maps.Keys(union(g.Fields, cur.Fields))) {
		gv, gok := g.Fields[f]
		cv, cok := cur.Fields[f]
		if gok && cok && gv == cv {
			o.Same++
			continue
		}
		if !gok {
			gv = Absent
		}
		if !cok {
			cv = Absent
		}
		d := FieldDifference{Field: f, Golden: gv, Actual: cv, Class: DiffUnexpected}
		if docs != nil {
			if reason, ok := docs.DocumentedVariant(features, key, f); ok {
				d.Class, d.Reason = DiffVariant, reason
			}
		}
		o.Differences = append(o.Differences, d)
	}
	o.State = CompareSame
	if len(o.Differences) > 0 {
		o.State = CompareDifferent
	}
	return o
}

func (o ObservationComparison) counts() FieldCounts {
	c := FieldCounts{Same: o.Same}
	for _, d := range o.Differences {
		if d.Class == DiffVariant {
			c.Variant++
		} else {
			c.Unexpected++
		}
	}
	return c
}

// Behaviour of a feature against the golden recording.
const (
	BehavesSame    = "same"
	BehavesVariant = "variant"
	BehavesDiffers = "differs"
	BehavesNA      = "n/a"
)

// FeatureBehaviour sums the compared specs of feature (a report feature
// label, such as "annotations.cors" or "path-rules").
type FeatureBehaviour struct {
	// Behaves is BehavesSame (every compared field the same),
	// BehavesVariant (only documented differences), BehavesDiffers (an
	// unexpected difference) or BehavesNA (no spec compared).
	Behaves string      `json:"behaves"`
	Specs   int         `json:"specs"`
	Fields  FieldCounts `json:"fields"`
}

// Feature returns how the specs of feature compare.
func (c *GoldenComparison) Feature(feature string) FeatureBehaviour {
	var b FeatureBehaviour
	for _, s := range c.Specs {
		if s.State == CompareNotApplicable || !slices.Contains(s.Features, feature) {
			continue
		}
		b.Specs++
		b.Fields.add(s.Fields)
	}
	switch {
	case b.Specs == 0:
		b.Behaves = BehavesNA
	case b.Fields.Unexpected > 0:
		b.Behaves = BehavesDiffers
	case b.Fields.Variant > 0:
		b.Behaves = BehavesVariant
	default:
		b.Behaves = BehavesSame
	}
	return b
}

// Cell renders a feature's behaviour for a table: "same (4 specs)",
// "differs (3 unexpected, 1 variant)".
func (b FeatureBehaviour) Cell() string {
	switch b.Behaves {
	case BehavesNA, "":
		return BehavesNA
	case BehavesSame:
		return fmt.Sprintf("same (%s)", plural(b.Specs, "spec"))
	case BehavesVariant:
		return fmt.Sprintf("variant (%s documented)", plural(b.Fields.Variant, "field"))
	}
	s := fmt.Sprintf("differs (%d unexpected", b.Fields.Unexpected)
	if b.Fields.Variant > 0 {
		s += fmt.Sprintf(", %d documented", b.Fields.Variant)
	}
	return s + ")"
}

// BehavesSymbol is a short marker for matrices.
func BehavesSymbol(behaves string) string {
	switch behaves {
	case BehavesSame:
		return "✅"
	case BehavesVariant:
		return "🟡"
	case BehavesDiffers:
		return "❌"
	}
	return "·"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Differences lists every difference of the comparison with its spec and
// observation, unexpected ones first.
func (c *GoldenComparison) Differences() []LocatedDifference {
	var out []LocatedDifference
	for _, s := range c.Specs {
		for _, o := range s.Observations {
			for _, d := range o.Differences {
				out = append(out, LocatedDifference{Spec: s.Spec, Key: o.Key, FieldDifference: d})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b LocatedDifference) int {
		return cmp.Compare(classRank(a.Class), classRank(b.Class))
	})
	return out
}

func classRank(class string) int {
	if class == DiffUnexpected {
		return 0
	}
	return 1
}

// LocatedDifference is a difference with where it was seen.
type LocatedDifference struct {
	Spec string `json:"spec"`
	Key  string `json:"key"`
	FieldDifference
}

// Label names the golden controller: "ingress-nginx controller-v1.15.1".
func (c *GoldenComparison) Label() string { return strings.TrimSpace(c.Golden.Label()) }
