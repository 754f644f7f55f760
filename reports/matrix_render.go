package reports

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
)

// featureSymbol renders a feature summary: ✅ all passed, ❌ some failed,
// ⏭ all skipped, with the counts.
func featureSymbol(s Summary) string {
	run := s.Passed + s.Failed
	switch {
	case run == 0 && s.Skipped > 0:
		return fmt.Sprintf("⏭ 0/0 (%d skipped)", s.Skipped)
	case run == 0:
		return "–"
	case s.Failed == 0 && s.Skipped == 0:
		return fmt.Sprintf("✅ %d/%d", s.Passed, run)
	case s.Failed == 0:
		return fmt.Sprintf("✅ %d/%d (+%d skipped)", s.Passed, run, s.Skipped)
	case s.Skipped == 0:
		return fmt.Sprintf("❌ %d/%d", s.Passed, run)
	default:
		return fmt.Sprintf("❌ %d/%d (+%d skipped)", s.Passed, run, s.Skipped)
	}
}

func testSymbol(t TestResult) string {
	switch t.Result {
	case Passed:
		return "✅"
	case Failed:
		return "❌"
	case Skipped:
		return "⏭"
	case "":
		return "–"
	default:
		return "❓"
	}
}

func profileCellFor(c MatrixColumn, l Level) string {
	for _, p := range c.Conformance.Profiles {
		if p.Name == l {
			return profileIcon(p.Result) + " (" + profileCount(c, l) + ")"
		}
	}
	return "–"
}

// profileCount is "passed/run" of level l, or "–" when the column did not
// run it.
func profileCount(c MatrixColumn, l Level) string {
	for _, p := range c.Conformance.Profiles {
		if p.Name == l {
			return fmt.Sprintf("%d/%d", p.Summary.Passed, p.Summary.Passed+p.Summary.Failed)
		}
	}
	return "–"
}

func fmtFloat(x float64, digits int) string { return strconv.FormatFloat(x, 'f', digits, 64) }

// perfCells are the performance columns of one controller, rendered.
func perfCells(p Perf) []string {
	na := "–"
	cells := []string{na, na, na, na, na}
	if p.HasLoad {
		cells[0] = throughputCell(p)
		cells[1] = fmtFloat(p.P99Micros/1000, 2) + " ms"
		if p.P99Invalid != "" {
			cells[1] = p.P99Invalid
		} else if p.P99Fraction > 0 {
			cells[1] += fmt.Sprintf(" at %.0f %% of its max", p.P99Fraction*100)
		} else if p.AddedP99Micros != 0 {
			cells[1] += fmt.Sprintf(" (%+.2f)", p.AddedP99Micros/1000)
		}
	}
	if p.HasPropagation {
		cells[2], cells[3] = propagationCells(p)
	}
	if p.HasChurn {
		cells[4] = churnCell(p)
	}
	return cells
}

// throughputCell is proxied / direct maximum, or, when either maximum is
// capped, what is known of both: a capped maximum is never a ratio.
func throughputCell(p Perf) string {
	if !p.HasLoad {
		return "–"
	}
	var s string
	switch {
	case p.RatioRefused != "":
		pc, dc := p.Proxied.Capped(), p.Direct.Capped()
		if pc && dc && p.Proxied.Ceiling != p.Direct.Ceiling {
			// Each side its own ceiling.
			s = "no ratio: proxied " + p.Proxied.Short() + " (" + p.Proxied.Ceiling + "), direct " + p.Direct.Short() + " (" + p.Direct.Ceiling + ")"
			break
		}
		s = "no ratio: proxied " + p.Proxied.Short() + ", direct " + p.Direct.Short()
		for _, m := range []Maximum{p.Proxied, p.Direct} {
			if m.Capped() {
				s += " (" + m.Ceiling + ")"
				break
			}
		}
	default:
		s = fmtFloat(p.ThroughputRatio, 2)
	}
	if p.Legacy && !strings.Contains(s, "legacy") {
		s += " (legacy v1)"
	}
	return s
}

