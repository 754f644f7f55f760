package reports

import (
	"bytes"
	"strings"
	"testing"
)

func TestBenchMarkdownShowsEachGenerator(t *testing.T) {
	st := StepResult{Phase: "fraction", OfferedRPS: 2000, AchievedRPS: 1990, Requests: 19900, Valid: false, InvalidReason: "generator 1: generator lag p99 45000 µs > 20000 µs",
		Generators: []GeneratorWindow{
			{Index: 0, Pod: "bench-gen-1-0-abc", Node: "worker", OfferedRPS: 1000, AchievedRPS: 1000, Requests: 10000, LagP99Micros: 120, StartSkewMicros: 310, Valid: true},
			{Index: 1, Pod: "bench-gen-1-1-def", Node: "worker2", OfferedRPS: 1000, AchievedRPS: 990, Requests: 9900, LagP99Micros: 45000, StartSkewMicros: 950, InvalidReason: "generator lag p99 45000 µs > 20000 µs"},
		}}
	r := &BenchReport{Provider: "existing", Scenarios: []BenchScenario{{Name: "single-route", Kind: BenchKindLoad, Status: BenchOK,
		Load: &LoadResult{Series: []LoadSeries{{Name: "proxied", Via: "controller", AtLoad: []LoadPoint{{Fraction: 0.5, Windows: []StepResult{st}}}}}}}}}
	var b bytes.Buffer
	if err := RenderBenchMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"### single-route: load generators",
		"| proxied | 1 | fraction | 0 | bench-gen-1-0-abc | worker | 1000.0 | 0 | 1000.0 | 10000 | 120 | 310 | yes |",
		"| proxied | 1 | fraction | 1 | bench-gen-1-1-def | worker2 | 1000.0 | 0 | 990.0 | 9900 | 45000 | 950 | no: generator lag p99 45000 µs > 20000 µs |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	r.Scenarios[0].Load.Series[0].AtLoad[0].Windows[0].Generators = nil
	b.Reset()
	if err := RenderBenchMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "load generators") {
		t.Error("a report without distributed windows shows a generators table")
	}
}
