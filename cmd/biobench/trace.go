//go:build biotrace

package main

// The -trace measurement: with GoMLX's Go backend instrumented by scripts/tracepatch (run
// scripts/backend_trace.sh), it records when each op of a training step runs and which buffers are live at
// the step's peak. It shows whether the bio work keeps both cores busy (the floor of item 3: half the sum
// of its ops' costs) and what the step holds at its peak.

import (
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bio-transformations/go-bio/internal/benchvariants"
	"github.com/gomlx/gomlx/backends/simplego"
)

// traceOut is the Markdown file the -trace report goes to.
var traceOut string

func init() {
	flag.StringVar(&traceOut, "trace", "", "instead of timing, trace -steps steps of each variant with the "+
		"instrumented backend (scripts/backend_trace.sh) and write the report, Markdown, to this file")
}

// stepTrace is what one traced step recorded.
type stepTrace struct {
	ops    []simplego.TraceOp
	peak   int64
	atPeak []simplego.TraceBuffer
}

// runTrace traces o.steps steps of every variant and writes the report: a summary table, then a section
// per variant.
func runTrace(vs []benchvariants.Variant, o options) error {
	x, y := batch(o.batch)
	var table, sections strings.Builder
	fmt.Fprintf(&table, "FCNet 784-%d-10, batch %d, plain SGD, GoMLX's Go backend (parallel executor), traced with "+
		"scripts/backend_trace.sh; per variant the fastest of %d traced steps (after 5 untraced ones) and the "+
		"largest live-buffer peak of them. The bio phase is the time after the step's last matrix product (the "+
		"hidden kernel's gradient); live buffers are the backend's buffers taken during the step and not yet "+
		"given back, above those at its start (the Go heap adds its buffer pools and garbage to them).\n\n"+
		"| id | step ms | bio phase ms | both cores busy | one op running ms | live-buffer peak MB | bound MB |\n"+
		"|---|---:|---:|---:|---:|---:|---:|\n", o.hidden, o.batch, o.steps)
	var bound float64
	for i, v := range vs {
		b, err := newBench("go", v, o.hidden, x, y)
		if err != nil {
			return err
		}
		fastest, largest, err := traceSteps(b, o.steps)
		b.setup.Close()
		if err != nil {
			return err
		}
		if i == 0 { // plain: the bound is its peak plus two kernel-sized buffers per layer
			bound = float64(largest.peak) / MB
			for _, k := range kernels(o.hidden) {
				bound += 2 * k.MB
			}
		}
		writeTraceRow(&table, v, fastest, largest, bound)
		writeTrace(&sections, v, fastest, largest)
	}
	report := table.String() + "\n" + sections.String()
	fmt.Print(report)
	return writeFile(traceOut, []byte(report))
}

// writeTraceRow adds one variant's line to the summary table.
func writeTraceRow(sb *strings.Builder, v benchvariants.Variant, fastest, largest stepTrace, bound float64) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	running, _ := concurrency(fastest.ops, bioPhaseStart(fastest.ops))
	bio := running[0] + running[1] + running[2]
	busy := 0.0
	if bio > 0 {
		busy = 100 * float64(running[2]) / float64(bio)
	}
	fmt.Fprintf(sb, "| %s | %.2f | %.2f | %.0f %% | %.2f | %.2f | %.2f |\n", v.ID, ms(spanOf(fastest.ops)), ms(bio),
		busy, ms(running[1]), float64(largest.peak)/MB, bound)
}

// traceSteps runs 5 untraced steps and n traced ones; it returns the fastest traced step and the one with
// the largest live-buffer peak.
func traceSteps(b *bench, n int) (fastest, largest stepTrace, err error) {
	for range 5 {
		if err = b.step(); err != nil {
			return
		}
	}
	best := time.Duration(1 << 62)
	for range n {
		simplego.TraceStart()
		err = b.step()
		var st stepTrace
		st.ops, st.peak, st.atPeak = simplego.TraceStop()
		if err != nil {
			return
		}
		if span := spanOf(st.ops); span < best {
			best, fastest = span, st
		}
		if st.peak >= largest.peak {
			largest = st
		}
	}
	return
}