// propagationCells are the p50 and p99 from an Ingress write to the first
// correct response. Timed-out changes are censored: a percentile among them
// is "> timeout", and the cell says how many timed out.
func propagationCells(p Perf) (p50, p99 string) {
	if !p.HasPropagation {
		return "–", "–"
	}
	p50 = fmtFloat(p.PropagationP50Millis, 0) + " ms"
	p99 = fmtFloat(p.PropagationP99Millis, 0) + " ms"
	switch pr := p.Propagation; {
	case pr != nil && pr.Censored:
		if slices.Contains(pr.BeyondTimeout, "p50") {
			p50 = "> " + fmtMillis(pr.TimeoutMillis)
		}
		switch {
		case slices.Contains(pr.BeyondTimeout, "p99"):
			p99 = fmt.Sprintf("> %s (%d of %d timed out)", fmtMillis(pr.TimeoutMillis), pr.TimedOut, pr.Events)
		case pr.TimedOut > 0:
			p99 += " (" + pr.CensoredText(pr.TimedOut, pr.Events) + ")"
		}
	case p.PropagationTimedOut > 0 && p.Legacy:
		// Version 1 counted a timeout at its timeout value.
		p99 += fmt.Sprintf(" (%d/%d timed out, counted at the timeout: legacy v1)", p.PropagationTimedOut, p.PropagationEvents)
	case p.PropagationTimedOut > 0:
		p99 += fmt.Sprintf(" (%d/%d timed out)", p.PropagationTimedOut, p.PropagationEvents)
	}
	if p.Propagation == nil || p.Propagation.OlderMethod() {
		p50, p99 = p50+" †", p99+" †"
	}
	return p50, p99
}

// anyOlderPropagation reports whether a column's propagation figures carry
// the older-method mark (propagationCells).
func (m *Matrix) anyOlderPropagation() bool {
	for i := range m.Columns {
		if p, ok := m.Perf(i); ok && p.HasPropagation && (p.Propagation == nil || p.Propagation.OlderMethod()) {
			return true
		}
	}
	return false
}

// churnCell is failed / sent requests while objects change.
func churnCell(p Perf) string {
	if !p.HasChurn {
		return "–"
	}
	ratio := 0.0
	if p.ChurnRequests > 0 {
		ratio = float64(p.ChurnFailures) / float64(p.ChurnRequests) * 100
	}
	return fmt.Sprintf("%d / %d (%s%%)", p.ChurnFailures, p.ChurnRequests, fmtFloat(ratio, 3))
}

var perfHeader = []string{"throughput / direct", "p99 (added)", "propagation p50", "propagation p99", "errors under churn"}

