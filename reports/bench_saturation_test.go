package reports

import (
	"bytes"
	"strings"
	"testing"
)

func satSeries(name string, ceiling string, maxes ...float64) LoadSeries {
	s := LoadSeries{Name: name, Via: "controller", Saturation: &Saturation{Method: "closed-loop", MaxRPS: NewStat(maxes), Ceiling: ceiling}}
	for i, m := range maxes {
		s.Saturation.Sweeps = append(s.Saturation.Sweeps, ClosedLoopSweep{Repetition: i + 1, MaxRPS: m, Ceiling: ceiling})
	}
	return s
}

func TestThroughputRatioRefusesCappedMaxima(t *testing.T) {
	direct := satSeries("direct", "", 10000, 11000, 10500)
	proxied := satSeries("proxied", "", 5000, 5500, 5250)
	st, why := ThroughputRatio(direct, proxied)
	if why != "" || st.N != 3 || st.Median != 0.5 {
		t.Fatalf("uncapped: %+v %q", st, why)
	}
	for _, c := range []struct {
		name     string
		a, b     LoadSeries
		contains string
	}{
		{"proxied at the configured ceiling", direct, satSeries("proxied", CeilingConfigured, 8000), "proxied capped: ≥ 8000 (ceiling: configured)"},
		{"direct generator-bound", satSeries("direct", CeilingGenerator, 40000), proxied, "direct capped"},
		{"both capped", satSeries("direct", CeilingConfigured, 8000), satSeries("proxied", CeilingConfigured, 8000), "both capped"},
	} {
		st, why := ThroughputRatio(c.a, c.b)
		if st.N != 0 || !strings.Contains(why, c.contains) {
			t.Errorf("%s: ratio %+v, refusal %q (want it to contain %q)", c.name, st, why, c.contains)
		}
	}
}

func TestLegacyUnboundedSearchIsCapped(t *testing.T) {
	unbounded := LoadSeries{Name: "proxied", Searches: []RateSearch{{MaxSustainableRPS: 8000, Bounded: false}}, MaxSustainableRPS: NewStat([]float64{8000})}
	m := unbounded.Max()
	if !m.Capped() || !m.Legacy || m.String() != "≥ 8000 (ceiling: legacy unbounded search)" {
		t.Fatalf("legacy max %+v %q", m, m.String())
	}
	direct := unbounded
	direct.Name = "direct"
	l := &LoadResult{Series: []LoadSeries{direct, unbounded}}
	c := ABComparison{Baseline: "direct", Series: "proxied", ThroughputRatio: NewStat([]float64{1})}.Checked(l)
	if c.ThroughputRatio.N != 0 || c.RatioRefused == "" || !strings.HasPrefix(c.RatioCell(), "no ratio") {
		t.Fatalf("stored 1.00 ratio of capped searches survived: %+v", c)
	}
}

// TestPublishedLegacyReportsShowNoCappedRatio reads the published v1 bench
// reports: none of the "1.00 = both reached 8,000" ratios may survive.
func TestPublishedLegacyReportsShowNoCappedRatio(t *testing.T) {
	m, err := LoadMatrix([]string{"published"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := RenderMatrixMarkdown(&b, m); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	seen := 0
	for i, c := range m.Columns {
		p, ok := m.Perf(i)
		if !ok || !p.HasLoad {
			continue
		}
		seen++
		if (p.Proxied.Capped() || p.Direct.Capped()) && (p.RatioRefused == "" || p.ThroughputRatio != 0) {
			t.Errorf("%s: capped maxima (%s, %s) rendered as ratio %.2f", c.Label, p.Proxied, p.Direct, p.ThroughputRatio)
		}
		if !p.Legacy {
			t.Errorf("%s: published v1 report not marked legacy", c.Label)
		}
	}
	if seen == 0 {
		t.Fatal("no published bench reports read")
	}
	if strings.Contains(md, "| 1.00 |") {
		t.Errorf("matrix still shows 1.00 ratios:\n%s", md)
	}
	if !strings.Contains(md, "no ratio: proxied ≥ 8000 (ceiling: legacy unbounded search), direct ≥ 8000") {
		t.Errorf("matrix does not say what is known of capped maxima:\n%s", md)
	}
}
