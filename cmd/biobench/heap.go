package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// heapMetric is the heap occupied by objects: live ones and dead ones not yet swept (HeapAlloc).
	heapMetric = "/memory/classes/heap/objects:bytes"
	// allocMetric is the cumulative number of bytes allocated on the heap.
	allocMetric = "/gc/heap/allocs:bytes"
	// heapSampleEvery is the sampling period of the heap during a step.
	heapSampleEvery = 200 * time.Microsecond
	// heapGCPercent is GOGC during a heap step. With the default 100 the collector lets garbage grow to the
	// size of the live heap (here: every variant's weights and state) before collecting, so the sampled peak
	// would be mostly the step's garbage, set by the pacer; at 5 it stays within 5% of the live heap and
	// the peak is that of the buffers the step holds at once. Heap steps are not timed.
	heapGCPercent = 5
)

// heapMethod describes peakHeap for the report.
const heapMethod = "peak of " + heapMetric + " sampled every 200µs during a step (and at its end), minus its " +
	"value before the step, after two runtime.GC() (which also empty the backend's sync.Pool buffer pools); " +
	"GOGC=5 during the step so that unreachable buffers are collected promptly; max over the heap steps; " +
	"MB = 1e6 bytes"

// readMetrics returns the current values of heapMetric and allocMetric.
func readMetrics() (heap, allocs uint64) {
	s := []metrics.Sample{{Name: heapMetric}, {Name: allocMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// peakHeap runs step once and returns the peak heap during it above the heap before it, and the bytes it
// allocated. A goroutine samples the heap every heapSampleEvery while the step runs.
func peakHeap(step func() error) (peak, allocated float64, err error) {
	defer debug.SetGCPercent(debug.SetGCPercent(heapGCPercent))
	runtime.GC()
	runtime.GC()
	base, allocs0 := readMetrics()
	stop, result := make(chan struct{}), make(chan uint64)
	go func() {
		highest := base
		ticker := time.NewTicker(heapSampleEvery)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				result <- highest
				return
			case <-ticker.C:
				highest = max(highest, heapNow())
			}
		}
	}()
	err = step()
	end, allocs1 := readMetrics()
	close(stop)
	highest := max(<-result, end)
	return float64(highest - base), float64(allocs1 - allocs0), err
}

// heapNow returns the current value of heapMetric.
func heapNow() uint64 {
	heap, _ := readMetrics()
	return heap
}
