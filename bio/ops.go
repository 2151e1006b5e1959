package bio

// Graph building blocks chosen for their cost on GoMLX's pure-Go backend, where every op is its own pass
// over memory and ops differ widely in cost (measured on a [784, 1000] float32 tensor, see cmd/biobench
// -ops): Add, Sub, Mul, Max and comparisons take 0.3–1 ms; Abs 3.6 ms (a branch per element); Where
// 3.3 ms; a bool→float conversion 3.9 ms; ReduceAllMax 4.2 ms, but ReduceMax over the leading axis 1.9 ms.
// The results are exactly those of the obvious ops.

import (
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
