package suites

import (
	"github.com/ingresslab/ingresslab/suites/framework"
	"strings"
	"testing"
)

func TestLabelFilter(t *testing.T) {
	got, err := LabelFilter("core", []string{"tls", "path-rules"})
	if err != nil || got != "(core) && (tls || path-rules)" {
		t.Fatalf("labelFilter = %q, %v", got, err)
	}
	if _, err := LabelFilter("", []string{"nope"}); err == nil || !strings.Contains(err.Error(), "unknown feature") {
		t.Fatalf("unknown feature accepted: %v", err)
	}
	if _, err := LabelFilter("core &&", nil); err == nil {
		t.Fatal("broken filter accepted")
	}
}

func TestMergeTimeoutsKeepsDefaults(t *testing.T) {
	m := mergeTimeouts(mergeTimeouts(zeroTimeouts()))
	if m.ConsecutiveSuccesses != 3 || m.MaxTimeToConsistency.Seconds() != 30 {
		t.Fatalf("defaults lost: %+v", m)
	}
}

func zeroTimeouts() (t framework.Timeouts) { return }
