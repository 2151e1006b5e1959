package models

import (
	"fmt"

	"github.com/bio-transformations/go-bio/biolayers"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// ResNetConfig configures a CIFAR-style residual network ResNet-(6n+2) (He et al. 2016, section 4.2):
// ResNet-20 (n = 3), -32 (5), -44 (7), -56 (9).
type ResNetConfig struct {
	// N is the number of basic blocks per stage (default 3: ResNet-20).
	N int
	// Widths are the channels of the three stages (default 16, 32, 64), multiplied by WidthMultiplier.
	Widths []int
	// WidthMultiplier scales the widths (default 1).
	WidthMultiplier float64
	// NumClasses is the number of outputs (default 10).
	NumClasses int
	// BatchNormMomentum and BatchNormEpsilon configure every batch normalisation (biolayers.BatchNorm
	// semantics). Defaults 0.9 and 1e-5: PyTorch's defaults (momentum 0.1 in PyTorch's convention).
	BatchNormMomentum, BatchNormEpsilon float64
	// InputShape [H, W, C] to reshape flat inputs (optional, see the package documentation).
	InputShape []int
}

// DefaultResNetConfig returns ResNet-20 with 10 classes.
func DefaultResNetConfig() ResNetConfig {
	return ResNetConfig{N: 3, Widths: []int{16, 32, 64}, WidthMultiplier: 1, NumClasses: 10,
		BatchNormMomentum: 0.9, BatchNormEpsilon: 1e-5}
}

// Depth returns the number of weighted layers, 6n+2.
func (cfg ResNetConfig) Depth() int { return 6*cfg.n() + 2 }

func (cfg ResNetConfig) n() int {
	if cfg.N <= 0 {
		return 3
	}
	return cfg.N
}

// ModelFn builds the network:
//
//	stem: conv 3×3 (w₁, no bias) → BN → ReLU                                 scope "stem"
//	3 stages × N basic blocks (widths w₁, w₂, w₃; the first block of stages 2 and 3 has stride 2):
//	  conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the shortcut, → ReLU        scopes "stage<s>_block<b>/a", "…/b"
//	  shortcut: identity, or "option A" when the shape changes: x[:, ::2, ::2, :] with zero channels added
//	  on both sides (no parameters)
//	global average pooling → dense (logits)                                 scope "output"
//
// Convolutions have no bias (batch normalisation follows them) and "same" padding.
func (cfg ResNetConfig) ModelFn(ctx *context.Context, _ any, inputs []*graph.Node) []*graph.Node {
	x := imageInput(inputs[0], cfg.InputShape)
	widths := cfg.Widths
	if len(widths) == 0 {
		widths = []int{16, 32, 64}
	}
	classes := cfg.NumClasses
	if classes <= 0 {
		classes = 10
	}
	mom, eps := cfg.BatchNormMomentum, cfg.BatchNormEpsilon
	if mom <= 0 {
		mom = 0.9
	}
	if eps <= 0 {
		eps = 1e-5
	}
	convBN := func(ctx *context.Context, h *graph.Node, channels, stride int) *graph.Node {
		h = biolayers.Convolution(ctx, h).Channels(channels).KernelSize(3).Strides(stride).PadSame().UseBias(false).Done()
		return biolayers.BatchNorm(ctx, h, -1).Momentum(mom).Epsilon(eps).Done()
	}

	h := activations.Relu(convBN(ctx.In("stem"), x, scaled(widths[0], cfg.WidthMultiplier), 1))
	for s, w := range widths {
		w = scaled(w, cfg.WidthMultiplier)
		for b := 0; b < cfg.n(); b++ {
			stride := 1
			if s > 0 && b == 0 {
				stride = 2
			}
			bctx := ctx.In(fmt.Sprintf("stage%d_block%d", s+1, b+1))
			out := activations.Relu(convBN(bctx.In("a"), h, w, stride))
			out = convBN(bctx.In("b"), out, w, 1)
			shortcut := h
			inC := h.Shape().Dimensions[h.Rank()-1]
			if stride != 1 || inC != w {
				shortcut = biolayers.Subsample(shortcut, stride)
				extra := w - inC
				shortcut = biolayers.PadChannels(shortcut, extra/2, extra-extra/2)
			}
			h = activations.Relu(graph.Add(out, shortcut))
		}
	}
	h = biolayers.GlobalAvgPool(h)
	return []*graph.Node{biolayers.Dense(ctx.In("output"), h, true, classes)}
}

// ResNet is a train.ModelFn: spec may be a ResNetConfig (or pointer); otherwise DefaultResNetConfig
// (ResNet-20) is used.
func ResNet(ctx *context.Context, spec any, inputs []*graph.Node) []*graph.Node {
	cfg := DefaultResNetConfig()
	switch c := spec.(type) {
	case ResNetConfig:
		cfg = c
	case *ResNetConfig:
		cfg = *c
	}
	return cfg.ModelFn(ctx, spec, inputs)
}

// AuthorsResNetWidths returns the stage widths of the authors' ResNets (BioLearn's resnetMini module) for
// inputs with inputChannels channels and numClasses classes: the first width is
// int((4·inputChannels + 2)/10 · numClasses), doubled at each of the two later stages. MNIST (1 channel,
// 10 classes): 6, 12, 24; CIFAR-10: 14, 28, 56; CIFAR-100: 140, 280, 560. It computes in integers, which
// matches the authors' float expression for these cases.
func AuthorsResNetWidths(inputChannels, numClasses int) []int {
	w := (4*inputChannels + 2) * numClasses / 10
	return []int{w, 2 * w, 4 * w}
}
