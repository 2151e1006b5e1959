package models

import (
	"fmt"

	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// AlexNetMiniConfig configures AlexNetMini, the paper's reduced AlexNet: 5 convolutions and two fully
// connected layers of 384 units, ReLU6 activations.
type AlexNetMiniConfig struct {
	// NumClasses is the number of outputs (default 10).
	NumClasses int
	// WidthMultiplier scales all channel counts and FC widths (default 1: 96, 256, 256, 384, 384 / 384, 384).
	WidthMultiplier float64
	// Conv1Padding is the padding of the first (11×11, stride 4) convolution; 0 means automatic: 7 for
	// inputs smaller than 32 pixels (MNIST 28×28), 5 otherwise (CIFAR 32×32), as in the authors' code. Both
	// give an 8×8 map, hence 1×1 after the three poolings.
	Conv1Padding int
	// InputShape [H, W, C] to reshape flat inputs (optional, see the package documentation).
	InputShape []int
}

// DefaultAlexNetMiniConfig returns the paper's AlexNetMini with 10 classes.
func DefaultAlexNetMiniConfig() AlexNetMiniConfig {
	return AlexNetMiniConfig{NumClasses: 10, WidthMultiplier: 1}
}

// ModelFn builds the network (channels-last; PyTorch's NCHW layout of the original is irrelevant here):
//
//	conv1 11×11 stride 4 pad p → ReLU6 → max pool 2
//	conv2 5×5 pad 2 (256)      → ReLU6 → max pool 2
//	conv3 3×3 pad 1 (256)      → ReLU6
//	conv4 3×3 pad 1 (384)      → ReLU6
//	conv5 3×3 pad 1 (384)      → ReLU6 → max pool 2 → flatten
//	fc1 384 → ReLU6 → fc2 384 → ReLU6 → output (logits)
//
// with conv1 of 96 channels. Scopes: "conv1"…"conv5", "fc1", "fc2", "output". Max pooling floors odd sizes.
func (cfg AlexNetMiniConfig) ModelFn(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	x := imageInput(inputs[0], cfg.InputShape)
	m := cfg.WidthMultiplier
	classes := cfg.NumClasses
	if classes <= 0 {
		classes = 10
	}
	pad := cfg.Conv1Padding
	if pad <= 0 {
		pad = 5
		if x.Shape().Dimensions[1] < 32 {
			pad = 7
		}
	}
	pool := func(h *graph.Node) *graph.Node {
		if h.Shape().Dimensions[1] < 2 || h.Shape().Dimensions[2] < 2 {
			return h // too small to pool (only for inputs smaller than the paper's)
		}
		return biolayers.MaxPool(h).Window(2).Strides(2).Done()
	}
	h := biolayers.Relu6(biolayers.Convolution(ctx.In("conv1"), x).Channels(scaled(96, m)).KernelSize(11).Strides(4).Padding(pad).Done())
	h = pool(h)
	h = biolayers.Relu6(biolayers.Convolution(ctx.In("conv2"), h).Channels(scaled(256, m)).KernelSize(5).Padding(2).Done())
	h = pool(h)
	for i, c := range []int{256, 384, 384} {
		h = biolayers.Relu6(biolayers.Convolution(ctx.In(fmt.Sprintf("conv%d", i+3)), h).Channels(scaled(c, m)).KernelSize(3).Padding(1).Done())
	}
	h = pool(h)
	h = biolayers.Flatten(h)
	h = biolayers.Relu6(biolayers.Dense(ctx.In("fc1"), h, true, scaled(384, m)))
	h = biolayers.Relu6(biolayers.Dense(ctx.In("fc2"), h, true, scaled(384, m)))
	return []*graph.Node{biolayers.Dense(ctx.In("output"), h, true, classes)}
}

// AlexNetMini is a train.ModelFn: spec may be an AlexNetMiniConfig (or pointer); otherwise
// DefaultAlexNetMiniConfig is used.
func AlexNetMini(ctx *context.Context, spec any, inputs []*graph.Node) []*graph.Node {
	cfg := DefaultAlexNetMiniConfig()
	switch c := spec.(type) {
	case AlexNetMiniConfig:
		cfg = c
	case *AlexNetMiniConfig:
		cfg = *c
	}
	return cfg.ModelFn(ctx, spec, inputs)
}
