package main

import (
	"slices"
	"testing"
)

func TestChildArgsDropsPerShardFlags(t *testing.T) {
	got := childArgs([]string{"conformance", "--parallel", "2", "--report-dir=out/x", "--features", "tls", "--shard", "1/2", "--parallel=3", "-v"})
	want := []string{"conformance", "--features", "tls", "-v"}
	if !slices.Equal(got, want) {
		t.Fatalf("childArgs = %v, want %v", got, want)
	}
}
