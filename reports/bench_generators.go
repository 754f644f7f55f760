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
