package agent

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/reports"
)

var gates = reports.Gates{MinAchievedRatio: 0.99, MaxLagP99Micros: 20000}

// window builds generator i's result of a 10 s open-loop window at rate
// from raw latency and lag samples (microseconds).
func window(t *testing.T, i int, rate float64, lat, lag []int64) Result {
	t.Helper()
	lh, gh := NewHistogram(), NewHistogram()
	for _, v := range lat {
		Record(lh, time.Duration(v)*time.Microsecond)
	}
	for _, v := range lag {
		Record(gh, time.Duration(v)*time.Microsecond)
	}
	ls, err := EncodeHistogram(lh)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := EncodeHistogram(gh)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	n := int64(len(lat))
	return Result{Generator: i, Pod: "gen-" + string(rune('a'+i)), Window: 0, Phase: "fraction", Start: start, Began: start.Add(300 * time.Microsecond),
		OfferedRPS: rate, DurationMillis: 10000, ElapsedNanos: int64(10 * time.Second), Requests: n, OK: n,
		StatusCodes: map[string]int64{"200": n}, Latency: ls, Lag: gs}
}

// samples draws n latencies: a log-normal body around median µs with a
// heavy tail (1 % ten times slower).
func samples(rng *rand.Rand, n int, median float64) []int64 {
	out := make([]int64, n)
	for i := range out {
		v := median * math.Exp(0.4*rng.NormFloat64())
		if rng.Float64() < 0.01 {
			v *= 10
		}
		out[i] = max(1, int64(v))
	}
	return out
}

func TestHistogramWireRoundTrip(t *testing.T) {
	r := window(t, 0, 100, samples(rand.New(rand.NewPCG(1, 1)), 5000, 800), []int64{1, 2, 3})
	h, err := DecodeHistogram(r.Latency)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 5000 {
		t.Fatalf("decoded %d values, want 5000", h.TotalCount())
	}
	if len(r.Latency) > 16<<10 {
		t.Fatalf("wire histogram of 5,000 values is %d bytes of base64: not compact", len(r.Latency))
	}
	h2, err := DecodeHistogram(r.Latency)
	if err != nil || !h.Equals(h2) {
		t.Fatalf("decoding twice differs (%v)", err)
	}
	if _, err := DecodeHistogram("not base64!"); err == nil {
		t.Fatal("garbage decoded without error")
	}
}

func TestMergeOfOneIsTheIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	r := window(t, 0, 1000, samples(rng, 10000, 500), samples(rng, 10000, 50))
	r.ErrorSamples = []string{"x"}
	m, err := Merge([]Result{r}, 1, gates)
	if err != nil {
		t.Fatal(err)
	}
	lat, _ := DecodeHistogram(r.Latency)
	lag, _ := DecodeHistogram(r.Lag)
	st := m.Step
	if !m.Latency.Equals(lat) || !m.Lag.Equals(lag) {
		t.Fatal("merged histograms of one generator differ from its own")
	}
	if st.Latency != Percentiles(lat) || st.Lag != Percentiles(lag) {
		t.Fatalf("percentiles changed: %+v vs %+v", st.Latency, Percentiles(lat))
	}
	if st.Requests != r.Requests || st.SuccessRatio != 1 || st.OfferedRPS != r.OfferedRPS || st.AchievedRPS != 1000 ||
		st.ThroughputRPS != 1000 || st.StatusCodes["200"] != r.Requests || st.DurationMillis != r.DurationMillis || !slices.Equal(st.ErrorSamples, r.ErrorSamples) {
		t.Fatalf("counts or rates changed: %+v", st)
	}
	if len(st.Generators) != 1 || st.Generators[0].AchievedRPS != st.AchievedRPS || st.Generators[0].LagP99Micros != st.Lag.P99 || st.Generators[0].StartSkewMicros != 300 {
		t.Fatalf("generator part %+v does not equal the window %+v", st.Generators, st)
	}
	if !st.Valid || !st.Generators[0].Valid {
		t.Fatalf("valid window judged invalid: %s / %s", st.InvalidReason, st.Generators[0].InvalidReason)
	}
}

// exactBracket is the range of nearest-rank values around percentile p of
// sorted xs (one rank either side: HDR rounds the rank, the reference
// takes its ceiling).
func exactBracket(xs []int64, p float64) (lo, hi float64) {
	r := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return float64(xs[max(r-1, 0)]), float64(xs[min(r+1, len(xs)-1)])
}

func TestMergedPercentilesAgreeWithRawSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	// Three generators with different distributions (one much slower), so
	// the merge is not a re-labelling of one of them.
	medians := []float64{300, 900, 5000}
	var all []int64
	var rs []Result
	for i, med := range medians {
		lat := samples(rng, 20000+7000*i, med)
		all = append(all, lat...)
		rs = append(rs, window(t, i, 1000, lat, []int64{10}))
	}
	slices.Reverse(rs) // order of arrival does not matter
	m, err := Merge(rs, len(medians), gates)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	const precision = 0.001 // 3 significant digits
	for _, c := range []struct {
		p   float64
		got float64
	}{{50, m.Step.Latency.P50}, {90, m.Step.Latency.P90}, {99, m.Step.Latency.P99}, {99.9, m.Step.Latency.P999}, {100, m.Step.Latency.Max}} {
		lo, hi := exactBracket(all, c.p)
		if c.got < lo*(1-precision)-1 || c.got > hi*(1+precision)+1 {
			t.Errorf("p%v: merged %.0f µs, raw samples give %.0f..%.0f µs", c.p, c.got, lo, hi)
		}
	}
	var sum float64
	for _, v := range all {
		sum += float64(v)
	}
	if mean := sum / float64(len(all)); math.Abs(m.Step.Latency.Mean-mean) > mean*precision {
		t.Errorf("mean: merged %.1f µs, raw %.1f µs", m.Step.Latency.Mean, mean)
	}
	if m.Step.Requests != int64(len(all)) {
		t.Errorf("requests %d, want %d", m.Step.Requests, len(all))
	}
}

func TestMergeAddsCountsAndRatesAndKeepsLagPerGenerator(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	a := window(t, 0, 500, samples(rng, 5000, 400), samples(rng, 5000, 30))
	b := window(t, 1, 500, samples(rng, 4000, 400), samples(rng, 4000, 60000)) // lags 60 ms, achieves 400 of 500 rps
	b.OK, b.Non2xx = 3990, 10
	b.StatusCodes = map[string]int64{"200": 3990, "503": 10}
	m, err := Merge([]Result{a, b}, 2, gates)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Step
	if st.Requests != 9000 || st.Non2xx != 10 || st.StatusCodes["200"] != 8990 || st.StatusCodes["503"] != 10 {
		t.Fatalf("counts do not add: %+v", st)
	}
	if st.OfferedRPS != 1000 || st.AchievedRPS != 900 || math.Abs(st.ThroughputRPS-(500+399)) > 1e-9 {
		t.Fatalf("rates do not add: offered %v achieved %v throughput %v", st.OfferedRPS, st.AchievedRPS, st.ThroughputRPS)
	}
	if math.Abs(st.SuccessRatio-8990.0/9000) > 1e-12 {
		t.Fatalf("success %v", st.SuccessRatio)
	}
	g0, g1 := st.Generators[0], st.Generators[1]
	if g0.LagP99Micros > 200 || g1.LagP99Micros < 50000 || g0.AchievedRPS != 500 || g1.AchievedRPS != 400 {
		t.Fatalf("per-generator lag and rate lost: %+v %+v", g0, g1)
	}
	if !g0.Valid || g1.Valid || !strings.Contains(g1.InvalidReason, "achieved/offered 0.800") {
		t.Fatalf("per-generator gates: %+v %+v", g0, g1)
	}
	if st.Valid || !strings.Contains(st.InvalidReason, "achieved/offered 0.900") {
		t.Fatalf("overall gate: valid %v (%s)", st.Valid, st.InvalidReason)
	}
}

func TestMergeJudgesEachGeneratorEvenWhenTheSumPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var rs []Result
	for i := range 10 {
		rs = append(rs, window(t, i, 100, samples(rng, 1000, 400), samples(rng, 1000, 20)))
	}
	rs[7].Began = rs[7].Start.Add(80 * time.Millisecond) // began late: windows do not line up
	m, err := Merge(rs, 10, gates)
	if err != nil {
		t.Fatal(err)
	}
	if m.Step.Valid || !strings.Contains(m.Step.InvalidReason, "generator 7: began 80000 µs after the agreed start") {
		t.Fatalf("a late generator must invalidate the window: %v %q", m.Step.Valid, m.Step.InvalidReason)
	}
}

func TestMergeRefusesIncompleteWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	a := window(t, 0, 100, samples(rng, 100, 400), nil)
	b := window(t, 1, 100, samples(rng, 100, 400), nil)
	c := b
	c.Generator = 2
	for name, tc := range map[string]struct {
		rs   []Result
		n    int
		want string
	}{
		"missing":      {[]Result{a, b}, 3, "2 results for 3 generators"},
		"duplicate":    {[]Result{a, a}, 2, "generator 1: missing"},
		"other window": {[]Result{a, func() Result { x := b; x.Window = 1; return x }()}, 2, "result of window 1"},
		"failed":       {[]Result{a, func() Result { x := b; x.Failure = "dial refused"; return x }()}, 2, "dial refused"},
		"bad counts":   {[]Result{a, func() Result { x := b; x.Requests = 5; return x }()}, 2, "counts 100 values for 5 requests"},
	} {
		if _, err := Merge(tc.rs, tc.n, gates); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestShareSplitsExactly(t *testing.T) {
	for _, tc := range []struct{ total, n int }{{64, 1}, {64, 3}, {5, 5}, {7, 2}, {100, 7}} {
		sum := 0
		for i := range tc.n {
			s := Share(tc.total, tc.n, i)
			if s < tc.total/tc.n || s > tc.total/tc.n+1 {
				t.Errorf("Share(%d, %d, %d) = %d", tc.total, tc.n, i, s)
			}
			sum += s
		}
		if sum != tc.total {
			t.Errorf("shares of %d over %d add to %d", tc.total, tc.n, sum)
		}
	}
}