// spanOf is the time from the first op's start to the last op's end.
func spanOf(ops []simplego.TraceOp) time.Duration {
	lo, hi := ops[0].Start, ops[0].End
	for _, op := range ops {
		lo, hi = min(lo, op.Start), max(hi, op.End)
	}
	return hi - lo
}

// concurrency sums, from time from on, how long 0, 1 and 2 or more ops ran at once, and per op label how
// long it ran alone.
func concurrency(ops []simplego.TraceOp, from time.Duration) (running [3]time.Duration, alone map[string]time.Duration) {
	type event struct {
		at    time.Duration
		delta int
		op    int
	}
	var evs []event
	for i, op := range ops {
		evs = append(evs, event{op.Start, 1, i}, event{op.End, -1, i})
	}
	sort.Slice(evs, func(i, j int) bool {
		return evs[i].at < evs[j].at || evs[i].at == evs[j].at && evs[i].delta < evs[j].delta
	})
	alone = map[string]time.Duration{}
	now, active := from, map[int]bool{}
	for _, e := range evs {
		if e.at > now {
			running[min(len(active), 2)] += e.at - now
			if len(active) == 1 {
				for i := range active {
					alone[label(ops[i])] += e.at - now
				}
			}
			now = e.at
		}
		if e.delta > 0 {
			active[e.op] = true
		} else {
			delete(active, e.op)
		}
	}
	return running, alone
}

// label names an op in the report.
func label(op simplego.TraceOp) string { return fmt.Sprintf("#%d %s %s", op.Node, op.Op, op.Shape) }

// bioPhaseStart is when the last DotGeneral of the step ended: in FCNet the hidden kernel's gradient, the
// last the backward pass makes, from which the bio work starts.
func bioPhaseStart(ops []simplego.TraceOp) time.Duration {
	var at time.Duration
	for _, op := range ops {
		if op.Op == "DotGeneral" {
			at = max(at, op.End)
		}
	}
	return at
}

// writeTrace adds one variant's section to the report.
func writeTrace(sb *strings.Builder, v benchvariants.Variant, fastest, largest stepTrace) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	lo := fastest.ops[0].Start
	for _, op := range fastest.ops {
		lo = min(lo, op.Start)
	}
	from := bioPhaseStart(fastest.ops)
	running, alone := concurrency(fastest.ops, from)
	bio := running[0] + running[1] + running[2]
	fmt.Fprintf(sb, "## %s (%s)\n\nstep %.2f ms; after the last matrix product (from %.2f ms): %.2f ms, of which "+
		"no op running %.2f ms, one op %.2f ms, two or more %.2f ms", v.ID, v.Name, ms(spanOf(fastest.ops)),
		ms(from-lo), ms(bio), ms(running[0]), ms(running[1]), ms(running[2]))
	if bio > 0 {
		fmt.Fprintf(sb, " (both cores busy %.0f %% of it)", 100*float64(running[2])/float64(bio))
	}
	fmt.Fprintf(sb, ".\n\nlive-buffer peak: %.2f MB above the step's start; held then (MB):\n\n", float64(largest.peak)/MB)
	for i, tb := range largest.atPeak {
		if i == 12 || tb.Bytes < 100_000 {
			break
		}
		fmt.Fprintf(sb, "- %s: %.2f\n", tb.Op, float64(tb.Bytes)/MB)
	}
	labels := make([]string, 0, len(alone))
	for l := range alone {
		labels = append(labels, l)
	}
	slices.SortFunc(labels, func(a, b string) int { return int(alone[b] - alone[a]) })
	sb.WriteString("\nops running alone after the last matrix product (ms):\n\n")
	for i, l := range labels {
		if i == 8 || alone[l] < 50*time.Microsecond {
			break
		}
		fmt.Fprintf(sb, "- %s: %.2f\n", l, ms(alone[l]))
	}
	sb.WriteString("\n")
}
