package bio

// L1 regularisation (l1_reg): λ·Σ|W| over the converted layers (λ = l1_lambda), added to the training loss
// by Convert (train.AddLoss), differentiable: its gradient is λ·sign(W). (The reference computed the L1
// norm of its own fuzzy factors under no_grad, which cannot regularise anything.)

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

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

// l1Loss is λ·Σ|W| when l1_reg is on, else nil.
func (p *plan) l1Loss(ctx *context.Context, g *Graph) *Node {
	if !p.cfg.L1Reg || p.cfg.L1Lambda == 0 {
		return nil
	}
	if sum := p.l1Sum(ctx, g); sum != nil {
		return MulScalar(sum, p.cfg.L1Lambda)
	}
	return nil
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
