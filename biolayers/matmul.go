package biolayers

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// FastMatMul returns the matrix product x·w of x shaped [m, k] and w shaped [k, n], as a [m, n] node.
//
// The value is computed by GoMLX's DotGeneral, but its gradient is defined explicitly: for an adjoint
// v = ∂L/∂y, ∂L/∂x = v·wᵀ and ∂L/∂w = xᵀ·v, each computed again with this function (transposes are
// folded into the contracting axes, never materialised). GoMLX's automatic gradient of Dot/DotGeneral
// broadcasts v against the other operand into a [m, k, n] tensor before reducing it, which on the pure-Go
// backend is an order of magnitude slower and uses far more memory. Since the gradient is built from
// FastMatMul itself, gradients of gradients (second and higher order) are correct and fast too.
//
// Mechanism: the product of identities of x and w that carry custom gradients is computed with its
// gradient stopped at the output; a zero-valued scalar "anchor" (Where with a constant false condition on
// one gathered element of each identity) ties the output to those identities. The output's own custom gradient records the
// incoming adjoint v, which the operands' custom gradients then use. Reverse-mode differentiation always
// visits the output before the operands (they precede it in the graph), so v is always set when needed.
func FastMatMul(x, w *graph.Node) *graph.Node {
	if x.Rank() != 2 || w.Rank() != 2 || x.Shape().Dimensions[1] != w.Shape().Dimensions[0] {
		panicf("biolayers.FastMatMul requires x [m, k] and w [k, n], got x %s and w %s", x.Shape(), w.Shape())
	}
	return matMulT(x, w, false, false)
}

// matMulT returns op(x)·op(w), where op transposes its (2-D) operand when the flag is set.
func matMulT(x, w *graph.Node, tx, tw bool) *graph.Node {
	if x.DType() != w.DType() {
		panicf("biolayers.FastMatMul requires operands of the same dtype, got %s and %s", x.DType(), w.DType())
	}
	g := x.Graph()
	dtype := x.DType()
	var adjoint *graph.Node // ∂L/∂y, recorded by the output's custom gradient during each Gradient call.

	xI := graph.IdentityWithCustomGradient(x, func(_, _ *graph.Node) *graph.Node {
		if tx { // ∂L/∂x = (v·op(w)ᵀ)ᵀ = op(w)·vᵀ
			return matMulT(w, adjoint, tw, true)
		}
		return matMulT(adjoint, w, false, !tw) // v·op(w)ᵀ
	})
	wI := graph.IdentityWithCustomGradient(w, func(_, _ *graph.Node) *graph.Node {
		if tw { // ∂L/∂w = (op(x)ᵀ·v)ᵀ = vᵀ·op(x)
			return matMulT(adjoint, x, true, tx)
		}
		return matMulT(x, adjoint, !tx, false) // op(x)ᵀ·v
	})

	xContract, wContract := 1, 0
	if tx {
		xContract = 0
	}
	if tw {
		wContract = 1
	}
	// The product reads the custom-gradient identities (not gradient-stopped copies of x and w), and the
	// gradient is stopped at its output instead: on the Go backend an Identity copies its operand when the
	// operand has other pending uses, so this saves one copy of each operand.
	y := graph.StopGradient(graph.DotGeneral(xI, []int{xContract}, nil, wI, []int{wContract}, nil))
	anchor := graph.Add(firstElement(xI), firstElement(wI)) // scalar
	anchor = graph.Where(graph.Const(g, false), anchor, graph.ScalarZero(g, dtype))
	y = graph.Add(y, anchor) // scalar operand: no broadcast materialised
	return graph.IdentityWithCustomGradient(y, func(_, v *graph.Node) *graph.Node {
		adjoint = v
		return v
	})
}

// firstElement returns the element [0, 0, ...] of x as a scalar, through Gather (whose gradient works on
// the Go backend).
func firstElement(x *graph.Node) *graph.Node {
	idx := make([]int32, x.Rank())
	return graph.Reshape(graph.Gather(x, graph.Const(x.Graph(), idx)), shapes.Make(x.DType()).Dimensions...)
}
