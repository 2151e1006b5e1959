package bio

// Graph building blocks chosen for their cost on GoMLX's pure-Go backend, where every op is its own pass
// over memory and ops differ widely in cost (measured on a [784, 1000] float32 tensor, see cmd/biobench
// -ops): Add, Sub, Mul, Max and comparisons take 0.3–1 ms; Abs 3.6 ms (a branch per element); Where
// 3.3 ms; a bool→float conversion 3.9 ms; ReduceAllMax 4.2 ms, but ReduceMax over the leading axis 1.9 ms.
// The results are exactly those of the obvious ops.

import (
	"math"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// absolute is |x|, as max(x, −x): exact, and a third of Abs's cost on the Go backend.
func absolute(x *Node) *Node {
	return Max(x, Neg(x))
}

// reduceLeading reduces x to a scalar with reduce, over its leading axis first: the Go backend reduces
// over the leading axis of a [784, 1000] tensor twice as fast as over all axes at once.
func reduceLeading(x *Node, reduce func(*Node, ...int) *Node) *Node {
	for x.Rank() > 0 {
		x = reduce(x, 0)
	}
	return x
}

// maxAll is the largest element of x.
func maxAll(x *Node) *Node { return reduceLeading(x, ReduceMax) }

// meanAll is the mean of the elements of x.
func meanAll(x *Node) *Node {
	return DivScalar(reduceLeading(x, ReduceSum), float64(x.Shape().Size()))
}

// inHalves computes fn, a chain of per-element ops, on the two halves of x along its leading axis and
// concatenates the results along it. The Go backend runs each op on one core, so a chain on a whole kernel
// keeps one core busy; on the halves it becomes two independent chains that the parallel executor runs on
// two cores at once (cmd/biobench: the authors' loop, fuzzy + rejuvenation, 4 ms a step faster on FCNet).
// The result is bit-identical to fn(x). Inputs smaller than minSplitSize elements, or with a leading axis
// of 1, are not split: there the slices and the concatenation would cost more than they save; nor are they
// on other backends: XLA runs one op on every core and fuses such chains, and the split would only add the
// concatenation.
func inHalves(x *Node, fn func(half *Node) *Node) *Node {
	_, goBackend := x.Graph().Backend().(*simplego.Backend)
	if !goBackend || x.Rank() == 0 || x.Shape().Dimensions[0] < 2 || x.Shape().Size() < minSplitSize {
		return fn(x)
	}
	rows := x.Shape().Dimensions[0]
	first, second := Slice(x, AxisRange(0, rows/2)), Slice(x, AxisRange(rows/2, rows))
	return Concatenate([]*Node{fn(first), fn(second)}, 0)
}

// minSplitSize is the size from which inHalves splits its inputs: 2¹⁶ elements, where one arithmetic pass
// takes about 0.05 ms on the Go backend, several times the cost of scheduling the extra ops.
const minSplitSize = 1 << 16

// signOf is sign(x) ∈ {−1, 0, 1} as clamp(x·2¹²⁶, −1, 1): exact for every normal float32 and for 0;
// a subnormal x (|x| < 1.2e-38) gets a value between −1 and 1, a subgradient of |x| at 0 as valid as
// sign(0) = 0. It costs a third of GoMLX's Sign on the Go backend. anchor, a scalar 0 or nil, is added to
// the factor 2¹²⁶: the work then waits for it (see anchorOn).
func signOf(x, anchor *Node) *Node {
	scale := Scalar(x.Graph(), x.DType(), math.Ldexp(1, 126))
	if anchor != nil {
		scale = Add(scale, anchor)
	}
	return ClipScalar(Mul(x, scale), -1, 1)
}

// turnCosSin returns cos θ and sin θ for θ = 2π·u, u ∈ [0, 1), from polynomials: with φ = π·u − π/2 ∈
// [−π/2, π/2), θ = 2φ + π, so cos θ = 1 − 2·cos²φ and sin θ = −2·sin φ·cos φ, where cos φ and sin φ are
// their Taylor polynomials to degree 12 and 13 (truncation error below 7e-9 on [−π/2, π/2]), evaluated by
// Horner's rule in q = φ² with the constants folded into the coefficients: c = √2·cos φ and s = −√2·sin φ,
// so that cos θ = 1 − c² and sin θ = s·c. The results are exact to float32 precision (absolute error a few
// 1e-7), from 31 additions and multiplications on the Go backend, where Cos and Sin (float64 library calls
// per element) cost five times more.
func turnCosSin(u *Node) (cos, sin *Node) {
	phi := AddScalar(MulScalar(u, math.Pi), -math.Pi/2)
	q := Square(phi)
	// cos φ = Σ (−q)ᵏ/(2k)!, sin φ = φ·Σ (−q)ᵏ/(2k+1)!, k = 0..6.
	horner := func(coefficient func(k int) float64) *Node {
		p := AddScalar(MulScalar(q, coefficient(6)), coefficient(5))
		for k := 4; k >= 0; k-- {
			p = AddScalar(Mul(q, p), coefficient(k))
		}
		return p
	}
	term := func(k, offset int) float64 { // (−1)ᵏ/(2k+offset)!
		f := 1.0
		for i := 2; i <= 2*k+offset; i++ {
			f *= float64(i)
		}
		return math.Pow(-1, float64(k)) / f
	}
	c := horner(func(k int) float64 { return math.Sqrt2 * term(k, 0) })
	s := Mul(phi, horner(func(k int) float64 { return -math.Sqrt2 * term(k, 1) }))
	return OneMinus(Square(c)), Mul(s, c)
}

// zeroAfter returns a scalar 0 of dtype computed from x's first element: an input that makes the work using it
// wait for x, at the cost of a few scalar ops. Any value of x gives 0: it is clipped before the product
// (∞·0 is NaN), and NaN (≠ itself) is replaced, so that no value of x reaches that work through it.
func zeroAfter(x *Node, dtype dtypes.DType) *Node {
	corner := make([]SliceAxisSpec, x.Rank()) // the first element, sliced in place: reshaping x would copy it
	for i := range corner {
		corner[i] = AxisRange(0, 1)
	}
	first := ConvertDType(Reshape(Slice(x, corner...)), dtype)
	return Where(Equal(first, first), MulScalar(ClipScalar(first, -1, 1), 0), ScalarZero(x.Graph(), dtype))
}
