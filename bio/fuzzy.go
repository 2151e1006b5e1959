package bio

// Fuzzy learning rates (fuzzy_learning_rates): every weight has its own fixed factor s, drawn once from
// Config.FuzzyLRDistribution and clamped to [fuzzy_lr_min, fuzzy_lr_max]; every step the gradient is
// multiplied by s (G ← G ⊙ s), or, with factor_mode "update", the optimizer's update. Crystallization
// dampens s (crystallize.go). Temporal and Activity factors are updated every fuzzy_lr_update_freq steps
// when fuzzy_lr_dynamic is on.
//
// Axis conventions: a kernel W has one axis of presynaptic (input) units — 0 for Dense [in, out...],
// rank−2 for convolutions [k..., in, out] — and output units on the remaining non-spatial axes.

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// fuzzyStage multiplies the step's factors by s. It also runs with crystallization alone: the factors then
// start at 1, and only crystallization changes them.
var fuzzyStage = stage{
	key: "fuzzy_learning_rates",
	on:  func(c Config) bool { return c.FuzzyLearningRates || c.Crystallize },
	grad: func(ls *layerStep) {
		s := ls.factorsVar(ls.ctx)
		if ls.cfg.FuzzyLearningRates && ls.cfg.FuzzyLRDistribution == WeightAdaptive {
			ls.drawWeightAdaptive(s)
		}
		ls.mulFactor(s.ValueGraph(ls.g))
	},
}

// dynamicFactorsStage moves Temporal factors toward 1, or re-draws Activity factors, every
// fuzzy_lr_update_freq steps.
var dynamicFactorsStage = stage{
	key: "fuzzy_lr_dynamic",
	on: func(c Config) bool {
		return c.FuzzyLearningRates && c.FuzzyLRDynamic && (c.FuzzyLRDistribution == Temporal || c.FuzzyLRDistribution == Activity)
	},
	after: func(ls *layerStep) {
		sv := ls.factorsVar(ls.ctx)
		s, cfg := sv.ValueGraph(ls.g), ls.cfg
		var next *Node
		if cfg.FuzzyLRDistribution == Temporal {
			next = temporalDecay(s, cfg.FuzzyLRDecay)
		} else {
			a := ls.activityVar(ls.ctx).ValueGraph(ls.g)
			r := ls.stream()
			r.state, next = activityFactors(r.state, ls.Weights.ValueGraph(ls.g), Max(a, ZerosLike(a)), ls.OutputAxes,
				cfg.FuzzyLearningRateFactorNu, cfg.FuzzyLRMin, cfg.FuzzyLRMax)
		}
		sv.SetValueGraph(Where(everyN(ls.ctx, ls.g, cfg.FuzzyLRUpdateFreq), next, s))
	},
}

// factorsVar returns the per-weight plasticity factors s (fuzzy learning rates, dampened by
// crystallization): a non-trainable variable with the kernel's shape, drawn once from the configured
// distribution with the configured seed (ones when fuzzy learning rates are off, and for WeightAdaptive,
// which is drawn from the weights at the first step).
func (l *Layer) factorsVar(ctx *context.Context) *context.Variable {
	cfg := l.cfg
	seed := seedFor(cfg.Seed, l.Scope, "fuzzy")
	return l.stateVar(ctx, "fuzzy_factors", l.Weights.Shape(), func(g *Graph, shape shapes.Shape) *Node {
		if !cfg.FuzzyLearningRates || cfg.FuzzyLRDistribution == WeightAdaptive {
			return Ones(g, shape)
		}
		nu := cfg.FuzzyLearningRateFactorNu
		if cfg.FuzzyLRDistribution == LayerAdaptive {
			nu = layerNu(nu, l.Position, l.Count)
		}
		_, s := drawFuzzyFactors(RNGStateFromSeedForGraph(g, seed), shape, cfg.FuzzyLRDistribution, nu,
			cfg.FuzzyLRMin, cfg.FuzzyLRMax)
		return s
	})
}

// drawWeightAdaptive draws the WeightAdaptive factors from the weights at the layer's first step.
func (ls *layerStep) drawWeightAdaptive(s *context.Variable) {
	ready := ls.stateCtx(ls.ctx).VariableWithValue("weight_adaptive_drawn", false).SetTrainable(false)
	r := ls.stream()
	var drawn *Node
	r.state, drawn = weightAdaptiveFactors(r.state, ls.w0, ls.cfg.FuzzyLearningRateFactorNu, ls.cfg.FuzzyLRMin, ls.cfg.FuzzyLRMax)
	s.SetValueGraph(Where(ready.ValueGraph(ls.g), s.ValueGraph(ls.g), drawn))
	ready.SetValueGraph(Const(ls.g, true))
}

