package reports

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// BenchSchemaVersion is the version of the BenchReport layout inside
// APIVersion. It grows when fields change meaning; readers refuse newer ones.
//
// Version 2 (issue 12): saturation is a closed-loop maximum with its
// ceiling (LoadSeries.Saturation), latency is measured at fractions of each
// target's own maximum (LoadSeries.AtLoad), CPU is the controller's whole
// process tree with machine noise per window (StepResult.CPU), propagation
// timeouts are censored (PropagationResult.Censored), and churn checks its
// changes. Version 1 reports still read: their open-loop searches that never
// failed a step are capped ("legacy"), never ratios.
const BenchSchemaVersion = 2

// File names WriteBench writes in its directory.
const (
	BenchJSONFile     = "bench.json"
	BenchMarkdownFile = "bench.md"
	BenchHTMLFile     = "bench.html"
)

// Scenario kinds of a bench report.
const (
	BenchKindLoad        = "load"
	BenchKindPropagation = "propagation"
	BenchKindChurn       = "churn"
	BenchKindScale       = "scale"
)

// Scenario statuses.
const (
	BenchOK      = "ok"
	BenchFailed  = "failed"
	BenchSkipped = "skipped"
)

// BenchReport is the result of one `ingresslab bench` run. Every quantity
// carries its unit in the field name (Micros, Millis, Seconds, Bytes, RPS).
type BenchReport struct {
	APIVersion    string `json:"apiVersion"`
	Kind          string `json:"kind"`
	SchemaVersion int    `json:"schemaVersion"`
	// Command is the command line that produced the report.
	Command         string    `json:"command,omitempty"`
	Started         time.Time `json:"started"`
	DurationSeconds float64   `json:"durationSeconds"`
	Quick           bool      `json:"quick"`
	// Interrupted says what ended the run before every selected scenario
	// finished (a signal or the caller's deadline), and where; empty for a
	// run that finished. The scenarios after that point are "skipped".
	Interrupted string          `json:"interrupted,omitempty"`
	Provider    string          `json:"provider"`
	Network     string          `json:"network,omitempty"`
	Controller  BenchController `json:"controller"`
	Machine     Machine         `json:"machine"`
	Settings    BenchSettings   `json:"settings"`
	Scenarios   []BenchScenario `json:"scenarios"`
	Capacity    *CapacityPlan   `json:"capacity,omitempty"`
	Notes       []string        `json:"notes,omitempty"`
	Goals       []GoalResult    `json:"goals,omitempty"`
}

// BenchController identifies the controller under test.
type BenchController struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Profile string `json:"profile,omitempty"`
	// Flags are the rendered command-line arguments (program excluded).
	Flags []string `json:"flags,omitempty"`
}

