package suites

import (
	"slices"
	"testing"
)

func TestShardsCoverEveryContainerOnce(t *testing.T) {
	if len(topLevel) < 5 {
		t.Fatalf("only %d top-level containers registered", len(topLevel))
	}
	for n := 1; n <= 4; n++ {
		var all []string
		for i := 1; i <= n; i++ {
			part := Shard{Index: i, Count: n}.containers()
			if n > 1 && len(part) == 0 {
				t.Errorf("shard %d/%d is empty", i, n)
			}
			all = append(all, part...)
		}
		slices.Sort(all)
		want := slices.Clone(topLevel)
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Errorf("%d shards: containers %v, want each of %v once", n, all, want)
		}
	}
	if _, err := ParseShard("3/2"); err == nil {
		t.Error("3/2 accepted")
	}
	if s, err := ParseShard("2/3"); err != nil || s != (Shard{2, 3}) {
		t.Errorf("ParseShard(2/3) = %v, %v", s, err)
	}
}