// FuzzyLearningRates scales the gradient by the layer's factors: G ⊙ s (BioModule.fuzzy_learning_rates).
func (l *Layer) FuzzyLearningRates(ctx *context.Context, grad *Node) *Node {
	return Mul(grad, l.factorsVar(ctx).ValueGraph(grad.Graph()))
}

// FuzzyLearningRates multiplies every converted layer's gradient by its fuzzy factors, in a custom training
// step (the model-level functions are described in modellevel.go).
func (c *Converter) FuzzyLearningRates(ctx *context.Context, g *Graph, grads []*Node) []*Node {
	return c.snapshot().runGradientStage(ctx, g, grads, fuzzyStage)
}

// drawFuzzyFactors draws the per-weight fuzzy learning-rate factors s of the given shape for distribution
// dist with spread nu, clamped to [lo, hi] (Baseline gives exactly 1). It returns the advanced RNG state.
// LayerAdaptive, WeightAdaptive, Temporal and Activity start from Uniform draws: their adaptation is
// applied by the caller (see layerNu, weightAdaptiveFactors).
//
//   - Uniform: s = 1 + ν(2u − 1), u ~ U[0, 1);
//   - Normal: s = 1 + N(0, ν);
//   - LogNormal: s = exp(N(−ν²/2, ν)), mean 1;
//   - Gamma: s ~ Gamma(shape 1/ν², scale ν²), mean 1 and std ν;
//   - Beta: s = 1 + ν(2·Beta(1/ν, 1/ν) − 1).
func drawFuzzyFactors(rng *Node, shape shapes.Shape, dist Distribution, nu, lo, hi float64) (*Node, *Node) {
	g := rng.Graph()
	if dist == Baseline || nu == 0 {
		return rng, Ones(g, shape)
	}
	var s *Node
	switch dist {
	case Normal:
		var z *Node
		rng, z = RandomNormal(rng, shape)
		s = OnePlus(MulScalar(z, nu))
	case LogNormal:
		var z *Node
		rng, z = RandomNormal(rng, shape)
		s = Exp(AddScalar(MulScalar(z, nu), -nu*nu/2))
	case Gamma:
		var x *Node
		rng, x = sampleGamma(rng, shape, 1/(nu*nu))
		s = MulScalar(x, nu*nu)
	case Beta:
		var x, y *Node
		rng, x = sampleGamma(rng, shape, 1/nu)
		rng, y = sampleGamma(rng, shape, 1/nu)
		b := Div(x, Add(x, y))
		s = OnePlus(MulScalar(AddScalar(MulScalar(b, 2), -1), nu))
	default: // Uniform and the adaptive/dynamic strategies, which start from uniform draws.
		var e *Node
		rng, e = uniformSpread(rng, shape)
		s = OnePlus(MulScalar(e, nu))
	}
	return rng, ClipScalar(s, lo, hi)
}

// uniformSpread returns 2u − 1 ∈ [−1, 1) for u ~ U[0, 1).
func uniformSpread(rng *Node, shape shapes.Shape) (*Node, *Node) {
	rng, u := RandomUniform(rng, shape)
	return rng, AddScalar(MulScalar(u, 2), -1)
}

