package suites

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
)

// topLevel lists the suite's top-level containers, in declaration order.
// Sharding (--parallel) splits the run along them: an Ordered container
// shares one namespace and setup, so it never crosses shards.
var topLevel []string

// describe is Describe for a top-level container, recorded for sharding.
// Every top-level container of the suites must be declared with it: a plain
// Describe would belong to no shard under --parallel.
func describe(text string, args ...any) bool {
	topLevel = append(topLevel, text)
	return Describe(text, args...)
}

// cost is a rough duration of each container in seconds (measured on the
// reference controller), used to balance shards; unknown ones count 5.
var cost = map[string]float64{
	"Lifecycle": 24, "IngressClass": 10, "Endpoints": 8, "Status": 4,
	"Precedence across Ingresses": 4,
}

// Shard is one part of a run split over several processes: Index of Count.
type Shard struct{ Index, Count int }

// ParseShard reads "i/n" (1-based i).
func ParseShard(s string) (Shard, error) {
	var sh Shard
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.Index, &sh.Count); err != nil || sh.Count < 1 || sh.Index < 1 || sh.Index > sh.Count {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 1 <= i <= n", s)
	}
	return sh, nil
}

// String is "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// containers returns the top-level containers of shard s: longest first,
// each to the currently lightest shard.
func (s Shard) containers() []string {
	names := slices.Clone(topLevel)
	weight := func(n string) float64 {
		if c, ok := cost[n]; ok {
			return c
		}
		return 5
	}
	sort.SliceStable(names, func(i, j int) bool { return weight(names[i]) > weight(names[j]) })
	load := make([]float64, s.Count)
	var mine []string
	for _, n := range names {
		lightest := 0
		for i := range load {
			if load[i] < load[lightest] {
				lightest = i
			}
		}
		load[lightest] += weight(n)
		if lightest == s.Index-1 {
			mine = append(mine, n)
		}
	}
	return mine
}

// pattern returns a regular expression matching the full texts of the
// shard's specs (which start with their top-level container's text), or ""
// when the run is not sharded.
func (s Shard) pattern() string {
	if s.Count <= 1 {
		return ""
	}
	names := s.containers()
	if len(names) == 0 {
		return "^$" // nothing for this shard
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return "(" + strings.Join(quoted, "|") + ") "
}

// focus returns the Ginkgo focus strings for the shard; Ginkgo matches them
// against the suite description, a space, and the spec's full text.
func (s Shard) focus(description string) []string {
	p := s.pattern()
	if p == "" {
		return nil
	}
	return []string{"^" + regexp.QuoteMeta(description) + " " + p}
}
