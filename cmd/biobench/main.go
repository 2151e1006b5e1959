// Command biobench measures what the bio mechanisms cost next to a training step: it trains the paper's
// FCNet (784-1000-10 by default, batch 100, plain SGD) with each variant of internal/benchvariants (plain,
// every mechanism alone, the authors' loop, the reference package's loop, everything), side by side in one
// run — the variants take turns, step by step, so machine load affects them alike — and writes, per
// variant, the median step time, its ratio to the plain step and the peak heap of a step, as JSON.
//
// With -reference it adds the step times printed by the PyTorch reference (shared/bench/reference_overhead.py)
// to the same report and prints both side by side as a Markdown table (also written to -md):
//
//	go run ./cmd/biobench -steps 30 -out out/bench/bench.json
//	go run ./cmd/biobench -reference out/bench/reference.jsonl -out out/bench/bench.json -md out/bench/bench.md
//
// `make bench-side-by-side` runs the reference and then this command.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/bio-transformations/go-bio/internal/backend"
	"github.com/bio-transformations/go-bio/internal/benchvariants"
)

// options are the command-line flags.
type options struct {
	steps, heapSteps, hidden, batch int
	variants                        string
	out, md, reference              string
	ops                             string
	backend                         string
}

func main() {
	var o options
	flag.StringVar(&o.backend, "backend", backend.Name(), "backend: go, xla:cpu or xla:cuda (XLA needs a build with "+
		"-tags xla); default $GOMLX_BACKEND, else go")
	flag.IntVar(&o.steps, "steps", 30, "measured steps per variant (after one compile step); the median is reported")
	flag.IntVar(&o.heapSteps, "heap-steps", 3, "steps per variant whose peak heap is sampled (not timed)")
	flag.IntVar(&o.hidden, "hidden", 1000, "hidden units of FCNet 784-hidden-10")
	flag.IntVar(&o.batch, "batch", 100, "batch size")
	flag.StringVar(&o.variants, "variants", "", "comma-separated variant ids to measure (plain is always added); "+
		"empty for all: "+strings.Join(benchvariants.IDs(), ","))
	flag.StringVar(&o.out, "out", "out/bench/bench.json", "JSON report to write")
	flag.StringVar(&o.md, "md", "", "also write the Markdown table to this file")
	flag.StringVar(&o.reference, "reference", "", "JSON lines of shared/bench/reference_overhead.py to add")
	flag.StringVar(&o.ops, "ops", "", "instead of the variants, time single graph ops on a [784, hidden] kernel "+
		"(the per-op profile: what each stage's ops cost) and write them as JSON to this file")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "biobench:", err)
		os.Exit(1)
	}
}

// run measures the selected variants, adds the reference's lines, writes the report and prints the table.
func run(o options) error {
	if o.steps < 1 || o.heapSteps < 1 || o.hidden < 1 || o.batch < 1 {
		return fmt.Errorf("-steps, -heap-steps, -hidden and -batch must be ≥ 1 (got %d, %d, %d, %d)",
			o.steps, o.heapSteps, o.hidden, o.batch)
	}
	if o.ops != "" {
		b, err := backend.New(o.backend)
		if err != nil {
			return err
		}
		fmt.Println("| op on a float32 [784, hidden] kernel | ms |\n|---|---:|")
		return runOps(b, []int{784, o.hidden}, o.steps, o.ops, os.Stdout)
	}
	var ids []string
	if o.variants != "" {
		ids = strings.Split(o.variants, ",")
	}
	vs, err := benchvariants.Select(ids)
	if err != nil {
		return fmt.Errorf("-variants: %w", err)
	}
	if traceOut != "" {
		return runTrace(vs, o)
	}
	var ref []Result
	if o.reference != "" { // read first: a bad file fails before minutes of measuring
		if ref, err = readReference(o.reference); err != nil {
			return err
		}
	}
	rep, err := measure(vs, o)
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, ref...)
	if ref != nil && (o.hidden != referenceHidden || o.batch != referenceBatch) {
		rep.Note = fmt.Sprintf("the reference measured FCNet 784-%d-10 at batch %d, ours 784-%d-10 at batch %d: "+
			"the ratios are not comparable", referenceHidden, referenceBatch, o.hidden, o.batch)
		fmt.Fprintln(os.Stderr, "biobench: warning:", rep.Note)
	}
	rep.ReferenceLoopBioWork = bioWork(rep.Results)
	if err := writeJSON(o.out, rep); err != nil {
		return err
	}
	table := markdown(rep)
	fmt.Print(table)
	if o.md != "" {
		if err := writeFile(o.md, []byte(table)); err != nil {
			return err
		}
	}
	fmt.Println("wrote", o.out)
	return nil
}
