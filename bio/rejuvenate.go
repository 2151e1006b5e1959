package bio

// Rejuvenation (rejuvenate_weights), spontaneous spine remodeling, the paper's rule: with m = max|W| of the
// layer, every weight draws a threshold τ = |N(0, m/d)| (d = rejuvenation_parameter_dre), and where
// |W| < τ it is replaced by a draw of U(−m, m). It runs every rejuvenation_period steps.
//
// Within a training step the draw is made from the weights the gradient was computed for — the weights
// before the update, as in the paper's loop, which rejuvenated between the backward pass and the optimizer
// step — and the replaced weights start from their fresh value: the optimizer's step for the old weight is
// not added to them, and the optimizer's state of the replaced entries (e.g. Adam's moments) is cleared.
// Between steps, Converter.RejuvenateWeights applies the same rule to the current weights.

import (
	"math"
	"strings"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var rejuvenateStage = stage{
	key: "rejuvenate_weights",
	on:  func(c Config) bool { return c.RejuvenateWeights },
	after: func(ls *layerStep) {
		var on *Node
		if ls.step != nil && ls.cfg.RejuvenationPeriod > 1 { // within a training step: every period steps
			on = everyNFactor(ls.ctx, ls.g, ls.cfg.RejuvenationPeriod, ls.w0.DType())
		}
		fresh, mask := rejuvenationDraw(ls.stream(), ls.abs0(), ls.cfg.RejuvenationParameterDre, on)
		ls.Weights.SetValueGraph(Where(mask, fresh, ls.Weights.ValueGraph(ls.g)))
		ls.resetOptimizerState(ls.ctx, ls.g, mask)
		ls.rejuvenated = mask
	},
}

// RejuvenateWeights replaces weights below a random threshold by fresh draws (BioModule.rejuvenate_weights,
// the paper's rule). It sets the weights in the graph and returns the mask of replaced entries; the
// optimizer's state of the replaced entries is not touched (Converter.RejuvenateWeights clears it).
func (l *Layer) RejuvenateWeights(ctx *context.Context, g *Graph) *Node {
	r := l.newRNG(ctx, g)
	w := l.Weights.ValueGraph(g)
	fresh, mask := rejuvenationDraw(r, absolute(w), l.cfg.RejuvenationParameterDre, nil)
	r.save()
	l.Weights.SetValueGraph(Where(mask, fresh, w))
	return mask
}

// RejuvenateWeights applies rejuvenation to every converted layer now, between training steps, and clears
// the optimizer's state of the replaced weights. Use it instead of the per-step rejuvenation
// (rejuvenate_weights off in the config) to rejuvenate every N steps at no cost on the other steps:
//
//	train.EveryNSteps(loop, 100, "rejuvenation", 0, func(*train.Loop, []*tensors.Tensor) error {
//		return conv.RejuvenateWeights(backend, ctx)
//	})
func (c *Converter) RejuvenateWeights(backend backends.Backend, ctx *context.Context) error {
	return c.snapshot().runWeightStage(backend, ctx, rejuvenateStage)
}

// rejuvenationDraw applies the paper's rule to weights of magnitude absW: m = max|W|; where a threshold
// τ = |N(0, m/d)| exceeds |W|, the weight is replaced by a draw of U(−m, m). It returns the replacements
// (meaningful where the mask is true) and the mask. on, if not nil, is a scalar 0 or 1 that switches the
// replacement off or on.
//
// It draws one uniform u per weight instead of a normal and a uniform, with the same joint distribution:
// the replacement probability is p = P(|N(0, m/d)| > |W|) = erfc(|W|·d/(m·√2)); the weight is replaced
// where u < p, and then u/p is itself uniform on [0, 1), so m·(2u/p − 1) is the U(−m, m) draw.
func rejuvenationDraw(r *rngStream, absW *Node, dre float64, on *Node) (fresh, mask *Node) {
	m := maxAll(absW)
	// In an all-zero layer (m = 0) the scale is +∞ and |W|·scale = 0·∞ = NaN, so p is NaN and u < p false
	// everywhere: nothing is replaced, at no cost. erfc, half of the stage's work, runs on the
	// kernel's halves, on two cores (inHalves).
	scale := DivScalar(Reciprocal(m), math.Sqrt2/dre)
	p := inHalves(absW, func(half *Node) *Node { return erfc(Mul(half, scale)) })
	if on != nil {
		p = Mul(p, on)
	}
	// u < p exactly when u/p < 1 (for p > 0 the quotient of u ≤ pred(p) rounds to at most 1 − 2⁻²⁴; for
	// p = 0 or NaN it is +∞ or NaN): comparing the quotient lets u and p go after one use.
	ratio := Div(r.uniform(absW.Shape()), p)
	mask = LessThan(ratio, ScalarOne(ratio.Graph(), ratio.DType()))
	fresh = Sub(Mul(ratio, MulScalar(m, 2)), m) // meaningful where the mask is true
	return fresh, mask
}

// erfc is the complementary error function of x ≥ 0, erfc(x) = 1 − erf(x), evaluated as
// t·exp(−x² + P(t)) with t = 1/(1 + x/2) and the degree-9 polynomial P of Press et al., Numerical Recipes
// (2nd ed., §6.2), whose relative error is below 1.2e-7 for every x ≥ 0: float32 precision, also in the
// tail, where 1 − erf(x) in float32 rounds to 0 for erfc(x) < 6e-8. Built from one exponential and
// additions and multiplications, it costs a third of GoMLX's Erf on the Go backend. It runs on r =
// 1/(2 + x) = t/2, with the powers of 2 folded into P's coefficients and the last factor 2 into its
// constant term (+ln 2): one multiplication fewer.
func erfc(x *Node) *Node {
	coefficients := []float64{-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
		-1.13520398, 1.48851587, -0.82215223, 0.17087277}
	r := Reciprocal(AddScalar(x, 2))
	n := len(coefficients) - 1
	poly := MulScalar(r, math.Ldexp(coefficients[n], n))
	for i := n - 1; i >= 1; i-- {
		poly = Mul(r, AddScalar(poly, math.Ldexp(coefficients[i], i)))
	}
	poly = AddScalar(poly, coefficients[0]+math.Ln2)
	return Mul(r, Exp(Sub(poly, Square(x))))
}

// resetOptimizerState clears, at the masked entries, the optimizer's per-weight state of the layer: the
// non-trainable variables with the kernel's shape, named "weights_…", in the scope "/<optimizer scope><layer
// scope>" (GoMLX's Adam keeps "/AdamOptimizer<layer scope>/weights_1st_moment" and "_2nd_moment"), so that a
// re-initialised weight does not inherit the momentum of the one it replaced.
func (l *Layer) resetOptimizerState(ctx *context.Context, g *Graph, mask *Node) {
	for v := range ctx.IterVariables() {
		if v.Trainable || v == l.Weights || !strings.HasPrefix(v.Name(), l.Weights.Name()+"_") ||
			stripFirstScope(v.Scope()) != l.Scope || strings.HasPrefix(v.Scope(), StateScope+"/") ||
			!v.Shape().Equal(l.Weights.Shape()) || !v.HasValue() && !v.InUseByGraph(g) {
			continue
		}
		val := v.ValueGraph(g)
		v.SetValueGraph(Where(mask, ScalarZero(g, val.DType()), val))
	}
}

// stripFirstScope removes the first element of an absolute scope: "/AdamOptimizer/model/dense" → "/model/dense".
func stripFirstScope(scope string) string {
	if i := strings.Index(strings.TrimPrefix(scope, "/"), "/"); i >= 0 {
		return scope[i+1:]
	}
	return ""
}
