package bio

// Volume-dependent learning rate (volume_dependent_lr), spine size against plasticity: every step the
// gradient is multiplied by fresh factors that shrink with the weight's magnitude,
//
//	v = |W|/(|W| + 1),  μ = base_lr·exp(−stability_factor·v),  factor = |N(μ, lr_variability·μ)| = μ·|1 + lr_variability·z|,
//
// with one standard normal z per weight and step (or, with factor_mode "update", the optimizer's update).

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

var volumeStage = stage{
	key: "volume_dependent_lr",
	on:  func(c Config) bool { return c.VolumeDependentLR },
	grad: func(ls *layerStep) {
		// μ, then the spread: the normal draw waits for μ, so that its buffers are not held beside |W| and
		// μ's (in either schedule: the parallel executor would otherwise start the draw first).
		mu := volumeMu(ls.abs0(), ls.cfg.BaseLR, ls.cfg.StabilityFactor)
		ls.mulFactor(mu)
		ls.then(ls.grad)
		ls.drawAfter(mu)
		ls.mulFactor(volumeSpread(ls.stream(), ls.w0.Shape(), ls.cfg.LRVariability))
	},
}

// VolumeDependentLR scales the gradient by fresh volume-dependent factors (BioModule.volume_dependent_lr).
func (l *Layer) VolumeDependentLR(ctx *context.Context, grad *Node) *Node {
	g := grad.Graph()
	r := l.newRNG(ctx, g)
	w := l.Weights.ValueGraph(g)
	grad = Mul(grad, ConvertDType(volumeMu(absolute(w), l.cfg.BaseLR, l.cfg.StabilityFactor), grad.DType()))
	grad = Mul(grad, ConvertDType(volumeSpread(r, w.Shape(), l.cfg.LRVariability), grad.DType()))
	r.save()
	return grad
}

// VolumeDependentLR multiplies every converted layer's gradient by fresh volume-dependent factors, in a
// custom training step.
func (c *Converter) VolumeDependentLR(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.snapshot().runGradientStage(ctx, g, grads, volumeStage)
}

// volumeMu is the factors' mean μ = baseLR·exp(−stability·|W|/(|W| + 1)), computed on the kernel's halves
// (inHalves: two chains of ops, one per core, on the Go backend; bit-identical): the stage's normal draw
// waits for μ, so nothing of the stage runs beside it.
func volumeMu(absW *Node, baseLR, stability float64) *Node {
	return inHalves(absW, func(a *Node) *Node {
		return Exp(AddScalar(MulScalar(Div(a, OnePlus(a)), -stability), math.Log(baseLR)))
	})
}

// volumeSpread is |1 + variability·z| with z standard normal, of the given shape. It is computed on the
// draw's two halves before they are joined (see normalEach): two chains, one per core, on the Go backend.
func volumeSpread(r *rngStream, shape shapes.Shape, variability float64) *Node {
	return r.normalEach(shape, variability, func(z *Node) *Node { return absolute(OnePlus(z)) })
}

// normal draws normal numbers N(0, std²) of the given shape by the Box–Muller transform, using both numbers
// of every pair — z₁ = ρ·cos θ and z₂ = ρ·sin θ with ρ = std·√(−2·ln(1 − u₁)) and θ = 2π·u₂ are
// independent — so it draws one uniform per number where GoMLX's RandomNormal draws two and keeps one of
// the pair; cos θ and sin θ come from turnCosSin, at float32 precision for a fifth of the cost of Cos and
// Sin on the Go backend; std enters ρ² as a constant; u₁ and u₂ come from two streams (uniformPair), drawn
// at once. An exact draw at a third of RandomNormal's cost.
func (r *rngStream) normal(shape shapes.Shape, std float64) *Node {
	return r.normalEach(shape, std, func(z *Node) *Node { return z })
}

// normalEach is fn(normal(shape, std)) for fn a chain of per-element ops, applied to the draw's halves (the
// z₁ and the z₂ of the pairs) before they are joined.
func (r *rngStream) normalEach(shape shapes.Shape, std float64, fn func(*Node) *Node) *Node {
	n := shape.Size()
	half := (n + 1) / 2
	halfShape := shapes.Make(shape.DType, half)
	u1, u2 := r.uniformPair(halfShape)
	rho := Sqrt(MulScalar(Log(OneMinus(u1)), -2*std*std))
	cos, sin := turnCosSin(u2)
	z := Concatenate([]*Node{fn(Mul(rho, cos)), fn(Mul(rho, sin))}, 0)
	if 2*half > n {
		z = Slice(z, AxisRange(0, n))
	}
	return Reshape(z, shape.Dimensions...)
}
