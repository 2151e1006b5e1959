package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/bio-transformations/go-bio/experiments"
	"github.com/bio-transformations/go-bio/internal/benchvariants"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// inputFeatures and numClasses are FCNet's input width (MNIST's 28×28 pixels) and output width.
const inputFeatures, numClasses = 784, 10

// MB is the unit of every size in the report: 10⁶ bytes.
const MB = 1e6

// bench is one variant under measurement.
type bench struct {
	benchvariants.Variant
	setup      *experiments.Trainer
	trainer    *train.Trainer
	times      []float64 // ms per timed step
	peaks      []float64 // peak heap of each heap step, bytes
	allocs     []float64 // bytes allocated by each heap step
	x, y       *tensors.Tensor
	stepNumber int
}

// step runs one training step of b.
func (b *bench) step() error {
	if _, err := b.trainer.TrainStep(nil, []*tensors.Tensor{b.x}, []*tensors.Tensor{b.y}); err != nil {
		return fmt.Errorf("variant %s, step %d: %w", b.ID, b.stepNumber, err)
	}
	b.stepNumber++
	return nil
}

// measure builds a trainer per variant, compiles it with one step, samples the peak heap of o.heapSteps
// steps per variant and times o.steps steps per variant. Heap and timed steps are interleaved: the variants
// take turns, step by step, so that machine load affects them alike.
func measure(vs []benchvariants.Variant, o options) (*Report, error) {
	x, y := batch(o.batch)
	benches := make([]*bench, len(vs))
	for i, v := range vs {
		var err error
		if benches[i], err = newBench(o.backend, v, o.hidden, x, y); err != nil {
			return nil, err
		}
		defer benches[i].setup.Close()
		if err := benches[i].step(); err != nil { // compiles the graph
			return nil, err
		}
	}
	for range o.heapSteps {
		for _, b := range benches {
			peak, alloc, err := peakHeap(b.step)
			if err != nil {
				return nil, err
			}
			b.peaks, b.allocs = append(b.peaks, peak), append(b.allocs, alloc)
		}
	}
	for range o.steps {
		for _, b := range benches {
			start := time.Now()
			if err := b.step(); err != nil {
				return nil, err
			}
			b.times = append(b.times, float64(time.Since(start).Nanoseconds())/1e6)
		}
	}
	rep := &Report{Model: fmt.Sprintf("FCNet %d-%d-%d", inputFeatures, o.hidden, numClasses), Batch: o.batch,
		Backend: benches[0].setup.Backend.Name(), GoMaxProcs: runtime.GOMAXPROCS(0), When: time.Now().UTC().Format(time.RFC3339),
		HeapMethod: heapMethod, Kernels: kernels(o.hidden)}
	rep.Results = results(benches, o.steps)
	bound := *rep.Results[0].PeakHeapMB
	for _, k := range rep.Kernels {
		bound += 2 * k.MB
	}
	rep.HeapBoundMB = round(bound)
	return rep, nil
}

// newBench builds the trainer of v with the experiments' one trainer set-up (experiments.NewTrainer, as
// experiments.Run and the attack's victims do): FCNet 784-hidden-10, plain SGD at lr 0.01, converted when
// v.Bio is set, on its own backend, without training metrics (the step alone is measured).
func newBench(backendName string, v benchvariants.Variant, hidden int, x, y *tensors.Tensor) (*bench, error) {
	cfg := experiments.RunConfig{Variant: v.ID, Model: "fcnet", Width: hidden, Seed: 1, LR: 0.01, Bio: v.Bio}
	setup, err := experiments.NewTrainer(cfg, experiments.RunOptions{Backend: backendName, LowMemory: v.LowMemory})
	if err != nil {
		return nil, err
	}
	setup.Context.SetRNGStateFromSeed(cfg.Seed)
	setup.TrainMetrics, setup.EvalMetrics = nil, nil
	// Tensors are bound to the backend they were first used on: every variant gets its own copies.
	xc, err := x.LocalClone()
	if err != nil {
		return nil, err
	}
	yc, err := y.LocalClone()
	if err != nil {
		return nil, err
	}
	return &bench{Variant: v, setup: setup, trainer: setup.Build(setup.Context), x: xc, y: yc}, nil
}

// batch returns a fixed random batch: standard-normal inputs [size, 784] and labels [size, 1] in [0, 10).
func batch(size int) (x, y *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, size*inputFeatures)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	ys := make([]int32, size)
	for i := range ys {
		ys[i] = int32(rng.IntN(numClasses))
	}
	return tensors.FromFlatDataAndDimensions(xs, size, inputFeatures), tensors.FromFlatDataAndDimensions(ys, size, 1)
}

// results summarises the measurements; benches[0] is plain.
func results(benches []*bench, steps int) []Result {
	plain := median(benches[0].times)
	var rs []Result
	for _, b := range benches {
		med := median(b.times)
		r := Result{ID: b.ID, Variant: b.Name, Source: SourceOurs, MedianMS: round(med),
			RatioToPlain: round(med / plain), OverheadPct: round(100 * (med/plain - 1)), Steps: steps,
			PeakHeapMB: ptr(round(maxOf(b.peaks) / MB)), AllocMBPerStep: ptr(round(median(b.allocs) / MB))}
		if b.Bio != nil {
			r.Configuration = b.Bio.String()
		}
		rs = append(rs, r)
	}
	return rs
}

// kernels returns the kernel sizes of FCNet 784-hidden-10 (float32).
func kernels(hidden int) []Kernel {
	size := func(in, out int) float64 { return round(float64(in*out*4) / MB) }
	return []Kernel{{Layer: "hidden_0", Shape: []int{inputFeatures, hidden}, MB: size(inputFeatures, hidden)},
		{Layer: "output", Shape: []int{hidden, numClasses}, MB: size(hidden, numClasses)}}
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
