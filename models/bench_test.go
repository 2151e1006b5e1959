package models

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// benchModelStep measures one SGD training step (batch 100, lr 1e-3 as in the paper) of a model on the
// pure-Go backend and reports the peak Go heap in use (sampled every 25 ms) as peakHeapMB.
func benchModelStep(b *testing.B, modelFn train.ModelFn, dims ...int) {
	x, y := tinyData(1, 10, dims...)
	ctx := testenv.Context(1)
	ctx.SetParam(optimizers.ParamLearningRate, 1e-3)
	trainer := train.NewTrainer(backend(), ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.StochasticGradientDescent().WithDecay(false).Done(), nil, nil)
	step := func() {
		if _, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y}); err != nil {
			b.Fatal(err)
		}
	}
	step() // compilation
	runtime.GC()
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
		}
	}()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
	close(stop)
	<-done
	b.ReportMetric(float64(peak.Load())/(1<<20), "peakHeapMB")
}

// BenchmarkFCNetStep: FCNet 784-1000-10, batch 100 (MNIST-shaped input).
func BenchmarkFCNetStep(b *testing.B) { benchModelStep(b, FCNet, 100, 784) }

// BenchmarkAlexNetMiniStep: AlexNetMini, batch 100 of 32×32×3 (CIFAR-shaped input).
func BenchmarkAlexNetMiniStep(b *testing.B) { benchModelStep(b, AlexNetMini, 100, 32, 32, 3) }

// BenchmarkAlexNetMiniMNISTStep: AlexNetMini, batch 100 of 28×28×1 (MNIST-shaped input).
func BenchmarkAlexNetMiniMNISTStep(b *testing.B) { benchModelStep(b, AlexNetMini, 100, 28, 28, 1) }

// BenchmarkResNet20Step: ResNet-20, batch 100 of 32×32×3 (CIFAR-shaped input).
func BenchmarkResNet20Step(b *testing.B) { benchModelStep(b, ResNet, 100, 32, 32, 3) }

// cpuTime returns the user+system CPU time of the process (all threads), which is less sensitive than the
// wall time to other processes competing for the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
