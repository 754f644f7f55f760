package scan

import (
	"strings"

	"github.com/ingresslab/ingresslab/reports"
)

// maxBehaviourDifferences bounds the differences a usage lists.
const maxBehaviourDifferences = 10

// Behaviour is how the annotation specs that use one annotation key behaved
// on the candidate compared with the golden recording (a conformance report
// made with --compare-to): the compared specs, the fields that were the
// same, documented variants and unexpected differences, and the
// differences with both values.
type Behaviour struct {
	// Golden names the recorded controller ("ingress-nginx controller-v1.15.1").
	Golden string `json:"golden"`
	// Specs are the compared specs whose Ingresses carried the key.
	Specs       []string                    `json:"specs"`
	Fields      reports.FieldCounts         `json:"fields"`
	Differences []reports.LocatedDifference `json:"differences,omitempty"`
	// More counts differences left out of Differences.
	More int `json:"more,omitempty"`
}

// Behaves summarises: same, variant (documented differences only) or
// differs.
func (b *Behaviour) Behaves() string {
	switch {
	case b.Fields.Unexpected > 0:
		return reports.BehavesDiffers
	case b.Fields.Variant > 0:
		return reports.BehavesVariant
	}
	return reports.BehavesSame
}

// behaviourFrom returns a lookup of the comparison in results by
// annotation key (nil when results has no comparison): the specs whose
// golden Ingresses carried the key, with their differences.
func behaviourFrom(results *reports.ConformanceReport) func(key string) *Behaviour {
	if results == nil || results.Golden == nil {
		return nil
	}
	g := results.Golden
	return func(key string) *Behaviour {
		var b *Behaviour
		for _, sc := range g.Specs {
			if sc.State == reports.CompareNotApplicable || !carries(sc.Annotations, key) {
				continue
			}
			if b == nil {
				b = &Behaviour{Golden: g.Label()}
			}
			b.Specs = append(b.Specs, sc.Spec)
			b.Fields.Same += sc.Fields.Same
			b.Fields.Variant += sc.Fields.Variant
			b.Fields.Unexpected += sc.Fields.Unexpected
			for _, o := range sc.Observations {
				for _, d := range o.Differences {
					if len(b.Differences) == maxBehaviourDifferences {
						b.More++
						continue
					}
					b.Differences = append(b.Differences, reports.LocatedDifference{Spec: sc.Spec, Key: o.Key, FieldDifference: d})
				}
			}
		}
		return b
	}
}

// carries says whether annotations ("key=value" entries) include key.
func carries(annotations []string, key string) bool {
	for _, a := range annotations {
		if k, _, _ := strings.Cut(a, "="); k == key {
			return true
		}
	}
	return false
}