// Machine is the fingerprint of the machine the run used.
type Machine struct {
	CPUModel   string `json:"cpuModel"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
	Kernel     string `json:"kernel,omitempty"`
	// CPUPinning describes any CPU affinity ("none" when the harness did not
	// pin anything).
	CPUPinning string `json:"cpuPinning"`
	// LoadAverage1 is the 1-minute load average when the run started: a
	// high value means other work shared the CPUs.
	LoadAverage1  float64 `json:"loadAverage1"`
	MemTotalBytes uint64  `json:"memTotalBytes,omitempty"`
	// CPUFlags are the CPU's feature flags (/proc/cpuinfo), schema 2.
	CPUFlags []string `json:"cpuFlags,omitempty"`
	// IngresslabCommit is the git commit the harness was built from ("+dirty"
	// when the tree had changes), schema 2.
	IngresslabCommit string `json:"ingresslabCommit,omitempty"`
	// Binaries are the sha256 of every binary the run used, schema 2.
	Binaries []BinaryDigest `json:"binaries,omitempty"`
	// Generator is the load generator's own limit on this machine, schema 2.
	Generator *GeneratorLimit `json:"generator,omitempty"`
	// Noise summarises the load of the machine during the run's windows,
	// schema 2.
	Noise *NoiseSummary `json:"noise,omitempty"`
}

// BenchSettings are the knobs a run used.
type BenchSettings struct {
	SLO   SLO   `json:"slo"`
	Gates Gates `json:"gates"`
	// StepMillis is the duration of one open-loop step.
	StepMillis  int64 `json:"stepMillis"`
	Repetitions int   `json:"repetitions"`
	Bisections  int   `json:"bisections"`
	// StartRPS and StepFactor drive the stepped phase of the rate search.
	StartRPS   float64 `json:"startRPS"`
	StepFactor float64 `json:"stepFactor"`
	MaxRPS     float64 `json:"maxRPS"`
	// Schema 2: the closed-loop connection sweep, its window, the open-loop
	// fractions of each target's own maximum and their window.
	Connections          []int     `json:"connections,omitempty"`
	ClosedLoopMillis     int64     `json:"closedLoopMillis,omitempty"`
	Fractions            []float64 `json:"fractions,omitempty"`
	SecondaryFractions   []float64 `json:"secondaryFractions,omitempty"`
	WindowMillis         int64     `json:"windowMillis,omitempty"`
	GeneratorBoundMargin float64   `json:"generatorBoundMargin,omitempty"`
	// NoiseMaxExternalCores is the CPU (in cores) other processes may use
	// during a window before it is noisy and repeated (NoiseRetries times).
	NoiseMaxExternalCores float64 `json:"noiseMaxExternalCores,omitempty"`
	NoiseRetries          int     `json:"noiseRetries,omitempty"`
	// PropagationTimeoutMillis censors a propagation event.
	PropagationTimeoutMillis int64 `json:"propagationTimeoutMillis,omitempty"`
	// ChurnPhaseMillis is the length of one churn phase (one change).
	ChurnPhaseMillis int64 `json:"churnPhaseMillis,omitempty"`
	// CPUPinning is the requested affinity ("generator=1,target=0"), if any.
	CPUPinning string `json:"cpuPinning,omitempty"`
	// SameRatePairs is the pairs of same-rate windows (a target's 50 %
	// window and its peer's at that rate) per repetition; 0 in a run
	// without a peer, and in reports from before it was set (one pair).
	SameRatePairs int `json:"sameRatePairs,omitempty"`
	// BackendProcesses: the local echo backends ran as processes of their
	// own, not inside the harness (WindowCPU.BackendMicros is measured).
	BackendProcesses bool `json:"backendProcesses,omitempty"`
}

// SLO is what a rate must meet to count as sustainable.
type SLO struct {
	MinSuccessRatio float64 `json:"minSuccessRatio"`
	MaxP99Micros    float64 `json:"maxP99Micros"`
	MaxMisroutes    int64   `json:"maxMisroutes"`
}

// Gates decide whether a measured step is valid at all.
type Gates struct {
	// MinAchievedRatio is the lowest achieved/offered rate accepted.
	MinAchievedRatio float64 `json:"minAchievedRatio"`
	// MaxLagP99Micros bounds the load generator's p99 lag behind schedule.
	MaxLagP99Micros float64 `json:"maxLagP99Micros"`
}

// BenchScenario is one scenario's outcome; exactly one of Load,
// Propagation, Churn and Scale is set when Status is ok.
type BenchScenario struct {
	Name            string             `json:"name"`
	Description     string             `json:"description"`
	Kind            string             `json:"kind"`
	Status          string             `json:"status"`
	Error           string             `json:"error,omitempty"`
	DurationSeconds float64            `json:"durationSeconds"`
	Load            *LoadResult        `json:"load,omitempty"`
	Propagation     *PropagationResult `json:"propagation,omitempty"`
	Churn           *ChurnResult       `json:"churn,omitempty"`
	Scale           *ScaleResult       `json:"scale,omitempty"`
	Reliability     *ReliabilityResult `json:"reliability,omitempty"`
}

// LoadResult holds the series of a load scenario (e.g. "proxied" and its
// interleaved "direct" baseline, or "uniform" and "zipf").
type LoadResult struct {
	Series []LoadSeries `json:"series"`
	// Comparisons pair a series with its interleaved baseline.
	Comparisons []ABComparison `json:"comparisons,omitempty"`
}

// LoadSeries is one kind of traffic measured with repetitions.
type LoadSeries struct {
	Name string `json:"name"`
	// Via is "direct" (straight to an echo backend), "controller", or
	// "baseline" (a raw engine the bench started: --baselines).
	Via string `json:"via"`
	// Searches are the max-rate searches, one per repetition.
	Searches []RateSearch `json:"searches"`
	// MaxSustainableRPS summarises Searches (valid ones only).
	MaxSustainableRPS Stat `json:"maxSustainableRPS"`
	// Fixed are runs at a fixed sub-saturation rate, one per repetition.
	Fixed []StepResult `json:"fixed,omitempty"`
	// CPUMicrosPerRequest is the controller's CPU per request at the highest
	// passing rate (median over repetitions); 0 for direct series. In schema
	// 2 it is the whole process tree's CPU at the highest load fraction that
	// met the SLO.
	CPUMicrosPerRequest float64 `json:"cpuMicrosPerRequest"`
	// Saturation is the closed-loop maximum (schema 2).
	Saturation *Saturation `json:"saturation,omitempty"`
	// AtLoad is open-loop latency and CPU at fractions of this target's own
	// maximum (schema 2).
	AtLoad []LoadPoint `json:"atLoad,omitempty"`
	// AtPeerRate is this target measured at another series' rate through
	// that series' connection pool: a raw engine at the controller's 50 %
	// rate (issue 13's latency goal: the same absolute rate, the same
	// connections). Nil for the other series.
	AtPeerRate *PeerRatePoint `json:"atPeerRate,omitempty"`
}

// PeerRatePoint is a LoadPoint taken at the rate of series Peer's point at
// Point.Fraction of Peer's maximum, through at most Connections.
type PeerRatePoint struct {
	Peer        string    `json:"peer"`
	Connections int       `json:"connections"`
	Point       LoadPoint `json:"point"`
}

// RateSearch is one stepped-then-bisected search for the highest rate that
// meets the SLO.
type RateSearch struct {
	Repetition        int     `json:"repetition"`
	MaxSustainableRPS float64 `json:"maxSustainableRPS"`
	// Bounded is false when the search stopped at MaxRPS or its step budget
	// without seeing a failing rate.
	Bounded bool `json:"bounded"`
	// Ceiling says what ended an unbounded search (schema 2; see Ceiling*).
	Ceiling string       `json:"ceiling,omitempty"`
	Steps   []StepResult `json:"steps"`
}

// StepResult is one open-loop run at a constant offered rate.
type StepResult struct {
	// Phase is "step", "bisect" or "fixed".
	Phase          string  `json:"phase"`
	OfferedRPS     float64 `json:"offeredRPS"`
	AchievedRPS    float64 `json:"achievedRPS"`
	ThroughputRPS  float64 `json:"throughputRPS"`
	DurationMillis int64   `json:"durationMillis"`
	Requests       int64   `json:"requests"`
	// Errors counts transport errors (no HTTP response).
	Errors int64 `json:"errors"`
	// Non2xx counts responses outside 200-299.
	Non2xx int64 `json:"non2xx"`
	// Misroutes counts 2xx responses from the wrong backend.
	Misroutes    int64            `json:"misroutes"`
	SuccessRatio float64          `json:"successRatio"`
	Latency      Percentiles      `json:"latencyMicros"`
	Lag          Percentiles      `json:"lagMicros"`
	StatusCodes  map[string]int64 `json:"statusCodes,omitempty"`
	ErrorSamples []string         `json:"errorSamples,omitempty"`
	// Spectrum is the latency at fine percentiles (fixed runs only).
	Spectrum []SpectrumPoint `json:"spectrum,omitempty"`
	// Histogram is vegeta's bucketed latency histogram (fixed runs only).
	Histogram []HistogramBucket `json:"histogram,omitempty"`
	// ControllerCPUMicrosPerRequest is from /proc/PID/stat (0 for direct).
	ControllerCPUMicrosPerRequest float64 `json:"controllerCPUMicrosPerRequest"`
	ControllerRSSBytes            uint64  `json:"controllerRSSBytes,omitempty"`
	// Connections is the closed-loop worker (= connection) count; 0 for an
	// open-loop window (schema 2).
	Connections int `json:"connections,omitempty"`
	// MaxInFlight is an open-loop window's bound on concurrent requests
	// (the generator's workers and connections), PeakInFlight the most it
	// had; a window that reached the bound is invalid.
	MaxInFlight  int `json:"maxInFlight,omitempty"`
	PeakInFlight int `json:"peakInFlight,omitempty"`
	// PoolConnections bounds an open-loop window's connections: the
	// connection count at which the target's closed-loop maximum was
	// found; requests beyond it wait for a connection (0: unbounded, as in
	// reports before this field).
	PoolConnections int `json:"poolConnections,omitempty"`
	// Fraction is the share of the target's own maximum an open-loop window
	// offered (schema 2).
	Fraction float64 `json:"fraction,omitempty"`
	// CPU is what every process used during the window (schema 2).
	CPU *WindowCPU `json:"cpu,omitempty"`
	// Noisy marks a window during which other processes used more CPU than
	// allowed; Attempt counts the repeats of a noisy window (1 = first).
	Noisy         bool   `json:"noisy,omitempty"`
	Attempt       int    `json:"attempt,omitempty"`
	Valid         bool   `json:"valid"`
	InvalidReason string `json:"invalidReason,omitempty"`
	PassSLO       bool   `json:"passSLO"`
	FailReason    string `json:"failReason,omitempty"`
	// Generators are the parts of a window measured by several load
	// generators (bench --generators N > 1), each with its own lag, rate
	// and validity; empty for the in-process generator.
	Generators []GeneratorWindow `json:"generators,omitempty"`
}

// Percentiles of a distribution, in the unit named by the field holding it.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// SpectrumPoint is the latency at one percentile.
type SpectrumPoint struct {
	Percentile    float64 `json:"percentile"`
	LatencyMicros float64 `json:"latencyMicros"`
}

// HistogramBucket counts latencies in [LowMicros, next bucket's LowMicros).
type HistogramBucket struct {
	LowMicros float64 `json:"lowMicros"`
	Count     uint64  `json:"count"`
}

// Stat summarises repeated measurements.
type Stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// SpreadPct is (Max-Min)/Median in percent.
	SpreadPct float64 `json:"spreadPct"`
}

// NewStat summarises xs (NaNs dropped).
func NewStat(xs []float64) Stat {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Stat{}
	}
	sort.Float64s(v)
	s := Stat{N: len(v), Min: v[0], Max: v[len(v)-1]}
	if len(v)%2 == 1 {
		s.Median = v[len(v)/2]
	} else {
		s.Median = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	if s.Median != 0 {
		s.SpreadPct = (s.Max - s.Min) / math.Abs(s.Median) * 100
	}
	return s
}

// ABComparison compares a series with its interleaved baseline.
type ABComparison struct {
	Baseline string `json:"baseline"`
	Series   string `json:"series"`
	// ThroughputRatio is series max / baseline max per repetition. It is
	// empty (N = 0) when either maximum is capped.
	ThroughputRatio Stat `json:"throughputRatio"`
	// RatioRefused says why no ratio is given (a capped maximum), schema 2.
	RatioRefused string `json:"ratioRefused,omitempty"`
	// FixedRPS is the rate of the fixed runs (half the baseline maximum).
	FixedRPS float64 `json:"fixedRPS"`
	// AddedLatency is series minus baseline per repetition at FixedRPS.
	AddedP50Micros  Stat `json:"addedP50Micros"`
	AddedP99Micros  Stat `json:"addedP99Micros"`
	AddedP999Micros Stat `json:"addedP999Micros"`
}

// PropagationResult times Ingress changes until traffic follows them.
type PropagationResult struct {
	Events   int `json:"events"`
	TimedOut int `json:"timedOut"`
	// Censored is true when timed-out events are excluded from the
	// percentiles (schema 2): they are only known to exceed TimeoutMillis.
	// Version 1 reports counted a timeout as its timeout value.
	Censored      bool    `json:"censored,omitempty"`
	TimeoutMillis float64 `json:"timeoutMillis,omitempty"`
	// Convergence is how an event's end is observed (schema 2), the same for
	// every controller.
	Convergence string `json:"convergence,omitempty"`
	// Planned is the number of events asked for; StoppedEarly says why
	// fewer were measured (the scenario's time budget), schema 2.
	Planned      int    `json:"planned,omitempty"`
	StoppedEarly string `json:"stoppedEarly,omitempty"`
	// BackgroundIngresses is how many other Ingresses (one route each) the
	// controller served while the changes were timed; 0: none.
	BackgroundIngresses int `json:"backgroundIngresses,omitempty"`
	// BackgroundStatus says whether the controller had written the
	// background Ingresses' statuses before the changes were timed (status
	// writes compete with the changes for the API server); nil when not
	// waited for (no background, or no status address in the profile).
	BackgroundStatus *BackgroundStatus `json:"backgroundStatus,omitempty"`
	// BeyondTimeout names the percentiles of FirstCorrectMillis that lie
	// past the timeout (too many censored events to know them); those
	// fields are 0. Known percentiles rank censored events last (schema 2).
	BeyondTimeout []string `json:"beyondTimeout,omitempty"`
	// RequestsPerUpdate is how many API requests an update event makes
	// from the start of its timing: 1 (one patch) since it was recorded;
	// 0 in older reports, whose updates made 3 (a create refused as
	// existing, a get, the update) and timed them all.
	RequestsPerUpdate   int                `json:"requestsPerUpdate,omitempty"`
	ProbeIntervalMillis float64            `json:"probeIntervalMillis"`
	FirstCorrectMillis  Percentiles        `json:"firstCorrectMillis"`
	LastStaleMillis     Percentiles        `json:"lastStaleMillis"`
	ByKind              []PropagationKind  `json:"byKind"`
	Samples             []PropagationEvent `json:"samples,omitempty"`
}

// PropagationKind summarises one kind of change (create, update, delete).
type PropagationKind struct {
	Kind               string      `json:"kind"`
	Events             int         `json:"events"`
	TimedOut           int         `json:"timedOut,omitempty"`
	BeyondTimeout      []string    `json:"beyondTimeout,omitempty"`
	FirstCorrectMillis Percentiles `json:"firstCorrectMillis"`
	LastStaleMillis    Percentiles `json:"lastStaleMillis"`
}

// PropagationEvent is one timed change.
type PropagationEvent struct {
	Kind               string  `json:"kind"`
	FirstCorrectMillis float64 `json:"firstCorrectMillis"`
	LastStaleMillis    float64 `json:"lastStaleMillis"`
	TimedOut           bool    `json:"timedOut,omitempty"`
}

// ChurnResult is constant-rate traffic while objects change.
type ChurnResult struct {
	RateRPS         float64       `json:"rateRPS"`
	DurationSeconds float64       `json:"durationSeconds"`
	Requests        int64         `json:"requests"`
	Errors          int64         `json:"errors"`
	Non2xx          int64         `json:"non2xx"`
	Misroutes       int64         `json:"misroutes"`
	Latency         Percentiles   `json:"latencyMicros"`
	Lag             Percentiles   `json:"lagMicros"`
	Valid           bool          `json:"valid"`
	InvalidReason   string        `json:"invalidReason,omitempty"`
	Windows         []ChurnWindow `json:"windows"`
	Events          []ChurnEvent  `json:"events"`
	ErrorSamples    []string      `json:"errorSamples,omitempty"`
	// Schema 2: Phases are the changes one by one (each held for at least
	// PhaseMillis), ChangesApplied how many were seen in traffic, and
	// Excluded the failed requests that were allowed to fail (to a path
	// while it was being added or removed).
	Phases         []ChurnPhase `json:"phases,omitempty"`
	ChangesApplied int          `json:"changesApplied,omitempty"`
	Excluded       int64        `json:"excluded,omitempty"`
	Termination    string       `json:"termination,omitempty"`
}

// ChurnPhase is one change and the traffic until the next one.
type ChurnPhase struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
	// StartSeconds is from the start of the load.
	StartSeconds float64 `json:"startSeconds"`
	// AppliedMillis is the time from the write until traffic showed the
	// change; Applied is false when it never did within the phase.
	Applied       bool    `json:"applied"`
	AppliedMillis float64 `json:"appliedMillis,omitempty"`
	Requests      int64   `json:"requests"`
	// Failed counts errors, non-2xx and misroutes of requests that should
	// have succeeded.
	Failed int64 `json:"failed"`
}

// ChurnWindow is one second of churn traffic.
type ChurnWindow struct {
	StartSeconds float64     `json:"startSeconds"`
	Requests     int64       `json:"requests"`
	Non2xx       int64       `json:"non2xx"`
	Errors       int64       `json:"errors"`
	Misroutes    int64       `json:"misroutes"`
	Latency      Percentiles `json:"latencyMicros"`
}

// ChurnEvent is one change made during churn.
type ChurnEvent struct {
	AtSeconds float64 `json:"atSeconds"`
	Kind      string  `json:"kind"`
	Detail    string  `json:"detail,omitempty"`
}

// CapacityPlan turns a measured per-core rate into cores and replicas.
type CapacityPlan struct {
	TargetRPS float64 `json:"targetRPS"`
	// Source names the series the rates come from.
	Source string `json:"source"`
	// PerCoreRPS is 1e6 / controller CPU-µs per request at the highest
	// passing rate.
	PerCoreRPS float64 `json:"perCoreRPS"`
	// MachineRPS is the measured max sustainable rate on this whole machine
	// (load generator and backends included).
	MachineRPS      float64  `json:"machineRPS"`
	Headroom        float64  `json:"headroom"`
	CoresNeeded     float64  `json:"coresNeeded"`
	CoresPerReplica float64  `json:"coresPerReplica"`
	Replicas        int      `json:"replicas"`
	Assumptions     []string `json:"assumptions"`
	// Schema 2: the SLO the plan is for, the load fraction and rate the CPU
	// per request was measured at, and a warning when the plan extrapolates.
	SLOP99Micros     float64 `json:"sloP99Micros,omitempty"`
	MeasuredAtRPS    float64 `json:"measuredAtRPS,omitempty"`
	MeasuredFraction float64 `json:"measuredFraction,omitempty"`
	Warning          string  `json:"warning,omitempty"`
	// Plans is one plan per load series with a measured CPU per request.
	Plans []CapacityPlan `json:"plans,omitempty"`
}

// GoalResult is one project goal compared with its measurement.
type GoalResult struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Met      bool    `json:"met"`
	// Case, Engine and Measure place a goal against a raw engine in a
	// table (the README's): the case ("Plain GET", "POST 4 KiB", ...), the
	// engine ("haproxy", "nginx") and the measure (GoalCPU, GoalThroughput,
	// GoalLatency). Empty for the other goals and in older reports.
	Case    string `json:"case,omitempty"`
	Engine  string `json:"engine,omitempty"`
	Measure string `json:"measure,omitempty"`
}

// GoalResult.Measure of the goals against a raw engine.
const (
	GoalCPU        = "cpu"
	GoalThroughput = "throughput"
	GoalLatency    = "p99"
)

// Finalize sets apiVersion, kind and schemaVersion.
func (r *BenchReport) Finalize() {
	r.APIVersion, r.Kind, r.SchemaVersion = APIVersion, KindBench, BenchSchemaVersion
}

// Validate checks what readers rely on; errors name the scenario and field.
func (r *BenchReport) Validate() error {
	if err := checkHeader(r.APIVersion, r.Kind, KindBench); err != nil {
		return err
	}
	var errs []error
	if r.SchemaVersion < 1 || r.SchemaVersion > BenchSchemaVersion {
		errs = append(errs, fmt.Errorf("schemaVersion %d: this ingresslab reads 1..%d", r.SchemaVersion, BenchSchemaVersion))
	}
	if r.Controller.Name == "" {
		errs = append(errs, errors.New("controller.name is empty"))
	}
	if r.Machine.Cores <= 0 {
		errs = append(errs, fmt.Errorf("machine.cores %d must be positive", r.Machine.Cores))
	}
	if len(r.Scenarios) == 0 {
		errs = append(errs, errors.New("scenarios is empty"))
	}
	seen := map[string]bool{}
	for i, s := range r.Scenarios {
		where := fmt.Sprintf("scenarios[%d] (%s)", i, s.Name)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is empty", where))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name", where))
		}
		seen[s.Name] = true
		if !slices.Contains([]string{BenchOK, BenchFailed, BenchSkipped}, s.Status) {
			errs = append(errs, fmt.Errorf("%s: status %q: want ok, failed or skipped", where, s.Status))
		}
		if s.Status == BenchFailed && s.Error == "" {
			errs = append(errs, fmt.Errorf("%s: status failed without error", where))
		}
		set := 0
		for _, p := range []bool{s.Load != nil, s.Propagation != nil, s.Churn != nil, s.Scale != nil, s.Reliability != nil} {
			if p {
				set++
			}
		}
		if s.Status == BenchOK && set != 1 {
			errs = append(errs, fmt.Errorf("%s: status ok needs exactly one of load, propagation, churn, scale, reliability (has %d)", where, set))
		}
		want := map[string]bool{BenchKindLoad: s.Load != nil, BenchKindPropagation: s.Propagation != nil, BenchKindChurn: s.Churn != nil, BenchKindScale: s.Scale != nil,
			BenchKindReliability: s.Reliability != nil}
		if s.Reliability != nil {
			errs = append(errs, checkReliability(where, s.Reliability)...)
		}
		if _, ok := want[s.Kind]; !ok {
			errs = append(errs, fmt.Errorf("%s: kind %q: want load, propagation, churn, scale or reliability", where, s.Kind))
		} else if s.Status == BenchOK && !want[s.Kind] {
			errs = append(errs, fmt.Errorf("%s: kind %s but no %s result", where, s.Kind, s.Kind))
		}
		if s.Load != nil {
			for j, ser := range s.Load.Series {
				if ser.Name == "" {
					errs = append(errs, fmt.Errorf("%s: load.series[%d].name is empty", where, j))
				}
				if sat := ser.Saturation; sat != nil && !slices.Contains([]string{"", CeilingConfigured, CeilingGenerator}, sat.Ceiling) {
					errs = append(errs, fmt.Errorf("%s: series %s: saturation ceiling %q: want empty, %s or %s", where, ser.Name, sat.Ceiling, CeilingConfigured, CeilingGenerator))
				}
				for k, pt := range ser.AtLoad {
					if pt.Fraction <= 0 || pt.Fraction > 1 || pt.RateRPS <= 0 {
						errs = append(errs, fmt.Errorf("%s: series %s atLoad[%d]: fraction %v, rate %v: want a fraction in (0, 1] and a positive rate", where, ser.Name, k, pt.Fraction, pt.RateRPS))
					}
				}
				if pr := ser.AtPeerRate; pr != nil && (pr.Peer == "" || s.Load.SeriesNamed(pr.Peer) == nil || pr.Point.RateRPS <= 0) {
					errs = append(errs, fmt.Errorf("%s: series %s atPeerRate: peer %q, rate %v: want a series of this scenario and a positive rate", where, ser.Name, pr.Peer, pr.Point.RateRPS))
				}
				for k, st := range ser.Searches {
					for m, step := range st.Steps {
						if step.OfferedRPS <= 0 {
							errs = append(errs, fmt.Errorf("%s: series %s search %d step %d: offeredRPS %v must be positive", where, ser.Name, k, m, step.OfferedRPS))
						}
					}
				}
			}
		}
		if s.Propagation != nil && s.Propagation.Events <= 0 {
			errs = append(errs, fmt.Errorf("%s: propagation.events %d must be positive", where, s.Propagation.Events))
		}
		if s.Scale != nil && len(s.Scale.Points) == 0 {
			errs = append(errs, fmt.Errorf("%s: scale.points is empty", where))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid bench report: %w", err)
	}
	return nil
}

// Scenario returns the scenario named name, or nil.
func (r *BenchReport) Scenario(name string) *BenchScenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// SeriesNamed returns the load series named name, or nil.
func (l *LoadResult) SeriesNamed(name string) *LoadSeries {
	if l == nil {
		return nil
	}
	for i := range l.Series {
		if l.Series[i].Name == name {
			return &l.Series[i]
		}
	}
	return nil
}

// WriteBench finalizes and validates r, then writes dir/bench.json,
// dir/bench.md and dir/bench.html atomically (an invalid report writes
// nothing).
func WriteBench(dir string, r *BenchReport) error {
	r.Finalize()
	if err := r.Validate(); err != nil {
		return fmt.Errorf("write bench report to %s: %w", dir, err)
	}
	var js, md, html bytes.Buffer
	if err := encodeJSON(&js, r); err != nil {
		return fmt.Errorf("write bench report to %s: %w", dir, err)
	}
	if err := RenderBenchMarkdown(&md, r); err != nil {
		return fmt.Errorf("write bench report to %s: %w", dir, err)
	}
	if err := RenderBenchHTML(&html, r); err != nil {
		return fmt.Errorf("write bench report to %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write bench report: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{BenchJSONFile, js.Bytes()}, {BenchMarkdownFile, md.Bytes()}, {BenchHTMLFile, html.Bytes()}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("write bench report: %w", err)
		}
	}
	return nil
}

// ReadBench reads and validates a bench report.
func ReadBench(path string) (*BenchReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bench report: %w", err)
	}
	r, err := ParseBench(data)
	if err != nil {
		return nil, fmt.Errorf("read bench report %s: %w", path, err)
	}
	return r, nil
}

// ParseBench is ReadBench for bytes in memory.
func ParseBench(data []byte) (*BenchReport, error) {
	var h header
	if err := decodeJSON(data, &h); err != nil {
		return nil, err
	}
	if err := checkHeader(h.APIVersion, h.Kind, KindBench); err != nil {
		return nil, err
	}
	r := new(BenchReport)
	if err := decodeJSON(data, r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// BackgroundStatus is the state of the background Ingresses' statuses when
// the propagation scenario began timing changes.
type BackgroundStatus struct {
	// Address is the status address waited for (the profile's).
	Address string `json:"address"`
	// Ingresses is the number of background Ingresses; WithStatus of them
	// carried Address, Pending did not.
	Ingresses  int `json:"ingresses"`
	WithStatus int `json:"withStatus"`
	Pending    int `json:"pending"`
	// SettledMillis is the time from the first background write until the
	// last status was written; 0 when TimedOut (the wait's bound reached:
	// the changes were timed with Pending statuses still to write).
	SettledMillis float64 `json:"settledMillis,omitempty"`
	TimedOut      bool    `json:"timedOut,omitempty"`
}

// OlderMethod reports whether r was measured before propagation events
// became one API request each, probed every millisecond: its update events
// also timed two extra API round trips, and its figures could be late by
// up to its probe interval (5 ms). Such figures are not comparable at the
// millisecond scale with newer ones.
func (r *PropagationResult) OlderMethod() bool {
	return r != nil && (r.RequestsPerUpdate == 0 || r.ProbeIntervalMillis > 1)
}

// OlderMethodNote explains the mark the matrix and the README put on
// figures of the older method.
const OlderMethodNote = "† older method: probes every 5 ms (a figure may be late by up to 5 ms) and each update timed three API requests (a refused create, a get, the update); newer runs time one request and probe every 1 ms"
