package bio

// This file holds the mathematics of every mechanism as pure graph functions of their inputs (no context,
// no state), so each can be tested against a plain float64 computation. The layer and optimizer code
// (module.go, optimizer.go) wires them to variables.
//
// Axis conventions: a kernel W has one axis of presynaptic (input) units — 0 for Dense [in, out...],
// rank−2 for convolutions [k..., in, out] — and output units on the remaining non-spatial axes: 1.. for
// Dense, rank−1 for convolutions.

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// clampFactors clamps fuzzy factors to [lo, hi].
func clampFactors(s *Node, lo, hi float64) *Node {
	return ClipScalar(s, lo, hi)
}

// uniformSpread returns 2u − 1 ∈ [−1, 1) for u ~ U[0, 1).
func uniformSpread(rng *Node, shape shapes.Shape) (*Node, *Node) {
	rng, u := RandomUniform(rng, shape)
	return rng, AddScalar(MulScalar(u, 2), -1)
}

// sampleGamma draws Gamma(shape k, scale 1) by the Marsaglia–Tsang method, vectorised: `rounds` candidate
// draws per entry are made at once and the first accepted one is kept (acceptance ≥ 0.95 per round for
// k ≥ 1, so 8 rounds fail with probability < 1e-10; the rare failure falls back to the distribution's
// mode). For k < 1 it uses Gamma(k) = Gamma(k+1)·U^(1/k).
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

// DrawFuzzyFactors draws the per-weight fuzzy learning-rate factors s of the given shape for distribution
// dist with spread nu, clamped to [lo, hi] (Baseline gives exactly 1). It returns the advanced RNG state.
// LayerAdaptive, WeightAdaptive, Temporal and Activity start from Uniform draws: their adaptation is
// applied by the caller (see layerNu, WeightAdaptiveFactors).
func DrawFuzzyFactors(rng *Node, shape shapes.Shape, dist Distribution, nu, lo, hi float64) (*Node, *Node) {
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
	return rng, clampFactors(s, lo, hi)
}

// LayerNu is the spread of LayerAdaptive for layer index l of total L: ν(1 − 0.5·l/L).
func LayerNu(nu float64, l, total int) float64 {
	if total <= 0 {
		return nu
	}
	return nu * (1 - 0.5*float64(l)/float64(total))
}

// WeightAdaptiveFactors draws uniform factors with the per-weight spread ν_ij = ν·clamp(2 − |W_ij|/mean|W|,
// 0.5, 1.5), clamped to [lo, hi].
func WeightAdaptiveFactors(rng, w *Node, nu, lo, hi float64) (*Node, *Node) {
	absW := Abs(w)
	meanAbs := Max(ReduceAllMean(absW), Scalar(w.Graph(), w.DType(), 1e-12))
	spread := MulScalar(ClipScalar(OneMinus(AddScalar(Div(absW, meanAbs), -1)), 0.5, 1.5), nu)
	rng, e := uniformSpread(rng, w.Shape())
	return rng, clampFactors(OnePlus(Mul(e, spread)), lo, hi)
}

// TemporalDecay moves factors toward 1: s ← 1 + (s − 1)·decay.
func TemporalDecay(s *Node, decay float64) *Node {
	return OnePlus(MulScalar(AddScalar(s, -1), decay))
}

