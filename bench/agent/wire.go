package agent

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// LinePrefix starts every result line an agent writes; other lines of a
// Pod log are ignored by Parse.
const LinePrefix = "ingresslab-agent/v1 "

// Histogram geometry: microseconds from 1 µs to 10 minutes, 3 significant
// digits (values within 0.1 %). Larger values are recorded as the maximum.
const (
	histLowest  = 1
	histHighest = int64(10 * time.Minute / time.Microsecond)
	histDigits  = 3
)

// NewHistogram returns an empty histogram of the wire geometry (values in
// microseconds).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// Record adds a duration in microseconds, clamped to the histogram's range.
func Record(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	us = min(max(us, 0), histHighest)
	_ = h.RecordValue(us) // clamped: cannot be out of range
}

// Result is one generator's measurement of one window: one line of its log.
type Result struct {
	// Generator is the agent's index (0..N-1); Pod and Node where it ran.
	Generator int    `json:"generator"`
	Pod       string `json:"pod,omitempty"`
	Node      string `json:"node,omitempty"`
	// Window is the window's index in the Config, Phase its name.
	Window int    `json:"window"`
	Phase  string `json:"phase"`
	// Start is the agreed start instant; Began when this agent began.
	Start time.Time `json:"start"`
	Began time.Time `json:"began"`
	// OfferedRPS is this agent's open-loop rate (0 closed loop); Workers
	// its closed-loop workers (0 open loop).
	OfferedRPS     float64 `json:"offeredRPS,omitempty"`
	Workers        int     `json:"workers,omitempty"`
	DurationMillis int64   `json:"durationMillis"`
	// ElapsedNanos is the attack's duration plus its wait for the last
	// answers (vegeta's Metrics.Duration + Wait).
	ElapsedNanos int64 `json:"elapsedNanos"`
	// Requests = OK + Errors + Non2xx + Misroutes.
	Requests     int64            `json:"requests"`
	OK           int64            `json:"ok"`
	Errors       int64            `json:"errors"`
	Non2xx       int64            `json:"non2xx"`
	Misroutes    int64            `json:"misroutes"`
	StatusCodes  map[string]int64 `json:"statusCodes,omitempty"`
	ErrorSamples []string         `json:"errorSamples,omitempty"`
	// Latency and Lag are HDR histograms in microseconds (V2 compressed,
	// base64); Lag is empty for a closed-loop window.
	Latency string `json:"latencyHDR"`
	Lag     string `json:"lagHDR,omitempty"`
	// Failure says why the window could not be measured.
	Failure string `json:"failure,omitempty"`
}

// StartSkew is how late the agent began against the agreed instant.
func (r Result) StartSkew() time.Duration { return r.Began.Sub(r.Start) }

// EncodeHistogram is the wire form of h.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeHistogram reads a wire histogram ("" is an empty one).
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	h, err := hdrhistogram.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// WriteResult writes r as one line.
func WriteResult(w io.Writer, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("result line: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s%s\n", LinePrefix, b)
	return err
}

// maxLine bounds one log line Parse accepts.
const maxLine = 4 << 20

// Parse reads every result line of r (a Pod log); other lines are skipped.
// A malformed result line is an error naming its line number.
func Parse(r io.Reader) ([]Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Result
	for n := 1; sc.Scan(); n++ {
		line, ok := strings.CutPrefix(sc.Text(), LinePrefix)
		if !ok {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return out, fmt.Errorf("agent output line %d: %w", n, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("agent output: %w", err)
	}
	return out, nil
}
