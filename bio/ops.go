package bio

// Graph building blocks chosen for their cost on GoMLX's pure-Go backend, where every op is its own pass
// over memory and ops differ widely in cost (measured on a [784, 1000] float32 tensor, see cmd/biobench
// -ops): Add, Sub, Mul, Max and comparisons take 0.3–1 ms; Abs 3.6 ms (a branch per element); Where
// 3.3 ms; a bool→float conversion 3.9 ms; ReduceAllMax 4.2 ms, but ReduceMax over the leading axis 1.9 ms.
// The results are exactly those of the obvious ops.

import (
	"math"

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

// signOf is sign(x) ∈ {−1, 0, 1} as clamp(x·2¹²⁶, −1, 1): exact for every normal float32 and for 0;
// a subnormal x (|x| < 1.2e-38) gets a value between −1 and 1, a subgradient of |x| at 0 as valid as
// sign(0) = 0. It costs a third of GoMLX's Sign on the Go backend.
func signOf(x *Node) *Node {
	return ClipScalar(MulScalar(x, math.Ldexp(1, 126)), -1, 1)
}

// turnCosSin returns cos θ and sin θ for θ = 2π·u, u ∈ [0, 1), from polynomials: with φ = π·u − π/2 ∈
// [−π/2, π/2), θ = 2φ + π, so cos θ = sin²φ − cos²φ and sin θ = −2·sin φ·cos φ, where cos φ and sin φ are
// their Taylor polynomials to degree 12 and 13 (truncation error below 7e-9 on [−π/2, π/2]). The results
// are exact to float32 precision (absolute error a few 1e-7), from about 35 additions and multiplications
// on the Go backend, where Cos and Sin (float64 library calls per element) cost five times more.
func turnCosSin(u *Node) (cos, sin *Node) {
	phi := AddScalar(MulScalar(u, math.Pi), -math.Pi/2)
	q := Square(phi)
	// Horner in q = φ²: cos φ = Σ (−q)ᵏ/(2k)!, sin φ = φ·Σ (−q)ᵏ/(2k+1)!, k = 0..6.
	cosPhi, sinPoly := ScalarOne(u.Graph(), u.DType()), ScalarOne(u.Graph(), u.DType())
	for k := 6; k >= 1; k-- {
		cosPhi = OnePlus(MulScalar(Mul(q, cosPhi), -1/float64((2*k)*(2*k-1))))
		sinPoly = OnePlus(MulScalar(Mul(q, sinPoly), -1/float64((2*k+1)*(2*k))))
	}
	sinPhi := Mul(phi, sinPoly)
	return Sub(Square(sinPhi), Square(cosPhi)), MulScalar(Mul(sinPhi, cosPhi), -2)
}