// ActivityFactors re-draws uniform factors whose spread per output unit j is ν_j = ν·clamp(2 − a_j/mean(a),
// 0.5, 1.5): units more active than the layer mean get factors closer to 1 (they are stabilised), quieter
// units more diverse ones. activity has the shape of W's output axes (outAxes), and is broadcast over the
// other axes. Results are clamped to [lo, hi].
func ActivityFactors(rng, w, activity *Node, outAxes []int, nu, lo, hi float64) (*Node, *Node) {
	meanA := Max(ReduceAllMean(activity), Scalar(w.Graph(), w.DType(), 1e-12))
	spread := MulScalar(ClipScalar(OneMinus(AddScalar(Div(activity, meanA), -1)), 0.5, 1.5), nu)
	spread = broadcastUnits(spread, w.Shape(), outAxes)
	rng, e := uniformSpread(rng, w.Shape())
	return rng, clampFactors(OnePlus(Mul(e, spread)), lo, hi)
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

// CrystallizeMask is (|G|/|W| < θ) OR (|G| > mean|W|). Where W = 0 the ratio is +∞, so the first clause is
// false there; the second still applies.
func CrystallizeMask(w, grad *Node, thresh float64) *Node {
	absW, absG := Abs(w), Abs(grad)
	zero := ZerosLike(absW)
	// |G| < θ·|W| is |G|/|W| < θ for W ≠ 0, and false for W = 0 (as +∞ < θ is false).
	small := LogicalAnd(GreaterThan(absW, zero), LessThan(absG, MulScalar(absW, thresh)))
	large := GreaterThan(absG, ReduceAllMean(absW))
	return LogicalOr(small, large)
}

// Crystallize dampens the factors of crystallized weights: s[mask] ← δ·s[mask]. Factors are allowed to
// decay below fuzzy_lr_min: a crystallized synapse keeps stabilising (the reference does not clamp here
// either). It returns the new factors and the mask.
func Crystallize(s, w, grad *Node, thresh, dampening float64) (newS, mask *Node) {
	mask = CrystallizeMask(w, grad, thresh)
	return Where(mask, MulScalar(s, dampening), s), mask
}

// VolumeFactors draws the volume-dependent learning-rate factors: v = |W|/(|W| + 1),
// μ = baseLR·exp(−stability·v), factor = |N(μ, variability·μ)| = |μ·(1 + variability·z)|.
func VolumeFactors(rng, w *Node, baseLR, stability, variability float64) (*Node, *Node) {
	absW := Abs(w)
	v := Div(absW, OnePlus(absW))
	mu := MulScalar(Exp(MulScalar(v, -stability)), baseLR)
	rng, z := RandomNormal(rng, w.Shape())
	return rng, Abs(Mul(mu, OnePlus(MulScalar(z, variability))))
}

// RejuvenationDraw applies the paper's rule: m = max|W|; τ = |N(0, m/d)| per weight; where |W| < τ the
// weight is replaced by a draw of U(−m, m). It returns the new weights and the replaced-mask.
//
// It draws one uniform u per weight instead of a normal and a uniform, with the same joint distribution:
// the replacement probability is p = P(|N(0, m/d)| > |W|) = erfc(|W|·d/(m·√2)); the weight is replaced
// where u < p, and then u/p is itself uniform on [0, 1), so m·(2u/p − 1) is the U(−m, m) draw. (In float32,
// probabilities below ~1e-7, for |W| > 5.3·m/d, round to 0.)
func RejuvenationDraw(rng, w *Node, dre float64) (newRNG, newW, mask *Node) {
	g := w.Graph()
	absW := Abs(w)
	m := ReduceAllMax(absW)
	positive := GreaterThan(m, ScalarZero(g, m.DType()))
	safeM := Where(positive, m, ScalarOne(g, m.DType()))
	p := OneMinus(Erf(MulScalar(Div(absW, safeM), dre/math.Sqrt2)))
	p = Where(positive, p, ZerosLike(p))
	rng, u := RandomUniform(rng, w.Shape())
	mask = LessThan(u, p)
	safeP := Where(mask, p, OnesLike(p))
	fresh := Mul(AddScalar(MulScalar(Div(u, safeP), 2), -1), m)
	return rng, Where(mask, fresh, w), mask
}

// DaleProject keeps every weight on the side of its input unit's sign: W ← relu(W ⊙ sign) ⊙ sign. sign has
// the kernel's shape (already broadcast).
func DaleProject(w, sign *Node) *Node {
	ws := Mul(w, sign)
	return Mul(Max(ws, ZerosLike(ws)), sign)
}

// DaleInit turns initial weights into Dale-compliant ones: W ← |W| ⊙ sign.
func DaleInit(w, sign *Node) *Node {
	return Mul(Abs(w), sign)
}

// DaleSigns draws one ±1 per input unit (inputAxis of shape) and broadcasts it to the kernel's shape.
func DaleSigns(rng *Node, shape shapes.Shape, inputAxis int) (*Node, *Node) {
	unitShape := shapes.Make(shape.DType, shape.Dimensions[inputAxis])
	rng, u := RandomUniform(rng, unitShape)
	g := u.Graph()
	sign := Where(LessThan(u, Scalar(g, u.DType(), 0.5)), Scalar(g, u.DType(), -1), Scalar(g, u.DType(), 1))
	return rng, broadcastUnits(sign, shape, []int{inputAxis})
}

// SynapticScalingTerm is the homeostatic gradient term: G ← G − γ·(F_T − a_j)·W_ij·|W_ij|, returned as the
// new gradient. activity holds a_j with the shape of W's output axes; target < 0 uses the layer mean of a.
func SynapticScalingTerm(grad, w, activity *Node, outAxes []int, gamma, target float64) *Node {
	var ft *Node
	if target < 0 {
		ft = ReduceAllMean(activity)
	} else {
		ft = Scalar(w.Graph(), activity.DType(), target)
	}
	deficit := broadcastUnits(Sub(ft, activity), w.Shape(), outAxes)
	return Sub(grad, MulScalar(Mul(deficit, Mul(w, Abs(w))), gamma))
}

// SplitGroups sums groups of Γ consecutive units along axis and gives the sum to every unit of the group
// (view as [..., C/Γ, Γ, ...], sum over Γ, repeat Γ times). The caller checks that Γ divides the axis.
func SplitGroups(y *Node, axis, gamma int) *Node {
	dims := y.Shape().Dimensions
	c := dims[axis]
	grouped := make([]int, 0, len(dims)+1)
	grouped = append(grouped, dims[:axis]...)
	grouped = append(grouped, c/gamma, gamma)
	grouped = append(grouped, dims[axis+1:]...)
	sums := ReduceAndKeep(Reshape(y, grouped...), ReduceSum, axis+1)
	bcast := append([]int(nil), grouped...)
	return Reshape(BroadcastToDims(sums, bcast...), dims...)
}

// L1Sum is Σ|W| over the given kernels, as a scalar (differentiable: sign(W) is its gradient).
func L1Sum(ws ...*Node) *Node {
	var total *Node
	for _, w := range ws {
		t := ReduceAllSum(Abs(w))
		if total == nil {
			total = t
		} else {
			total = Add(total, ConvertDType(t, total.DType()))
		}
	}
	return total
}
