package suites

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/suites/framework"
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
	m := mergeTimeouts(mergeTimeouts(zeroTimeouts(), nil), nil)
	if m.ConsecutiveSuccesses != 3 || m.MaxTimeToConsistency.Seconds() != 30 || m.SlowBody != 70*time.Second {
		t.Fatalf("defaults lost: %+v", m)
	}
}

func TestMergeTimeoutsProfileThenFlags(t *testing.T) {
	p := &profile.Timeouts{SlowHeaders: metav1.Duration{Duration: 15 * time.Second}, SlowBody: metav1.Duration{Duration: 20 * time.Second}}
	m := mergeTimeouts(framework.Timeouts{SlowBody: 5 * time.Second}, p)
	if m.SlowHeaders != 15*time.Second || m.SlowBody != 5*time.Second {
		t.Fatalf("slowHeaders %v (want the profile's 15s), slowBody %v (want the flag's 5s)", m.SlowHeaders, m.SlowBody)
	}
}

func zeroTimeouts() (t framework.Timeouts) { return }