// RenderMatrixMarkdown writes m as Markdown: a summary per level, a
// feature x controller table, the variants each controller chose,
// performance when bench reports are present, and every test.
func RenderMatrixMarkdown(w io.Writer, m *Matrix) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format+"\n", a...) }
	row := func(cells []string) { p("| %s |", strings.Join(cells, " | ")) }
	sep := func(n int) { row(strings.Split(strings.Repeat("---,", n)[:4*n-1], ",")) }
	labels := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		labels[i] = cell(c.Label, 60)
	}

	p("# Ingress controller comparison")
	p("")
	p("%d controller(s), each run by `ingresslab conformance` (and `ingresslab bench` where a bench report is present) against the same local cluster set-up. ✅ passed, ❌ failed, ⏭ skipped (feature not claimed by the profile, or needs something absent), – not run.", len(m.Columns))
	p("")
	p("## Summary")
	p("")
	head := []string{"controller", "Kubernetes", "date"}
	for _, l := range m.Levels() {
		head = append(head, string(l))
	}
	head = append(head, "passed", "failed", "skipped")
	row(head)
	sep(len(head))
	for _, c := range m.Columns {
		r := c.Conformance
		cells := []string{labels[indexOf(m, c)], cell(orUnknown(r.KubernetesVersion), 20), cell(formatDate(r), 30)}
		for _, l := range m.Levels() {
			cells = append(cells, profileCellFor(c, l))
		}
		cells = append(cells, strconv.Itoa(r.Summary.Passed), strconv.Itoa(r.Summary.Failed), strconv.Itoa(r.Summary.Skipped))
		row(cells)
	}
	benchRows := m.reliabilityBenchRows()
	if slices.ContainsFunc(m.Features, IsReliabilityFeature) || len(benchRows) > 0 {
		p("")
		p("## Reliability")
		p("")
		p(reliabilityNote)
		p("")
		row(append([]string{"reliability"}, labels...))
		sep(len(labels) + 1)
		for _, f := range ReliabilityFeatures {
			if !slices.Contains(m.Features, f) {
				continue
			}
			cells := []string{cell(f, 40)}
			for i := range m.Columns {
				cells = append(cells, featureSymbol(m.Feature(i, f).Summary))
			}
			row(cells)
		}
		for _, r := range benchRows {
			cells := []string{cell(r.Name, 40)}
			for _, c := range r.Cells {
				cells = append(cells, cell(c.Symbol(), 120))
			}
			row(cells)
		}
	}
	p("")
	p("## Features")
	p("")
	row(append([]string{"feature"}, labels...))
	sep(len(labels) + 1)
	for _, f := range m.Features {
		if IsReliabilityFeature(f) {
			continue
		}
		cells := []string{cell(f, 40)}
		for i := range m.Columns {
			cells = append(cells, featureSymbol(m.Feature(i, f).Summary))
		}
		row(cells)
	}
	if ann := m.annotationRows(); len(ann) > 0 {
		p("")
		p("## Annotation compatibility")
		p("")
		p("ingress-nginx annotation features, written once and translated by each profile into the controller's own annotations. ✅ supported, 🟡 variant or partial, ❌ claimed but failing, — unsupported, · not run.")
		p("")
		row(append([]string{"annotation feature"}, labels...))
		sep(len(labels) + 1)
		for _, r := range ann {
			cells := []string{cell(r.Feature, 40)}
			for _, a := range r.Cells {
				cells = append(cells, cell(AnnotationSymbol(a.Support)+" "+a.Cell(), 60))
			}
			row(cells)
		}
		if golden := m.goldenLabel(); golden != "" {
			p("")
			p("## Behaves like %s", cell(golden, 0))
			p("")
			p("Each controller's annotation specs compared with the golden recording of %s (`conformance --compare-to`), field by field: ✅ the same, 🟡 only documented variants, ❌ unexpected differences, · not compared.", cell(golden, 0))
			p("")
			row(append([]string{"annotation feature"}, labels...))
			sep(len(labels) + 1)
			for _, r := range ann {
				cells := []string{cell(r.Feature, 40)}
				for _, a := range r.Cells {
					cells = append(cells, cell(behavesCell(a), 60))
				}
				row(cells)
			}
		}
	}
	if variantRows := m.variantRows(); len(variantRows) > 0 {
		p("")
		p("## Variants")
		p("")
		p("Where the Ingress API leaves behaviour open, each test records what the controller did.")
		p("")
		row(append([]string{"test"}, labels...))
		sep(len(labels) + 1)
		for _, r := range variantRows {
			cells := []string{cell(r.Name, 100)}
			for _, t := range r.Cells {
				v := t.Variant
				if v == "" {
					v = testSymbol(t)
				}
				cells = append(cells, cell(v, 80))
			}
			row(cells)
		}
	}
	if m.hasBench() {
		p("")
		p("## Performance")
		p("")
		p("From each controller's bench report: maximum rate relative to sending straight to the backends (no ratio when either maximum is only a lower bound, \"≥ N\": the search hit its ceiling or the load generator's limit), latency p99 at a sub-saturation load (version 1 reports: at half the direct maximum, with what the controller adds; version 2: at 50 %% of the controller's own maximum), time from an Ingress write to the first correct response (timed-out changes censored: \"> T\", T the run's propagation timeout, when they reach that percentile), and failed requests while Ingresses, Services and endpoints change.")
		p("")
		row(append([]string{"controller"}, perfHeader...))
		sep(len(perfHeader) + 1)
		for i := range m.Columns {
			pf, ok := m.Perf(i)
			if !ok {
				row(append([]string{labels[i]}, "no bench report", "–", "–", "–", "–"))
				continue
			}
			row(append([]string{labels[i]}, perfCells(pf)...))
		}
		if m.anyOlderPropagation() {
			p("")
			p("%s.", OlderMethodNote)
		}
	}
	p("")
	p("## Tests")
	p("")
	for _, f := range m.Features {
		p("### %s", cell(f, 60))
		p("")
		row(append([]string{"test", "level"}, labels...))
		sep(len(labels) + 2)
		for _, r := range m.Rows {
			if r.Feature != f {
				continue
			}
			cells := []string{cell(r.Name, 120), string(r.Level)}
			for _, t := range r.Cells {
				s := testSymbol(t)
				if t.Variant != "" {
					s += " " + cell(t.Variant, 60)
				}
				if t.Result == Failed && t.Message != "" {
					s += " <br>" + cell(firstLine(t.Message), 100)
				}
				cells = append(cells, s)
			}
			row(cells)
		}
		p("")
	}
	p("## Reproduce")
	p("")
	for _, c := range m.Columns {
		cmd := c.Conformance.Command
		if cmd == "" {
			cmd = "(not recorded)"
		}
		// A merged report (publish --merge) has one command a line.
		var spans []string
		for _, line := range strings.Split(cmd, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				spans = append(spans, "`"+codeCell(line)+"`")
			}
		}
		p("- %s: %s", labels[indexOf(m, c)], strings.Join(spans, ", then "))
		if c.Bench != nil && c.Bench.Command != "" {
			p("  and `%s`", codeCell(c.Bench.Command))
		}
	}
	return bw.Flush()
}

