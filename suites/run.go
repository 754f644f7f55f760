package suites

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	"github.com/onsi/ginkgo/v2/types"

	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
	"github.com/ingresslab/ingresslab/suites/framework"
	"github.com/ingresslab/ingresslab/version"
)

// Options configure a conformance run.
type Options struct {
	// Provider is the cluster provider: local (default), kind or existing.
	Provider string
	// Profile is the controller under test.
	Profile *profile.Profile
	// Second is a second controller profile with its own IngressClass for
	// the multi-class specs; nil skips them.
	Second *profile.Profile
	// BinDir is where profile commands find {{.Bin}} (default: the folder
	// of the running program).
	BinDir string
	// Kubeconfig: for local, where its admin kubeconfig is written
	// (default: inside its data folder); for kind, likewise; for existing,
	// the cluster to use (default $KUBECONFIG or ~/.kube/config).
	Kubeconfig string
	// Kind options: reuse a running cluster, keep it afterwards, and the
	// image archives to load into it.
	Reuse, Keep bool
	Images      []string
	// Address and HTTPSAddress override where requests are sent.
	Address, HTTPSAddress string
	// LabelFilter is a Ginkgo label filter; Features adds "f1 || f2".
	LabelFilter string
	Features    []string
	// Timeouts; zero fields take DefaultTimeouts.
	Timeouts framework.Timeouts
	// ReportDir receives conformance.json, conformance.md, junit.xml and
	// the controller logs. Default "out".
	ReportDir string
	// Command is recorded in the report's Reproduce section.
	Command string
	// Shard runs only part of the specs (see --parallel); zero: all.
	Shard Shard
	// Record, when set, is a folder that receives the run's recording:
	// every spec's normalised observations (reports.WriteRecording).
	Record string
	// RecordMerge adds the run's specs to the recording already in Record
	// (reports.MergeRecording) instead of replacing it, to re-record some
	// specs.
	RecordMerge bool
	// CompareTo, when set, is a recording to compare the run with; the
	// comparison goes into the reports (ConformanceReport.Golden), with
	// differences classified by the profile's documented variants.
	CompareTo string
	// Verbose streams every spec's progress.
	Verbose bool
	// Out receives progress (default stdout).
	Out io.Writer
}

// env is the environment the specs see; set by Run.
var env *framework.Env

// collector gathers spec results during a run.
var collector struct {
	sync.Mutex
	filter string
	shard  *regexp.Regexp
	tests  []reports.TestResult
	// recordings are the specs' observations, when the run records.
	recordings []*reports.SpecRecording
}

var _ = ReportAfterEach(func(r SpecReport) {
	if env == nil {
		return
	}
	collector.Lock()
	defer collector.Unlock()
	// Specs left out by the label filter or by sharding are not part of
	// this run.
	if collector.filter != "" {
		if ok, err := r.MatchesLabelFilter(collector.filter); err == nil && !ok {
			return
		}
	}
	if collector.shard != nil && !collector.shard.MatchString(r.FullText()) {
		return
	}
	t := testResult(r)
	collector.tests = append(collector.tests, t)
	if env.Recorder != nil {
		obs, ann := env.Recorder.Take(r.FullText())
		collector.recordings = append(collector.recordings, &reports.SpecRecording{
			Spec: t.Name, Features: t.Features, Level: t.Level, Result: t.Result, Variant: t.Variant,
			Annotations: ann, Observations: obs,
		})
	}
})

// skipUnsupported skips a spec whose feature the profile does not list.
var _ = BeforeEach(func() {
	if env == nil {
		Skip("no conformance environment (run through ingresslab conformance)")
	}
	for _, l := range CurrentSpecReport().Labels() {
		if slices.Contains(Features, l) && !env.Controller.Profile.Supports(l) {
			Skip(fmt.Sprintf("profile %s does not support feature %s", env.Controller.Profile.Name, l))
		}
	}
	skipUnsupportedAnnotations(CurrentSpecReport().Labels())
})

