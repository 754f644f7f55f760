package translate

import (
	"runtime"
	"testing"
)

// BenchmarkTranslate translates 10,000 Ingresses (one host, three paths,
// a Service and an EndpointSlice each) and reports the heap retained by the
// Result per route.
func BenchmarkTranslate(b *testing.B) {
	const n = 10000
	snap := snapshot(n)
	routes := float64(3 * n)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := Translate(snap, Options{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := res.Table.Stats().Routes; got != 3*n {
		b.Fatalf("%d routes, want %d", got, 3*n)
	}
	retained := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	runtime.KeepAlive(res)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = Translate(snap, Options{})
	}
	b.ReportMetric(retained/routes, "retained-B/route")
	b.ReportMetric(routes, "routes/op")
}
