//go:build !linux

package bench

// cpuPinning is not measured outside Linux (benchmarks run on Linux).
func cpuPinning(int) string { return "" }
