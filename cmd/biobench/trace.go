//go:build biotrace

package main

// The -trace measurement: with GoMLX's Go backend instrumented by scripts/tracepatch (run
// scripts/backend_trace.sh), it records when each op of a training step runs and which buffers are live at
// the step's peak. It shows whether the bio work keeps both cores busy (the floor of item 3: half the sum
// of its ops' costs) and what the step holds at its peak.

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bio-transformations/go-bio/internal/benchvariants"
	"github.com/gomlx/gomlx/backends/simplego"
)

// traceOut is the Markdown file the -trace report goes to.
var traceOut string

// timelineOut is the file the -trace-timeline report goes to.
var timelineOut string

// traceWithinBound makes runTrace fail when a traced variant's live-buffer peak exceeds the bound.
var traceWithinBound bool

func init() {
	flag.StringVar(&traceOut, "trace", "", "instead of timing, trace -steps steps of each variant with the "+
		"instrumented backend (scripts/backend_trace.sh) and write the report, Markdown, to this file")
	flag.StringVar(&timelineOut, "trace-timeline", "", "with -trace: also write every op of each variant's "+
		"fastest traced step from its bio phase on (start, end, duration), Markdown, to this file")
	flag.BoolVar(&traceWithinBound, "trace-within-bound", false, "with -trace: fail if a variant's live-buffer "+
		"peak exceeds the plain step's plus two kernel-sized buffers per layer")
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
	var table, sections, timelines strings.Builder
	fmt.Fprintf(&table, "FCNet 784-%d-10, batch %d, plain SGD, GoMLX's Go backend (parallel executor), traced with "+
		"scripts/backend_trace.sh; per variant the fastest of %d traced steps (after 5 untraced ones) and the "+
		"largest live-buffer peak of them. The bio phase is the time after the step's last matrix product (the "+
		"hidden kernel's gradient); live buffers are the backend's buffers taken during the step and not yet "+
		"given back, above those at its start (the Go heap adds its buffer pools and garbage to them).\n\n"+
		"| id | step ms | bio phase ms | both cores busy | one op running ms | live-buffer peak MB | bound MB |\n"+
		"|---|---:|---:|---:|---:|---:|---:|\n", o.hidden, o.batch, o.steps)
	var bound float64
	var over []string
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
		p := bioPhase(fastest.ops)
		fmt.Fprintf(&table, "| %s | %.2f | %.2f | %.0f %% | %.2f | %.2f | %.2f |\n", v.ID, ms(p.step), ms(p.bio),
			p.busy(), ms(p.running[1]), float64(largest.peak)/MB, bound)
		writeTrace(&sections, v, p, largest)
		writeTimeline(&timelines, v, fastest.ops, p)
		if peak := float64(largest.peak) / MB; i > 0 && peak > bound {
			over = append(over, fmt.Sprintf("%s %.2f MB", v.ID, peak))
		}
	}
	report := table.String() + "\n" + sections.String()
	fmt.Print(report)
	if err := writeFile(traceOut, []byte(report)); err != nil {
		return err
	}
	if timelineOut != "" {
		if err := writeFile(timelineOut, []byte(timelines.String())); err != nil {
			return err
		}
	}
	if traceWithinBound && len(over) > 0 {
		return fmt.Errorf("live-buffer peak above the bound of %.2f MB: %s", bound, strings.Join(over, ", "))
	}
	return nil
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

// bounds returns the first op's start and the last op's end.
func bounds(ops []simplego.TraceOp) (lo, hi time.Duration) {
	lo, hi = ops[0].Start, ops[0].End
	for _, op := range ops {
		lo, hi = min(lo, op.Start), max(hi, op.End)
	}
	return lo, hi
}

// spanOf is the time from the first op's start to the last op's end.
func spanOf(ops []simplego.TraceOp) time.Duration {
	lo, hi := bounds(ops)
	return hi - lo
}

// phase is what a traced step shows of its bio phase (from the end of the last matrix product).
type phase struct {
	step, from, bio time.Duration    // the step's span, the phase's start within it, the phase's length
	running         [3]time.Duration // how long 0, 1 and 2 or more ops ran at once in the phase
	alone           map[string]time.Duration
}

// bioPhase analyses the bio phase of a traced step.
func bioPhase(ops []simplego.TraceOp) phase {
	lo, hi := bounds(ops)
	from := bioPhaseStart(ops)
	running, alone := concurrency(ops, from)
	return phase{step: hi - lo, from: from - lo, bio: running[0] + running[1] + running[2], running: running,
		alone: alone}
}

// busy is the share of the phase, in %, when both cores were busy.
func (p phase) busy() float64 {
	if p.bio == 0 {
		return 0
	}
	return 100 * float64(p.running[2]) / float64(p.bio)
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

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
func writeTrace(sb *strings.Builder, v benchvariants.Variant, p phase, largest stepTrace) {
	fmt.Fprintf(sb, "## %s (%s)\n\nstep %.2f ms; after the last matrix product (from %.2f ms): %.2f ms, of which "+
		"no op running %.2f ms, one op %.2f ms, two or more %.2f ms (both cores busy %.0f %% of it)", v.ID, v.Name,
		ms(p.step), ms(p.from), ms(p.bio), ms(p.running[0]), ms(p.running[1]), ms(p.running[2]), p.busy())
	fmt.Fprintf(sb, ".\n\nlive-buffer peak: %.2f MB above the step's start; held then (MB):\n\n", float64(largest.peak)/MB)
	for i, tb := range largest.atPeak {
		if i == 12 || tb.Bytes < 100_000 {
			break
		}
		fmt.Fprintf(sb, "- %s: %.2f\n", tb.Op, float64(tb.Bytes)/MB)
	}
	labels := slices.Collect(maps.Keys(p.alone))
	slices.SortFunc(labels, func(a, b string) int { return int(p.alone[b] - p.alone[a]) })
	sb.WriteString("\nops running alone after the last matrix product (ms):\n\n")
	for i, l := range labels {
		if i == 8 || p.alone[l] < 50*time.Microsecond {
			break
		}
		fmt.Fprintf(sb, "- %s: %.2f\n", l, ms(p.alone[l]))
	}
	sb.WriteString("\n")
}

// writeTimeline adds one variant's timeline to the -trace-timeline report: the ops of a traced step that end
// after its bio phase starts, by start time, in ms from the step's first op, and how many ran at once
// when each started.
func writeTimeline(sb *strings.Builder, v benchvariants.Variant, ops []simplego.TraceOp, p phase) {
	lo, _ := bounds(ops)
	ops = slices.Clone(ops)
	slices.SortStableFunc(ops, func(a, b simplego.TraceOp) int { return int(a.Start - b.Start) })
	fmt.Fprintf(sb, "## %s (%s)\n\nbio phase from %.2f ms (end of the last matrix product)\n\n"+
		"| start ms | end ms | ms | op | running at its start |\n|---:|---:|---:|---|---:|\n", v.ID, v.Name, ms(p.from))
	for i, op := range ops {
		if op.End-lo < p.from {
			continue
		}
		running := 0
		for _, other := range ops[:i+1] {
			if other.End > op.Start {
				running++
			}
		}
		fmt.Fprintf(sb, "| %.2f | %.2f | %.2f | %s | %d |\n", ms(op.Start-lo), ms(op.End-lo), ms(op.End-op.Start),
			label(op), running)
	}
	sb.WriteString("\n")
}
