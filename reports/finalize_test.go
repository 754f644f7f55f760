package reports

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func tr(name string, level Level, result Result) TestResult {
	return TestResult{Name: name, Features: []string{"f"}, Level: level, Result: result}
}

func TestFinalizeProfiles(t *testing.T) {
	cases := []struct {
		name  string
		tests []TestResult
		want  []ProfileReport
		total Summary
	}{
		{
			name:  "all passed is success",
			tests: []TestResult{tr("b", Core, Passed), tr("a", Core, Passed)},
			want:  []ProfileReport{{Name: Core, Result: Success, Summary: Summary{Passed: 2}}},
			total: Summary{Passed: 2},
		},
		{
			name:  "a skipped core test makes core partial",
			tests: []TestResult{tr("a", Core, Passed), tr("b", Core, Skipped)},
			want:  []ProfileReport{{Name: Core, Result: Partial, Summary: Summary{Passed: 1, Skipped: 1}, SkippedTests: []string{"b"}}},
			total: Summary{Passed: 1, Skipped: 1},
		},
		{
			name:  "failed and skipped is failure",
			tests: []TestResult{tr("c", Extended, Skipped), tr("a", Extended, Failed), tr("b", Extended, Passed)},
			want: []ProfileReport{{Name: Extended, Result: Failure, Summary: Summary{Passed: 1, Failed: 1, Skipped: 1},
				FailedTests: []string{"a"}, SkippedTests: []string{"c"}}},
			total: Summary{Passed: 1, Failed: 1, Skipped: 1},
		},
		{
			name:  "only failed is failure",
			tests: []TestResult{tr("a", ImplementationSpecific, Failed)},
			want:  []ProfileReport{{Name: ImplementationSpecific, Result: Failure, Summary: Summary{Failed: 1}, FailedTests: []string{"a"}}},
			total: Summary{Failed: 1},
		},
		{
			name: "levels in fixed order, each judged alone, empty levels absent",
			tests: []TestResult{
				tr("z", ImplementationSpecific, Passed), tr("y", Core, Skipped), tr("x", ImplementationSpecific, Failed),
			},
			want: []ProfileReport{
				{Name: Core, Result: Partial, Summary: Summary{Skipped: 1}, SkippedTests: []string{"y"}},
				{Name: ImplementationSpecific, Result: Failure, Summary: Summary{Passed: 1, Failed: 1}, FailedTests: []string{"x"}},
			},
			total: Summary{Passed: 1, Failed: 1, Skipped: 1},
		},
		{
			name:  "an unknown result counts as failed",
			tests: []TestResult{tr("a", Core, Passed), tr("b", Core, "")},
			want:  []ProfileReport{{Name: Core, Result: Failure, Summary: Summary{Passed: 1, Failed: 1}, FailedTests: []string{"b"}}},
			total: Summary{Passed: 1, Failed: 1},
		},
		{
			name:  "an unknown level follows the known ones",
			tests: []TestResult{tr("a", "experimental", Passed), tr("b", Extended, Passed)},
			want: []ProfileReport{
				{Name: Extended, Result: Success, Summary: Summary{Passed: 1}},
				{Name: "experimental", Result: Success, Summary: Summary{Passed: 1}},
			},
			total: Summary{Passed: 2},
		},
		{
			name:  "no tests",
			tests: nil,
			want:  []ProfileReport{},
			total: Summary{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &ConformanceReport{Tests: slices.Clone(tc.tests)}
			r.Finalize()
			if !reflect.DeepEqual(r.Profiles, tc.want) {
				t.Errorf("Profiles = %+v\nwant      %+v", r.Profiles, tc.want)
			}
			if r.Summary != tc.total {
				t.Errorf("Summary = %+v, want %+v", r.Summary, tc.total)
			}
			if r.APIVersion != APIVersion || r.Kind != KindConformance {
				t.Errorf("apiVersion/kind = %q/%q", r.APIVersion, r.Kind)
			}
			if !slices.IsSortedFunc(r.Tests, func(a, b TestResult) int { return strings.Compare(a.Name, b.Name) }) {
				t.Errorf("tests not sorted: %v", r.Tests)
			}
			if r.Tests == nil {
				t.Error("Tests is nil after Finalize; JSON would say null")
			}
		})
	}
}

func TestFinalizeIdempotentAndUTC(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	r := &ConformanceReport{
		Date:  time.Date(2026, 3, 14, 10, 0, 0, 0, zone),
		Tests: []TestResult{tr("b", Core, Failed), {Name: "a", Level: Extended, Result: Skipped}},
	}
	r.Finalize()
	once := *r
	once.Profiles = slices.Clone(r.Profiles)
	once.Tests = slices.Clone(r.Tests)
	r.Finalize()
	if !reflect.DeepEqual(&once, r) {
		t.Errorf("second Finalize changed the report:\n%+v\n%+v", once, *r)
	}
	if r.Date.Location() != time.UTC || r.Date.Hour() != 9 {
		t.Errorf("Date = %v, want 09:00 UTC", r.Date)
	}
	if r.Tests[0].Features == nil {
		t.Error("nil Features not normalised to empty")
	}
}

func TestValidate(t *testing.T) {
	valid := func() *ConformanceReport {
		r := &ConformanceReport{Tests: []TestResult{tr("a", Core, Passed), tr("b", Extended, Skipped)}}
		r.Finalize()
		return r
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid report: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(*ConformanceReport)
		want   string
	}{
		{"empty name", func(r *ConformanceReport) { r.Tests[1].Name = " " }, "tests[1]: name is empty"},
		{"duplicate name", func(r *ConformanceReport) { r.Tests[1].Name = "a" }, `tests[1] "a": name already used by tests[0]`},
		{"unknown result", func(r *ConformanceReport) { r.Tests[0].Result = "passd" }, `tests[0] "a": result "passd" is not one of`},
		{"unknown level", func(r *ConformanceReport) { r.Tests[1].Level = "" }, `tests[1] "b": level "" is not one of`},
		{"wrong kind", func(r *ConformanceReport) { r.Kind = KindBench }, `kind is "BenchReport", want "ConformanceReport"`},
		{"unknown apiVersion", func(r *ConformanceReport) { r.APIVersion = "v9" }, `unknown apiVersion "v9"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := valid()
			tc.mutate(r)
			err := r.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestFeature(t *testing.T) {
	for _, tc := range []struct {
		features []string
		want     string
	}{{nil, NoFeature}, {[]string{""}, NoFeature}, {[]string{"tls", "annotations"}, "tls"}} {
		if got := (TestResult{Features: tc.features}).Feature(); got != tc.want {
			t.Errorf("Feature(%q) = %q, want %q", tc.features, got, tc.want)
		}
	}
}
