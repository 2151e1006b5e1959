package models

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bio-transformations/go-bio/internal/testenv"
	"github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

func backend() backends.Backend { return testenv.Backend() }

// tinyData returns a learnable random dataset: inputs [dims...] (float32) and labels [batch, 1] given by
// a random linear function of the inputs.
func tinyData(seed uint64, classes int, dims ...int) (*tensors.Tensor, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := 1
	for _, d := range dims {
		n *= d
	}
	batch := dims[0]
	per := n / batch
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	proj := make([]float32, per*classes)
	for i := range proj {
		proj[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, batch)
	for b := 0; b < batch; b++ {
		best, arg := float32(-1e30), 0
		for c := 0; c < classes; c++ {
			var s float32
			for i := 0; i < per; i++ {
				s += x[b*per+i] * proj[i*classes+c]
			}
			if s > best {
				best, arg = s, c
			}
		}
		labels[b] = int32(arg)
	}
	return tensors.FromFlatDataAndDimensions(x, dims...), tensors.FromFlatDataAndDimensions(labels, batch, 1)
}

// trainSteps runs steps SGD steps on one batch and returns the first and last losses and the mean step time.
func trainSteps(t testing.TB, modelFn train.ModelFn, lr float64, steps int, x, y *tensors.Tensor) (first, last float64, perStep time.Duration) {
	ctx := testenv.Context(1)
	ctx.SetParam(optimizers.ParamLearningRate, lr)
	trainer := train.NewTrainer(backend(), ctx, modelFn, losses.SparseCategoricalCrossEntropyLogits,
		optimizers.StochasticGradientDescent().WithDecay(false).Done(), nil, nil)
	var start time.Time
	for i := 0; i < steps; i++ {
		if i == 1 {
			start = time.Now()
		}
		m, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		loss := tensors.MustCopyFlatData[float32](m[0])[0]
		if i == 0 {
			first = float64(loss)
		}
		last = float64(loss)
	}
	if steps > 1 {
		perStep = time.Since(start) / time.Duration(steps-1)
	}
	return
}

func TestModelsTrain(t *testing.T) {
	cases := []struct {
		name  string
		model train.ModelFn
		dims  []int
		lr    float64
		steps int
	}{
		{"FCNet_flat", (&FCNetConfig{Hidden: []int{32}, NumClasses: 4}).ModelFn, []int{16, 784}, 0.05, 15},
		{"FCNet_images_2hidden", (&FCNetConfig{Hidden: []int{16, 16}, NumClasses: 4}).ModelFn, []int{16, 8, 8, 1}, 0.1, 15},
		{"AlexNetMini_mnist_flat", (&AlexNetMiniConfig{NumClasses: 4, WidthMultiplier: 1.0 / 16}).ModelFn, []int{8, 784}, 0.1, 15},
		{"AlexNetMini_cifar", (&AlexNetMiniConfig{NumClasses: 4, WidthMultiplier: 1.0 / 8}).ModelFn, []int{8, 32, 32, 3}, 0.05, 25},
		{"ResNet8_small", (&ResNetConfig{N: 1, Widths: []int{4, 8, 16}, NumClasses: 4}).ModelFn, []int{8, 12, 12, 3}, 0.1, 15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, y := tinyData(3, 4, c.dims...)
			first, last, per := trainSteps(t, c.model, c.lr, c.steps, x, y)
			t.Logf("loss %.4f → %.4f after %d steps (%v/step)", first, last, c.steps, per)
			if !(last < first*0.9) {
				t.Errorf("loss did not decrease enough: %.4f → %.4f", first, last)
			}
		})
	}
}

func TestModelStructure(t *testing.T) {
	if d := DefaultResNetConfig().Depth(); d != 20 {
		t.Errorf("default ResNet depth %d, want 20", d)
	}
	cases := []struct {
		name               string
		model              train.ModelFn
		dims               []int
		wantConvs, wantFCs int
	}{
		{"ResNet14", (&ResNetConfig{N: 2, WidthMultiplier: 0.25}).ModelFn, []int{2, 8, 8, 3}, 13, 1},
		{"AlexNetMini", (&AlexNetMiniConfig{WidthMultiplier: 1.0 / 32}).ModelFn, []int{2, 28, 28, 1}, 5, 3},
		{"FCNet", FCNet, []int{2, 784}, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := testenv.Context(1)
			x, _ := tinyData(1, 10, c.dims...)
			out := context.MustExecOnce(backend(), ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
				return c.model(ctx, nil, []*graph.Node{x})[0]
			}, x)
			if fmt.Sprint(out.Shape().Dimensions) != fmt.Sprint([]int{c.dims[0], 10}) {
				t.Errorf("output shape %v", out.Shape().Dimensions)
			}
			convs, fcs := 0, 0
			for v := range ctx.IterVariables() {
				if v.Name() == "weights" && strings.HasSuffix(v.Scope(), "/conv") {
					convs++
				}
				if v.Name() == "weights" && strings.HasSuffix(v.Scope(), "/dense") {
					fcs++
				}
			}
			if convs != c.wantConvs || fcs != c.wantFCs {
				t.Errorf("%d conv and %d dense kernels, want %d and %d", convs, fcs, c.wantConvs, c.wantFCs)
			}
		})
	}
}

func TestAuthorsResNetWidths(t *testing.T) {
	for _, tc := range []struct {
		channels, classes int
		want              []int
	}{
		{1, 10, []int{6, 12, 24}},      // MNIST
		{3, 10, []int{14, 28, 56}},     // CIFAR-10
		{3, 100, []int{140, 280, 560}}, // CIFAR-100
	} {
		if got := AuthorsResNetWidths(tc.channels, tc.classes); !slices.Equal(got, tc.want) {
			t.Errorf("AuthorsResNetWidths(%d, %d) = %v, want %v", tc.channels, tc.classes, got, tc.want)
		}
	}
}