func testResult(r SpecReport) reports.TestResult {
	t := reports.TestResult{Name: r.FullText(), DurationSeconds: r.RunTime.Seconds(), Level: reports.Core}
	for _, l := range r.Labels() {
		switch {
		case slices.Contains(Features, l), slices.Contains(ReliabilityFeatures, l):
			t.Features = append(t.Features, l)
		case strings.HasPrefix(l, annotationLabelPrefix):
			if _, ok := annotationFeature(l); ok {
				t.Features = append(t.Features, l)
			}
		case slices.Contains(Levels, l):
			t.Level = reports.Level(l)
		}
	}
	switch {
	case r.State == types.SpecStatePassed:
		t.Result = reports.Passed
	case r.State.Is(types.SpecStateSkipped | types.SpecStatePending):
		t.Result = reports.Skipped
		t.Message = firstLine(r.Failure.Message)
	default:
		t.Result = reports.Failed
		msg := r.Failure.Message
		if i := strings.Index(msg, "\n====="); i >= 0 {
			msg = msg[:i]
		}
		t.Message = strings.TrimSpace(msg)
	}
	var variants []string
	for _, e := range r.ReportEntries {
		switch e.Name {
		case framework.EntryVariant:
			if v := fmt.Sprint(e.GetRawValue()); !slices.Contains(variants, v) {
				variants = append(variants, v)
			}
		case framework.EntryConvergence:
			if f, ok := e.GetRawValue().(float64); ok && f > t.ConvergenceSeconds {
				t.ConvergenceSeconds = f
			}
		default:
			if t.Observations == nil {
				t.Observations = map[string]string{}
			}
			name := e.Name
			if prev, ok := t.Observations[name]; ok {
				t.Observations[name] = prev + "; " + e.StringRepresentation()
			} else {
				t.Observations[name] = e.StringRepresentation()
			}
		}
	}
	t.Variant = strings.Join(variants, ", ")
	return t
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Run stands up the cluster, starts the controller(s), runs the specs and
// writes the reports. It returns the report even when specs failed; the
// error is for harness failures. Run can be called once per process
// (Ginkgo's rule).
func Run(ctx context.Context, o Options) (*reports.ConformanceReport, error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Provider == "" {
		o.Provider = "local"
	}
	if o.Profile == nil {
		return nil, errors.New("no controller profile")
	}
	if o.ReportDir == "" {
		o.ReportDir = "out"
	}
	if o.BinDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		o.BinDir = filepath.Dir(exe)
	}
	timeouts := mergeTimeouts(o.Timeouts, o.Profile.Timeouts)
	filter, err := LabelFilter(o.LabelFilter, o.Features)
	if err != nil {
		return nil, err
	}
	var golden *reports.Recording
	if o.CompareTo != "" {
		if golden, err = reports.ReadRecording(o.CompareTo); err != nil {
			return nil, err
		}
	}
	logDir, err := filepath.Abs(filepath.Join(o.ReportDir, "logs"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("report dir %s: %w", o.ReportDir, err)
	}

	began := time.Now()
	runID := newRunID()
	fmt.Fprintf(o.Out, "Starting the %s cluster...\n", o.Provider)
	h, err := newHarness(ctx, o, runID)
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		_ = h.cluster.Destroy(dctx)
	}()
	e, err := framework.NewEnv(h.cluster.RESTConfig())
	if err != nil {
		return nil, err
	}
	e.Provider, e.Backends, e.Timeouts, e.RunID = o.Provider, h.backends, timeouts, runID
	if o.Record != "" || golden != nil {
		e.Recorder = framework.NewRecorder()
	}

	fmt.Fprintf(o.Out, "Cluster up (Kubernetes %s, backends: %s). Starting controller %s...\n", e.KubernetesVersion, h.network, o.Profile.Name)
	main, stop, err := h.start(ctx, e, o.Profile, o, logDir)
	if err != nil {
		return nil, err
	}
	defer stop()
	e.Controller = main
	if o.Second != nil && h.second {
		second, stop2, err := h.start(ctx, e, o.Second, Options{BinDir: o.BinDir, Kubeconfig: o.Kubeconfig}, logDir)
		if err != nil {
			return nil, fmt.Errorf("second controller for multi-class specs: %w", err)
		}
		defer stop2()
		e.Second = second
	}

	env = e
	defer func() { env = nil }()
	collector.Lock()
	collector.tests, collector.recordings, collector.filter, collector.shard = nil, nil, filter, nil
	if p := o.Shard.pattern(); p != "" {
		collector.shard = regexp.MustCompile("^" + p)
	}
	collector.Unlock()

	suiteConfig, reporterConfig := GinkgoConfiguration()
	suiteConfig.LabelFilter = filter
	description := "Ingress conformance: " + o.Profile.Name
	suiteConfig.FocusStrings = o.Shard.focus(description)
	suiteConfig.Timeout = 2 * time.Hour
	reporterConfig.NoColor = !isTerminal(o.Out)
	reporterConfig.Verbose = o.Verbose
	reporterConfig.Succinct = !o.Verbose
	fmt.Fprintf(o.Out, "Running the conformance specs (filter %q)...\n", filter)
	RunSpecs(failRecorder{}, description, suiteConfig, reporterConfig)

	collector.Lock()
	tests := slices.Clone(collector.tests)
	recordings := slices.Clone(collector.recordings)
	collector.Unlock()
	rep := &reports.ConformanceReport{
		Implementation: reports.Implementation{
			Name: o.Profile.Name, Version: o.Profile.Version, Controller: o.Profile.Controller,
			IngressClass: o.Profile.IngressClass, Profile: o.Profile.Source,
		},
		KubernetesVersion: e.KubernetesVersion,
		Provider:          o.Provider,
		Date:              began.UTC().Truncate(time.Second),
		DurationSeconds:   time.Since(began).Seconds(),
		Timeouts:          timeouts.Map(),
		Filter:            filter,
		Tests:             tests,
		Annotations:       declaredAnnotations(o.Profile),
		Command:           o.Command,
		Machine: map[string]string{
			"cores": fmt.Sprint(runtime.NumCPU()), "goVersion": runtime.Version(),
			"platform": runtime.GOOS + "/" + runtime.GOARCH, "ingresslab": version.Get().String(),
			"backendNetwork": h.network,
		},
	}
	if golden != nil {
		rep.Golden = reports.CompareRecording(golden, recordings, o.Profile)
	}
	rep.Finalize()
	if o.Record != "" {
		idx := reports.RecordingIndex{
			Implementation: rep.Implementation, KubernetesVersion: rep.KubernetesVersion, Provider: rep.Provider,
			Date: rep.Date, Command: rep.Command, Filter: filter, Normalisation: framework.NormalisationRules,
		}
		specs := recordings
		if o.RecordMerge {
			old, err := reports.ReadRecording(o.Record)
			if err != nil {
				return rep, err
			}
			if idx, specs, err = reports.MergeRecording(old, idx, recordings); err != nil {
				return rep, err
			}
		}
		if err := reports.WriteRecording(o.Record, idx, specs); err != nil {
			return rep, err
		}
	}
	if err := reports.WriteConformance(o.ReportDir, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// declaredAnnotations is what the profile claims for each annotation
// feature; Finalize adds what the specs saw.
func declaredAnnotations(p *profile.Profile) []reports.AnnotationCompat {
	out := make([]reports.AnnotationCompat, 0, len(profile.AnnotationFeatures))
	for _, f := range slices.Sorted(maps.Keys(profile.AnnotationFeatures)) {
		support, note := p.AnnotationSupport(f)
		out = append(out, reports.AnnotationCompat{Feature: f, Declared: support, Note: note})
	}
	return out
}

// failRecorder satisfies GinkgoTestingT; failures are read from the report.
type failRecorder struct{}

func (failRecorder) Fail() {}

// mergeTimeouts fills t's zero fields from the profile's timeouts, then
// from DefaultTimeouts.
func mergeTimeouts(t framework.Timeouts, p *profile.Timeouts) framework.Timeouts {
	d := framework.DefaultTimeouts()
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	if p != nil {
		set(&d.SlowHeaders, p.SlowHeaders.Duration)
		set(&d.SlowBody, p.SlowBody.Duration)
	}
	set(&d.SlowHeaders, t.SlowHeaders)
	set(&d.SlowBody, t.SlowBody)
	set(&d.Create, t.Create)
	set(&d.Delete, t.Delete)
	set(&d.Request, t.Request)
	set(&d.Poll, t.Poll)
	set(&d.MaxTimeToConsistency, t.MaxTimeToConsistency)
	set(&d.NoTrafficWindow, t.NoTrafficWindow)
	set(&d.ControllerStart, t.ControllerStart)
	if t.ConsecutiveSuccesses > 0 {
		d.ConsecutiveSuccesses = t.ConsecutiveSuccesses
	}
	return d
}

// LabelFilter combines a Ginkgo label filter with a feature list and
// checks the result.
func LabelFilter(filter string, features []string) (string, error) {
	for _, f := range features {
		if !slices.Contains(Features, f) {
			return "", fmt.Errorf("unknown feature %q (known: %s)", f, strings.Join(Features, ", "))
		}
	}
	parts := []string{}
	if filter != "" {
		parts = append(parts, "("+filter+")")
	}
	if len(features) > 0 {
		parts = append(parts, "("+strings.Join(features, " || ")+")")
	}
	out := strings.Join(parts, " && ")
	if out != "" {
		if _, err := types.ParseLabelFilter(out); err != nil {
			return "", fmt.Errorf("label filter %q: %w", out, err)
		}
	}
	return out, nil
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
