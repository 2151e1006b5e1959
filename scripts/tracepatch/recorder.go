package main

// recorder is the source of biotrace.go, added to the patched simplego package: the hooks' targets and the
// API that cmd/biobench's biotrace build reads.
const recorder = `// Code added by go-bio's scripts/tracepatch: op timing and live-buffer accounting for cmd/biobench -trace.

package simplego

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// TraceOp is one op run while tracing: its node index in the executable, type, output shape, and start and
// end since TraceStart.
type TraceOp struct {
	Node       int
	Op, Shape  string
	Start, End time.Duration
}

// TraceBuffer is the memory held at the peak by the buffers one op wrote ("in flight": ops still running).
type TraceBuffer struct {
	Op    string
	Bytes int64
}

var (
	traceOn                    atomic.Bool
	traceMu                    sync.Mutex
	traceT0                    time.Time
	traceOps                   []TraceOp
	traceLive                  map[*Buffer]int64
	traceLabel                 map[*Buffer]string
	traceBytes, tracePeakBytes int64
	traceAtPeak                []TraceBuffer
)

// TraceStart starts recording: ops, and the bytes of the buffers taken from the pools less those put back.
func TraceStart() {
	traceMu.Lock()
	defer traceMu.Unlock()
	traceOps, traceLive, traceLabel = nil, map[*Buffer]int64{}, map[*Buffer]string{}
	traceBytes, tracePeakBytes, traceAtPeak = 0, 0, nil
	traceT0 = time.Now()
	traceOn.Store(true)
}

// TraceStop stops recording and returns the ops, the peak of the buffer bytes above those at TraceStart, and
// the buffers taken since TraceStart and live at that peak, largest first.
func TraceStop() (ops []TraceOp, peakBytes int64, atPeak []TraceBuffer) {
	traceOn.Store(false)
	traceMu.Lock()
	defer traceMu.Unlock()
	return traceOps, tracePeakBytes, traceAtPeak
}

// traceNow is time.Now for the hook in exec.go, which does not import package time.
func traceNow() time.Time { return time.Now() }

func traceAlloc(b *Buffer, n int64) {
	if !traceOn.Load() {
		return
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	traceLive[b], traceLabel[b] = n, "in flight"
	traceBytes += n
	if traceBytes > tracePeakBytes {
		tracePeakBytes = traceBytes
		traceAtPeak = traceSnapshot()
	}
}

func traceFree(b *Buffer) {
	if !traceOn.Load() {
		return
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	if n, ok := traceLive[b]; ok {
		traceBytes -= n
		delete(traceLive, b)
		delete(traceLabel, b)
	} else {
		traceBytes -= int64(b.shape.Memory()) // a buffer from before TraceStart (a donated variable, say)
	}
}

// traceOp records an op once it has run (deferred at its start) and names the buffer it wrote.
func traceOp(nodeIdx int, node *Node, results []*Buffer, start time.Time) {
	end := time.Now()
	traceMu.Lock()
	defer traceMu.Unlock()
	if !traceOn.Load() {
		return
	}
	label := "#" + strconv.Itoa(nodeIdx) + " " + node.opType.String() + " " + node.shape.String()
	if b := results[nodeIdx]; b != nil {
		if _, ok := traceLive[b]; ok {
			traceLabel[b] = label
		}
	}
	traceOps = append(traceOps, TraceOp{Node: nodeIdx, Op: node.opType.String(), Shape: node.shape.String(),
		Start: start.Sub(traceT0), End: end.Sub(traceT0)})
}

func traceSnapshot() []TraceBuffer {
	byOp := map[string]int64{}
	for b, n := range traceLive {
		byOp[traceLabel[b]] += n
	}
	out := make([]TraceBuffer, 0, len(byOp))
	for op, n := range byOp {
		out = append(out, TraceBuffer{op, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes || out[i].Bytes == out[j].Bytes && out[i].Op < out[j].Op })
	return out
}

`