// sampleGamma draws Gamma(shape k, scale 1) by the Marsaglia–Tsang method, vectorised: `rounds` candidate
// draws per entry are made at once and the first accepted one is kept (acceptance ≥ 0.95 per round for
// k ≥ 1, so 8 rounds fail with probability < 1e-10; the rare failure falls back to the distribution's
// mode). For k < 1 it uses Gamma(k) = Gamma(k+1)·U^(1/k). It runs once, when the factors are created.
func sampleGamma(rng *Node, shape shapes.Shape, k float64) (*Node, *Node) {
	const rounds = 8
	boost := k < 1
	kk := k
	if boost {
		kk = k + 1
	}
	d := kk - 1.0/3.0
	c := 1 / math.Sqrt(9*d)
	roundShape := shapes.Make(shape.DType, append([]int{rounds}, shape.Dimensions...)...)
	rng, z := RandomNormal(rng, roundShape)
	rng, u := RandomUniform(rng, roundShape)
	v := OnePlus(MulScalar(z, c))
	v3 := Mul(Mul(v, v), v)
	// Accept where v > 0 and log u < z²/2 + d − d·v³ + d·log(v³).
	safeV3 := Max(v3, ScalarOne(v3.Graph(), v3.DType()))
	safeV3 = Where(GreaterThan(v3, ZerosLike(v3)), v3, safeV3)
	rhs := Add(AddScalar(MulScalar(Mul(z, z), 0.5), d), Sub(MulScalar(Log(safeV3), d), MulScalar(safeV3, d)))
	logU := Log(Max(u, Scalar(u.Graph(), u.DType(), 1e-30)))
	accepted := LogicalAnd(GreaterThan(v3, ZerosLike(v3)), LessThan(logU, rhs))
	candidates := MulScalar(v3, d)
	result := BroadcastToShape(Scalar(z.Graph(), shape.DType, d), shape) // fallback: the mode d
	for r := rounds - 1; r >= 0; r-- {
		acc := Squeeze(Slice(accepted, AxisElem(r)), 0)
		cand := Squeeze(Slice(candidates, AxisElem(r)), 0)
		result = Where(acc, cand, result)
	}
	if boost {
		var ub *Node
		rng, ub = RandomUniform(rng, shape)
		ub = Max(ub, Scalar(ub.Graph(), ub.DType(), 1e-30))
		result = Mul(result, Pow(ub, Scalar(ub.Graph(), ub.DType(), 1/k)))
	}
	return rng, result
}

// layerNu is the spread of LayerAdaptive for layer index l of total L: ν(1 − 0.5·l/L).
func layerNu(nu float64, l, total int) float64 {
	if total <= 0 {
		return nu
	}
	return nu * (1 - 0.5*float64(l)/float64(total))
}

// weightAdaptiveFactors draws uniform factors with the per-weight spread ν_ij = ν·clamp(2 − |W_ij|/mean|W|,
// 0.5, 1.5), clamped to [lo, hi].
func weightAdaptiveFactors(rng, w *Node, nu, lo, hi float64) (*Node, *Node) {
	absW := Abs(w)
	meanAbs := Max(ReduceAllMean(absW), Scalar(w.Graph(), w.DType(), 1e-12))
	spread := MulScalar(ClipScalar(OneMinus(AddScalar(Div(absW, meanAbs), -1)), 0.5, 1.5), nu)
	rng, e := uniformSpread(rng, w.Shape())
	return rng, ClipScalar(OnePlus(Mul(e, spread)), lo, hi)
}

// temporalDecay moves factors toward 1: s ← 1 + (s − 1)·decay.
func temporalDecay(s *Node, decay float64) *Node {
	return OnePlus(MulScalar(AddScalar(s, -1), decay))
}

// activityFactors re-draws uniform factors whose spread per output unit j is ν_j = ν·clamp(2 − a_j/mean(a),
// 0.5, 1.5): units more active than the layer mean get factors closer to 1 (they are stabilised), quieter
// units more diverse ones. activity has the shape of W's output axes (outAxes), and is broadcast over the
// other axes. Results are clamped to [lo, hi].
func activityFactors(rng, w, activity *Node, outAxes []int, nu, lo, hi float64) (*Node, *Node) {
	meanA := Max(ReduceAllMean(activity), Scalar(w.Graph(), w.DType(), 1e-12))
	spread := MulScalar(ClipScalar(OneMinus(AddScalar(Div(activity, meanA), -1)), 0.5, 1.5), nu)
	spread = broadcastUnits(spread, w.Shape(), outAxes)
	rng, e := uniformSpread(rng, w.Shape())
	return rng, ClipScalar(OnePlus(Mul(e, spread)), lo, hi)
}

// broadcastUnits broadcasts a per-unit tensor (whose axes are `axes` of shape, in order) to shape.
func broadcastUnits(perUnit *Node, shape shapes.Shape, axes []int) *Node {
	dims := make([]int, shape.Rank())
	for i := range dims {
		dims[i] = 1
	}
	for _, a := range axes {
		dims[a] = shape.Dimensions[a]
	}
	return BroadcastToDims(Reshape(perUnit, dims...), shape.Dimensions...)
}
