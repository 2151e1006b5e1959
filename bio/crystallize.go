package bio

// Crystallization (crystallize), synaptic stabilisation: every step, the factors s of the weights whose
// gradient is tiny relative to the weight or larger than the layer's mean weight are dampened,
//
//	mask = (|G|/|W| < θ) OR (|G| > mean|W|),  s[mask] ← δ·s[mask],
//
// with θ = crystal_thresh and δ = dampening_factor. G is the gradient after the fuzzy factors (G ⊙ s, as in
// the reference's loop; the raw gradient with factor_mode "update"). The dampened factors act from the next
// step on. Where W = 0 the ratio is +∞, so only the second clause can crystallize. Factors may decay below
// fuzzy_lr_min: a crystallized synapse keeps stabilising (the reference does not clamp here either).

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var crystallizeStage = stage{
	key:       "crystallize",
	on:        func(c Config) bool { return c.Crystallize },
	needsGrad: true,
	grad: func(ls *layerStep) {
		// The probe is the gradient as the optimizer will see it: times the fuzzy factors applied so far,
		// except with factor_mode "update", where the gradient stays raw.
		sv := ls.factorsVar(ls.ctx)
		var dampened *Node
		dampened, ls.crystallized = crystallize(sv.ValueGraph(ls.g), ls.abs0(), ls.grad, ls.cfg.CrystalThresh,
			ls.cfg.DampeningFactor)
		sv.SetValueGraph(dampened)
		ls.then(ls.crystallized)
	},
}

// Crystallize dampens the factors of the weights whose gradient is tiny relative to the weight or larger
// than the layer's mean weight (BioModule.crystallize): s[mask] ← δ·s[mask]. It returns the mask.
func (l *Layer) Crystallize(ctx *context.Context, grad *Node) *Node {
	g := grad.Graph()
	sv := l.factorsVar(ctx)
	s, mask := crystallize(sv.ValueGraph(g), absolute(l.Weights.ValueGraph(g)), grad, l.cfg.CrystalThresh,
		l.cfg.DampeningFactor)
	sv.SetValueGraph(s)
	return mask
}

// Crystallize dampens the factors of every converted layer from its gradient (the gradient after the fuzzy
// factors, as the reference's loop has it), in a custom training step; the gradients are returned
// unchanged: the dampened factors act through FuzzyLearningRates from the next step on.
func (c *Converter) Crystallize(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.snapshot().runGradientStage(ctx, g, grads, crystallizeStage)
}

// crystallizeMask is (|G| < θ·|W|) OR (|G| > mean|W|), computed as max(|G| − mean|W|, θ·|W| − |G|) > 0: the
// sign of a float difference is exact, and one comparison costs less than two and a logical or. For W = 0,
// θ·|W| − |G| ≤ 0, so the first clause is false there, as |G|/|W| = +∞ < θ is.
//
// θ·|W| waits for the mean, and |G| − mean for θ·|W| − |G| (through scalar zeros taken from them, see
// zeroAfter): each of them is then the last use of its kernel-sized input, which the Go backend
// overwrites, and the mask holds three such buffers (the gradient, |W| and |G|) instead of five.
func crystallizeMask(absW, grad *Node, thresh float64) *Node {
	absG := absolute(grad)
	meanAbsW := meanAll(absW)
	dtype := absW.DType()
	below := Sub(Mul(absW, AddScalar(zeroAfter(meanAbsW, dtype), thresh)), absG)
	above := Sub(absG, Add(meanAbsW, zeroAfter(below, dtype)))
	return GreaterThan(Max(above, below), ZerosLike(meanAbsW))
}

// crystallize dampens the factors of crystallized weights: s[mask] ← δ·s[mask]. It returns the new factors
// and the mask. absW is |W|.
func crystallize(s, absW, grad *Node, thresh, dampening float64) (newS, mask *Node) {
	mask = crystallizeMask(absW, ConvertDType(grad, absW.DType()), thresh)
	return dampen(s, mask, dampening), mask
}

// dampen is s with s[mask] ← δ·s[mask]. δ·s is computed as s·(z + δ) with z a scalar 0 taken from the mask:
// δ·s depends on s alone, and GoMLX's parallel executor would compute it at the start of the step and hold
// it through the forward and backward passes, or beside the mask's buffers; after the mask it is the last
// product before the selection, at the cost of a few scalar ops.
func dampen(s, mask *Node, dampening float64) *Node {
	dampened := Mul(s, AddScalar(zeroAfter(mask, s.DType()), dampening))
	return Where(mask, dampened, s)
}
