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

// L1RegGradient adds the L1 term's gradient λ·sign(W) (λ = l1_lambda) to every converted layer's gradient,
// in a custom training step. Call it first, on the gradients of the loss: the term's value that Convert adds
// to the loss (train.AddLoss, with l1_reg on) carries no gradient.
func (c *Converter) L1RegGradient(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.snapshot().runGradientStage(ctx, g, grads, l1Stage)
}

// l1Gradient is λ·sign(w) (signOf), computed after anchor (a scalar 0, or nil).
func l1Gradient(w, anchor *Node, lambda float64) *Node {
	return MulScalar(signOf(w, anchor), lambda)
}

// L1Reg returns Σ|W| of the layer's kernel, differentiable (BioModule.l1_reg): multiply it by λ and add
// it to your loss yourself, or enable l1_reg in the config (Convert then adds λ·Σ|W| to the loss, and the
// optimizer wrapper its gradient).
func (l *Layer) L1Reg(g *Graph) *Node {
	return l1Sum(l.Weights.ValueGraph(g))
}

// L1Reg returns Σ|W| over the converted layers in use by g (differentiable), or nil if there are none.
func (c *Converter) L1Reg(ctx *context.Context, g *Graph) *Node {
	if ws := c.snapshot().kernelsInUse(ctx, g); len(ws) > 0 {
		return l1Sum(ws...)
	}
	return nil
}

// l1Loss is the value λ·Σ|W| when l1_reg is on, else nil. It carries no gradient: l1Stage adds λ·sign(W).
// The gradient is stopped at each layer's sum: a StopGradient of W would copy the kernel on the Go backend.
func (p *plan) l1Loss(ctx *context.Context, g *Graph) *Node {
	ws := p.kernelsInUse(ctx, g)
	if !l1Stage.on(p.cfg) || len(ws) == 0 {
		return nil
	}
	return MulScalar(sumOver(ws, func(w *Node) *Node { return StopGradient(reduceLeading(absolute(w), ReduceSum)) }),
		p.cfg.L1Lambda)
}

// kernelsInUse returns the kernels of the converted layers in use by g.
func (p *plan) kernelsInUse(ctx *context.Context, g *Graph) []*Node {
	var ws []*Node
	for _, l := range p.discoverLayers(ctx.InAbsPath(context.RootScope)) {
		if l.Weights.InUseByGraph(g) {
			ws = append(ws, l.Weights.ValueGraph(g))
		}
	}
	return ws
}

// l1Sum is Σ|W| over the given kernels, as a scalar, differentiable: computed as Σ W ⊙ sign(W) with the
// sign held constant (StopGradient), so that its gradient is sign(W) itself — one multiplication, where
// differentiating GoMLX's Abs costs a Sign and a multiplication (Abs and Sign each cost eight
// multiplications on the Go backend).
func l1Sum(ws ...*Node) *Node {
	return sumOver(ws, func(w *Node) *Node { return reduceLeading(Mul(w, StopGradient(signOf(w, nil))), ReduceSum) })
}

// sumOver is the sum of the scalars term(w) over ws (in the dtype of the first).
func sumOver(ws []*Node, term func(w *Node) *Node) *Node {
	var total *Node
	for _, w := range ws {
		if t := term(w); total == nil {
			total = t
		} else {
			total = Add(total, ConvertDType(t, total.DType()))
		}
	}
	return total
}
