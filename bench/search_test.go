package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/ingresslab/ingresslab/reports"
)

// fakeMeasure passes every rate up to capacity and records what was asked.
func fakeMeasure(capacity float64, asked *[]float64) Measure {
	return func(_ context.Context, rate float64, phase string) (reports.StepResult, error) {
		*asked = append(*asked, rate)
		return reports.StepResult{Phase: phase, OfferedRPS: rate, Valid: true, PassSLO: rate <= capacity}, nil
	}
}

func TestSearchMaxRateStepsThenBisects(t *testing.T) {
	var asked []float64
	s, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 1000, Factor: 2, MaxRPS: 1e6, MaxSteps: 10, Bisections: 3}, fakeMeasure(3300, &asked))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1000, 2000, 4000, 3000, 3500, 3250}
	if len(asked) != len(want) {
		t.Fatalf("asked %v, want %v", asked, want)
	}
	for i := range want {
		if asked[i] != want[i] {
			t.Fatalf("asked %v, want %v", asked, want)
		}
	}
	if s.MaxSustainableRPS != 3250 || !s.Bounded {
		t.Fatalf("result %v bounded %v, want 3250 bounded", s.MaxSustainableRPS, s.Bounded)
	}
	if st, ok := passingStep(s); !ok || st.OfferedRPS != 3250 {
		t.Fatalf("passingStep = %+v, %v", st, ok)
	}
}

func TestSearchMaxRateFirstStepFails(t *testing.T) {
	var asked []float64
	s, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 1000, Factor: 2, MaxRPS: 1e6, MaxSteps: 10, Bisections: 2}, fakeMeasure(300, &asked))
	if err != nil {
		t.Fatal(err)
	}
	// 1000 fails, then 500 fails, then 250 passes.
	if s.MaxSustainableRPS != 250 || len(asked) != 3 {
		t.Fatalf("result %v after %v, want 250 after 3 steps", s.MaxSustainableRPS, asked)
	}
}

func TestSearchMaxRateStopsAtMaxRPS(t *testing.T) {
	var asked []float64
	s, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 1000, Factor: 2, MaxRPS: 5000, MaxSteps: 10, Bisections: 3}, fakeMeasure(1e9, &asked))
	if err != nil {
		t.Fatal(err)
	}
	if s.Bounded || s.MaxSustainableRPS != 5000 || asked[len(asked)-1] != 5000 || len(asked) != 4 {
		t.Fatalf("result %v bounded %v after %v: want 5000, unbounded, 4 steps ending at the cap", s.MaxSustainableRPS, s.Bounded, asked)
	}
}

func TestSearchMaxRateBoundsSteps(t *testing.T) {
	var asked []float64
	s, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 1, Factor: 2, MaxRPS: 1e12, MaxSteps: 5, Bisections: 3}, fakeMeasure(1e9, &asked))
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 5 || s.Bounded || s.MaxSustainableRPS != 16 {
		t.Fatalf("asked %v, result %v: want 5 steps and 16", asked, s.MaxSustainableRPS)
	}
}

func TestSearchMaxRateInvalidStepCountsAsFailureAfterRetry(t *testing.T) {
	calls := map[float64]int{}
	measure := func(_ context.Context, rate float64, phase string) (reports.StepResult, error) {
		calls[rate]++
		// 2000 is invalid the first time only (a disturbed run); 4000 is
		// always invalid (the generator cannot keep up).
		valid := !(rate == 2000 && calls[rate] == 1) && rate < 4000
		return reports.StepResult{Phase: phase, OfferedRPS: rate, Valid: valid, PassSLO: true}, nil
	}
	s, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 1000, Factor: 2, MaxRPS: 1e6, MaxSteps: 10, Bisections: 0, Retries: 1}, measure)
	if err != nil {
		t.Fatal(err)
	}
	if calls[2000] != 2 || calls[4000] != 1 || s.MaxSustainableRPS != 2000 {
		t.Fatalf("calls %v, result %v: want 2000 retried once, 4000 measured once (no retry left), result 2000", calls, s.MaxSustainableRPS)
	}
	if s.Steps[2].Phase != "retry" {
		t.Fatalf("step 2 phase %q, want retry", s.Steps[2].Phase)
	}
}

func TestSearchMaxRateErrors(t *testing.T) {
	var asked []float64
	if _, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 0, Factor: 2, MaxRPS: 10, MaxSteps: 1}, fakeMeasure(1, &asked)); err == nil {
		t.Fatal("zero start accepted")
	}
	boom := errors.New("boom")
	_, err := SearchMaxRate(context.Background(), SearchOptions{StartRPS: 1, Factor: 2, MaxRPS: 10, MaxSteps: 3}, func(context.Context, float64, string) (reports.StepResult, error) {
		return reports.StepResult{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom wrapped", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SearchMaxRate(ctx, SearchOptions{StartRPS: 1, Factor: 2, MaxRPS: 10, MaxSteps: 3}, fakeMeasure(5, &asked)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled search: %v", err)
	}
}
