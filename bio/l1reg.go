package bio

// L1 regularisation (l1_reg): λ·Σ|W| over the converted layers (λ = l1_lambda). Its gradient λ·sign(W) is
// added to the layer's gradient by the bio step, first of its stages (the wrapped optimizer, or
// Converter.L1RegGradient in a custom step), and Convert adds its value to the training loss
// (train.AddLoss) for the loss to report it. (The reference computed the L1 norm of its own fuzzy factors
// under no_grad, which cannot regularise anything.)
//
// The gradient is added by the step rather than obtained by differentiating the loss term: GoMLX's
// backward pass would compute it from the weights alone at the start of the step and hold it, with sign(W)
// and the broadcast of λ, through the forward and backward passes (three kernel-sized buffers); the stage
// computes it from the anchored weights, after the layer's gradient, in one buffer.

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var l1Stage = stage{
	key:       "l1_reg",
	on:        func(c Config) bool { return c.L1Reg && c.L1Lambda != 0 },
	needsGrad: true,
	grad: func(ls *layerStep) {
		ls.grad = Add(ls.grad, ConvertDType(l1Gradient(ls.w0, ls.anchor, ls.cfg.L1Lambda), ls.grad.DType()))
	},
}

// L1RegGradient adds the L1 term's gradient λ·sign(W) to every converted layer's gradient, in a custom
// training step (λ = l1_lambda; nothing when l1_reg is off). Call it first, on the gradients of the loss:
// the term's value that Convert adds to the loss (train.AddLoss) carries no gradient.
func (c *Converter) L1RegGradient(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	p := c.snapshot()
	if !l1Stage.on(p.cfg) {
		return grads
	}
	return p.runGradientStage(ctx, g, grads, l1Stage)
}

// l1Gradient is λ·sign(w), sign(w) = clamp(w·2¹²⁶, −1, 1) as in signOf, with anchor (a scalar 0, or nil)
// added to the scale: the work then waits for it.
func l1Gradient(w, anchor *Node, lambda float64) *Node {
	scale := Scalar(w.Graph(), w.DType(), math.Ldexp(1, 126))
	if anchor != nil {
		scale = Add(scale, anchor)
	}
	return MulScalar(ClipScalar(Mul(w, scale), -1, 1), lambda)
}

// L1Reg returns Σ|W| of the layer's kernel, differentiable (BioModule.l1_reg; multiply by λ yourself, or
// enable l1_reg in the config to have Convert add λ·Σ|W| to the loss).
func (l *Layer) L1Reg(g *Graph) *Node {
	return l1Sum(l.Weights.ValueGraph(g))
}

// L1Reg returns Σ|W| over the converted layers in use by g (differentiable), or nil if there are none.
func (c *Converter) L1Reg(ctx *context.Context, g *Graph) *Node {
	return c.snapshot().l1Sum(ctx, g)
}

func (p *plan) l1Sum(ctx *context.Context, g *Graph) *Node {
	var ws []*Node
	for _, l := range p.discoverLayers(ctx.InAbsPath(context.RootScope)) {
		if l.Weights.InUseByGraph(g) {
			ws = append(ws, l.Weights.ValueGraph(g))
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return l1Sum(ws...)
}

// l1Loss is the value λ·Σ|W| when l1_reg is on, else nil. It carries no gradient: l1Stage adds λ·sign(W).
func (p *plan) l1Loss(ctx *context.Context, g *Graph) *Node {
	if !l1Stage.on(p.cfg) {
		return nil
	}
	var total *Node
	for _, l := range p.discoverLayers(ctx.InAbsPath(context.RootScope)) {
		if l.Weights.InUseByGraph(g) {
			// The gradient is stopped at the sum: a StopGradient of W would copy the kernel on the Go backend.
			t := StopGradient(reduceLeading(absolute(l.Weights.ValueGraph(g)), ReduceSum))
			if total == nil {
				total = t
			} else {
				total = Add(total, ConvertDType(t, total.DType()))
			}
		}
	}
	if total == nil {
		return nil
	}
	return MulScalar(total, p.cfg.L1Lambda)
}

// l1Sum is Σ|W| over the given kernels, as a scalar, differentiable: computed as Σ W ⊙ sign(W) with the
// sign held constant (StopGradient), so that its gradient is sign(W) itself — one multiplication, where
// differentiating GoMLX's Abs costs a Sign and a multiplication (Abs and Sign each cost eight
// multiplications on the Go backend).
func l1Sum(ws ...*Node) *Node {
	var total *Node
	for _, w := range ws {
		t := reduceLeading(Mul(w, StopGradient(signOf(w))), ReduceSum)
		if total == nil {
			total = t
		} else {
			total = Add(total, ConvertDType(t, total.DType()))
		}
	}
	return total
}
