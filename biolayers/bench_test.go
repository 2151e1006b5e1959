package biolayers

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// peakSampler samples the Go heap in use while a benchmark runs.
type peakSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func startPeakSampler() *peakSampler {
	runtime.GC()
	p := &peakSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var ms runtime.MemStats
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > p.peak.Load() {
				p.peak.Store(ms.HeapInuse)
			}
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) report(b *testing.B) {
	close(p.stop)
	<-p.done
	b.ReportMetric(float64(p.peak.Load())/(1<<20), "peakHeapMB")
}

// benchSGDStep measures one SGD training step (forward, backward, update) of modelFn on a random batch
// of float32 inputs shaped inputDims with 10 classes.
func benchSGDStep(b *testing.B, modelFn train.ModelFn, inputDims ...int) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := prod(inputDims)
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	batch := inputDims[0]
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
	}
	x := tensors.FromFlatDataAndDimensions(data, inputDims...)
	y := tensors.FromFlatDataAndDimensions(labels, batch, 1)
	ctx := newCtx(1)
	ctx.SetParam(optimizers.ParamLearningRate, 1e-3)
	trainer := train.NewTrainer(backend(), ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.StochasticGradientDescent().WithDecay(false).Done(), nil, nil)
	if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil { // compile
		b.Fatal(err)
	}
	p := startPeakSampler()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
	p.report(b)
}

func mlp(dense func(*context.Context, *graph.Node, bool, ...int) *graph.Node, hidden int) train.ModelFn {
	return func(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
		h := activations.Relu(dense(ctx.In("hidden"), inputs[0], true, hidden))
		return []*graph.Node{dense(ctx.In("output"), h, true, 10)}
	}
}

// BenchmarkMLPStep: one SGD step (batch 100) of an MLP 784-H-10, this package's Dense vs GoMLX's
// layers.Dense, on the pure-Go backend.
func BenchmarkMLPStep(b *testing.B) {
	for _, c := range []struct {
		name   string
		dense  func(*context.Context, *graph.Node, bool, ...int) *graph.Node
		hidden int
	}{
		{"biolayers_784-1000-10", Dense, 1000},
		{"gomlx_784-1000-10", layers.Dense, 1000},
		{"biolayers_784-100-10", Dense, 100},
		{"gomlx_784-100-10", layers.Dense, 100},
	} {
		b.Run(c.name, func(b *testing.B) { benchSGDStep(b, mlp(c.dense, c.hidden), 100, 784) })
	}
}

// BenchmarkConvNetStep: one SGD step (batch 100, 32×32×3 inputs) of a small conv net
// (conv 3×3·16 same, ReLU, max pool 2, conv 3×3·32 same, ReLU, max pool 2, dense 10) built with this
// package. GoMLX's own layers.Convolution / graph.MaxPool cannot be trained on the Go backend (their
// gradients need the missing ops "Reverse" and "SelectAndScatterMax"), so there is no GoMLX counterpart.
func BenchmarkConvNetStep(b *testing.B) {
	model := func(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
		h := activations.Relu(Convolution(ctx.In("c1"), inputs[0]).Channels(16).KernelSize(3).PadSame().Done())
		h = MaxPool(h).Window(2).Done()
		h = activations.Relu(Convolution(ctx.In("c2"), h).Channels(32).KernelSize(3).PadSame().Done())
		h = MaxPool(h).Window(2).Done()
		return []*graph.Node{Dense(ctx.In("out"), Flatten(h), true, 10)}
	}
	benchSGDStep(b, model, 100, 32, 32, 3)
}

// cpuTime returns the user+system CPU time of the process (all threads), which is less sensitive than the
// wall time to other processes competing for the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