func indexOf(m *Matrix, c MatrixColumn) int {
	for i := range m.Columns {
		if m.Columns[i].Dir == c.Dir {
			return i
		}
	}
	return 0
}

func (m *Matrix) hasBench() bool {
	for _, c := range m.Columns {
		if c.Bench != nil {
			return true
		}
	}
	return false
}

// variantRows are the rows where some column recorded a variant.
func (m *Matrix) variantRows() []MatrixRow {
	var out []MatrixRow
	for _, r := range m.Rows {
		for _, t := range r.Cells {
			if t.Variant != "" {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// htmlMatrix is the view the HTML template renders.
type htmlMatrix struct {
	Labels   []string
	Levels   []string
	Summary  [][]string
	Features []htmlFeatureRow
	// Reliability holds the reliability features' rows, then the bench's
	// reliability scenarios (drain, churn at scale, failover).
	Reliability     []htmlFeatureRow
	ReliabilityNote string
	// Annotations is the annotation compatibility (one row per feature).
	Annotations []htmlFeatureRow
	// Golden names the golden recording the Behaves rows compare with.
	Golden   string
	Behaves  []htmlFeatureRow
	Variants [][]string
	Perf     [][]string
	PerfHead []string
	PerfNote string
	Tests    []htmlFeatureTests
	Commands [][2]string
}

type htmlFeatureRow struct {
	Feature string
	Cells   []htmlCell
}

type htmlCell struct {
	Text, Class, Title string
}

type htmlFeatureTests struct {
	Feature string
	Rows    []htmlTestRow
}

type htmlTestRow struct {
	Name, Level string
	Cells       []htmlCell
}

func cellClass(s Summary) string {
	switch {
	case s.Failed > 0:
		return "fail"
	case s.Passed > 0:
		return "pass"
	case s.Skipped > 0:
		return "skip"
	}
	return "none"
}

func testClass(t TestResult) string {
	switch t.Result {
	case Passed:
		return "pass"
	case Failed:
		return "fail"
	case Skipped:
		return "skip"
	}
	return "none"
}

// RenderMatrixHTML writes m as one self-contained HTML page (inline CSS, no
// scripts or external resources).
func RenderMatrixHTML(w io.Writer, m *Matrix) error {
	v := htmlMatrix{PerfHead: perfHeader, ReliabilityNote: reliabilityNote}
	if m.anyOlderPropagation() {
		v.PerfNote = OlderMethodNote + "."
	}
	for _, c := range m.Columns {
		v.Labels = append(v.Labels, c.Label)
	}
	for _, l := range m.Levels() {
		v.Levels = append(v.Levels, string(l))
	}
	for _, c := range m.Columns {
		r := c.Conformance
		row := []string{c.Label, orUnknown(r.KubernetesVersion), formatDate(r)}
		for _, l := range m.Levels() {
			row = append(row, profileCellFor(c, l))
		}
		row = append(row, strconv.Itoa(r.Summary.Passed), strconv.Itoa(r.Summary.Failed), strconv.Itoa(r.Summary.Skipped))
		v.Summary = append(v.Summary, row)
		cmd := r.Command
		if c.Bench != nil && c.Bench.Command != "" {
			cmd += "\n" + c.Bench.Command
		}
		v.Commands = append(v.Commands, [2]string{c.Label, cmd})
	}
	for _, f := range ReliabilityFeatures {
		if !slices.Contains(m.Features, f) {
			continue
		}
		fr := htmlFeatureRow{Feature: f}
		for i := range m.Columns {
			fc := m.Feature(i, f)
			fr.Cells = append(fr.Cells, htmlCell{Text: featureSymbol(fc.Summary), Class: cellClass(fc.Summary), Title: strings.Join(fc.Variants, "; ")})
		}
		v.Reliability = append(v.Reliability, fr)
	}
	for _, r := range m.reliabilityBenchRows() {
		fr := htmlFeatureRow{Feature: r.Name}
		for _, c := range r.Cells {
			fr.Cells = append(fr.Cells, htmlCell{Text: c.Symbol(), Class: c.class()})
		}
		v.Reliability = append(v.Reliability, fr)
	}
	for _, f := range m.Features {
		fr := htmlFeatureRow{Feature: f}
		for i := range m.Columns {
			fc := m.Feature(i, f)
			fr.Cells = append(fr.Cells, htmlCell{Text: featureSymbol(fc.Summary), Class: cellClass(fc.Summary), Title: strings.Join(fc.Variants, "; ")})
		}
		if !IsReliabilityFeature(f) {
			v.Features = append(v.Features, fr)
		}
		ft := htmlFeatureTests{Feature: f}
		for _, r := range m.Rows {
			if r.Feature != f {
				continue
			}
			tr := htmlTestRow{Name: r.Name, Level: string(r.Level)}
			for _, t := range r.Cells {
				text := testSymbol(t)
				if t.Variant != "" {
					text += " " + t.Variant
				}
				tr.Cells = append(tr.Cells, htmlCell{Text: text, Class: testClass(t), Title: firstLine(t.Message)})
			}
			ft.Rows = append(ft.Rows, tr)
		}
		v.Tests = append(v.Tests, ft)
	}
	for _, r := range m.annotationRows() {
		fr := htmlFeatureRow{Feature: r.Feature}
		for _, a := range r.Cells {
			fr.Cells = append(fr.Cells, htmlCell{Text: AnnotationSymbol(a.Support) + " " + a.Cell(), Class: annotationClass(a.Support), Title: a.Note})
		}
		v.Annotations = append(v.Annotations, fr)
	}
	if v.Golden = m.goldenLabel(); v.Golden != "" {
		for _, r := range m.annotationRows() {
			fr := htmlFeatureRow{Feature: r.Feature}
			for _, a := range r.Cells {
				class := "none"
				if a.Golden != nil {
					class = map[string]string{BehavesSame: "pass", BehavesVariant: "pass", BehavesDiffers: "fail"}[a.Golden.Behaves]
				}
				fr.Cells = append(fr.Cells, htmlCell{Text: behavesCell(a), Class: class})
			}
			v.Behaves = append(v.Behaves, fr)
		}
	}
	for _, r := range m.variantRows() {
		row := []string{r.Name}
		for _, t := range r.Cells {
			s := t.Variant
			if s == "" {
				s = testSymbol(t)
			}
			row = append(row, s)
		}
		v.Variants = append(v.Variants, row)
	}
	if m.hasBench() {
		for i, c := range m.Columns {
			pf, ok := m.Perf(i)
			if !ok {
				v.Perf = append(v.Perf, []string{c.Label, "no bench report", "–", "–", "–", "–"})
				continue
			}
			v.Perf = append(v.Perf, append([]string{c.Label}, perfCells(pf)...))
		}
	}
	return matrixTemplate.Execute(w, v)
}

var matrixTemplate = template.Must(template.New("matrix").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Ingress controller comparison</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f3f3f3}
td.pass{background:#e6f4ea}td.fail{background:#fce8e6}td.skip{background:#f1f3f4;color:#666}td.none{color:#999}
code,pre{background:#f6f8fa;padding:.1em .3em}
</style></head><body>
<h1>Ingress controller comparison</h1>
<p>{{len .Labels}} controller(s), each run by <code>ingresslab conformance</code> against the same local cluster set-up.
✅ passed, ❌ failed, ⏭ skipped, – not run. Hover a cell for the variant or failure.</p>
<h2>Summary</h2>
<table><tr><th>controller</th><th>Kubernetes</th><th>date</th>{{range .Levels}}<th>{{.}}</th>{{end}}<th>passed</th><th>failed</th><th>skipped</th></tr>
{{range .Summary}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .Reliability}}<h2>Reliability</h2>
<p>{{.ReliabilityNote}} Hover a cell for the variants.</p>
<table><tr><th>reliability</th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Reliability}}<tr><th>{{.Feature}}</th>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table>{{end}}
<h2>Features</h2>
<table><tr><th>feature</th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Features}}<tr><th>{{.Feature}}</th>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{if .Annotations}}<h2>Annotation compatibility</h2>
<p>ingress-nginx annotation features, written once and translated by each profile into the controller's own annotations. Hover a cell for the profile's note.</p>
<table><tr><th>annotation feature</th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Annotations}}<tr><th>{{.Feature}}</th>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{if .Behaves}}<h2>Behaves like {{.Golden}}</h2>
<p>Each controller's annotation specs compared with the golden recording (conformance --compare-to), field by field.</p>
<table><tr><th>annotation feature</th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Behaves}}<tr><th>{{.Feature}}</th>{{range .Cells}}<td class="{{.Class}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{if .Variants}}<h2>Variants</h2>
<p>Where the Ingress API leaves behaviour open, each test records what the controller did.</p>
<table><tr><th>test</th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Variants}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{if .Perf}}<h2>Performance</h2>
<table><tr><th>controller</th>{{range .PerfHead}}<th>{{.}}</th>{{end}}</tr>
{{range .Perf}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{if .PerfNote}}<p>{{.PerfNote}}</p>{{end}}{{end}}
<h2>Tests</h2>
{{$labels := .Labels}}{{range .Tests}}<h3>{{.Feature}}</h3>
<table><tr><th>test</th><th>level</th>{{range $labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Level}}</td>{{range .Cells}}<td class="{{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
<h2>Reproduce</h2>
<ul>{{range .Commands}}<li>{{index . 0}}: <pre>{{index . 1}}</pre></li>{{end}}</ul>
</body></html>
`))

// annotationRow is one annotation feature across the columns.
type annotationRow struct {
	Feature string
	Cells   []AnnotationCompat
}

// annotationRows lists the annotation features of any column.
func (m *Matrix) annotationRows() []annotationRow {
	reps := make([]*ConformanceReport, len(m.Columns))
	for i, c := range m.Columns {
		reps[i] = c.Conformance
	}
	var rows []annotationRow
	for _, f := range AnnotationFeatureNames(reps...) {
		r := annotationRow{Feature: f}
		for _, rep := range reps {
			r.Cells = append(r.Cells, rep.AnnotationFor(f))
		}
		rows = append(rows, r)
	}
	return rows
}

func annotationClass(support string) string {
	switch support {
	case AnnotationSupported, AnnotationVariant, AnnotationPartial:
		return "pass"
	case AnnotationFails:
		return "fail"
	case AnnotationUnsupported:
		return "skip"
	}
	return "none"
}

// goldenLabel names the golden recording the columns were compared with
// ("" when none was; the first column's when they differ).
func (m *Matrix) goldenLabel() string {
	for _, c := range m.Columns {
		if c.Conformance != nil && c.Conformance.Golden != nil {
			return c.Conformance.Golden.Label()
		}
	}
	return ""
}

// behavesCell renders a feature's comparison with the golden recording.
func behavesCell(a AnnotationCompat) string {
	if a.Golden == nil {
		return BehavesSymbol("")
	}
	return BehavesSymbol(a.Golden.Behaves) + " " + a.Golden.Cell()
}
