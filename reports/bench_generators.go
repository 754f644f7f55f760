package reports

// GeneratorWindow is one load generator's part of a window measured by
// several generators (one Pod each of an Indexed Job): its offered and
// achieved rate, its lag behind its own schedule, how late it began
// against the agreed start instant, and whether it passed the gates on its
// own.
type GeneratorWindow struct {
	Index int    `json:"index"`
	Pod   string `json:"pod,omitempty"`
	Node  string `json:"node,omitempty"`
	// OfferedRPS is its open-loop share (0 closed loop); Workers its
	// closed-loop share (0 open loop).
	OfferedRPS  float64 `json:"offeredRPS,omitempty"`
	Workers     int     `json:"workers,omitempty"`
	AchievedRPS float64 `json:"achievedRPS"`
	Requests    int64   `json:"requests"`
	// LagP99Micros is the generator's p99 lag behind its schedule (open
	// loop); StartSkewMicros how late it began.
	LagP99Micros    float64 `json:"lagP99Micros"`
	StartSkewMicros float64 `json:"startSkewMicros"`
	Valid           bool    `json:"valid"`
	InvalidReason   string  `json:"invalidReason,omitempty"`
}

// generatorRows renders the per-generator parts of a load scenario's
// distributed windows (nothing when it had none).
func generatorRows(p func(string, ...any), s BenchScenario) {
	header := false
	row := func(series string, rep int, st StepResult) {
		for _, g := range st.Generators {
			if !header {
				p("### %s: load generators\n\nEach window's part measured by each generator Pod (bench --generators N): its own offered and achieved rate, its lag behind its own schedule, how late it began against the agreed start instant, and its own validity. A window is valid only when every generator is.\n\n| series | rep | phase | generator | pod | node | offered rps | workers | achieved rps | requests | lag p99 µs | start skew µs | valid |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n", s.Name)
				header = true
			}
			valid := benchYesNo(g.Valid)
			if !g.Valid {
				valid += ": " + g.InvalidReason
			}
			p("| %s | %d | %s | %d | %s | %s | %.1f | %d | %.1f | %d | %.0f | %.0f | %s |\n", series, rep, st.Phase, g.Index, benchCell(g.Pod), benchCell(g.Node),
				g.OfferedRPS, g.Workers, g.AchievedRPS, g.Requests, g.LagP99Micros, g.StartSkewMicros, benchCell(valid))
		}
	}
	if s.Load == nil {
		return
	}
	for _, ser := range s.Load.Series {
		if sat := ser.Saturation; sat != nil {
			for _, sw := range sat.Sweeps {
				for _, st := range sw.Points {
					row(ser.Name, sw.Repetition, st)
				}
			}
		}
		for _, pt := range ser.AtLoad {
			for i, st := range pt.Windows {
				row(ser.Name, i+1, st)
			}
		}
	}
	if header {
		p("\n")
	}
}
