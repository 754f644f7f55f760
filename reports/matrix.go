package reports

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Matrix compares several controllers: their conformance results per
// feature and per test (with the variant each chose where the API leaves
// behaviour open) and, when a bench report sits next to the conformance
// report, their performance.
type Matrix struct {
	Columns []MatrixColumn
	// Features in report order (the order tests first name them, sorted).
	Features []string
	// Rows are the tests (union over the columns), grouped by feature and
	// sorted by name within a feature.
	Rows []MatrixRow
}

// MatrixColumn is one controller's results.
type MatrixColumn struct {
	// Label is "name version" (unique in the matrix).
	Label string
	// Dir is the folder the reports were read from.
	Dir         string
	Conformance *ConformanceReport
	// Bench is nil when the folder has no bench.json.
	Bench *BenchReport
	// Machine is the folder's machine.json fingerprint, if any.
	Machine map[string]any
	// Notable is the folder's notable.txt: a human finding about the
	// controller (one line), kept as data next to the reports.
	Notable string
}

// MatrixRow is one test across the columns.
type MatrixRow struct {
	Feature string
	Name    string
	Level   Level
	// Cells has one entry per column; a zero Result means the column's run
	// did not include the test.
	Cells []TestResult
}

// FeatureCell summarises one feature of one column.
type FeatureCell struct {
	Summary Summary
	// Variants are the distinct variants the column's tests recorded.
	Variants []string
}

// LoadMatrix reads the reports in dirs. Each argument is a folder holding
// conformance.json (and optionally bench.json and machine.json), or a tree
// of such folders (e.g. reports/published), which is searched for them.
func LoadMatrix(dirs []string) (*Matrix, error) {
	var found []string
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("matrix: %s is not a folder (give folders holding conformance.json)", d)
		}
		before := len(found)
		err = filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && e.Name() == "conformance.json" {
				found = append(found, filepath.Dir(path))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("matrix: %w", err)
		}
		if len(found) == before {
			return nil, fmt.Errorf("matrix: no conformance.json under %s", d)
		}
	}
	m := &Matrix{}
	seen := map[string]string{}
	for _, dir := range found {
		c, err := loadColumn(dir)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[c.Label]; dup {
			return nil, fmt.Errorf("matrix: %s and %s both hold results of %s; give one of them", prev, dir, c.Label)
		}
		seen[c.Label] = dir
		m.Columns = append(m.Columns, c)
	}
	slices.SortStableFunc(m.Columns, func(a, b MatrixColumn) int {
		// The reference controller (in any of its profiles) first, then by name.
		ar, br := !strings.HasPrefix(a.Conformance.Implementation.Name, "reference"), !strings.HasPrefix(b.Conformance.Implementation.Name, "reference")
		if ar != br {
			if !ar {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Label, b.Label)
	})
	m.buildRows()
	return m, nil
}

// NotableFile is the optional one-line human finding in a published folder.
const NotableFile = "notable.txt"

func loadColumn(dir string) (MatrixColumn, error) {
	rep, err := ReadConformance(filepath.Join(dir, "conformance.json"))
	if err != nil {
		return MatrixColumn{}, fmt.Errorf("matrix: %w", err)
	}
	c := MatrixColumn{Dir: dir, Conformance: rep, Label: implName(rep.Implementation)}
	benchPath := filepath.Join(dir, "bench.json")
	if _, err := os.Stat(benchPath); err == nil {
		if c.Bench, err = ReadBench(benchPath); err != nil {
			return MatrixColumn{}, fmt.Errorf("matrix: %w", err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, NotableFile)); err == nil {
		c.Notable = strings.Join(strings.Fields(string(b)), " ")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return MatrixColumn{}, fmt.Errorf("matrix: %w", err)
	}
	machinePath := filepath.Join(dir, "machine.json")
	if b, err := os.ReadFile(machinePath); err == nil {
		if err := decodeJSON(b, &c.Machine); err != nil {
			return MatrixColumn{}, fmt.Errorf("matrix: %s: %w", machinePath, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return MatrixColumn{}, fmt.Errorf("matrix: %w", err)
	}
	return c, nil
}

func (m *Matrix) buildRows() {
	type key struct{ feature, name string }
	rows := map[key]*MatrixRow{}
	var featureOrder []string
	for i, c := range m.Columns {
		for _, t := range c.Conformance.Tests {
			k := key{t.Feature(), t.Name}
			r, ok := rows[k]
			if !ok {
				r = &MatrixRow{Feature: k.feature, Name: t.Name, Level: t.Level, Cells: make([]TestResult, len(m.Columns))}
				rows[k] = r
			}
			r.Cells[i] = t
			if !slices.Contains(featureOrder, k.feature) {
				featureOrder = append(featureOrder, k.feature)
			}
		}
	}
	slices.Sort(featureOrder)
	m.Features = featureOrder
	for _, r := range rows {
		m.Rows = append(m.Rows, *r)
	}
	slices.SortFunc(m.Rows, func(a, b MatrixRow) int {
		if c := strings.Compare(a.Feature, b.Feature); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// Feature summarises feature f of column i.
func (m *Matrix) Feature(i int, f string) FeatureCell {
	var fc FeatureCell
	for _, r := range m.Rows {
		if r.Feature != f {
			continue
		}
		t := r.Cells[i]
		switch t.Result {
		case Passed:
			fc.Summary.Passed++
		case Skipped:
			fc.Summary.Skipped++
		case "":
		default:
			fc.Summary.Failed++
		}
		if t.Variant != "" && !slices.Contains(fc.Variants, t.Variant) {
			fc.Variants = append(fc.Variants, t.Variant)
		}
	}
	return fc
}

// Levels returns the levels present in any column, in report order.
func (m *Matrix) Levels() []Level {
	var out []Level
	for _, l := range levelOrder {
		for _, c := range m.Columns {
			if slices.ContainsFunc(c.Conformance.Profiles, func(p ProfileReport) bool { return p.Name == l }) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

// Perf is one column's headline performance numbers (zero when absent).
type Perf struct {
	// ThroughputRatio is proxied / direct maximum sustainable rate
	// (median over repetitions); 0 when RatioRefused says why there is none.
	ThroughputRatio float64
	// RatioRefused is set when either maximum is capped (a configured
	// ceiling, generator-bound, or a legacy unbounded search): Proxied and
	// Direct then say what is known ("≥ 8000 (ceiling: ...)").
	RatioRefused    string
	Proxied, Direct Maximum
	// Legacy marks a version 1 bench report (open-loop search, propagation
	// timeouts counted as values).
	Legacy bool
	// P99Fraction is the share of the proxied maximum P99Micros was measured
	// at (schema 2; 0 for version 1: half the direct maximum).
	P99Fraction float64
	// P99Micros is the proxied latency p99 at the fixed rate (median).
	P99Micros float64
	// P99Invalid says why there is no p99 when the load point was measured
	// but none of its windows was valid (the generator could not offer
	// the rate, or the target fell behind it).
	P99Invalid string
	// AddedP99Micros is proxied minus direct p99 at the fixed rate.
	AddedP99Micros float64
	// PropagationP50Millis and P99 are the times from an Ingress write to
	// the first correct response.
	PropagationP50Millis, PropagationP99Millis float64
	// PropagationTimedOut counts changes that never took effect.
	PropagationTimedOut, PropagationEvents int
	// Propagation is the whole result, for censored cells (schema 2).
	Propagation *PropagationResult
	// ChurnRequests and ChurnFailures (errors + non-2xx + misroutes) under
	// churn.
	ChurnRequests, ChurnFailures int64
	// LoadScenario names the load scenario the throughput and p99 come from.
	LoadScenario string
	// Has* say which parts the bench report holds.
	HasLoad, HasPropagation, HasChurn bool
	// ChurnScale, Drain and Failover are the reliability scenarios' results
	// when the bench ran them (nil otherwise).
	ChurnScale *ChurnScaleResult
	Drain      *DrainResult
	Failover   *FailoverResult
}

// Perf extracts column i's headline performance numbers.
func (m *Matrix) Perf(i int) (Perf, bool) {
	b := m.Columns[i].Bench
	if b == nil {
		return Perf{}, false
	}
	p := Perf{Legacy: b.SchemaVersion < 2}
	for _, s := range b.Scenarios {
		switch {
		case s.Load != nil && !p.HasLoad && len(s.Load.Comparisons) > 0:
			cmp := s.Load.Comparisons[0].Checked(s.Load)
			p.HasLoad = true
			p.LoadScenario = s.Name
			p.ThroughputRatio, p.RatioRefused = cmp.ThroughputRatio.Median, cmp.RatioRefused
			p.AddedP99Micros = cmp.AddedP99Micros.Median
			if ser := s.Load.SeriesNamed(cmp.Baseline); ser != nil {
				p.Direct = ser.Max()
			}
			if ser := s.Load.SeriesNamed(cmp.Series); ser != nil {
				p.Proxied = ser.Max()
				p.P99Micros = fixedP99(*ser).Median
				if pt := ser.PointAt(0.5); pt != nil {
					if pt.P99Micros.N > 0 {
						p.P99Micros, p.P99Fraction = pt.P99Micros.Median, pt.Fraction
					} else {
						// Measured, but no window was valid: no latency to show.
						p.P99Micros, p.P99Invalid = 0, fmt.Sprintf("no valid window at %.0f %% of its max", pt.Fraction*100)
					}
				}
			}
		case s.Propagation != nil && !p.HasPropagation:
			// Version 1 counted timeouts at the timeout's value: censor them.
			pr := s.Propagation.CensoredView()
			p.HasPropagation = true
			p.PropagationP50Millis = pr.FirstCorrectMillis.P50
			p.PropagationP99Millis = pr.FirstCorrectMillis.P99
			p.PropagationTimedOut, p.PropagationEvents = pr.TimedOut, pr.Events
			p.Propagation = pr
		case s.Churn != nil && !p.HasChurn:
			p.HasChurn = true
			p.ChurnRequests = s.Churn.Requests
			p.ChurnFailures = s.Churn.Errors + s.Churn.Non2xx + s.Churn.Misroutes
		case s.Reliability != nil:
			r := s.Reliability
			p.ChurnScale = cmp.Or(p.ChurnScale, r.ChurnScale)
			p.Drain = cmp.Or(p.Drain, r.Drain)
			p.Failover = cmp.Or(p.Failover, r.Failover)
		}
	}
	return p, true
}
